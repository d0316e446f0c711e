"""Live-plot decimation keeps what a coach must see: every bin's extremes, the gaps, and 'now'."""

import numpy as np

from station.dashboard.decimate import peak_decimate, thin_path


def test_peak_decimate_keeps_each_bins_min_and_max_gaps_and_the_newest_sample():
    t = np.arange(10_000) / 1000.0  # 10 s of a 1 kHz plate
    rng = np.random.default_rng(0)
    y = 800 + rng.normal(0, 5, t.size)
    y[4321] = 2000.0  # a one-sample landing spike
    y[7000:7300] = np.nan  # 0.3 s without force
    td, yd = peak_decimate(t, y, bin_s=0.01)
    assert len(td) <= 2 * 1000 + 1 < len(t)
    assert np.nanmax(yd) == 2000.0 and np.nanmin(yd) == np.nanmin(y)  # extremes survive decimation
    gap = (td >= 7.0) & (td < 7.3)
    assert gap.any() and np.all(np.isnan(yd[gap]))  # the gap stays a gap
    assert td[-1] == t[-1] and yd[-1] == y[-1]  # the curve ends at "now"
    for k in (0, 431, 999):  # every bin is its own min then max
        sel = (t >= k * 0.01) & (t < (k + 1) * 0.01)
        assert yd[2 * k] == np.nanmin(y[sel]) and yd[2 * k + 1] == np.nanmax(y[sel])


def test_thin_path_keeps_the_newest_point_and_every_gap():
    finite = np.ones(1100, bool)
    finite[[10, 500, 501]] = False
    idx = thin_path(1100, 400, finite)
    assert idx[-1] == 1099 and {10, 500, 501} <= set(idx.tolist())
    assert len(idx) <= 400 + 3
