#!/usr/bin/env bash
# One command: set up, then run the whole test suite (Qt offscreen, no hardware).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
