"""Run every benchmark; each writes its figures to bench/results/<area>.json. Not part of the tests.

    .venv/bin/python bench/run_all.py            # all
    .venv/bin/python bench/run_all.py plate core # some
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    # "_name.py" are helpers the scripts import (bench/_results.py), not benchmarks
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != "run_all.py" and not p.name.startswith("_"))
    chosen = [p for p in scripts if not names or p.stem in names]
    failed = []
    for script in chosen:
        print(f"== bench/{script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode != 0:
            failed.append(script.stem)
    print("results in bench/results/" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
