"""Lockout, neck, bottom hold and where form breaks: per-rep measures on the filtered rep window.

Definitions and why (docs/metrics.md):

- lockout: the most upright (lowest signed) trunk angle from the rep's end (the 15% crossing) until the
  lockout window closes, and the hip's distance behind its standing place at that instant. The window
  closes `lockout_window_s` after the end, when the next rep has begun (hips back past twice the rep's
  15% level), or early once the trunk is steady (least-squares slope over the last LOCKOUT_STILL_S below
  LOCKOUT_STILL_DEG_S) and no further forward than the incomplete-lockout limit: from then on the most
  upright angle can only get lower, which cannot turn a good or leaning-back lockout into an incomplete
  one. A lockout still short of standing waits the full window, in case the hips come through late.
- neck: the shoulder->head line against the hip->shoulder line at the bottom (mean within NECK_AVERAGE_S
  of it), minus the same angle in the subject's quiet standing (+ = head extended, looking up).
- bottom hold: the time, inside the rep, the hip spends within `bottom_hold_band_frac` of its displacement
  at the bottom (mean within BOTTOM_LEVEL_S of it).
- form break: the trunk angle when the dowel first lost a contact going down: the first dowel frame of the
  descent that starts a run of `dowel_hold_frames` frames with the gap over `dowel_gap_max_mm`, its time
  refined by a line through the gap around it.

Every function is a pure function of the arrays it gets, so live and offline agree.
"""

from __future__ import annotations

import math

import numpy as np

from station.config import Thresholds

LOCKOUT_WAIT = "lockout"  # Outcome.reason of a rep waiting for its lockout window
# the lockout reads trunk and hip smoothed at 3 Hz: the lowest of a noisier trunk would pick the frames
# where marker noise tipped it back, and the hip's displacement at those frames with it (bias ~5 mm)
LOCKOUT_CUTOFF_HZ = 3.0
LOCKOUT_STILL_S = 0.3  # trailing span the trunk must be steady over to close the window early
LOCKOUT_STILL_DEG_S = 5.0  # "steady": |least-squares slope| of the trunk angle below this
LOCKOUT_MIN_SAMPLES = 4  # frames needed in that span to call the trunk steady
NEXT_REP_LEVELS = 2.0  # hips back past this many times the rep's 15% level again: the next rep has begun
# the hold's band crossings are slow (the hips decelerate into the bottom): read on hip x smoothed at 3 Hz
BOTTOM_HOLD_CUTOFF_HZ = 3.0
BOTTOM_LEVEL_S = 0.2  # the deepest point's level: mean hip displacement this close to the bottom
NECK_AVERAGE_S = 0.2  # the neck "at the bottom": mean angle this close to it (a short segment: noisy)
FORM_BREAK_FIT_FRAMES = 4  # dowel frames each side of the first held one the crossing time is fitted to


