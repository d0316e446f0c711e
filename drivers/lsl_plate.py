"""A lab's own force plate read from Lab Streaming Layer: `--plate lsl:NAME` (drivers.registry).

Two stream shapes are accepted (anything else is refused, naming the stream and what it has):

- 4 channels: load cells in newtons, like the station's plate, in the [plate] channel order (cells 0..3).
- 6 channels: Fx Fy Fz (N) and Mx My Mz (N·m) of a six-component plate. Conventions (C3D type-2 /
  AMTI): the force the subject exerts on the plate, Fz > 0 when loaded (z into the plate); moments about
  the transducer origin `[lsl_plate] origin_depth_m` (dz) below the top surface; x, y are the station's
  plate axes. Then COPx = (-My - Fx·dz)/Fz and COPy = (Mx - Fy·dz)/Fz, and the plate becomes four
  equivalent cell loads at the [plate] channel positions with the same Fz and CoP (minimum-norm solution
  of sum F_i = Fz, sum F_i x_i = Fz·COPx, sum F_i y_i = Fz·COPy; no division, so an empty plate is fine).

Channels are named by the stream's metadata (XDF convention desc/channels/channel/label, unit) when it
has them, else by `[lsl_plate] channel_labels`, else by order. Samples are delivered as PlateChunk
counts in millinewtons with a factory sheet of zero offsets and 0.001 N/count, so the station's
calibration step (station.trial.steps.ForceStep) gives newtons unchanged.

Clocks, reading and reconnecting are drivers.lsl_inlet's (shared with drivers.lsl_markers): t_device_s is
the sample's LSL time stamp, t_host_ns that stamp plus the inlet's time_correction() on this host's
time.monotonic_ns(). A stream that disappears is a plate unplugged: counted and reported, and the inlet is
reopened when a stream of that name returns; the samples missed are counted from the time stamps.

A six-component plate's own Fx Fy Fz Mx My Mz also travel on (PlateChunk.six, in N and N·m, the stream's
columns reordered and scaled): the station keeps shear and free moment from them (station.core.cop).
"""

from __future__ import annotations

import re

import numpy as np

from drivers.lsl_inlet import LslInlet, pylsl_module
from drivers.lsl_inlet import stream_channels as _stream_channels
from drivers.samples import PlateChunk
from station.config import StationConfig
from station.errors import StationError

COUNTS_PER_N = 1000  # counts are millinewtons
_I32 = 2**31 - 1
_SIX = ("Fx", "Fy", "Fz", "Mx", "My", "Mz")
_FORCE_UNITS = {"": 1.0, "n": 1.0, "newton": 1.0, "newtons": 1.0, "kn": 1000.0}
_MOMENT_UNITS = {"": 1.0, "nm": 1.0, "newtonmeter": 1.0, "newtonmeters": 1.0, "nmm": 1e-3, "knm": 1000.0}
_ROLE = re.compile(r"^(f|force|m|moment|t|torque)([xyz])\d*$")


def _pylsl():
    return pylsl_module("--plate")


def _unit_key(unit: str) -> str:
    return re.sub(r"[\s.·*\-_]", "", unit.strip().lower())


def _role(label: str) -> str | None:
    m = _ROLE.match(re.sub(r"[^a-z0-9]", "", label.lower()))
    if not m:
        return None
    return ("F" if m.group(1) == "f" or m.group(1) == "force" else "M") + m.group(2)


def stream_channels(info) -> list[tuple[str, str]]:
    """(label, unit) per channel from the XDF meta-data desc/channels/channel, [] when it has none."""
    return _stream_channels(info, ("label", "unit"))


def cells_from_six(six: np.ndarray, channel_xy: np.ndarray, origin_depth_m: float) -> np.ndarray:
    """(N,6) Fx Fy Fz Mx My Mz -> (N,4) cell loads at channel_xy with the same Fz and CoP (see module)."""
    fx, fy, fz, mx, my = (six[:, i] for i in range(5))
    dz = float(origin_depth_m)
    rhs = np.stack([fz, -my - fx * dz, mx - fy * dz], axis=-1)  # Fz, Fz*COPx, Fz*COPy
    a = np.vstack([np.ones(4), channel_xy[:, 0], channel_xy[:, 1]])  # (3,4)
    return rhs @ np.linalg.pinv(a).T


