"""The recorded inputs `analyze` reads, by file suffix, and the options a loader may use.

A loader returns the core's blocks in the plate frame:
    loader(path, options) -> (ForceBlock | None, MarkerBlock | None, meta: dict)
meta may hold "warnings" (list of str), "notes" (dict, e.g. hip_source), "feet" (overrides of the feet
config for this file, e.g. a heel line from heel markers), "dowel" (DowelBlock), "body_mass_kg",
"config" (the StationConfig the file was recorded with: used unless a config file was given) and
"t_origin_s" (the time rep times are counted from; default the first sample).
Loaders are imported only when a file of theirs is analysed; more register with `register_input`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from station.config import StationConfig
from station.errors import StationError
from station.streams import ForceBlock, MarkerBlock

Loader = Callable[[Path, "LoadOptions"], tuple[ForceBlock | None, MarkerBlock | None, dict]]

# suffix -> loader, or "module:function" imported only when such a file is analysed (no import-time work)
_LOADERS: dict[str, Loader | str] = {
    ".c3d": "station.analysis.c3d_input:load_c3d",
    ".h5": "station.analysis.h5_input:load_h5",
    ".db3": "station.analysis.db3_input:load_db3",
    ".bag": "station.analysis.db3_input:load_db3",
    # LabRecorder files of the station's own LSL streams (export.lsl): the same reps as the trial file
    ".xdf": "station.analysis.xdf_input:load_xdf",
}
# formats that exist in the station but whose reader is not part of this build yet
_KNOWN_ELSEWHERE: dict[str, str] = {}


@dataclass
class LoadOptions:
    """What a loader may use besides the file: the config and the command's input options."""

    config: StationConfig
    preset: str | None = None
    markers: str | None = None  # "name=LABEL,..." for C3D
    side: str | None = None
    plate: str | None = None  # a plate stream to pair with a kinematics-only recording (.db3)
    plate_cal: str | None = None
    camera_cal: str | None = None
    body_mass_kg: float | None = None
    movement: str | None = None  # "hinge", "swing" or "step"; None: as recorded (hinge for other files)


def register_input(suffix: str, loader: Loader | str) -> None:
    """Make `analyze` read files ending in suffix (".h5") with loader(path, options)."""
    _LOADERS[suffix.lower()] = loader


def loader_for(path: Path) -> Loader:
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        if suffix in _KNOWN_ELSEWHERE:
            raise StationError(f"{path}: cannot read {_KNOWN_ELSEWHERE[suffix]} in this build")
        known = ", ".join(sorted(set(_LOADERS) | set(_KNOWN_ELSEWHERE)))
        raise StationError(f"{path}: unknown input type {suffix or '(no suffix)'!r} (known: {known})")
    if isinstance(loader, str):
        module, _, name = loader.partition(":")
        loader = getattr(importlib.import_module(module), name)
    return loader
