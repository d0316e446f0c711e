"""Public names of a package, imported from their module on first use (PEP 562).

Each subpackage's `__init__` lists what it offers (`from station.core import HingeCore` works) without
importing it all up front: importing one light module of a package (say `station.dowel.frame`) must not
load another's heavy dependency (OpenCV for the dowel tracker, h5py for the writer), and `--help` and
the core's tests stay fast. No work at import time (ARCHITECTURE "things to avoid").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """(__getattr__, __dir__) for `package`, exporting each name from its submodule (name -> "module")."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted(names)

    return __getattr__, __dir__