class LslPlate(LslInlet):
    """PlateSource over an LSL inlet (Source protocol: start/read/stop/stats/factory_calibration)."""

    flag = "--plate"
    kind = "plate"

    def __init__(self, stream: str, config: StationConfig | None = None, *,
                 resolve_timeout_s: float | None = None, buffer_samples: int = 120_000,
                 silence_timeout_s: float = 2.0, reconnect: bool = True,
                 name: str | None = None) -> None:
        self.config = config or StationConfig()
        lc = self.config.lsl_plate
        timeout_s = lc.resolve_timeout_s if resolve_timeout_s is None else resolve_timeout_s
        super().__init__(stream, name=name, resolve_timeout_s=timeout_s, buffer_samples=buffer_samples,
                         silence_timeout_s=silence_timeout_s, reconnect=reconnect)
        self.origin_depth_m = float(lc.origin_depth_m)
        self.variant: str | None = None
        self.labels: list[str] = []
        self._order: np.ndarray | None = None  # stream column per role (6) or per cell (4)
        self._scale: np.ndarray | None = None  # to N / N·m, per role

    # --- Source protocol ----------------------------------------------------------------------------
    def stats(self) -> dict:
        return {
            **super().stats(), "crc_errors": 0, "port": self.name, "variant": self.variant,
            "channels": list(self.labels),
            "origin_depth_m": self.origin_depth_m if self.variant == "lsl-6axis" else None,
            "components": "six-component" if self.variant == "lsl-6axis" else "4-cell",
        }

    def factory_calibration(self) -> dict | None:
        """The stream is in newtons already: counts are mN, so zero offsets and 0.001 N/count."""
        return {"offsets_counts": [0.0] * 4, "gains_n_per_count": [1.0 / COUNTS_PER_N] * 4,
                "source": f"LSL stream {self.stream!r} in newtons (counts are mN; no calibration needed)"}

    def _layout(self, info) -> None:
        """Check the stream's shape and name its channels; StationError naming the stream otherwise."""
        pylsl = _pylsl()
        n, rate, fmt = info.channel_count(), info.nominal_srate(), info.channel_format()
        problems = []
        if n not in (4, 6):
            problems.append(f"{n} channels (need 4 load cells or 6 Fx Fy Fz Mx My Mz)")
        if rate <= 0:
            problems.append("an irregular rate (need a nominal rate > 0 Hz)")
        if fmt == pylsl.cf_string:
            problems.append("string samples (need numbers)")
        if problems:
            raise StationError(f"plate {self.name}: LSL stream {info.name()!r} (type {info.type()!r}, "
                               f"{n} channels, {rate:g} Hz) cannot be a force plate: it has "
                               + "; ".join(problems))
        meta = stream_channels(info)
        wanted = list(self.config.lsl_plate.channel_labels)
        if wanted and len(wanted) != n:
            raise StationError(f"plate {self.name}: [lsl_plate] channel_labels names {len(wanted)} "
                               f"channels, stream {info.name()!r} has {n}")
        default = list(_SIX) if n == 6 else [f"cell{i}" for i in range(4)]
        labels = [lbl for lbl, _ in meta] or wanted or default
        units = [u for _, u in meta] or [""] * n
        if n == 6:
            roles = [_role(lbl) for lbl in labels]
            if sorted(r for r in roles if r) != sorted(_SIX):
                raise StationError(f"plate {self.name}: LSL stream {info.name()!r} has 6 channels "
                                   f"{labels} but not Fx Fy Fz Mx My Mz once each")
            order = [roles.index(r) for r in _SIX]
            scale = []
            for r, col in zip(_SIX, order, strict=True):
                table = _FORCE_UNITS if r[0] == "F" else _MOMENT_UNITS
                key = _unit_key(units[col])
                if key not in table:
                    raise StationError(f"plate {self.name}: LSL stream {info.name()!r} channel "
                                       f"{labels[col]!r} is in {units[col]!r} (need N or kN, N·m or N·mm)")
                scale.append(table[key])
            self.variant = "lsl-6axis"
        else:
            order = list(range(4))
            if meta and wanted and sorted(wanted) == sorted(labels):
                order = [labels.index(w) for w in wanted]  # the TOML's cell order from the stream's names
            scale = []
            for col in order:
                key = _unit_key(units[col])
                if key not in _FORCE_UNITS:
                    raise StationError(f"plate {self.name}: LSL stream {info.name()!r} channel "
                                       f"{labels[col]!r} is in {units[col]!r} (need N or kN)")
                scale.append(_FORCE_UNITS[key])
            self.variant = "lsl-4cell"
        self.labels, self.rate_hz = labels, float(rate)
        self._order, self._scale = np.asarray(order), np.asarray(scale, float)

    # --- reader thread ------------------------------------------------------------------------------
    def _chunk(self, data: np.ndarray, ts: np.ndarray) -> PlateChunk:
        cols = data[:, self._order] * self._scale
        cells = cells_from_six(cols, self.config.plate.channel_xy, self.origin_depth_m) if len(
            self._order) == 6 else cols
        flags = np.zeros(len(ts), np.uint8)
        bad = ~np.isfinite(cells).all(axis=1)
        flags[bad] |= 2
        mn = np.rint(np.nan_to_num(cells) * COUNTS_PER_N)
        flags[(np.abs(mn) > _I32).any(axis=1)] |= 1
        counts = np.clip(mn, -_I32, _I32).astype(np.int32)
        seq = self._seq(ts)  # one per sample, more across a gap
        six = cols if len(self._order) == 6 else None  # N, N·m in Fx Fy Fz Mx My Mz order
        return PlateChunk(seq, ts.copy(), self._host_ns(ts), counts, flags, six=six)


def open_lsl_plate(stream: str, config: StationConfig, **plate_options: object) -> LslPlate:
    """Registry factory (drivers.registry): `lsl:NAME`, the LSL stream called NAME."""
    if not stream:
        raise StationError("--plate lsl:NAME: give the LSL stream's name after lsl:")
    return LslPlate(stream, config, **plate_options)
