"""A virtual force plate on a pseudo-terminal, speaking shared/spec/plate-protocol.md byte for byte.

It behaves like the reference plate: four load cells with their own offsets, gains and noise, a
24-bit ADC that saturates, a device clock that drifts, frames paced at the real rate; optionally
drops and corrupts frames, and can be "unplugged" and "replugged". The station reads it through
pyserial like any serial port. The truth it sent is kept for tests (`truth()`).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import tty
from collections import deque
from collections.abc import Callable

import numpy as np

from drivers.plate_protocol import (
    COUNTS_MAX,
    COUNTS_MIN,
    FLAG_SATURATED,
    encode_ascii_line,
    encode_binary_frame,
    info_line,
)
from station.config import GRAVITY_M_S2, StationConfig
from station.errors import StationError

CellLoadsFn = Callable[[np.ndarray], np.ndarray]  # t_s (N,) -> (N, 4) newtons per channel

# a plausible plate: tare offsets tens of thousands of counts apart, gains a few % apart
DEFAULT_OFFSETS_COUNTS = (41230.0, -18750.0, 27105.0, 55890.0)
DEFAULT_GAIN_SPREAD = (1.000, 1.031, 0.972, 1.018)


def cell_loads_for_cop(total_n: np.ndarray, cop_xy_m: np.ndarray, channel_xy_m: np.ndarray) -> np.ndarray:
    """Least-norm split of a vertical force at a CoP onto four cells: sum F_i = F, sum F_i x_i = F x_cop."""
    total_n = np.asarray(total_n, float)
    A = np.vstack([np.ones(4), channel_xy_m[:, 0], channel_xy_m[:, 1]])  # (3, 4)
    rhs = np.stack([total_n, total_n * cop_xy_m[:, 0], total_n * cop_xy_m[:, 1]])  # (3, N)
    return (np.linalg.pinv(A) @ rhs).T


def quiet_standing_loads(mass_kg: float = 75.0, sway_m: float = 0.01, sway_hz: float = 0.2,
                         channel_xy_m: np.ndarray | None = None) -> CellLoadsFn:
    """A person standing still: body weight, CoP swaying slowly front-back around mid-foot."""
    xy = StationConfig().plate.channel_xy if channel_xy_m is None else np.asarray(channel_xy_m, float)
    weight_n = mass_kg * GRAVITY_M_S2

    def loads(t_s: np.ndarray) -> np.ndarray:
        t_s = np.asarray(t_s, float)
        cop = np.column_stack([-0.03 + sway_m * np.sin(2 * np.pi * sway_hz * t_s),
                               0.3 * sway_m * np.sin(2 * np.pi * 0.37 * sway_hz * t_s)])
        return cell_loads_for_cop(np.full(t_s.shape, weight_n), cop, xy)

    return loads


class PlateEmulator:
    """Serve `cell_loads_fn` as a force plate on a pty; `start()` returns a stable port path."""

    def __init__(self, cell_loads_fn: CellLoadsFn, *, rate_hz: float = 1000.0,
                 offsets_counts: tuple[float, ...] = DEFAULT_OFFSETS_COUNTS,
                 gains_n_per_count: tuple[float, ...] | None = None, noise_counts: float | None = None,
                 drift_ppm: float = 0.0, drop_every: int = 0, corrupt_prob: float = 0.0,
                 variant: str = "binary", seed: int = 0, boot_banner: bool = True,
                 t0_us: int | None = None, seq0: int = 0, batch_s: float = 0.005,
                 max_backlog_s: float = 1.0, shared_timeline: bool = False) -> None:
        if variant not in ("binary", "ascii"):
            raise ValueError(f"variant must be 'binary' or 'ascii', not {variant!r}")
        self.cell_loads_fn = cell_loads_fn
        self.rate_hz = float(rate_hz)
        self.offsets_counts = np.asarray(offsets_counts, float)
        base_gain = StationConfig().plate.default_gain_n_per_count
        if gains_n_per_count is None:
            gains_n_per_count = tuple(np.multiply(DEFAULT_GAIN_SPREAD, base_gain))
        self.gains_n_per_count = np.asarray(gains_n_per_count, float)
        # about 1 N of noise per channel, as a good strain-gauge amplifier gives
        if noise_counts is None:
            noise_counts = 1.0 / float(self.gains_n_per_count.mean())
        self.noise_counts = float(noise_counts)
        self.drift_ppm = float(drift_ppm)
        self.drop_every = int(drop_every)
        self.corrupt_prob = float(corrupt_prob)
        self.variant = variant
        self.boot_banner = boot_banner
        self._rng = np.random.default_rng(seed)
        self.t0_us = int(self._rng.integers(0, 2**31)) if t0_us is None else int(t0_us)
        self.seq0 = int(seq0)
        self.batch_s = batch_s
        self.max_backlog_s = max_backlog_s
        # True: loads are evaluated on drivers.sim.timeline's shared t (same subject as the sim camera)
        self.shared_timeline = shared_timeline
        self.timeline_offset_s = 0.0
        # truth
        self.samples_generated = 0
        self.samples_sent = 0  # written to the pty (corrupted ones included)
        self.dropped = 0  # by --drop
        self.corrupted = 0  # frames with one byte changed
        self.lost_unplugged = 0  # generated while the cable was out
        self.lost_backlog = 0  # nobody read the port and its buffer was full
        self.missing_seqs: list[int] = []  # unwrapped seq of every dropped or corrupted sample
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._outbox: deque[tuple[bytes, int]] = deque()  # (bytes, samples in them)
        self._link_dir = ""
        self.port = ""  # set by start(): a symlink that stays put across unplug/replug
        self.pty_path: str | None = None

    # --- life cycle -------------------------------------------------------------------------------
    def start(self) -> str:
        if self.shared_timeline:
            from drivers.sim.timeline import sim_time_s

            self.timeline_offset_s = sim_time_s()  # the subject's t when this device's clock starts
        remove_stale_links()
        self._link_dir = tempfile.mkdtemp(prefix=f"{LINK_PREFIX}{os.getpid()}-")
        self.port = os.path.join(self._link_dir, "plate")
        self._open_pty()
        if self.boot_banner:
            self._outbox.append((b"\x00\xfe" + info_line(rate_hz=int(round(self.rate_hz))), 0))
        self._thread = threading.Thread(target=self._run, name="plate-emulator", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with self._lock:
            self._close_pty()
        if self._link_dir:
            try:
                os.rmdir(self._link_dir)
            except OSError:
                pass

    def __enter__(self) -> PlateEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def unplug(self) -> None:
        """Pull the cable: the pty closes (readers get an I/O error); the device keeps sampling."""
        with self._lock:
            self._close_pty()
            self.lost_unplugged += sum(n for _, n in self._outbox)  # in the device's buffer: gone
            self._outbox.clear()

    def replug(self) -> None:
        """Plug back in: a new pty behind the same `port` path; sampling continued meanwhile."""
        with self._lock:
            if self._master is None:
                self._open_pty()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def truth(self) -> dict:
        return {"samples_generated": self.samples_generated, "samples_sent": self.samples_sent,
                "dropped": self.dropped, "corrupted": self.corrupted, "lost_unplugged": self.lost_unplugged,
                "lost_backlog": self.lost_backlog, "offsets_counts": self.offsets_counts.tolist(),
                "gains_n_per_count": self.gains_n_per_count.tolist(), "rate_hz": self.rate_hz,
                "host_rate_hz": self.rate_hz * (1 + self.drift_ppm * 1e-6), "variant": self.variant}

    def expected_counts(self, t_s: np.ndarray) -> np.ndarray:
        """Noise-free counts for true time t_s (device time; + timeline_offset_s on the shared timeline)."""
        loads_n = np.asarray(self.cell_loads_fn(np.asarray(t_s, float) + self.timeline_offset_s), float)
        return self.offsets_counts + loads_n / self.gains_n_per_count

    # --- internals --------------------------------------------------------------------------------
    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF mangling, no XON/XOFF eating 0x11/0x13 bytes
        os.set_blocking(master, False)
        self._master, self._slave = master, slave  # holding the slave keeps the pty alive between readers
        self.pty_path = os.ttyname(slave)
        tmp = self.port + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(self.pty_path, tmp)
        os.replace(tmp, self.port)

    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        if os.path.lexists(self.port):
            os.unlink(self.port)

    def _run(self) -> None:
        host_rate = self.rate_hz * (1 + self.drift_ppm * 1e-6)  # a fast device clock sends more per second
        t_start = time.monotonic()
        tick = 0
        while not self._stop.is_set():
            due = int((time.monotonic() - t_start) * host_rate) + 1
            if due > self.samples_generated:
                self._produce(self.samples_generated, due, host_rate)
            with self._lock:
                self._flush_outbox()
            tick += 1
            sleep_s = t_start + tick * self.batch_s - time.monotonic()
            if sleep_s > 0:
                time.sleep(sleep_s)
            else:
                tick = int((time.monotonic() - t_start) / self.batch_s)

    def _produce(self, k0: int, k1: int, host_rate: float) -> None:
        if self._master is None:  # cable out: the device samples into the void
            self.lost_unplugged += k1 - k0
            self.samples_generated = k1
            return
        k = np.arange(k0, k1)
        t_true_s = k / host_rate
        raw = self.expected_counts(t_true_s) + self._rng.normal(0.0, self.noise_counts, (len(k), 4))
        counts = np.clip(np.rint(raw), COUNTS_MIN, COUNTS_MAX).astype(np.int64)
        saturated = (raw <= COUNTS_MIN) | (raw >= COUNTS_MAX)
        t_us = self.t0_us + np.rint(k * (1e6 / self.rate_hz)).astype(np.int64)
        parts = []
        for i in range(len(k)):
            if self.drop_every and (k[i] + 1) % self.drop_every == 0:
                self.dropped += 1
                self.missing_seqs.append(self.seq0 + int(k[i]))
                continue
            if self.variant == "binary":
                flags = FLAG_SATURATED if saturated[i].any() else 0
                data = encode_binary_frame(self.seq0 + int(k[i]), int(t_us[i]), counts[i].tolist(), flags)
            else:
                data = encode_ascii_line(int(t_us[i]), counts[i].tolist(), b"\r\n")
            if self.corrupt_prob and self._rng.random() < self.corrupt_prob:
                data = bytearray(data)
                data[int(self._rng.integers(0, len(data)))] ^= int(self._rng.integers(1, 256))
                data = bytes(data)
                self.corrupted += 1
                self.missing_seqs.append(self.seq0 + int(k[i]))
            parts.append(data)
        self.samples_generated = k1
        with self._lock:
            if self._master is None:
                self.lost_unplugged += len(parts)
                return
            self._outbox.append((b"".join(parts), len(parts)))

    def _flush_outbox(self) -> None:
        if self._master is None:
            return
        while self._outbox:
            data, n = self._outbox[0]
            try:
                written = os.write(self._master, data)
            except BlockingIOError:
                written = 0
            if written == len(data):
                self._outbox.popleft()
                self.samples_sent += n
                continue
            if written:  # the rest of this batch goes on the next tick
                self._outbox[0] = (data[written:], n)
            break
        backlog = sum(n for _, n in self._outbox)
        while len(self._outbox) > 1 and backlog > self.max_backlog_s * self.rate_hz:
            _, n = self._outbox.popleft()  # nobody is reading: a real plate's buffer overflows too
            self.lost_backlog += n
            backlog -= n


def _subject_loads(pattern: str, seed: int, arms: str = "crossed", load_kg: float = 0.0,
                   config: StationConfig | None = None) -> tuple[CellLoadsFn, float | None]:
    if pattern == "stand":
        return quiet_standing_loads(), None
    try:
        from drivers.sim.subject import shared_subject
    except ModuleNotFoundError as exc:
        raise StationError(f"sim plate: pattern {pattern!r} needs the virtual subject "
                           f"(drivers/sim/subject.py), not in this build; use --pattern stand") from exc
    # the same person as a sim camera of this trial (drivers.sim.softcam.make_subject), on this station's
    # plate and feet: the subject's config sets the load cells' positions and the camera-side stance leg
    subject = shared_subject(pattern, seed=seed, arms=arms, load_kg=load_kg, config=config)
    duration_s = float(subject.duration_s)

    def loads(t_s: np.ndarray) -> np.ndarray:
        return np.asarray(subject.cell_loads_n(np.mod(t_s, duration_s)), float)  # loop the trial

    return loads, duration_s


LINK_PREFIX = "hinge-plate-"  # + the emulator's pid + "-": the temp folder of its port's link


def remove_stale_links(folder: str | None = None) -> list[str]:
    """Remove the port-link folders (in `folder`, default the temp folder) of emulators whose process has
    gone: one killed (SIGKILL, a crash) could not remove its own. Those of live processes and of other users
    stay. Returns the folders removed."""
    removed = []
    for path in glob.glob(os.path.join(folder or tempfile.gettempdir(), f"{LINK_PREFIX}*-*")):
        pid_text = os.path.basename(path)[len(LINK_PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit() or not os.path.isdir(path):
            continue
        try:
            os.kill(int(pid_text), 0)
            continue  # alive (or another user's: PermissionError below)
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def emulator_for_pattern(pattern: str, *, seed: int = 0, arms: str = "crossed", load_kg: float = 0.0,
                         config: StationConfig | None = None, **kw) -> PlateEmulator:
    """A PlateEmulator streaming the virtual subject's `pattern` (or `stand`: quiet standing), holding
    its arms (and load) as `arms` says (drivers.sim.subject.ARMS), on the station `config`'s plate."""
    loads, _ = _subject_loads(pattern, seed, arms, load_kg, config)
    return PlateEmulator(loads, seed=seed, **kw)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=int, choices=(80, 1000, 2000), default=1000, help="samples per second")
    parser.add_argument("--drift-ppm", type=float, default=0.0, help="device clock error, parts per million")
    parser.add_argument("--drop", type=int, default=0, metavar="N", help="drop 1 sample in every N (0: none)")
    parser.add_argument("--corrupt", type=float, default=0.0, metavar="P",
                        help="probability that a frame has one corrupted byte")
    parser.add_argument("--pattern", default="hinge", help="virtual subject's pattern (or `stand`)")
    parser.add_argument("--ascii", action="store_true", help="speak the ASCII line variant")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long (default: Ctrl-C)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=_cli_main)


def _cli_main(args: argparse.Namespace) -> int:
    if args.drop < 0 or not 0.0 <= args.corrupt <= 1.0:
        raise StationError("sim plate: --drop must be >= 0 and --corrupt between 0 and 1")
    emulator = emulator_for_pattern(args.pattern, seed=args.seed, rate_hz=args.rate, drift_ppm=args.drift_ppm,
                                    drop_every=args.drop, corrupt_prob=args.corrupt,
                                    variant="ascii" if args.ascii else "binary")

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM (kill, a service manager, a test) ends it like Ctrl-C

    port = emulator.start()
    try:
        signal.signal(signal.SIGTERM, _stop)  # before the port is named: whoever reads it may stop us at once
        print(port, flush=True)
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic())))
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        t = emulator.truth()
        print(f"sim plate: sent {t['samples_sent']} samples, dropped {t['dropped']}, "
              f"corrupted {t['corrupted']}, unread {t['lost_backlog']}", file=sys.stderr)
    return 0
