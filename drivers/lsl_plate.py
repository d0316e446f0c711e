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

Clocks: t_device_s is the sample's LSL time stamp (the sender's clock); t_host_ns is that stamp plus
the inlet's time_correction(), in this host's time.monotonic_ns() domain. A stream that disappears is
a plate unplugged: counted and reported, and the inlet is reopened when a stream of that name returns;
the samples missed are counted from the time stamps (seq advances by the nominal rate).
"""

from __future__ import annotations

import collections
import logging
import re
import threading
import time

import numpy as np

from drivers.samples import PlateChunk
from station.config import StationConfig
from station.errors import StationError

log = logging.getLogger(__name__)

COUNTS_PER_N = 1000  # counts are millinewtons
_I32 = 2**31 - 1
_RECONNECT_PERIOD_S = 0.2
_SIX = ("Fx", "Fy", "Fz", "Mx", "My", "Mz")
_FORCE_UNITS = {"": 1.0, "n": 1.0, "newton": 1.0, "newtons": 1.0, "kn": 1000.0}
_MOMENT_UNITS = {"": 1.0, "nm": 1.0, "newtonmeter": 1.0, "newtonmeters": 1.0, "nmm": 1e-3, "knm": 1000.0}
_ROLE = re.compile(r"^(f|force|m|moment|t|torque)([xyz])\d*$")


def _pylsl():
    try:
        import pylsl
    except Exception as exc:  # noqa: BLE001 - a missing liblsl is an ImportError or an OSError
        raise StationError(f"--plate lsl:...: pylsl is not usable here ({exc})") from None
    return pylsl


def _unit_key(unit: str) -> str:
    return re.sub(r"[\s.·*\-_]", "", unit.strip().lower())


def _role(label: str) -> str | None:
    m = _ROLE.match(re.sub(r"[^a-z0-9]", "", label.lower()))
    if not m:
        return None
    return ("F" if m.group(1) == "f" or m.group(1) == "force" else "M") + m.group(2)


def stream_channels(info) -> list[tuple[str, str]]:
    """(label, unit) per channel from the XDF meta-data desc/channels/channel, [] when it has none."""
    out = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        out.append((ch.child_value("label"), ch.child_value("unit")))
        ch = ch.next_sibling("channel")
    return out if len(out) == info.channel_count() and all(lbl for lbl, _ in out) else []


def cells_from_six(six: np.ndarray, channel_xy: np.ndarray, origin_depth_m: float) -> np.ndarray:
    """(N,6) Fx Fy Fz Mx My Mz -> (N,4) cell loads at channel_xy with the same Fz and CoP (see module)."""
    fx, fy, fz, mx, my = (six[:, i] for i in range(5))
    dz = float(origin_depth_m)
    rhs = np.stack([fz, -my - fx * dz, mx - fy * dz], axis=-1)  # Fz, Fz*COPx, Fz*COPy
    a = np.vstack([np.ones(4), channel_xy[:, 0], channel_xy[:, 1]])  # (3,4)
    return rhs @ np.linalg.pinv(a).T


class LslPlate:
    """PlateSource over an LSL inlet (Source protocol: start/read/stop/stats/factory_calibration)."""

    def __init__(self, stream: str, config: StationConfig | None = None, *,
                 resolve_timeout_s: float | None = None, buffer_samples: int = 120_000,
                 silence_timeout_s: float = 2.0, reconnect: bool = True,
                 name: str | None = None) -> None:
        self.stream = stream
        self.name = name or f"lsl:{stream}"
        self.config = config or StationConfig()
        lc = self.config.lsl_plate
        timeout_s = lc.resolve_timeout_s if resolve_timeout_s is None else resolve_timeout_s
        self.resolve_timeout_s = float(timeout_s)
        self.origin_depth_m = float(lc.origin_depth_m)
        self.buffer_samples = int(buffer_samples)
        self.silence_timeout_s = float(silence_timeout_s)
        self.reconnect = reconnect
        self.variant: str | None = None
        self.rate_hz: float | None = None
        self.labels: list[str] = []
        self.source_id = self.hostname = ""
        self._order: np.ndarray | None = None  # stream column per role (6) or per cell (4)
        self._scale: np.ndarray | None = None  # to N / N·m, per role
        self._inlet = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._buffer: collections.deque[PlateChunk] = collections.deque()
        self._buffered = 0
        self.samples = self.lost = 0
        self.overflows = self.overflow_samples = 0
        self.disconnects = self.reconnects = self.stalls = 0
        self.events: list[str] = []
        self.correction_s: float | None = None
        self.correction_updates = 0
        self._mono_offset_ns = 0
        self._last_ts: float | None = None
        self._last_seq = -1
        self._lost_at_disconnect: int | None = None

    # --- Source protocol ----------------------------------------------------------------------------
    def start(self) -> None:
        """Find the stream (StationError naming it when absent or of the wrong shape) and start reading."""
        pylsl = _pylsl()
        self._mono_offset_ns = self._monotonic_offset_ns(pylsl)
        infos = pylsl.resolve_byprop("name", self.stream, 1, self.resolve_timeout_s)
        if not infos:
            raise StationError(f"plate {self.name}: no LSL stream named {self.stream!r} found within "
                               f"{self.resolve_timeout_s:g} s")
        self._open(infos[0])
        self._thread = threading.Thread(target=self._run, name=f"plate-reader {self.name}", daemon=True)
        self._thread.start()

    def read(self, timeout_s: float = 0.1) -> list[PlateChunk]:
        with self._cond:
            if not self._buffer:
                self._cond.wait(timeout_s)
            chunks = list(self._buffer)
            self._buffer.clear()
            self._buffered = 0
        return chunks

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._close()

    def stats(self) -> dict:
        return {
            "samples": self.samples, "lost": self.lost, "crc_errors": 0,
            "port": self.name, "stream": self.stream, "variant": self.variant, "rate_hz": self.rate_hz,
            "channels": list(self.labels), "source_id": self.source_id, "hostname": self.hostname,
            "origin_depth_m": self.origin_depth_m if self.variant == "lsl-6axis" else None,
            "overflows": self.overflows, "overflow_samples": self.overflow_samples,
            "disconnects": self.disconnects, "reconnects": self.reconnects, "stalls": self.stalls,
            "connected": self._inlet is not None, "buffered": self._buffered,
            "clock": {"mapping": "lsl time_correction", "correction_s": self.correction_s,
                      "updates": self.correction_updates, "monotonic_offset_ns": self._mono_offset_ns},
        }

    def factory_calibration(self) -> dict | None:
        """The stream is in newtons already: counts are mN, so zero offsets and 0.001 N/count."""
        return {"offsets_counts": [0.0] * 4, "gains_n_per_count": [1.0 / COUNTS_PER_N] * 4,
                "source": f"LSL stream {self.stream!r} in newtons (counts are mN; no calibration needed)"}

    def __enter__(self) -> LslPlate:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- stream -------------------------------------------------------------------------------------
    @staticmethod
    def _monotonic_offset_ns(pylsl) -> int:
        """time.monotonic_ns() - lsl local_clock() in ns, from the tightest of a few paired readings."""
        best = None
        for _ in range(5):
            a = time.monotonic_ns()
            lc = pylsl.local_clock()
            b = time.monotonic_ns()
            if best is None or b - a < best[0]:
                best = (b - a, (a + b) // 2 - round(lc * 1e9))
        return int(best[1])

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
        self.source_id, self.hostname = info.source_id(), info.hostname()

    def _open(self, resolved) -> None:
        pylsl = _pylsl()
        self._layout(resolved)  # refuse early on the resolved header
        inlet = pylsl.StreamInlet(resolved, max_buflen=60, recover=False)
        try:
            self._layout(inlet.info(timeout=2.0))  # the full header, with desc (channel labels)
            inlet.open_stream(timeout=2.0)
            self._update_correction(inlet, timeout=2.0)
        except Exception:
            inlet.close_stream()
            raise
        self._inlet = inlet

    def _close(self) -> None:
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            try:
                inlet.close_stream()
            except Exception:  # noqa: BLE001 - a lost stream may fail to close; it is gone either way
                pass

    def _update_correction(self, inlet, timeout: float = 0.2) -> None:
        try:
            self.correction_s = float(inlet.time_correction(timeout=timeout))
            self.correction_updates += 1
        except Exception as exc:  # noqa: BLE001 - keep the last correction; the reader reports loss
            if self.correction_s is None:
                self.correction_s = 0.0
                self._event(f"plate {self.name}: no LSL time correction yet ({exc}); using 0")

    # --- reader thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        pylsl = _pylsl()
        last_data_s = last_corr_s = time.monotonic()
        stalled = False
        while not self._stop.is_set():
            inlet = self._inlet
            if inlet is None:
                if not self.reconnect:
                    return
                if not self._try_reconnect(pylsl):
                    self._stop.wait(_RECONNECT_PERIOD_S)
                    continue
                inlet, last_data_s, stalled = self._inlet, time.monotonic(), False
            try:
                data, ts = inlet.pull_chunk(timeout=0.05, max_samples=4096)
            except (RuntimeError, OSError) as exc:  # pylsl.util.LostError is a RuntimeError
                self._disconnected(exc)
                continue
            now_s = time.monotonic()
            if now_s - last_corr_s > 1.0:
                self._update_correction(inlet)
                last_corr_s = now_s
            if ts:
                chunk = self._chunk(np.asarray(data, float), np.asarray(ts, float))
                self._after_reconnect_gap()
                self._push(chunk)
                last_data_s, stalled = now_s, False
            elif not stalled and now_s - last_data_s > self.silence_timeout_s:
                stalled = True
                self.stalls += 1
                self._event(f"plate {self.name}: no data for {self.silence_timeout_s:.1f} s "
                            f"(after {self.samples} samples)")

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
        # seq from the time stamps: one per sample, more across a gap (2.5 periods absorbs sender jitter)
        first = ts[0] - 1.0 / self.rate_hz if self._last_ts is None else self._last_ts
        prev = np.concatenate([[first], ts[:-1]])
        periods = (ts - prev) * self.rate_hz
        step = np.where(periods < 2.5, 1, np.rint(periods)).astype(np.int64)
        seq = self._last_seq + np.cumsum(step)
        self.lost += int((step - 1).sum())
        self.samples += len(ts)
        self._last_ts, self._last_seq = float(ts[-1]), int(seq[-1])
        t_host_ns = np.rint((ts + (self.correction_s or 0.0)) * 1e9).astype(np.int64) + self._mono_offset_ns
        return PlateChunk(seq.astype(np.int64), ts.copy(), t_host_ns, counts, flags)

    def _disconnected(self, exc: Exception) -> None:
        self._close()
        self.disconnects += 1
        self._lost_at_disconnect = self.lost
        again = "; reconnecting when it comes back" if self.reconnect else ""
        self._event(f"plate {self.name}: LSL stream lost after {self.samples} samples ({exc}){again}")

    def _try_reconnect(self, pylsl) -> bool:
        infos = pylsl.resolve_byprop("name", self.stream, 1, _RECONNECT_PERIOD_S)
        if not infos:
            return False
        try:
            self._open(infos[0])
        except StationError as exc:
            self._event(f"{exc} (came back changed; still waiting)")
            self._stop.wait(1.0)
            return False
        except Exception:  # noqa: BLE001 - went again while opening: try later
            return False
        self.reconnects += 1
        self._event(f"plate {self.name}: reconnected")
        return True

    def _after_reconnect_gap(self) -> None:
        if self._lost_at_disconnect is not None:
            gap = self.lost - self._lost_at_disconnect
            self._lost_at_disconnect = None
            self._event(f"plate {self.name}: {gap} samples lost while disconnected")

    def _push(self, chunk: PlateChunk) -> None:
        with self._cond:
            self._buffer.append(chunk)
            self._buffered += len(chunk)
            dropped = 0
            while self._buffered > self.buffer_samples and len(self._buffer) > 1:
                old = self._buffer.popleft()  # nobody is reading: keep the newest, count the rest
                self._buffered -= len(old)
                dropped += len(old)
            self._cond.notify_all()
        if dropped:
            if not self.overflow_samples:
                self._event(f"plate {self.name}: buffer overflow, the reader is not keeping up")
            self.overflows += 1
            self.overflow_samples += dropped

    def _event(self, text: str) -> None:
        self.events.append(text)
        log.warning(text)


def open_lsl_plate(stream: str, config: StationConfig, **plate_options: object) -> LslPlate:
    """Registry factory (drivers.registry): `lsl:NAME`, the LSL stream called NAME."""
    if not stream:
        raise StationError("--plate lsl:NAME: give the LSL stream's name after lsl:")
    return LslPlate(stream, config, **plate_options)
