#!/usr/bin/env bash
# One command: set up, then run the whole test suite (Qt offscreen, no hardware). The archive tests run
# on SQLite and on a real PostgreSQL, re-analysis on a real Dask scheduler: started here when the caller
# (.ci/run) has not, stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${HINGE_SETUP_DONE:-}" ] || bash scripts/setup.sh  # .ci/run has just done it
export QT_QPA_PLATFORM=offscreen
# one BLAS/OpenMP/OpenCV thread per process: the parallelism is pytest's workers and the commands they start;
# helper threads spinning beside them on 2 cores cost 3-8 % more CPU than they save
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENCV_FOR_THREADS_NUM=1
# compiled bytecode kept (in .venv, beside nothing of ours) even where the host sets PYTHONDONTWRITEBYTECODE:
# otherwise every pytest worker re-compiles and re-rewrites every test module (~3 CPU-s each) and every
# command and render process compiles the station again; setup.sh fills it
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="$PWD/.venv/pycache"
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache  # layers point down (pyproject.toml [tool.importlinter])
services_started="" test_tmp="" keep_tmp=""
cleanup() {
  [ -z "$services_started" ] || bash scripts/services.sh stop
  [ -z "$test_tmp" ] || [ -n "$keep_tmp" ] || rm -rf "$test_tmp"
}
trap cleanup EXIT
if [ -z "${HINGE_TEST_PG_URL:-}" ]; then
  if services=$(bash scripts/services.sh start); then
    eval "$services"
    services_started=1
  else
    echo "test.sh: PostgreSQL/Dask not started: those archive tests will be skipped" >&2
  fi
fi
# the tests' temporary files in memory when there is room: a run writes ~3.9 GB (recordings of raw camera
# frames), and the disk's part of that cost ~30 CPU-s on 2 cores (bench/suite.py 232.3 s on disk, 214.0 s
# in memory); a folder of this run's own (pytest empties a --basetemp it is given), removed at the end
# unless the tests failed (it holds the failed tests' files)
tmp_args=()
shm_free_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}')
mem_free_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo 2>/dev/null)
if [ "${shm_free_kb:-0}" -gt $((8 << 20)) ] && [ "${mem_free_kb:-0}" -gt $((12 << 20)) ]; then
  test_tmp=$(mktemp -d /dev/shm/hinge-tests-XXXXXX)
  tmp_args=(--basetemp "$test_tmp/run")
fi
# 4 workers on 2 cores: 40 % of the suite's serial wall time is real-time recordings waiting on their
# sources (serial: 758 s wall for 444 CPU-s); 3 workers left the cores 20 % idle
# a worker that crashes is not replaced: a replacement once sat waiting with the others for work that never
# came (a worker aborted in tests/fuzz/test_fuzz_c3d.py and the run hung); the crash is reported and the run ends
.venv/bin/python -m pytest -q -n 4 --dist loadfile --no-loadscope-reorder --max-worker-restart 0 --durations=25 \
  ${tmp_args[@]+"${tmp_args[@]}"} "$@" || {  # (the guard: bash < 4.4 calls an empty array unset)
  rc=$?
  [ -z "$test_tmp" ] || { keep_tmp=1; echo "test.sh: the tests' files are kept in $test_tmp (in memory: rm -rf it when done)" >&2; }
  exit "$rc"
}
