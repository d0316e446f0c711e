#!/usr/bin/env bash
# A plain `pip install` of the station (no extras) into a fresh virtual environment, then the demo and
# `analyze` on a RealSense recording, run from outside the source tree: a runtime dependency that only
# an extra brings fails here, in CI, not on a user's machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# HINGE_PLAIN_VENV=DIR keeps the plain environment there for the caller (.ci/run runs the soak in it)
venv=${HINGE_PLAIN_VENV:-$work/venv}
"$PY" -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check .
cd "$work"
"$venv/bin/hinge-station" demo --headless --seconds 12 --out demo.h5
"$venv/bin/hinge-station" sim camera --pattern rounding --reps 1 --out rounding.db3
"$venv/bin/hinge-station" analyze rounding.db3
echo "check_install: demo, sim camera and analyze ran from a plain install (no extras)"
