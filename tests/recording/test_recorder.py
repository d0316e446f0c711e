"""Trial file: round trip against the known synthetic truth, and every bad input in one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from station.analysis.replay import replay_blocks
from station.errors import StationError
from station.recording.reader import read_trial
from station.recording.writer import TrialWriter
from tests.conftest import REPO, run_cli
from tests.support.trial_fixtures import GAINS, OFFSETS, write_synthetic_trial


def test_round_trip_holds_every_stream(tmp_path):
    path = tmp_path / "trial.h5"
    truth = write_synthetic_trial(path)
    trial = read_trial(path)
    assert trial.complete and not trial.warnings
    md = trial.metadata
    assert (md["subject_id"], md["drill"], md["side"]) == ("S01", "bodyweight", "right")
    assert md["notes"] == "synthetic"
    assert md["stop_reason"] == "duration reached" and md["counts"] == {"plate_lost": 3}
    assert md["start_wall_time"] and md["software_version"]
    assert trial.calibration["status"] == "calibrated"
    np.testing.assert_allclose(trial.calibration["plate"]["gains_n_per_count"], GAINS)
    np.testing.assert_allclose(trial.calibration["camera_T"], truth["config"].camera.T_plate_from_camera())
    assert trial.descriptors["plate"]["rate_hz"] == 1000.0
    assert len(trial.plate) == len(truth["t"]) and trial.plate.counts.dtype == np.int32
    assert trial.plate_gaps.tolist() == [[4_000_000_000, 3999, 3]]
    # stored newtons equal the truth to the count quantisation (gain ~1e-3 N)
    np.testing.assert_allclose(trial.force.cells_n, truth["cells"], atol=2e-3)
    np.testing.assert_allclose(trial.markers.positions["hip"], truth["hip"])
    assert np.isnan(trial.markers.positions["knee"]).all()
    assert trial.marker_pixels["hip"][3].tolist() == [403.0, 200.0]
    assert [r.to_json() for r in trial.reps] == [r.to_json() for r in truth["reps"]]
    assert trial.sync == {"offset_ms": 1.5, "verdict": "ok"}
    assert trial.config.plate.channel_xy_m == truth["config"].plate.channel_xy_m


def test_replay_rederives_force_from_raw_counts(tmp_path):
    path = tmp_path / "trial.h5"
    truth = write_synthetic_trial(path, duration_s=2.0)
    blocks = replay_blocks(read_trial(path))
    cells = np.concatenate([fb.cells_n for _, fb, _ in blocks if fb is not None])
    assert cells.shape == truth["cells"].shape
    np.testing.assert_allclose(cells, truth["cells"], atol=2e-3)
    assert OFFSETS[0] != 0  # the offsets really were applied (counts carry them)


def test_existing_file_never_overwritten_without_force(tmp_path):
    path = tmp_path / "trial.h5"
    path.write_bytes(b"precious")
    with pytest.raises(StationError, match="already exists.*--force"):
        TrialWriter(path)
    assert path.read_bytes() == b"precious"
    write_synthetic_trial(path, duration_s=0.5, force=True)
    assert read_trial(path).complete


def test_unwritable_output_folder_is_one_line(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(StationError, match="output folder .* does not exist"):
        TrialWriter(blocker / "trial.h5")
    res = run_cli("record", "--plate", "sim:hinge", "--subject", "S", "--drill", "bw_rdl",
                  "--out", str(blocker / "trial.h5"))
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "not-a-folder" in res.stderr


def test_unknown_schema_and_missing_group_are_one_line(tmp_path):
    path = tmp_path / "trial.h5"
    write_synthetic_trial(path, duration_s=0.5)
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(StationError, match=r"schema_version 99 is not supported"):
        read_trial(path)
    res = run_cli("export", str(path), "--format", "csv")
    assert res.returncode == 2 and "schema_version 99" in res.stderr and res.stderr.count("\n") == 1
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 1
        del f["markers"]
    with pytest.raises(StationError, match=r"missing group\(s\)/dataset\(s\) /markers$"):
        read_trial(path)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(StationError, match="junk.h5: not a readable HDF5"):
        read_trial(tmp_path / "junk.h5")


@pytest.mark.parametrize("space_check", [True, False], ids=["space-check", "hdf5-hits-the-limit"])
def test_disk_full_stops_cleanly_and_keeps_data(tmp_path, space_check):
    """RLIMIT_FSIZE makes writes past 3 MB fail with EFBIG, as a full disk would. The writer's own space
    check usually stops first; without it (a disk filled by someone else between checks) HDF5's write
    fails. Either way the writing process exits cleanly: it used to segfault at exit (1 run in 3 with the
    check, every run without), HDF5 re-closing datasets whose close had failed on unwritten chunks."""
    path = tmp_path / "trial.h5"
    script = textwrap.dedent(f"""
        import resource, signal, sys
        sys.path[:0] = [{str(REPO)!r}]
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (3_000_000, 3_000_000))
        from station.recording import writer
        from station.recording.writer import TrialWriter
        if not {space_check!r}:
            writer.space_left_bytes = lambda path: 1 << 40
        stop = TrialWriter.stop
        TrialWriter.stop = lambda self, *a: print("error:", stop(self, *a)["error"]) or self.summary()
        from tests.support.trial_fixtures import write_synthetic_trial
        write_synthetic_trial(__import__('pathlib').Path({str(path)!r}), duration_s=120.0)
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""  # no h5py/HDF5 noise about objects it could not close
    # the writer says it failed, naming the file, and that what came before is kept
    assert f"error: {path}: writing failed (" in res.stdout and "recorded so far are kept" in res.stdout
    trial = read_trial(path)  # readable: everything flushed before the disk filled is there
    assert not trial.complete
    n = len(trial.force)
    assert n > 5000 and n < 120_000
    # what was kept is correct data, not garbage
    assert np.all(np.diff(trial.force.t_s) > 0)
    np.testing.assert_allclose(trial.force.t_s[:n], np.arange(n) / 1000.0)
