"""What drivers produce: raw samples stamped twice (device clock and host monotonic arrival)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass
class PlateChunk:
    """Consecutive raw force-plate samples, time first. Nothing here is calibrated.

    seq: (N,) int64, unwrapped sequence number (binary) or sample index (ASCII).
    t_device_s: (N,) float64, device clock in seconds, unwrapped across u32 microsecond wraps.
    t_host_ns: (N,) int64, host ``time.monotonic_ns()`` when the bytes arrived.
    counts: (N, 4) int32 raw ADC counts, channels 0..3.
    flags: (N,) uint8 (bit0 saturated, bit1 stale).
    six: (N, 6) float64 Fx Fy Fz (N) Mx My Mz (N·m) as a six-component plate sent them (moments about its
        transducer origin), or None: a four-cell plate measures no shear and no free moment.
    """

    seq: np.ndarray
    t_device_s: np.ndarray
    t_host_ns: np.ndarray
    counts: np.ndarray
    flags: np.ndarray
    six: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.seq.shape[0])

    @staticmethod
    def concat(chunks: list[PlateChunk]) -> PlateChunk:
        if not chunks:
            return PlateChunk(
                np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64),
                np.zeros((0, 4), np.int32), np.zeros(0, np.uint8),
            )
        six = [c.six for c in chunks]
        return PlateChunk(*(np.concatenate([getattr(c, f) for c in chunks]) for f in
                            ("seq", "t_device_s", "t_host_ns", "counts", "flags")),
                          six=None if any(x is None for x in six) else np.concatenate(six))


@dataclass
class MarkerChunk:
    """Consecutive samples of a motion-capture marker stream, in the lab's own frame (not yet the plate's).

    t_device_s: (N,) the sender's clock, s. t_host_ns: (N,) host ``time.monotonic_ns()`` of each sample
    (for LSL: its stamp plus time_correction, not arrival). positions_m: (N, K, 3) metres in the lab frame,
    NaN = occluded. labels: the K marker labels as the stream names them.
    """

    t_device_s: np.ndarray
    t_host_ns: np.ndarray
    positions_m: np.ndarray
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.t_device_s.shape[0])

    @staticmethod
    def concat(chunks: list[MarkerChunk]) -> MarkerChunk:
        """One chunk of the given ones (all of one stream: the same labels)."""
        if not chunks:
            return MarkerChunk(np.zeros(0), np.zeros(0, np.int64), np.zeros((0, 0, 3)), ())
        return MarkerChunk(np.concatenate([c.t_device_s for c in chunks]),
                           np.concatenate([c.t_host_ns for c in chunks]),
                           np.concatenate([c.positions_m for c in chunks]), chunks[-1].labels)


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of the depth/IR imager (RealSense convention, pixels)."""

    width: int
    height: int
    fx: float
    fy: float
    ppx: float
    ppy: float
    model: str = "brown_conrady"
    coeffs: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass
class CameraFrame:
    """One depth + left-IR frameset (pixel-aligned on D4xx)."""

    frame_number: int
    t_device_ms: float  # RealSense frame timestamp (ms) in `timestamp_domain`
    timestamp_domain: str  # "hardware_clock", "system_time", "global_time"
    t_host_ns: int  # host time.monotonic_ns() at arrival
    depth: np.ndarray  # (H, W) uint16, multiply by depth_scale_m for metres; 0 = no depth
    ir: np.ndarray  # (H, W) uint8, left infrared
    depth_scale_m: float
    intrinsics: Intrinsics
    metadata: dict = field(default_factory=dict)


@runtime_checkable
class Source(Protocol):
    """What every device, stand-in and playback implements (fakes need not inherit): the trial runner,
    the calibration runs and the monitors see only this. `name` is the source's registry name."""

    name: str

    def start(self) -> None:
        """Open the device and start its reader thread; a StationError names the port or device."""
        ...

    def read(self, timeout_s: float = 0.1) -> list:
        """Drain what has arrived, waiting at most timeout_s (empty list: nothing yet)."""
        ...

    def stop(self) -> None: ...

    def stats(self) -> dict:
        """Counters: samples/frames, lost, crc_errors, overflows, disconnects, ..."""
        ...


@runtime_checkable
class PlateSource(Source, Protocol):
    """A force plate (serial driver, its emulator, a replay): raw PlateChunks, two time stamps each."""

    def read(self, timeout_s: float = 0.1) -> list[PlateChunk]: ...

    def factory_calibration(self) -> dict | None:
        """The plate's factory sheet (offsets_counts, gains_n_per_count, source) or None."""
        ...


@runtime_checkable
class CameraSource(Source, Protocol):
    """A depth camera (RealSense live, a recording, the simulator): depth + IR CameraFrames.

    fps: the rate the device streams (known once started)."""

    fps: float

    def read(self, timeout_s: float = 0.1) -> list[CameraFrame]: ...


@runtime_checkable
class MarkerSource(Source, Protocol):
    """A motion-capture marker stream (an LSL mocap inlet): labelled 3D positions in the lab frame,
    used instead of the depth camera's markers (station.trial.mocap maps them to the plate frame)."""

    def read(self, timeout_s: float = 0.1) -> list[MarkerChunk]: ...


def frames_until_finished(source: Any, timeout_s: float = 5.0) -> Iterator[CameraFrame]:
    """Every CameraFrame `source` (a CameraSource with `finished`) hands on until it is finished (a
    recording ended) or nothing has arrived for timeout_s: the frames() of a camera playing a recording."""
    idle_since = time.monotonic()
    while True:
        batch = source.read(0.1)
        if batch:
            idle_since = time.monotonic()
            yield from batch
        elif source.finished or time.monotonic() - idle_since > timeout_s:
            return
