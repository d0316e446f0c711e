"""Force plate byte parsers: bytes in, PlateChunk out. No port, no thread, no clock of their own.

Both parsers resync after garbage, parse `# plate ...` info lines, unwrap the u32 device clock and
count lost samples exactly: from `seq` gaps (binary) or from `t_us` gaps against the nominal rate
(ASCII). They never invent a sample: a lost sample is a number in `lost`, not a row.
Every decision depends only on the bytes, never on how they were split across feed() calls.
"""

from __future__ import annotations

import binascii
import re

import numpy as np

from drivers.plate_protocol import FRAME_SIZE_BYTES, FRAME_TYPE_SAMPLE, SEQ_MODULO, SYNC, T_US_MODULO
from drivers.samples import PlateChunk

FRAME_DTYPE = np.dtype([("sync", "<u2"), ("type", "u1"), ("flags", "u1"), ("seq", "<u2"), ("t_us", "<u4"),
                        ("counts", "<i4", (4,)), ("crc", "<u2")])
assert FRAME_DTYPE.itemsize == FRAME_SIZE_BYTES
_BULK_MIN_FRAMES = 8  # below this many buffered frames the per-frame loop is as fast
_ASCII_SAMPLE = re.compile(rb"\s*\d+\s*(,\s*[-+]?\d+\s*){4}")
_MAX_JUNK_BYTES = 512  # garbage kept to find `#` info lines in it
_MAX_ASCII_LINE_BYTES = 256  # a longer "line" is noise, not a sample
_RATE_ESTIMATE_INTERVALS = 8  # ASCII without an info line: median of this many intervals sets the rate


def empty_chunk() -> PlateChunk:
    return PlateChunk.concat([])


def _frame_crc_ok(buf: bytearray | bytes, p: int) -> bool:
    return buf[p:p + 2] == SYNC and \
        binascii.crc_hqx(buf[p + 2:p + 26], 0xFFFF) == buf[p + 26] | (buf[p + 27] << 8)


def _count_good_frames(buf: bytearray, p: int, m: int) -> int:
    """How many back-to-back CRC-valid frames start at p: one C CRC call per frame, numpy for the rest."""
    crc_hqx = binascii.crc_hqx
    with memoryview(buf) as view:
        crc = np.fromiter([crc_hqx(view[i:i + 24], 0xFFFF) for i in range(p + 2, p + m * FRAME_SIZE_BYTES,
                                                                          FRAME_SIZE_BYTES)], np.uint16, m)
    rows = np.frombuffer(buf, np.uint8, count=m * FRAME_SIZE_BYTES, offset=p).reshape(m, FRAME_SIZE_BYTES)
    crc_on_wire = rows[:, 26] | (rows[:, 27].astype(np.uint16) << 8)
    ok = (rows[:, 0] == 0xA5) & (rows[:, 1] == 0x5A) & (crc == crc_on_wire)
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if bad.size else m


def _diff_from(x: np.ndarray, prev: int) -> np.ndarray:
    """x[i] - x[i-1] with x[-1] = prev (np.diff with prepend, without its per-call overhead)."""
    out = np.empty_like(x)
    out[0] = x[0] - prev
    np.subtract(x[1:], x[:-1], out=out[1:])
    return out


def _add_run(segments: list[list[int]], start: int, count: int) -> None:
    if segments and segments[-1][0] + segments[-1][1] * FRAME_SIZE_BYTES == start:
        segments[-1][1] += count
    else:
        segments.append([start, count])


def detect_variant(first_bytes: bytes) -> str | None:
    """'binary' if a CRC-valid frame is there, 'ascii' if a whole `t_us,c0,c1,c2,c3` line is, else None."""
    data = bytes(first_bytes)
    i = data.find(SYNC)
    while 0 <= i <= len(data) - FRAME_SIZE_BYTES:
        if _frame_crc_ok(data, i):
            return "binary"
        i = data.find(SYNC, i + 1)
    for line in data.split(b"\n")[:-1]:
        if _ASCII_SAMPLE.fullmatch(line.rstrip(b"\r")):
            return "ascii"
    return None


