"""One registry from source names to device classes, imported only when chosen.

Every command names its devices the same way (`--plate`, `--camera`):

- plate `serial`: a port name (`/dev/ttyACM0`, `COM3`) or a pyserial URL (`serial://`, `socket://`, ...)
- plate `sim`: `sim:PATTERN`, the plate emulator on a pty, read by the same serial driver
- plate `lsl`: `lsl:NAME`, a Lab Streaming Layer force stream (drivers.lsl_plate; [lsl_plate] in the config)
- camera `realsense`: `realsense:` (the first D4xx) or `realsense:SERIAL`
- camera `recording`: `FILE.db3`, `FILE.bag` or `realsense:FILE.db3`, played through rs.pipeline
- camera `sim`: `sim:PATTERN`, the virtual subject rendered into a pyrealsense2 software device
- markers `lsl`: `lsl:NAME`, a Lab Streaming Layer MoCap stream used instead of the camera's markers
  (drivers.lsl_markers; [lsl_markers] in the config)

`BACKENDS` maps (kind, backend) to the module and factory that opens it (python-can's
`can/interfaces/BACKENDS` pattern): a factory takes the address (what follows the scheme), the station
config and the backend's own options. The module is imported only when its backend is chosen, so
`--help`, the core's tests and a plate-only trial never load the camera SDK, and no real driver
imports the simulator. A new device (an LSL inlet, another camera) is one row here and one factory.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.samples import CameraSource, MarkerSource, PlateSource
from station.config import StationConfig
from station.errors import StationError

RECORDING_SUFFIXES = (".db3", ".bag")


@dataclass(frozen=True)
class Backend:
    """Where a source's factory lives: `module:function`, called as function(address, config, **options)."""

    module: str
    factory: str
    about: str

    def load(self) -> Callable[..., Any]:
        return getattr(importlib.import_module(self.module), self.factory)


BACKENDS: dict[tuple[str, str], Backend] = {
    ("plate", "serial"): Backend("drivers.forceplate", "open_serial_plate",
                                 "a serial port name or pyserial URL"),
    ("plate", "lsl"): Backend("drivers.lsl_plate", "open_lsl_plate",
                              "lsl:NAME, a Lab Streaming Layer force stream (4 cells or 6 components)"),
    ("plate", "sim"): Backend("drivers.sim.simplate", "open_sim_plate",
                              "sim:PATTERN, the virtual subject's plate on a pseudo-terminal"),
    ("markers", "lsl"): Backend("drivers.lsl_markers", "open_lsl_markers",
                                "lsl:NAME, a Lab Streaming Layer MoCap marker stream"),
    ("camera", "realsense"): Backend("drivers.realsense", "open_live_camera",
                                     "realsense: (first camera) or realsense:SERIAL"),
    ("camera", "recording"): Backend("drivers.realsense", "open_recording",
                                     "a .db3/.bag RealSense recording (also as realsense:FILE)"),
    ("camera", "sim"): Backend("drivers.sim.simcamera", "open_sim_camera",
                               "sim:PATTERN, the virtual subject through a software device"),
}


def resolve(kind: str, spec: str) -> tuple[str, str]:
    """(backend, address) for a source name of `kind` ("plate" or "camera"); StationError if none fits."""
    scheme, sep, rest = spec.partition(":")
    if kind == "plate":
        if sep and scheme == "sim":
            return "sim", rest
        if sep and scheme == "lsl":
            return "lsl", rest
        if not spec:
            raise StationError("--plate: empty name; give a serial port, a pyserial URL or sim:PATTERN")
        return "serial", spec  # pyserial itself understands ports and its URLs
    if kind == "camera":
        if sep and scheme == "sim":
            return "sim", rest
        target = rest if sep and scheme == "realsense" else spec
        if target.lower().endswith(RECORDING_SUFFIXES):
            return "recording", target
        if sep and scheme == "realsense":
            return "realsense", rest
        known = "; ".join(b.about for (k, _), b in BACKENDS.items() if k == "camera")
        raise StationError(f"unknown camera {spec!r}: use {known}")
    if kind == "markers":
        if sep and scheme == "lsl":
            return "lsl", rest
        raise StationError(f"unknown marker source {spec!r}: use lsl:NAME, a Lab Streaming Layer MoCap "
                           "stream (a label mapping goes in a second --markers, e.g. hip=RGT)")
    raise StationError(f"unknown source kind {kind!r} (plate, camera or markers)")


def open_source(kind: str, spec: str, config: StationConfig | None = None, **options: object) -> Any:
    """The unstarted source named `spec` (see the module docstring for the names)."""
    backend, address = resolve(kind, spec)
    factory = BACKENDS[(kind, backend)].load()
    return factory(address, config or StationConfig(), **options)


def open_plate(spec: str, config: StationConfig | None = None, **options: object) -> PlateSource:
    """A force-plate source: a serial port name, a pyserial URL or `sim:PATTERN`.

    options go to the driver (e.g. baudrate=921600 for a serial plate)."""
    return open_source("plate", spec, config, **options)


def open_camera(spec: str, config: StationConfig | None = None, *, real_time: bool = True,
                **options: object) -> CameraSource:
    """A camera source: `realsense:`, `realsense:SERIAL`, a .db3/.bag recording or `sim:PATTERN`.

    real_time: a recording plays at its recorded pace (False: as fast as it is read, nothing dropped).
    options go to the backend (a simulated subject's arms and load_kg)."""
    if resolve("camera", spec)[0] == "recording":
        options = {"real_time": real_time, **options}
    return open_source("camera", spec, config, **options)


def open_markers(spec: str, config: StationConfig | None = None, **options: object) -> MarkerSource:
    """A motion-capture marker source: `lsl:NAME`. Its markers replace the camera's (station.trial.mocap)."""
    return open_source("markers", spec, config, **options)


def open_sources(plate_spec: str | None, camera_spec: str | None, config: StationConfig | None = None, *,
                 subject: dict | None = None) -> tuple[PlateSource | None, CameraSource | None]:
    """The named plate and camera (either may be None). subject: what the person on the plate does in
    this set, e.g. {"arms": "dowel", "load_kg": 0.0}; only simulated sources take it (a stand-in acts
    the drill out, a real subject needs no telling), so `sim:` plate and camera show the same subject."""
    def sim_options(kind: str, spec: str) -> dict:
        return dict(subject or {}) if resolve(kind, spec)[0] == "sim" else {}

    plate = open_plate(plate_spec, config, **sim_options("plate", plate_spec)) if plate_spec else None
    camera = open_camera(camera_spec, config, **sim_options("camera", camera_spec)) if camera_spec else None
    return plate, camera
