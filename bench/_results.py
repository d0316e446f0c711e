"""What every bench script ends with: the machine it ran on, and its figures written as JSON and printed.

A helper module, not a benchmark (bench/run_all.py skips names starting with "_").
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path


def machine_fields() -> dict:
    """Where and when the figures were measured: machine, python, cpu_count, date."""
    return {"machine": platform.machine(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d")}


def write_results(path: Path, result: dict) -> None:
    """Write `result` to bench/results/<area>.json (folder made if needed) and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