class _ParserBase:
    """Counters, `#` info lines and device-clock unwrapping shared by both variants."""

    variant = ""

    def __init__(self) -> None:
        self.samples = 0  # samples emitted
        self.lost = 0  # samples the device sent that never arrived (from seq or t_us gaps)
        self.crc_errors = 0  # binary frames with a bad CRC
        self.bad_lines = 0  # ASCII lines that are neither samples nor comments
        self.garbage_bytes = 0  # bytes skipped while resyncing
        self.info_lines = 0
        self.info: dict[str, str] = {}
        self._junk = bytearray()
        self._last_seq: int | None = None  # unwrapped
        self._last_t_us: int | None = None  # unwrapped

    @property
    def info_rate_hz(self) -> float | None:
        try:
            rate = float(self.info["rate"])
        except (KeyError, ValueError):
            return None
        return rate if rate > 0 else None

    def _parse_info(self, line: bytes) -> None:
        self.info_lines += 1
        for token in line.lstrip(b"#").decode("ascii", "replace").split():
            key, sep, value = token.partition("=")
            if sep:
                self.info[key] = value

    def _skip(self, data: bytes | bytearray) -> None:
        """Bytes that are not frames: counted, and searched for `#` info lines (boot banners)."""
        self.garbage_bytes += len(data)
        self._junk += data
        while (nl := self._junk.find(b"\n")) >= 0:
            line = bytes(self._junk[:nl]).strip()
            del self._junk[:nl + 1]
            start = line.rfind(b"#")
            if start >= 0 and line[start:].startswith(b"# plate"):
                self._parse_info(line[start:])
        if len(self._junk) > _MAX_JUNK_BYTES:
            del self._junk[:-_MAX_JUNK_BYTES]

    def _unwrap_t_us(self, t_us: np.ndarray) -> np.ndarray:
        """u32 microseconds -> int64 microseconds, continuing across wraps and across feed() calls."""
        t_us = t_us.astype(np.int64)
        if self._last_t_us is None:
            prev = t_us[0]
            start = prev
        else:
            prev, start = self._last_t_us % T_US_MODULO, self._last_t_us
        steps = _diff_from(t_us, prev) % T_US_MODULO
        out = start + np.cumsum(steps)
        self._last_t_us = int(out[-1])
        return out

    def stats(self) -> dict:
        return {"variant": self.variant, "samples": self.samples, "lost": self.lost,
                "crc_errors": self.crc_errors, "bad_lines": self.bad_lines,
                "garbage_bytes": self.garbage_bytes, "info_lines": self.info_lines, "info": dict(self.info)}


