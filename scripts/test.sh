#!/usr/bin/env bash
# One command: set up, then run the whole test suite (Qt offscreen, no hardware).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache  # layers point down (pyproject.toml [tool.importlinter])
exec .venv/bin/python -m pytest -q -n auto --dist loadfile "$@"
