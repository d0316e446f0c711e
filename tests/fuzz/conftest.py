"""Fixtures of the fuzz targets: one reader worker process per test process, and the seed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz import seeds
from tests.fuzz.harness import Worker


@pytest.fixture(scope="session")
def fuzz_worker(tmp_path_factory):
    worker = Worker(tmp_path_factory.mktemp("fuzz-worker-logs"))
    yield worker
    worker.close()


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-seeds")


@pytest.fixture(scope="session")
def db3_seeds(fuzz_worker, seed_dir) -> dict[str, Path]:
    """The .db3 seeds, recorded by `hinge-station sim camera` in the worker (pyrealsense2 loaded once)."""
    out = {}
    for name in seeds.DB3_SEEDS:
        path = seed_dir / f"seed-{name}.db3"
        if not path.exists():
            steps = fuzz_worker.run(f"make_db3:{name}", path, timeout_s=120)
            assert all(outcome == "ok" for _, outcome, _ in steps), steps
        out[name] = path
    return out