class BinaryParser(_ParserBase):
    """28-byte frames: sync A5 5A, CRC-16/CCITT-FALSE, u16 seq, u32 t_us, 4 x i32 counts."""

    variant = "binary"

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        self._in_sync = False  # the previous frame ended exactly where the next one should start
        self.unknown_frames = 0  # CRC-valid frames of a type other than 0x01 (future use): skipped
        self.duplicates = 0  # frames repeating the previous seq: dropped
        self._period_us: float | None = None  # for resolving seq gaps longer than 65536 samples
        self._period_from_info: float | None = None

    def feed(self, data: bytes, t_host_ns: int) -> PlateChunk:
        buf = self._buf
        buf += data
        n = len(buf)
        p = 0
        segments: list[list[int]] = []  # [start, frame count] runs of back-to-back good frames
        crc_hqx = binascii.crc_hqx
        view = memoryview(buf)
        no_bulk_at = -1
        try:
            while n - p >= FRAME_SIZE_BYTES:
                if (n - p) >= _BULK_MIN_FRAMES * FRAME_SIZE_BYTES and p != no_bulk_at:
                    good = _count_good_frames(buf, p, (n - p) // FRAME_SIZE_BYTES)
                    if good:
                        _add_run(segments, p, good)
                        p += good * FRAME_SIZE_BYTES
                        self._in_sync = True
                    no_bulk_at = p  # the frame here failed the bulk check: take the careful path once
                    continue
                if buf[p] != 0xA5 or buf[p + 1] != 0x5A:
                    q = buf.find(SYNC, p + 1)
                    if q < 0:  # keep a trailing 0xA5: it may be the first half of a sync word
                        q = n - 1 if buf[n - 1] == 0xA5 else n
                    self._skip(view[p:q])
                    p = q
                    self._in_sync = False
                    continue
                if crc_hqx(view[p + 2:p + 26], 0xFFFF) == buf[p + 26] | (buf[p + 27] << 8):
                    _add_run(segments, p, 1)
                    p += FRAME_SIZE_BYTES
                    self._in_sync = True
                    continue
                # Bad CRC. If a good frame follows right after, this was one corrupted frame in place.
                if n - p < 2 * FRAME_SIZE_BYTES:
                    break  # decide when the next frame has arrived
                if _frame_crc_ok(buf, p + FRAME_SIZE_BYTES):
                    self.crc_errors += 1
                    p += FRAME_SIZE_BYTES
                    continue
                if self._in_sync:  # a frame we were waiting for failed (e.g. truncated)
                    self.crc_errors += 1
                self._in_sync = False
                self._skip(view[p:p + 1])
                p += 1
        finally:
            view.release()
        chunk = self._decode(segments, p, t_host_ns) if segments else empty_chunk()
        del buf[:p]
        return chunk

    def discard_partial(self) -> int:
        """Drop bytes of an unfinished frame (e.g. the port closed mid-frame); returns how many."""
        n = len(self._buf)
        self.garbage_bytes += n
        self._buf.clear()
        self._in_sync = False
        return n

    def _decode(self, segments: list[list[int]], end: int, t_host_ns: int) -> PlateChunk:
        raw = np.frombuffer(self._buf, np.uint8, count=end)
        parts = [raw[start:start + count * FRAME_SIZE_BYTES] for start, count in segments]
        rows = parts[0].copy() if len(parts) == 1 else np.concatenate(parts)
        del raw, parts  # release the buffer export before the bytearray is resized
        rec = rows.view(FRAME_DTYPE)
        is_sample = rec["type"] == FRAME_TYPE_SAMPLE
        if not is_sample.all():
            self.unknown_frames += int((~is_sample).sum())
            rec = rec[is_sample]
            if rec.size == 0:
                return empty_chunk()
        return self._emit(rec, t_host_ns)

    def _emit(self, rec: np.ndarray, t_host_ns: int) -> PlateChunk:
        seq16 = rec["seq"].astype(np.int64)
        prev_t_us = self._last_t_us
        t_us = self._unwrap_t_us(rec["t_us"])
        if self._last_seq is None:  # nothing is known before the first sample: no loss to count
            prev_seq, prev_t_us = int(seq16[0]) - 1, int(t_us[0])
        else:
            prev_seq = self._last_seq
        steps = _diff_from(seq16, prev_seq % SEQ_MODULO) % SEQ_MODULO
        if self._period_us is None or self._period_from_info != self.info_rate_hz:
            self._update_period(steps, t_us)
        if self._period_us and (t_us[-1] - prev_t_us) > SEQ_MODULO / 2 * self._period_us:
            # a gap longer than 65536 samples (cable out > 65 s at 1 kHz): the device clock says how many
            expected = _diff_from(t_us, prev_t_us) / self._period_us
            long_gap = expected > SEQ_MODULO / 2
            if long_gap.any():
                wraps = np.maximum(np.round((expected - steps) / SEQ_MODULO), 0).astype(np.int64)
                steps = np.where(long_gap, steps + wraps * SEQ_MODULO, steps)
        seq = prev_seq + np.cumsum(steps)
        self._last_seq = int(seq[-1])
        keep = steps > 0
        if not keep.all():  # same seq twice: a repeated frame, not a new sample
            self.duplicates += int((~keep).sum())
            rec, seq, t_us, steps = rec[keep], seq[keep], t_us[keep], steps[keep]
        self.lost += int((steps - 1).sum())
        n = len(seq)
        self.samples += n
        return PlateChunk(seq, t_us / 1e6, np.full(n, t_host_ns, np.int64),
                          np.ascontiguousarray(rec["counts"], dtype=np.int32), rec["flags"].astype(np.uint8))

    def _update_period(self, steps: np.ndarray, t_us: np.ndarray) -> None:
        """Sample period: from the info line, else the median interval of the first consecutive frames."""
        rate = self._period_from_info = self.info_rate_hz
        if rate:
            self._period_us = 1e6 / rate
            return
        good = np.diff(t_us)[steps[1:] == 1]
        if good.size >= _RATE_ESTIMATE_INTERVALS:
            self._period_us = float(np.median(good)) or None

    @property
    def rate_hz(self) -> float | None:
        return 1e6 / self._period_us if self._period_us else None

    def stats(self) -> dict:
        return super().stats() | {"unknown_frames": self.unknown_frames, "duplicates": self.duplicates}

    def flush(self) -> PlateChunk:
        """End of stream: binary frames are emitted as soon as they are complete, so nothing waits here."""
        return empty_chunk()


class AsciiParser(_ParserBase):
    """`t_us,c0,c1,c2,c3` lines. No seq on the wire: `seq` counts nominal sample periods since the first
    line, so a t_us gap of k periods gives seq += k and lost += k - 1, as in the binary variant."""

    variant = "ascii"

    def __init__(self, nominal_rate_hz: float | None = None) -> None:
        super().__init__()
        self._buf = bytearray()
        self._nominal_rate_hz = nominal_rate_hz
        self._period_us: float | None = None
        self._pending: list[tuple[int, ...]] = []  # (t_us, c0, c1, c2, c3, t_host_ns) until the rate is known
        self._next_seq = 0

    @property
    def rate_hz(self) -> float | None:
        return 1e6 / self._period_us if self._period_us else None

    def feed(self, data: bytes, t_host_ns: int) -> PlateChunk:
        buf = self._buf
        buf += data
        nl = buf.rfind(b"\n")
        if nl < 0:
            if len(buf) > _MAX_ASCII_LINE_BYTES:  # no line ending in sight: noise
                self.bad_lines += 1
                self._skip(bytes(buf))
                buf.clear()
            return self._release(final=False)
        lines = bytes(buf[:nl]).split(b"\n")
        del buf[:nl + 1]
        for raw_line in lines:
            line = raw_line.strip()
            if not line:
                continue
            if line.startswith(b"#"):
                self._parse_info(line)
                continue
            parts = line.split(b",")
            if len(parts) == 5:
                try:
                    values = [int(x) for x in parts]
                except ValueError:
                    values = []
                if values and 0 <= values[0] < T_US_MODULO and all(-(1 << 31) <= c < (1 << 31)
                                                                   for c in values[1:]):
                    self._pending.append((*values, t_host_ns))
                    continue
            self.bad_lines += 1
            self.garbage_bytes += len(raw_line) + 1
        return self._release(final=False)

    def flush(self) -> PlateChunk:
        """End of stream: emit samples still waiting for a rate estimate."""
        return self._release(final=True)

    def discard_partial(self) -> int:
        n = len(self._buf)
        self.garbage_bytes += n
        self._buf.clear()
        return n

    def _release(self, final: bool) -> PlateChunk:
        pending = self._pending
        if not pending:
            return empty_chunk()
        if self._period_us is None:
            rate = self.info_rate_hz or self._nominal_rate_hz
            if rate:
                self._period_us = 1e6 / rate
            elif len(pending) > _RATE_ESTIMATE_INTERVALS or (final and len(pending) > 1):
                t_raw = np.array([p[0] for p in pending], np.int64)
                self._period_us = float(np.median(np.diff(t_raw) % T_US_MODULO)) or None
            elif not final:
                return empty_chunk()  # wait: a loss count needs the sample period
        arr = np.array(pending, dtype=np.int64)
        pending.clear()
        first = self._last_t_us is None
        prev_t_us = self._last_t_us
        t_us = self._unwrap_t_us(arr[:, 0])
        dt_us = np.diff(t_us, prepend=t_us[0] if first else prev_t_us)
        seq = np.empty(len(arr), np.int64)
        next_seq = self._next_seq
        period = self._period_us
        for i, dt in enumerate(dt_us.tolist()):
            if (first and i == 0) or not period:
                step = 1
            else:
                step = max(1, round(dt / period))
                if step == 1:  # follow the device's real rate (an "80 Hz" HX711 is rarely exactly 80)
                    period += 0.02 * (dt - period)
                self.lost += step - 1
            seq[i] = next_seq + step - 1
            next_seq = int(seq[i]) + 1
        self._next_seq = next_seq
        self._period_us = period
        self._last_seq = int(seq[-1])
        counts = arr[:, 1:5].astype(np.int32)
        # no flags on the ASCII wire: a value at the 24-bit limit is still a saturated channel
        flags = ((counts >= (1 << 23) - 1) | (counts <= -(1 << 23))).any(axis=1).astype(np.uint8)
        self.samples += len(seq)
        return PlateChunk(seq, t_us / 1e6, arr[:, 5].copy(), counts, flags)
