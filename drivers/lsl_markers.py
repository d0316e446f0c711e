"""A lab's motion capture read from Lab Streaming Layer: `--markers lsl:NAME` (drivers.registry).

A MoCap stream (Qualisys, Vicon, OptiTrack bridges) sends x, y, z of each marker, 3 channels per marker,
in the lab's own frame. Its channels are named by the stream's metadata as the XDF meta-data conventions
for MoCap streams have it: desc/channels/channel with `label` (e.g. RASI_X), `marker` (RASI), `type`
(PositionX, PositionY, PositionZ) and `unit` (millimeters, centimeters, meters). A channel without
`marker`/`type` is read from its label (RASI_X, RASI.x, RASI:X). A stream without channel metadata is read
by channel order: markers `[lsl_markers] channel_labels` in turn, x y z each, in `[lsl_markers] unit`.

Refused, naming the stream and what it has: a channel count that is not a multiple of 3, an irregular
rate (0 Hz: the station needs sample times it can count gaps by), string samples, channels that are not
x, y, z of whole markers, units it cannot convert. Which labels become hip, knee, ... and how the lab frame
becomes the plate frame is the station's business, not the driver's (station.trial.mocap, by the C3D
import's rule): this source delivers MarkerChunks of lab-frame metres, NaN where a marker is occluded (an
exact 0, 0, 0 too, as mocap systems send for a missing marker).

Clocks, reading, stalls and reconnecting: drivers.lsl_inlet (a vanished stream is an unplugged device; it
must come back with the same markers).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from drivers.lsl_inlet import LslInlet, describe_stream, pylsl_module, stream_channels
from drivers.samples import MarkerChunk
from station.config import StationConfig
from station.errors import StationError

_UNIT_M = {"": None, "mm": 1e-3, "millimeter": 1e-3, "millimeters": 1e-3, "millimetre": 1e-3,
           "millimetres": 1e-3, "cm": 1e-2, "centimeter": 1e-2, "centimeters": 1e-2, "m": 1.0, "meter": 1.0,
           "meters": 1.0, "metre": 1.0, "metres": 1.0}
_AXIS_TYPE = re.compile(r"^position([xyz])$")
_LABEL_AXIS = re.compile(r"^(.+?)[\s_.:\-]?(?:pos(?:ition)?)?[\s_.:\-]?([xyz])$", re.IGNORECASE)


def _unit_m(unit: str) -> float | None:
    """metres per unit, None when empty or not a length."""
    return _UNIT_M.get(re.sub(r"[\s.]", "", unit.strip().lower()))


def _marker_axis(label: str, marker: str, kind: str) -> tuple[str, int] | None:
    """(marker label, 0/1/2 for x/y/z) of one channel, from `marker` + `type` or else its label."""
    m = _AXIS_TYPE.match(re.sub(r"[^a-z]", "", kind.lower()))
    if marker.strip() and m:
        return marker.strip(), "xyz".index(m.group(1))
    m2 = _LABEL_AXIS.match(label.strip())
    if m2 and m2.group(1):
        return (marker.strip() or m2.group(1)), "xyz".index(m2.group(2).lower())
    return None


class LslMarkers(LslInlet):
    """MarkerSource over an LSL MoCap inlet: MarkerChunks in the lab frame (see the module docstring)."""

    flag = "--markers"
    kind = "markers"

    def __init__(self, stream: str, config: StationConfig | None = None, *,
                 resolve_timeout_s: float | None = None, buffer_samples: int = 60_000,
                 silence_timeout_s: float = 2.0, reconnect: bool = True, name: str | None = None) -> None:
        self.config = config or StationConfig()
        mc = self.config.lsl_markers
        timeout_s = mc.resolve_timeout_s if resolve_timeout_s is None else resolve_timeout_s
        super().__init__(stream, name=name, resolve_timeout_s=timeout_s, buffer_samples=buffer_samples,
                         silence_timeout_s=silence_timeout_s, reconnect=reconnect)
        self.labels: tuple[str, ...] = ()  # one per marker, in the order of MarkerChunk.positions_m
        self.labels_from = ""  # "stream metadata" or "[lsl_markers] channel_labels"
        self._columns: np.ndarray | None = None  # (K, 3) stream column of each marker's x, y, z
        self._scale_m: np.ndarray | None = None  # (K, 3) metres per stream unit

    def stats(self) -> dict:
        return {**super().stats(), "markers": list(self.labels), "labels_from": self.labels_from}

    # --- stream -------------------------------------------------------------------------------------
    def _refuse(self, info: Any, problem: str) -> StationError:
        return StationError(f"{self.what}: LSL stream {describe_stream(info)} cannot be a marker stream: "
                            f"it has {problem}")

    def _precheck(self, info: Any) -> None:
        """Shape only: rate, format, channels a multiple of 3 (the labels come with the full header)."""
        pylsl = pylsl_module(self.flag)
        n, rate, fmt = info.channel_count(), info.nominal_srate(), info.channel_format()
        problems = []
        if n == 0 or n % 3:
            problems.append(f"{n} channels (need x, y, z per marker: a multiple of 3)")
        if rate <= 0:
            problems.append("an irregular rate (need a nominal rate > 0 Hz)")
        if fmt == pylsl.cf_string:
            problems.append("string samples (need numbers)")
        if problems:
            raise self._refuse(info, "; ".join(problems))

    def _layout(self, info: Any) -> None:
        self._precheck(info)
        rate = info.nominal_srate()
        meta = stream_channels(info, ("label", "marker", "type", "unit"))
        if meta:
            labels, columns, scale = self._from_metadata(info, meta)
            labels_from = "stream metadata"
        else:
            labels, columns, scale = self._from_config(info, info.channel_count())
            labels_from = "[lsl_markers] channel_labels"
        if self.labels and labels != self.labels:  # a reconnect must bring the same markers back
            raise StationError(f"{self.what}: LSL stream {info.name()!r} now has markers "
                               f"{', '.join(labels)}, was {', '.join(self.labels)}")
        self.labels, self.labels_from, self.rate_hz = labels, labels_from, float(rate)
        self._columns, self._scale_m = columns, scale

    def _from_metadata(self, info: Any,
                       meta: list[tuple[str, ...]]) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
        cols: dict[str, list[int | None]] = {}
        units: dict[str, list[float | None]] = {}
        odd = []
        for k, (label, marker, kind, unit) in enumerate(meta):
            found = _marker_axis(label, marker, kind)
            if found is None:
                odd.append(label)
                continue
            name, ax = found
            cols.setdefault(name, [None] * 3)
            units.setdefault(name, [None] * 3)
            if cols[name][ax] is not None:
                odd.append(label)
                continue
            cols[name][ax] = k
            scale = _unit_m(unit)
            if scale is None and unit.strip():
                raise self._refuse(info, f"channel {label!r} in {unit!r} (need millimeters, centimeters "
                                         "or meters)")
            units[name][ax] = scale
        partial = [n for n, c in cols.items() if None in c]
        if odd or partial:
            what = ([f"channels not x/y/z of a marker: {', '.join(odd)}"] if odd else []) + \
                   ([f"markers without all of x, y, z: {', '.join(partial)}"] if partial else [])
            raise self._refuse(info, "; ".join(what) + " (need desc/channels/channel with marker and "
                                                       "type PositionX/Y/Z, or labels like RASI_X)")
        default = _unit_m(self.config.lsl_markers.unit)
        if default is None:
            raise StationError(f"[lsl_markers] unit = {self.config.lsl_markers.unit!r}: use mm, cm or m")
        labels = tuple(cols)
        scale = np.array([[default if u is None else u for u in units[n]] for n in labels])
        return labels, np.array([cols[n] for n in labels], int), scale

    def _from_config(self, info: Any, n: int) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
        wanted = [str(v).strip() for v in self.config.lsl_markers.channel_labels]
        if not wanted:
            raise self._refuse(info, "no channel labels in its metadata (desc/channels/channel) and "
                                     "[lsl_markers] channel_labels names none: list its markers there, "
                                     "in stream order")
        if 3 * len(wanted) != n:
            raise self._refuse(info, f"{n} channels, but [lsl_markers] channel_labels names {len(wanted)} "
                                     f"markers ({3 * len(wanted)} channels)")
        scale = _unit_m(self.config.lsl_markers.unit)
        if scale is None:
            raise StationError(f"[lsl_markers] unit = {self.config.lsl_markers.unit!r}: use mm, cm or m")
        return tuple(wanted), np.arange(n).reshape(-1, 3), np.full((len(wanted), 3), scale)

    # --- reader thread ------------------------------------------------------------------------------
    def _chunk(self, data: np.ndarray, ts: np.ndarray) -> MarkerChunk:
        xyz = data[:, self._columns] * self._scale_m  # (N, K, 3) metres
        xyz[np.all(xyz == 0.0, axis=2)] = np.nan  # mocap systems send 0, 0, 0 for an occluded marker
        self._seq(ts)  # counts samples and those lost across gaps
        return MarkerChunk(ts.copy(), self._host_ns(ts), xyz, self.labels)


def open_lsl_markers(stream: str, config: StationConfig, **options: object) -> LslMarkers:
    """Registry factory (drivers.registry): `lsl:NAME`, the LSL MoCap stream called NAME."""
    if not stream:
        raise StationError("--markers lsl:NAME: give the LSL stream's name after lsl:")
    return LslMarkers(stream, config, **options)
