import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests save screenshots and reports for a person to look at (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def run_cli(*args: str, timeout: float = 120, **kw):
    """Run `hinge-station ARGS` as a real subprocess (python -m station) from the repo root."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "station", *args], cwd=kw.pop("cwd", REPO),
                          capture_output=True, text=True, timeout=timeout, **kw)
