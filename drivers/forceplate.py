"""Force plate on a serial port: one reader thread per plate feeding the byte parser into a bounded buffer.

Any pyserial port name or URL works (`/dev/ttyACM0`, `COM3`, `serial:///dev/ttyUSB0`, `loop://`,
`socket://host:port`); the stand-in (`sim:PATTERN`, drivers.sim.simplate) is this same class reading
an emulator on a real pty, so simulated bytes go through pyserial too. Every sample carries the device
clock and the host's monotonic arrival time. Overflow, loss, CRC errors and disconnects are counted,
never silent.
"""

from __future__ import annotations

import collections
import errno
import logging
import threading
import time

from drivers.forceplate_parser import AsciiParser, BinaryParser, detect_variant
from drivers.samples import PlateChunk
from station.config import StationConfig
from station.errors import StationError

log = logging.getLogger(__name__)
_DETECT_MAX_BYTES = 8192  # this much without a valid frame or sample line: not a plate we understand
_RECONNECT_PERIOD_S = 0.2


class ForcePlate:
    """Source of PlateChunk from a serial force plate (Source protocol: start/read/stop/stats)."""

    def __init__(self, port: str, *, baudrate: int = 921600, buffer_samples: int = 120_000,
                 silence_timeout_s: float = 2.0, reconnect: bool = True, name: str | None = None) -> None:
        self.port = port[len("serial://"):] if port.startswith("serial://") else port
        self.name = name or port
        self.baudrate = baudrate
        self.buffer_samples = int(buffer_samples)
        self.silence_timeout_s = float(silence_timeout_s)
        self.reconnect = reconnect
        self.variant: str | None = None
        self.parser: BinaryParser | AsciiParser | None = None
        self._serial = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._buffer: collections.deque[PlateChunk] = collections.deque()
        self._buffered = 0
        self.overflow_samples = 0
        self.overflows = 0
        self.disconnects = 0
        self.reconnects = 0
        self.stalls = 0
        self.events: list[str] = []  # human-readable happenings (disconnects, overflows), newest last
        self._lost_at_disconnect: int | None = None
        # host monotonic ns of the last disconnect and reconnect (station.trial.device_watch's times)
        self.disconnected_ns: int | None = None
        self.reconnected_ns: int | None = None

    # --- Source protocol ----------------------------------------------------------------------------
    def start(self) -> None:
        """Open the port and detect the variant from the first bytes; StationError names the port."""
        try:
            self._serial = self._open()
            first = self._detect(self._serial)
        except StationError:
            self._close()
            raise
        self.parser = BinaryParser() if self.variant == "binary" else AsciiParser()
        for data, t_host_ns in first:
            self._push(self.parser.feed(data, t_host_ns))
        self._thread = threading.Thread(target=self._run, name=f"plate-reader {self.port}", daemon=True)
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
        parser = self.parser.stats() if self.parser else {"samples": 0, "lost": 0, "crc_errors": 0}
        return parser | {
            "port": self.port, "variant": self.variant,
            "rate_hz": self.parser.rate_hz if self.parser else None,
            "overflows": self.overflows, "overflow_samples": self.overflow_samples,
            "disconnects": self.disconnects, "reconnects": self.reconnects, "stalls": self.stalls,
            "connected": self._serial is not None, "buffered": self._buffered,
            "disconnected_ns": self.disconnected_ns, "reconnected_ns": self.reconnected_ns,
        }

    def __enter__(self) -> ForcePlate:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- port ---------------------------------------------------------------------------------------
    def _open(self):
        import serial  # pyserial, imported when a plate is actually opened

        # a device path is locked for this reader alone: a second program on the same plate would take
        # half of its bytes each (pyserial URLs such as socket:// have no such lock)
        options = {} if "://" in self.port else {"exclusive": True}
        try:
            return serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0.05, **options)
        except (serial.SerialException, OSError, ValueError) as exc:
            cause = exc.__context__ if isinstance(exc.__context__, OSError) else exc
            reason = getattr(cause, "strerror", None) or str(exc)
            code = getattr(cause, "errno", None)
            if code == errno.EACCES:
                reason += " (on Linux, is the user in the dialout group?)"
            elif code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "exclusively lock" in str(exc):
                reason = (f"the port is in use by another program (close it; `fuser -v {self.port}` "
                          "shows which)")
            raise StationError(f"plate {self.port}: cannot open: {reason}") from None

    def _close(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            try:
                ser.close()
            except Exception:  # closing a port whose device vanished may fail; it is closed either way
                pass

    def _detect(self, ser) -> list[tuple[bytes, int]]:
        """Read until one variant is recognised; returns the bytes read with their arrival times."""
        import serial

        reads: list[tuple[bytes, int]] = []
        seen = bytearray()
        t_open = time.monotonic()
        while True:
            try:
                data = ser.read(ser.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                raise StationError(f"plate {self.port}: read failed after {len(seen)} bytes: {exc}") from None
            if data:
                reads.append((data, time.monotonic_ns()))
                seen += data
                self.variant = detect_variant(seen)
                if self.variant:
                    return reads
            waited_s = time.monotonic() - t_open
            if not seen and waited_s > self.silence_timeout_s:
                raise StationError(f"plate {self.port}: no data for {self.silence_timeout_s:.1f} s")
            if seen and (len(seen) > _DETECT_MAX_BYTES or waited_s > self.silence_timeout_s):
                raise StationError(f"plate {self.port}: neither binary nor ASCII plate protocol: "
                                   f"{len(seen)} bytes, first bytes {bytes(seen[:32])!r}")

    # --- reader thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        import serial

        last_data_s = time.monotonic()
        stalled = False
        while not self._stop.is_set():
            ser = self._serial
            if ser is None:
                if not self.reconnect:
                    return
                if not self._try_reconnect():
                    self._stop.wait(_RECONNECT_PERIOD_S)
                    continue
                ser, last_data_s = self._serial, time.monotonic()
            try:
                data = ser.read(ser.in_waiting or 1)
            except (serial.SerialException, OSError, TypeError) as exc:  # TypeError: closed under our feet
                self._disconnected(exc)
                continue
            now_s = time.monotonic()
            if data:
                chunk = self.parser.feed(data, time.monotonic_ns())
                if len(chunk):
                    self._after_reconnect_gap()
                    self._push(chunk)
                last_data_s, stalled = now_s, False
            elif not stalled and now_s - last_data_s > self.silence_timeout_s:
                stalled = True
                self.stalls += 1
                self._event(f"plate {self.port}: no data for {self.silence_timeout_s:.1f} s "
                            f"(after {self.parser.samples} samples)")

    def _disconnected(self, exc: Exception) -> None:
        self.disconnected_ns = time.monotonic_ns()
        self._close()
        self.parser.discard_partial()
        self.disconnects += 1
        self._lost_at_disconnect = self.parser.lost
        again = "; reconnecting when it comes back" if self.reconnect else ""
        self._event(f"plate {self.port}: disconnected after {self.parser.samples} samples ({exc}){again}")

    def _try_reconnect(self) -> bool:
        try:
            self._serial = self._open()
        except StationError:
            return False
        self.reconnects += 1
        self.reconnected_ns = time.monotonic_ns()
        self._event(f"plate {self.port}: reconnected")
        return True

    def _after_reconnect_gap(self) -> None:
        if self._lost_at_disconnect is not None:
            gap = self.parser.lost - self._lost_at_disconnect
            self._lost_at_disconnect = None
            self._event(f"plate {self.port}: {gap} samples lost while disconnected")

    def _push(self, chunk: PlateChunk) -> None:
        if not len(chunk):
            return
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
                self._event(f"plate {self.port}: buffer overflow, the reader is not keeping up")
            self.overflows += 1
            self.overflow_samples += dropped

    def factory_calibration(self) -> dict | None:
        """The plate's factory sheet (offsets counts, gains N/count), if the device ships one.

        Only the simulated plate has one here (drivers.sim.simplate: its emulator's true offsets and
        gains, as a vendor's sheet would give); real plates return None and are calibrated with
        `calibrate plate`."""
        return None

    def _event(self, text: str) -> None:
        self.events.append(text)
        log.warning(text)


def open_serial_plate(port: str, config: StationConfig, **plate_options: object) -> ForcePlate:
    """Registry factory (drivers.registry): a plate on a port name or pyserial URL."""
    return ForcePlate(port, **plate_options)
