#!/usr/bin/env bash
# Sets up .venv with the station and its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Python >= 3.11 needed, $PY is $("$PY" --version 2>&1)" >&2; exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
# pyrealsense2 needs libusb-1.0; the libusb-package wheel provides it (preloaded by drivers.rs_import).
# Where apt is available and the system library is absent, install it too (harmless when present).
if ! ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -qq libusb-1.0-0 >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libusb-1.0-0 >/dev/null 2>&1)) || true
  fi
fi
.venv/bin/python -m drivers.rs_import --check
# the marker finder's compiled loops (numba): compiled once here and cached beside the module, so no
# recording (nor every test process at once) pays 15-20 s on its first frame; and the simulator's one loop
.venv/bin/python -c "from station.markers.discs import warm_up; warm_up()
from drivers.sim.hull_reach import warm_up; warm_up()"
# bytecode for scripts/test.sh (which keeps it in .venv/pycache): the station's modules, and the test modules
# as pytest rewrites them for its asserts (collecting the suite writes those)
PYTHONPYCACHEPREFIX="$PWD/.venv/pycache" .venv/bin/python -m compileall -q station drivers tests bench >/dev/null
env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX="$PWD/.venv/pycache" QT_QPA_PLATFORM=offscreen \
  .venv/bin/python -m pytest --collect-only -q -p no:cacheprovider >/dev/null
# The BIDS validator for tests/export/test_bids.py (npm bids-validator 1.15, runs on Node.js 20; ~700 MB), kept
# in .tools/ (git-ignored). Without it the test skips locally and fails in CI (CI set).
if [ ! -x .tools/node_modules/.bin/bids-validator ]; then
  if command -v npm >/dev/null 2>&1; then
    npm install --prefix .tools --no-audit --no-fund --loglevel=error bids-validator@1.15 >/dev/null \
      || echo "setup: npm install bids-validator@1.15 failed: the BIDS validator test cannot run" >&2
  else
    echo "setup: npm not found: the BIDS validator test will be skipped (install Node.js >= 18)" >&2
  fi
fi
