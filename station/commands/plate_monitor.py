"""`hinge-station plate-monitor PORT`: a live one-line readout for someone wiring a force plate."""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time

import numpy as np

_REFRESH_S = 0.25
_RATE_WINDOW_S = 1.0
_SETTLE_S = 0.5  # the first reads carry whatever the port buffered before we opened it: not the rate


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("port", metavar="PORT",
                        help="serial port (/dev/ttyACM0, COM3), pyserial URL, or sim:PATTERN")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long (default: Ctrl-C)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary at the end")
    parser.add_argument("--baud", type=int, default=921600, help="UART baud rate (USB CDC ignores it)")
    parser.set_defaults(func=run)


class _Tally:
    """Running totals over everything received, plus a short window for the live rate and means."""

    def __init__(self) -> None:
        from calibration.clocks import ClockMapper

        # the device clock onto the host's, fitted under the arrival delays: a reader that falls behind
        # (a loaded host, a slow terminal) makes samples arrive late, never early, so the summary's rate
        # does not sag with the reader's lag the way samples-per-arrival-second does
        self.clock = ClockMapper(window_s=0.25)
        self.first_device: tuple[int, float] | None = None  # (seq, t_device_s)
        self.last_device: tuple[int, float] | None = None
        self.samples = 0
        self.counts_sum = np.zeros(4)
        self.first: tuple[int, int] | None = None  # (seq, t_host_ns)
        self.settled: tuple[int, int] | None = None  # first sample after _SETTLE_S
        self.last: tuple[int, int] | None = None
        self.t_start_ns = time.monotonic_ns()
        self.window: collections.deque = collections.deque()  # (t_host_ns, seq, counts mean, n)

    def add(self, chunk) -> None:
        n = len(chunk)
        if n == 0:
            return
        self.samples += n
        self.clock.update(chunk.t_device_s, chunk.t_host_ns)
        if self.first_device is None:
            self.first_device = (int(chunk.seq[0]), float(chunk.t_device_s[0]))
        self.last_device = (int(chunk.seq[-1]), float(chunk.t_device_s[-1]))
        self.counts_sum += chunk.counts.sum(axis=0)
        if self.first is None:
            self.first = (int(chunk.seq[0]), int(chunk.t_host_ns[0]))
        self.last = (int(chunk.seq[-1]), int(chunk.t_host_ns[-1]))
        if self.settled is None and self.last[1] - self.t_start_ns > _SETTLE_S * 1e9:
            self.settled = self.last
        self.window.append((self.last[1], self.last[0], chunk.counts.mean(axis=0), n))
        while self.window and self.last[1] - self.window[0][0] > _RATE_WINDOW_S * 1e9:
            self.window.popleft()

    @staticmethod
    def _rate(a: tuple[int, int] | None, b: tuple[int, int] | None) -> float | None:
        # device samples (seq, lost ones included) per host second
        if a is None or b is None or b[1] <= a[1]:
            return None
        return (b[0] - a[0]) / ((b[1] - a[1]) / 1e9)

    def rate_hz(self) -> float | None:
        """Device samples per host second over the whole run.

        Samples per device second (sequence numbers count the lost ones too) times the device clock's
        rate against the host's from the arrival envelope. Before it has three windows (0.75 s): samples
        per arrival second once the initial backlog has passed.
        """
        state = self.clock.state()
        if state.get("n_windows", 0) >= 3 and self.last_device[1] > self.first_device[1]:
            (seq_a, t_a), (seq_b, t_b) = self.first_device, self.last_device
            return (seq_b - seq_a) / (t_b - t_a) / (1.0 + state["drift_ppm"] * 1e-6)
        settled = self.settled is not None and self.last[1] - self.settled[1] > 1e9
        return self._rate(self.settled if settled else self.first, self.last)

    def live_rate_hz(self) -> float | None:
        if len(self.window) < 2:
            return self.rate_hz()
        (t_a, seq_a, *_), (t_b, seq_b, *_) = self.window[0], self.window[-1]
        return self._rate((seq_a, t_a), (seq_b, t_b))

    def live_means(self) -> np.ndarray:
        if not self.window:
            return np.full(4, np.nan)
        weights = np.array([w[3] for w in self.window], float)
        return np.average(np.array([w[2] for w in self.window]), axis=0, weights=weights)


def _line(stats: dict, tally: _Tally, show_state: bool = True) -> str:
    rate = tally.live_rate_hz()
    ascii_plate = stats["variant"] == "ascii"
    errors = f"bad lines {stats['bad_lines']}" if ascii_plate else f"CRC errors {stats['crc_errors']}"
    means = " ".join(f"{m:+10.0f}" for m in tally.live_means())
    state = "  DISCONNECTED" if show_state and not stats["connected"] else ""
    return (f"{stats['variant']} {rate or 0:7.1f} Hz  samples {tally.samples}  lost {stats['lost']}  "
            f"{errors}  counts {means}{state}")


def run(args: argparse.Namespace) -> int:
    from drivers.registry import open_plate

    plate = open_plate(args.port, baudrate=args.baud)
    plate.start()  # bad port, silence, unknown protocol: StationError, one line
    live = sys.stderr if args.json else sys.stdout
    tally = _Tally()
    events_shown = 0
    t_end = None if args.seconds is None else time.monotonic() + args.seconds
    next_refresh = time.monotonic()
    try:
        while t_end is None or time.monotonic() < t_end:
            for chunk in plate.read(timeout_s=0.05):
                tally.add(chunk)
            while events_shown < len(plate.events):
                live.write("\r\033[K" + plate.events[events_shown] + "\n")
                events_shown += 1
            if time.monotonic() >= next_refresh:
                live.write("\r\033[K" + _line(plate.stats(), tally))
                live.flush()
                next_refresh += _REFRESH_S
    except KeyboardInterrupt:
        pass
    finally:
        plate.stop()
        for chunk in plate.read(timeout_s=0):
            tally.add(chunk)
    live.write("\r\033[K" + _line(plate.stats(), tally, show_state=False) + "\n")
    if args.json:
        stats = plate.stats()
        rate = tally.rate_hz()
        summary = {
            "port": args.port, "variant": stats["variant"], "samples": tally.samples, "lost": stats["lost"],
            "crc_errors": stats["crc_errors"], "bad_lines": stats["bad_lines"],
            "rate_hz": None if rate is None else round(rate, 3),
            "counts_mean": (tally.counts_sum / tally.samples).round(1).tolist() if tally.samples else None,
            "overflows": stats["overflow_samples"], "disconnects": stats["disconnects"],
            "garbage_bytes": stats["garbage_bytes"], "info": stats["info"],
        }
        print(json.dumps(summary), flush=True)
    return 0
