"""What every Lab Streaming Layer source shares (drivers.lsl_plate, drivers.lsl_markers): find the stream by
name, check its shape, read it on a thread, put its stamps on this host's clock, and treat a stream that
disappears as a device unplugged.

Clocks: t_device_s is the sample's LSL time stamp (the sender's clock); t_host_ns is that stamp plus the
inlet's time_correction() (re-measured every second), in this host's time.monotonic_ns() domain (LSL's
local_clock() and time.monotonic_ns() differ by a constant, measured once at start). stats()["clock"]
says so and keeps the last correction: the trial stores it beside the station's own clock mapping.

Unplugged: pull_chunk raising (LostError) closes the inlet, counts a disconnect and reports it; the inlet
is reopened when a stream of that name returns (checked again: one that came back changed is refused and
reported). Samples missed meanwhile are counted from the time stamps (seq advances by the nominal rate;
2.5 periods absorb the sender's jitter). No data for silence_timeout_s while connected is a stall.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np

from drivers.chunk_buffer import BufferedReader
from station.errors import StationError

log = logging.getLogger(__name__)

RECONNECT_PERIOD_S = 0.2
CORRECTION_PERIOD_S = 1.0  # time_correction() again this often (LSL itself re-measures every few s)


def pylsl_module(flag: str) -> Any:
    """pylsl, or a StationError naming the flag that needed it (a missing liblsl is an ImportError or an
    OSError)."""
    try:
        import pylsl
    except Exception as exc:  # noqa: BLE001 - see the docstring
        raise StationError(f"{flag} lsl:...: pylsl is not usable here ({exc})") from None
    return pylsl


def stream_channels(info: Any, keys: tuple[str, ...] = ("label", "unit")) -> list[tuple[str, ...]]:
    """One tuple of `keys` per channel from the XDF meta-data desc/channels/channel, [] when the stream
    names fewer channels than it has or leaves a label empty."""
    out = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        out.append(tuple(ch.child_value(k) for k in keys))
        ch = ch.next_sibling("channel")
    return out if len(out) == info.channel_count() and all(row[0] for row in out) else []


def describe_stream(info: Any) -> str:
    """'name' (type 'T', n channels, r Hz, format f): what a refusal names."""
    formats = {1: "float32", 2: "double64", 3: "string", 4: "int32", 5: "int16", 6: "int8", 7: "int64"}
    fmt = formats.get(info.channel_format(), str(info.channel_format()))
    return (f"{info.name()!r} (type {info.type()!r}, {info.channel_count()} channels, "
            f"{info.nominal_srate():g} Hz, {fmt})")


class LslInlet(BufferedReader):
    """A Source over one LSL inlet. Subclasses say what fits (`_layout(info)`, raising StationError) and
    what a block of samples becomes (`_chunk(data, ts)`); `what` names the source in messages
    ("plate lsl:X", "markers lsl:X") and `flag` the option that names it (`--plate`, `--markers`)."""

    flag = "--source"
    kind = "source"
    _log = log

    def __init__(self, stream: str, *, name: str | None = None, resolve_timeout_s: float = 5.0,
                 buffer_samples: int = 120_000, silence_timeout_s: float = 2.0,
                 reconnect: bool = True) -> None:
        super().__init__(buffer_samples=buffer_samples, silence_timeout_s=silence_timeout_s,
                         reconnect=reconnect)
        self.stream = stream
        self.name = name or f"lsl:{stream}"
        self.resolve_timeout_s = float(resolve_timeout_s)
        self.rate_hz: float | None = None
        self.source_id = self.hostname = ""
        self._inlet = None
        self.samples = self.lost = 0
        self.correction_s: float | None = None
        self.correction_updates = 0
        self._mono_offset_ns = 0
        self._last_ts: float | None = None
        self._last_seq = -1

    @property
    def what(self) -> str:
        return f"{self.kind} {self.name}"

    # --- to implement -------------------------------------------------------------------------------
    def _layout(self, info: Any) -> None:
        """Check the stream's shape and learn its channels; StationError naming the stream otherwise."""
        raise NotImplementedError

    def _chunk(self, data: np.ndarray, ts: np.ndarray) -> Any:
        """(N, channels) samples with their (N,) LSL stamps -> what read() delivers (has a len)."""
        raise NotImplementedError

    def _precheck(self, info: Any) -> None:
        """The check on the header resolve() found, before an inlet opens (it has no desc: no labels)."""
        self._layout(info)

    # --- Source protocol ----------------------------------------------------------------------------
    def start(self) -> None:
        """Find the stream (StationError naming it when absent or of the wrong shape) and start reading."""
        pylsl = pylsl_module(self.flag)
        self._mono_offset_ns = self._monotonic_offset_ns(pylsl)
        infos = pylsl.resolve_byprop("name", self.stream, 1, self.resolve_timeout_s)
        if not infos:
            raise StationError(f"{self.what}: no LSL stream named {self.stream!r} found within "
                               f"{self.resolve_timeout_s:g} s")
        self._open(infos[0])
        self._thread = threading.Thread(target=self._run, name=f"{self.kind}-reader {self.name}", daemon=True)
        self._thread.start()

    def stats(self) -> dict:
        return {
            "samples": self.samples, "lost": self.lost, "stream": self.stream, "rate_hz": self.rate_hz,
            "source_id": self.source_id, "hostname": self.hostname,
        } | self._link_stats(self._inlet is not None, clock=self.clock())

    def clock(self) -> dict:
        """How the stamps reach the host clock: LSL's time_correction (s, sender -> this host's LSL clock)
        and the constant from LSL's local_clock() to time.monotonic_ns()."""
        return {"mapping": "lsl time_correction", "correction_s": self.correction_s,
                "updates": self.correction_updates, "monotonic_offset_ns": self._mono_offset_ns}

    # --- stream -------------------------------------------------------------------------------------
    @staticmethod
    def _monotonic_offset_ns(pylsl: Any) -> int:
        """time.monotonic_ns() - lsl local_clock() in ns, from the tightest of a few paired readings."""
        best = None
        for _ in range(5):
            a = time.monotonic_ns()
            lc = pylsl.local_clock()
            b = time.monotonic_ns()
            if best is None or b - a < best[0]:
                best = (b - a, (a + b) // 2 - round(lc * 1e9))
        return int(best[1])

    def _open(self, resolved: Any) -> None:
        pylsl = pylsl_module(self.flag)
        self._precheck(resolved)  # refuse early on the resolved header
        inlet = pylsl.StreamInlet(resolved, max_buflen=60, recover=False)
        try:
            self._layout(inlet.info(timeout=2.0))  # the full header, with desc (channel labels)
            inlet.open_stream(timeout=2.0)
            self._update_correction(inlet, timeout=2.0)
        except Exception:
            inlet.close_stream()
            raise
        self.source_id, self.hostname = resolved.source_id(), resolved.hostname()
        self._inlet = inlet

    def _close(self) -> None:
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            try:
                inlet.close_stream()
            except Exception:  # noqa: BLE001 - a lost stream may fail to close; it is gone either way
                pass

    def _update_correction(self, inlet: Any, timeout: float = 0.2) -> None:
        try:
            self.correction_s = float(inlet.time_correction(timeout=timeout))
            self.correction_updates += 1
        except Exception as exc:  # noqa: BLE001 - keep the last correction; the reader reports loss
            if self.correction_s is None:
                self.correction_s = 0.0
                self._event(f"{self.what}: no LSL time correction yet ({exc}); using 0")

    def _host_ns(self, ts: np.ndarray) -> np.ndarray:
        """LSL stamps (sender's clock) -> this host's time.monotonic_ns()."""
        return np.rint((ts + (self.correction_s or 0.0)) * 1e9).astype(np.int64) + self._mono_offset_ns

    def _seq(self, ts: np.ndarray) -> np.ndarray:
        """Sample numbers from the stamps: one per sample, more across a gap; counts samples and lost."""
        first = ts[0] - 1.0 / self.rate_hz if self._last_ts is None else self._last_ts
        prev = np.concatenate([[first], ts[:-1]])
        periods = (ts - prev) * self.rate_hz
        step = np.where(periods < 2.5, 1, np.rint(periods)).astype(np.int64)
        seq = self._last_seq + np.cumsum(step)
        self.lost += int((step - 1).sum())
        self.samples += len(ts)
        self._last_ts, self._last_seq = float(ts[-1]), int(seq[-1])
        return seq.astype(np.int64)

    # --- reader thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        pylsl = pylsl_module(self.flag)
        last_data_s = last_corr_s = time.monotonic()
        stalled = False
        while not self._stop.is_set():
            inlet = self._inlet
            if inlet is None:
                if not self.reconnect:
                    return
                if not self._try_reconnect(pylsl):
                    self._stop.wait(RECONNECT_PERIOD_S)
                    continue
                inlet, last_data_s, stalled = self._inlet, time.monotonic(), False
            try:
                data, ts = inlet.pull_chunk(timeout=0.05, max_samples=4096)
            except (RuntimeError, OSError) as exc:  # pylsl.util.LostError is a RuntimeError
                self._disconnected(exc)
                continue
            now_s = time.monotonic()
            if now_s - last_corr_s > CORRECTION_PERIOD_S:
                self._update_correction(inlet)
                last_corr_s = now_s
            if ts:
                chunk = self._chunk(np.asarray(data, float), np.asarray(ts, float))
                self._after_reconnect_gap(self.lost)
                self._push(chunk)
                last_data_s, stalled = now_s, False
            elif not stalled and now_s - last_data_s > self.silence_timeout_s:
                stalled = True
                self._stalled(self.samples)

    def _disconnected(self, exc: Exception) -> None:
        self.disconnected_ns = time.monotonic_ns()
        self._close()
        self._count_disconnect(self.lost, f"LSL stream lost after {self.samples} samples ({exc})")

    def _try_reconnect(self, pylsl: Any) -> bool:
        infos = pylsl.resolve_byprop("name", self.stream, 1, RECONNECT_PERIOD_S)
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
        self._count_reconnect()
        return True
