"""The house rules that a command can check: no import cycles, a small shared base at the top of
station/, every package's public names importable. The layer contracts themselves run as
`lint-imports` (pyproject.toml [tool.importlinter]) in scripts/test.sh."""

from __future__ import annotations

import importlib
from pathlib import Path

import grimp
import pytest

from tests.conftest import REPO

PACKAGES = ("core", "markers", "markerless", "dowel", "trial", "recording", "analysis", "export", "screening",
            "report")


def test_no_import_cycles():
    graph = grimp.build_graph("station", "drivers", "calibration", exclude_type_checking_imports=True)
    modules = sorted(m for m in graph.modules if not m.startswith("drivers.firmware"))
    cycles = []
    for m in modules:
        for n in graph.find_modules_directly_imported_by(m):
            if m < n and graph.find_shortest_chain(importer=n, imported=m) is not None:
                cycles.append((m, n))
    assert cycles == []


def test_the_top_of_station_keeps_only_the_shared_base():
    top = sorted(p.stem for p in (REPO / "station").glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert top == ["cli", "config", "documents", "errors", "lazy", "owner_files", "results", "streams"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_of_a_package_imports(package):
    module = importlib.import_module(f"station.{package}")
    assert module.__doc__ and len(module.__doc__) > 80
    for name in module.__all__:
        assert getattr(module, name) is not None, (package, name)
    assert Path(module.__file__).parent == REPO / "station" / package
