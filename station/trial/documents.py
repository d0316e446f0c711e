"""What a live trial emits, as typed documents, and the one protocol every consumer of them implements.

A trial is a sequence of documents (ARCHITECTURE pattern 7, after bluesky's event-model): one
`TrialStart`, a `StreamInfo` per stream, then `PlateData`, `FrameData`, `RepResult`, `TrialEvent` and
`Calibration` in the order they happen, and one `TrialEnd`. The runner hands each document to every
consumer in its list (the trial file, the LSL outlets, the live view, callbacks, and whatever comes
next: the archive indexer, the markerless tracker); it never names them. Times: `t_s` seconds on the
trial clock (0 = trial start), `host_s` seconds on the host's monotonic clock; positions in metres in
the plate frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from drivers.samples import CameraFrame, PlateChunk
from station.config import StationConfig
from station.dowel.frame import DowelFrame
from station.errors import StationError
from station.results import RepResult


@dataclass(frozen=True)
class Calibration:
    """The calibration the trial's numbers come from; sent again when the zero check re-tares.

    status: "calibrated" or "nominal defaults" (station.trial.steps); plate: ForceStep.describe(),
    with the zero check's outcome once it has run; camera_T: T_plate_from_camera (4x4) with a camera.
    """

    status: str
    plate: dict
    camera_T: np.ndarray | None


@dataclass(frozen=True)
class TrialStart:
    """Before any data: the trial's metadata (subject code, drill, sources...), its clock origin
    (host monotonic ns) and the calibration in force."""

    metadata: dict
    t0_host_ns: int
    config: StationConfig
    calibration: Calibration


@dataclass(frozen=True)
class StreamInfo:
    """A stream's descriptor: its rate (Hz) and units or image shape; sent again when a device reports
    its real rate once started."""

    stream: str  # "plate" | "camera" | "markers" (a mocap source: its rows replace the camera's markers)
    rate_hz: float
    units: str | None = None
    shape: tuple[int, int] | None = None


@dataclass(frozen=True)
class PlateData:
    """One chunk of plate samples: raw (chunk, gaps) and calibrated on the trial clock.

    gaps: (t_host_ns, seq_before, n_lost) per hole in the sequence numbers. t_s, host_s, fz_n,
    foot_pos: (N,); cop_xy_m: (N, 2) m; cells_n: (N, 4) N per cell. shear_n: (N, 2) Fx Fy in N and
    free_moment_nm: (N,) Tz in N·m from a six-component plate (station.core.shear); None from a four-cell one.
    """

    chunk: PlateChunk
    gaps: list[tuple[int, int, int]]
    t_s: np.ndarray
    host_s: np.ndarray
    cells_n: np.ndarray
    fz_n: np.ndarray
    cop_xy_m: np.ndarray
    foot_pos: np.ndarray
    shear_n: np.ndarray | None = None
    free_moment_nm: np.ndarray | None = None


@dataclass(frozen=True)
class FrameData:
    """One camera frame with what the station measured on it.

    dropped: frames lost just before this one (frame-number gap). positions: marker -> (3,) m in the
    plate frame (absent = not seen); pixels: marker -> (2,) px; bridged: marker -> interpolated across a
    short gap. dowel: the virtual dowel on this frame, None when it did not run on it.
    """

    frame: CameraFrame
    t_s: float
    host_s: float
    dropped: int
    positions: dict[str, np.ndarray]
    pixels: dict[str, np.ndarray]
    bridged: dict[str, bool]
    dowel: DowelFrame | None = None
    markers_from_camera: bool = True  # False: a mocap source gives the markers (MarkerData); these are aside


@dataclass(frozen=True)
class MarkerData:
    """A block of motion-capture markers (`--markers lsl:NAME`, station.trial.mocap), used instead of the
    camera's: t_s, host_s (M,); positions: marker -> (M, 3) m in the plate frame, NaN where occluded."""

    t_s: np.ndarray
    host_s: np.ndarray
    positions: dict[str, np.ndarray]
    source: str = ""


@dataclass(frozen=True)
class TrialEvent:
    """Something that happened (a device failed, the zero check, the sync check): kind names who says it.
    warning: shown to the operator as well as recorded."""

    kind: str
    text: str
    t_s: float
    warning: bool = True


@dataclass(frozen=True)
class TrialEnd:
    """The end: why, the counts (plate_samples, plate_lost, camera_frames, camera_dropped), the final
    reps of the whole trial (the core's finish(): what analyze and replay must equal), the sync check
    and the clock mappings in force (name -> ClockStep.stats())."""

    reason: str
    counts: dict
    reps: list[RepResult]
    sync: dict | None
    clocks: dict[str, dict] = field(default_factory=dict)


TrialDocument = (TrialStart | StreamInfo | Calibration | PlateData | FrameData | MarkerData | RepResult
                 | TrialEvent | TrialEnd)


class StopTrial(StationError):
    """Raised by a consumer that cannot go on and without which the trial must end (the trial file on a
    full disk). Any other exception from a consumer is a warning: that consumer gets no more data."""


@runtime_checkable
class TrialConsumer(Protocol):
    """Receives every document of a trial, in order, on the runner's worker thread (keep it quick).

    `receive` returns a dict only for `TrialEnd`: what the consumer adds to the trial's summary (the
    trial file gives its path and error). Fakes and new consumers need not inherit anything.
    """

    name: str

    def receive(self, doc: TrialDocument) -> dict | None: ...
