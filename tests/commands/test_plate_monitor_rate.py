"""`plate-monitor`'s summary rate when the reader is late: samples arrive late, never early."""

import numpy as np
import pytest

from drivers.samples import PlateChunk
from station.commands.plate_monitor import _Tally

RATE_HZ = 2000.0  # the firmware's rate in device seconds
DRIFT_PPM = 200.0  # the device's crystal runs this much fast against the host's


def _chunks(seconds: float, *, lag_at_end_s: float, backlog_s: float, seed: int = 0) -> list[PlateChunk]:
    """20-sample USB packets with 0-3 ms of arrival jitter; a backlog the port held before the reader
    opened it arrives at once, and the last `lag_at_end_s` of samples arrive in one late read."""
    rng = np.random.default_rng(seed)
    n = int((seconds + backlog_s) * RATE_HZ)
    seq = np.arange(n, dtype=np.int64)
    t_device = seq / RATE_HZ
    t_true_host = 100.0 + t_device / (1 + DRIFT_PPM * 1e-6)  # when each sample left the device
    t_opened = t_true_host[int(backlog_s * RATE_HZ)]
    t_late_from = t_true_host[-1] - lag_at_end_s
    out = []
    for start in range(0, n, 20):
        sl = slice(start, min(start + 20, n))
        t_sent = t_true_host[sl][-1]
        t_arrive = max(t_sent + rng.uniform(0, 0.003), t_opened)
        if t_sent > t_late_from:
            t_arrive = t_true_host[-1] + lag_at_end_s
        k = sl.stop - sl.start
        out.append(PlateChunk(seq[sl], t_device[sl], np.full(k, int(t_arrive * 1e9), np.int64),
                              np.zeros((k, 4), np.int32), np.zeros(k, np.uint8)))
    return out


@pytest.mark.parametrize(("lag_at_end_s", "backlog_s"), [(0.0, 0.0), (0.8, 0.0), (0.8, 1.0), (0.3, 1.0)])
def test_summary_rate_is_the_device_rate_on_the_host_clock(lag_at_end_s, backlog_s):
    tally = _Tally()
    for chunk in _chunks(3.0, lag_at_end_s=lag_at_end_s, backlog_s=backlog_s):
        tally.add(chunk)
    assert tally.samples == int((3.0 + backlog_s) * RATE_HZ)
    assert tally.rate_hz() == pytest.approx(RATE_HZ * (1 + DRIFT_PPM * 1e-6), rel=5e-4)


def test_a_short_run_still_has_a_rate():
    tally = _Tally()
    for chunk in _chunks(0.4, lag_at_end_s=0.0, backlog_s=0.0):
        tally.add(chunk)
    # under three envelope windows: samples per arrival second, rougher
    assert tally.rate_hz() == pytest.approx(RATE_HZ, rel=0.05)
