#!/usr/bin/env bash
# One command: set up, then run the simulated station (no hardware needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/hinge-station demo "$@"