def lean_deg(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Signed angle of the lower->upper line against vertical in the sagittal (x, z) plane: + = top forward
    (+x, the direction the subject faces), - = behind vertical. Works on (3,) or (N, 3)."""
    v = np.asarray(upper, dtype=float) - np.asarray(lower, dtype=float)
    return np.degrees(np.arctan2(v[..., 0], v[..., 2]))


def neck_angle_deg(hip: np.ndarray, shoulder: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Shoulder->head line against the hip->shoulder line, sagittal plane: 0 = in line, + = head tilted
    back (extended), - = flexed (chin down)."""
    diff = lean_deg(hip, shoulder) - lean_deg(shoulder, head)
    return (diff + 180.0) % 360.0 - 180.0


def lockout_close_s(t: np.ndarray, d: np.ndarray, trunk: np.ndarray | None, t_end: float, level: float,
                    standing_trunk_deg: float | None, th: Thresholds, final: bool) -> float | None:
    """When the lockout window of a rep ending at t_end closes, given frames up to t[-1]; None while
    it is still open (wait for more frames). final: no more frames will come (close at the data's end).

    d: hip displacement back from standing (m), level: the rep's 15% level (m), trunk: filtered signed
    trunk angle (deg) or None without a shoulder marker."""
    t_now = float(t[-1])
    t_close = t_end + th.lockout_window_s
    again = np.flatnonzero((t > t_end) & (d >= NEXT_REP_LEVELS * level))
    if again.size:
        t_close = min(t_close, float(t[again[0]]))
    if t_now >= t_close:
        return t_close
    if trunk is not None and standing_trunk_deg is not None and t_now - LOCKOUT_STILL_S >= t_end:
        recent = (t >= t_now - LOCKOUT_STILL_S) & np.isfinite(trunk)
        after = (t >= t_end) & np.isfinite(trunk)
        if np.count_nonzero(recent) >= LOCKOUT_MIN_SAMPLES:
            slope = float(np.polyfit(t[recent] - t_now, trunk[recent], 1)[0])
            lowest = float(np.min(trunk[after]))
            if abs(slope) < LOCKOUT_STILL_DEG_S and lowest - standing_trunk_deg <= th.lockout_incomplete_deg:
                return t_now
    return t_now if final else None


def lockout(t: np.ndarray, d: np.ndarray, trunk: np.ndarray, t_end: float, t_close: float
            ) -> tuple[float, float] | None:
    """(lockout_trunk_deg, lockout_hip_back_mm): the lowest trunk angle in [t_end, t_close] and the hip's
    displacement back (mm) at that frame; None when the trunk was not seen in the window."""
    inside = np.flatnonzero((t >= t_end) & (t <= t_close) & np.isfinite(trunk) & np.isfinite(d))
    if inside.size == 0:
        return None
    k = int(inside[np.argmin(trunk[inside])])
    return float(trunk[k]), 1000.0 * float(d[k])


def bottom_hold_s(t: np.ndarray, d: np.ndarray, bottom: int, t_start: float, t_end: float,
                  band_frac: float) -> float | None:
    """Seconds the hip spends within band_frac of the amplitude of its deepest point, between t_start and
    t_end (summed over every visit, each edge interpolated). Read on hip displacement smoothed at
    BOTTOM_HOLD_CUTOFF_HZ; the deepest point's level is the mean within BOTTOM_LEVEL_S of the bottom
    (index `bottom`), not the single highest sample, which marker noise puts 1-2 sigmas too deep, shrinking
    a band only a few mm wide."""
    from station.core.filtering import lowpass

    d = lowpass(t, d, BOTTOM_HOLD_CUTOFF_HZ)
    near_bottom = (np.abs(t - t[bottom]) <= BOTTOM_LEVEL_S) & np.isfinite(d)
    if not np.any(near_bottom):
        return None
    level = (1.0 - band_frac) * float(np.mean(d[near_bottom]))
    inside = np.flatnonzero((t >= t_start) & (t <= t_end))
    if inside.size < 2:
        return None
    return time_above(t[inside], d[inside], level)


def time_above(t: np.ndarray, y: np.ndarray, level: float) -> float:
    """Total time y (linearly interpolated between samples) is at or above level; NaN samples count out."""
    y0, y1, dt = y[:-1], y[1:], np.diff(t)
    with np.errstate(invalid="ignore", divide="ignore"):
        whole = (y0 >= level) & (y1 >= level)
        rising = (y0 < level) & (y1 >= level)
        falling = (y0 >= level) & (y1 < level)
        part = np.where(rising, (y1 - level) / (y1 - y0), np.where(falling, (y0 - level) / (y0 - y1), 0.0))
    return float(np.sum(dt[whole]) + np.sum((dt * part)[rising | falling]))


def form_break_s(dowel_t: np.ndarray | None, gap_mm: np.ndarray | None, t_start: float, t_bottom: float,
                 th: Thresholds) -> float | None:
    """Time of the first dowel frame in [t_start, t_bottom] that starts `dowel_hold_frames` frames in a row
    with the gap over dowel_gap_max_mm (the runs may go on past the bottom); None if none (or no dowel)."""
    if dowel_t is None or gap_mm is None or dowel_t.size == 0:
        return None
    hold = max(int(th.dowel_hold_frames), 1)
    a = int(np.searchsorted(dowel_t, t_start))
    z = min(int(np.searchsorted(dowel_t, t_bottom, side="right")) + hold - 1, dowel_t.size)
    over = np.nan_to_num(gap_mm[a:z], nan=-np.inf) > th.dowel_gap_max_mm
    if over.size < hold:
        return None
    held = np.lib.stride_tricks.sliding_window_view(over, hold).all(axis=1)
    starts = np.flatnonzero(held)
    starts = starts[dowel_t[a + starts] <= t_bottom]
    if not starts.size:
        return None
    k = a + int(starts[0])
    # when the gap passed the limit: a line through the frames around the first held one (the per-frame gap
    # is noisy, and needing `hold` frames in a row makes the first one late by a frame or more); kept within
    # the fitted frames and not after the held frame itself
    lo = max(k - FORM_BREAK_FIT_FRAMES, 0)
    near = np.arange(lo, min(k + FORM_BREAK_FIT_FRAMES + 1, dowel_t.size))
    near = near[np.isfinite(gap_mm[near])]
    t_k = float(dowel_t[k])
    if near.size >= 4:
        slope, offset = np.polyfit(dowel_t[near] - t_k, gap_mm[near], 1)
        if slope > 0:
            return float(np.clip(t_k + (th.dowel_gap_max_mm - offset) / slope, dowel_t[lo], t_k))
    return t_k


def around(t: np.ndarray, series: np.ndarray, k: int, half_s: float) -> float:
    """Mean of the finite values of series within half_s of t[k] (NaN if none)."""
    near = (np.abs(t - t[k]) <= half_s) & np.isfinite(series)
    return float(np.mean(series[near])) if np.any(near) else math.nan


def value_at(t: np.ndarray, series: np.ndarray, t_query: float, max_dt_s: float) -> float:
    """series interpolated at t_query between its finite neighbours; NaN when none lies within max_dt_s."""
    ok = np.isfinite(series)
    if not np.any(ok):
        return math.nan
    tt, ss = t[ok], series[ok]
    k = int(np.searchsorted(tt, t_query))
    near = [abs(tt[i] - t_query) for i in (k - 1, k) if 0 <= i < tt.size]
    if not near or min(near) > max_dt_s:
        return math.nan
    return float(np.interp(t_query, tt, ss))
