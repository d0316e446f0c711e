"""Force plate on a serial port: one reader thread per plate feeding the byte parser into a bounded buffer.

Any pyserial port name or URL works (`/dev/ttyACM0`, `COM3`, `serial:///dev/ttyUSB0`, `loop://`,
`socket://host:port`); the stand-in (`sim:PATTERN`, drivers.sim.simplate) is this same class reading
an emulator on a real pty, so simulated bytes go through pyserial too. Every sample carries the device
clock and the host's monotonic arrival time. Overflow, loss, CRC errors and disconnects are counted,
never silent.
"""

from __future__ import annotations

import errno
import logging
import threading
import time

from drivers.chunk_buffer import BufferedReader
from drivers.forceplate_parser import AsciiParser, BinaryParser, detect_variant
from drivers.samples import PlateChunk
from station.config import StationConfig
from station.errors import StationError

log = logging.getLogger(__name__)
_DETECT_MAX_BYTES = 8192  # this much without a valid frame or sample line: not a plate we understand
_RECONNECT_PERIOD_S = 0.2
# Reads at most this often while the stream is slow enough: a USB CDC plate at 1 kHz hands over a frame or
# two per 1 ms USB frame, and parsing, buffering and the trial's worker per tiny read cost more than the
# samples themselves (FIELD-NOTES: numpy parsing is slow on tiny chunks). 10 ms is under a 90 fps frame; the
# samples keep their device times, and the clock mapping takes each window's least-delayed sample.
_READ_PERIOD_S = 0.01
_BIG_READ_BYTES = 2048  # a read this big: the port's buffer is filling, read again at once


class ForcePlate(BufferedReader):
    """Source of PlateChunk from a serial force plate (Source protocol: start/read/stop/stats)."""

    _log = log

    def __init__(self, port: str, *, baudrate: int = 921600, buffer_samples: int = 120_000,
                 silence_timeout_s: float = 2.0, reconnect: bool = True, name: str | None = None) -> None:
        super().__init__(buffer_samples=buffer_samples, silence_timeout_s=silence_timeout_s,
                         reconnect=reconnect)
        self.port = port[len("serial://"):] if port.startswith("serial://") else port
        self.name = name or port
        self.baudrate = baudrate
        self.variant: str | None = None
        self.parser: BinaryParser | AsciiParser | None = None
        self._serial = None

    @property
    def what(self) -> str:
        return f"plate {self.port}"

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

    def stats(self) -> dict:
        parser = self.parser.stats() if self.parser else {"samples": 0, "lost": 0, "crc_errors": 0}
        return parser | {
            "port": self.port, "variant": self.variant,
            "rate_hz": self.parser.rate_hz if self.parser else None,
        } | self._link_stats(self._serial is not None)

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
                    self._after_reconnect_gap(self.parser.lost)
                    self._push(chunk)
                last_data_s, stalled = now_s, False
            elif not stalled and now_s - last_data_s > self.silence_timeout_s:
                stalled = True
                self._stalled(self.parser.samples)
            if 0 < len(data) < _BIG_READ_BYTES:  # stamped and handed on: now let the next bytes gather
                self._stop.wait(max(0.0, now_s + _READ_PERIOD_S - time.monotonic()))

    def _disconnected(self, exc: Exception) -> None:
        self.disconnected_ns = time.monotonic_ns()
        self._close()
        self.parser.discard_partial()
        self._count_disconnect(self.parser.lost, f"disconnected after {self.parser.samples} samples ({exc})")

    def _try_reconnect(self) -> bool:
        try:
            self._serial = self._open()
        except StationError:
            return False
        self._count_reconnect()
        return True

    def _push(self, chunk: PlateChunk) -> None:
        if len(chunk):
            super()._push(chunk)

    def factory_calibration(self) -> dict | None:
        """The plate's factory sheet (offsets counts, gains N/count), if the device ships one.

        Only the simulated plate has one here (drivers.sim.simplate: its emulator's true offsets and
        gains, as a vendor's sheet would give); real plates return None and are calibrated with
        `calibrate plate`."""
        return None


def open_serial_plate(port: str, config: StationConfig, **plate_options: object) -> ForcePlate:
    """Registry factory (drivers.registry): a plate on a port name or pyserial URL."""
    return ForcePlate(port, **plate_options)
