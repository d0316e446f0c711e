"""Fuzzing of everything the station reads from outside (issue 20, item 8).

Property, for every target: any input gives a valid result or a StationError whose message is one line
naming the file (or port); never another exception, never a dead process, never a hang
(tests/fuzz/harness.py). Readers that can hang or die in native code (ezc3d, HDF5, librealsense) run in
a worker process (tests/fuzz/worker.py) with a per-input timeout and a 3 GB address-space limit; the
pure-Python ones run here under a SIGALRM guard.

Budgets: hypothesis with derandomize=True and no example database, so every run (CI or not) tries the
same examples. `.venv/bin/python -m pytest -q tests/fuzz -n 0` took 31 s on one idle core of the 2-core
dev box (~40 s with another job on it), 300 MB.

    target                        test file                  examples   time
    plate, binary parser          test_fuzz_plate.py          120 + 60   ~3.5 s
    plate, ASCII parser           test_fuzz_plate.py          100        ~2.8 s
    plate, port reader (loop://)  test_fuzz_plate.py          10         ~0.9 s
    calibration plate/camera/feet test_fuzz_documents.py      150 each   ~1.3 s
    calibration steps file        test_fuzz_documents.py      100        ~0.2 s
    station TOML                  test_fuzz_documents.py      250        ~0.8 s
    session file                  test_fuzz_documents.py      250        ~0.8 s
    C3D (analyze)                 test_fuzz_c3d.py            400        ~2.8 s
    HDF5 trial (analyze, summary) test_fuzz_h5.py             300        ~4.6 s
    .db3 (analyze)                test_fuzz_db3.py            40         ~7.8 s
    corpus replay                 test_corpus.py              every file ~5 s (with the .db3 seeds)
    worker start-up, seeds                                               ~4 s

Hunting longer: HINGE_FUZZ_SCALE=N multiplies every budget (e.g. 20 for a nightly job). A failure names
the input it kept (HINGE_FUZZ_CRASHERS, default $TMPDIR/hinge-fuzz-crashers/<target>/; the last one
written is the minimised one): fix the reader, then copy the file to tests/fuzz/corpus/<target>/ with a
name that says what it is, and test_corpus.py replays it on every run from then on. For .db3 and HDF5 the
kept file is a recipe (JSON: seed name + mutations, tests/fuzz/mutate.py), since their seeds are large.

Known, not a crash: the binary plate parser's sequence numbers across a device-clock jump of more than
half the seq range (a plate that restarted) depend on how many frames the first feed() held, and on
whether a `# plate rate=` line came in the same feed(), because the rate that resolves such a jump is
taken from one feed's frames; test_fuzz_plate checks split invariance only for one device's stream.
"""
