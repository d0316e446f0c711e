"""The truth of tests/support/independent_hinge.py's trials: docs/metrics.md's definitions applied with plain
numpy to the noise-free signals (the standing, per-rep times, hip back and drop, lockout, hold, neck and the
faults they imply), independently of station.core."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from station.config import StationConfig, Thresholds
from station.results import ALL_FAULTS

if TYPE_CHECKING:  # the generator imports this module
    from tests.support.independent_reps import HingeRep

def lean_deg(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Signed angle of the lower -> upper line against vertical (x-z): + top forward, - behind."""
    v = upper - lower
    return np.degrees(np.arctan2(v[..., 0], v[..., 2]))


def _between_deg(u: np.ndarray, v: np.ndarray) -> float:
    """Unsigned angle between two vectors in the x-z plane."""
    u2, v2 = u[[0, 2]], v[[0, 2]]
    return math.degrees(math.acos(np.clip(np.dot(u2, v2) / np.linalg.norm(u2) / np.linalg.norm(v2), -1, 1)))


def _cross_down(t: np.ndarray, d: np.ndarray, k: int, step: int, level: float) -> float:
    """Time d first falls below level walking from index k by step, linearly interpolated."""
    j = k
    while 0 <= j + step < d.size and d[j + step] >= level:
        j += step
    a, b = j, j + step
    return float(t[a] + (d[a] - level) / (d[a] - d[b]) * (t[b] - t[a]))


def rep_truth(reps: list[HingeRep], t: np.ndarray, mk: dict[str, np.ndarray], cop_x: np.ndarray,
              config: StationConfig) -> tuple[dict, list[dict]]:
    """(standing, per-rep truth) from the noise-free signals on a fine uniform grid t: markers mk (N, 3),
    CoP x (N,); the subject's feet and the plate's cells as the station is set up (config)."""
    th = config.thresholds
    foot_pos = (cop_x - config.feet.heel_x_m) / config.feet.foot_length_m
    channel_xy, rear_channels = config.plate.channel_xy, config.plate.rear_channels
    rear_x = float(np.mean(channel_xy[rear_channels, 0]))
    front_x = float(np.mean(np.delete(channel_xy, rear_channels, axis=0)[:, 0]))
    rear_share = (front_x - cop_x) / (front_x - rear_x)  # CoP y = 0: the cells share by x alone
    still = t < 0.5  # the first quiet standing (0.5 s)
    mean = {n: p[still].mean(axis=0) for n, p in mk.items()}
    standing = {
        "hip_x_m": float(mean["hip"][0]),
        "trunk_deg": float(lean_deg(mean["hip"], mean["shoulder"])),
        "neck_deg": float(lean_deg(mean["hip"], mean["shoulder"]) - lean_deg(mean["shoulder"], mean["head"])),
        "knee_deg": _between_deg(mean["hip"] - mean["knee"], mean["knee"] - mean["ankle"]),
        "foot_pos": float(foot_pos[still].mean()),
    }
    d = standing["hip_x_m"] - mk["hip"][:, 0]
    trunk = lean_deg(mk["hip"], mk["shoulder"])
    neck = trunk - lean_deg(mk["shoulder"], mk["head"])
    out = []
    for r in reps:
        span = np.flatnonzero((t >= r.t0_s) & (t <= r.ascent_start_s + r.ascent_s))
        peak = int(span[np.argmax(d[span])])
        amp = float(d[peak])
        level = th.rep_start_frac * amp
        t_start, t_end = _cross_down(t, d, peak, -1, level), _cross_down(t, d, peak, +1, level)
        # the bottom: centroid in time of the top 10% of the excursion
        lo, hi = peak, peak
        while d[lo - 1] >= 0.9 * amp:
            lo -= 1
        while d[hi + 1] >= 0.9 * amp:
            hi += 1
        w = d[lo:hi + 1] - 0.9 * amp
        t_bottom = float(np.sum(w * t[lo:hi + 1]) / np.sum(w))
        b = int(np.argmin(np.abs(t - t_bottom)))
        # lockout: the most upright trunk in the window after the end (docs/metrics.md, "Lockout")
        again = np.flatnonzero((t > t_end) & (d >= 2.0 * level))
        t_second = min(t_end + th.lockout_window_s, float(t[again[0]]) if again.size else np.inf)
        t_close = _lockout_close_s(t, trunk, t_end, t_second, standing["trunk_deg"], th)
        win = np.flatnonzero((t >= t_end) & (t <= t_close))
        k_lock = int(win[np.argmin(trunk[win])])
        second = np.flatnonzero((t >= t_end) & (t <= t_second))
        near_b = np.abs(t - t_bottom) <= 0.2
        band = (1.0 - th.bottom_hold_band_frac) * float(d[near_b].mean())
        in_rep = (t >= t_start) & (t <= t_end)
        hip_b, knee_b, ankle_b, sh_b = (mk[n][b] for n in ("hip", "knee", "ankle", "shoulder"))
        knee_flex = _between_deg(hip_b - knee_b, knee_b - ankle_b)
        truth = {
            "t_start": t_start, "t_bottom": t_bottom, "t_end": t_end,
            "hip_back_mm": 1000 * amp,
            "hip_drop_mm": 1000 * float(mean["hip"][2] - hip_b[2]),
            "knee_flexion_deg": knee_flex,
            "knee_flexion_change_deg": knee_flex - standing["knee_deg"],
            "trunk_inclination_deg": _between_deg(sh_b - hip_b, np.array([0.0, 0.0, 1.0])),
            "foot_pos_bottom": float(foot_pos[b]),
            "foot_pos_shift": float(foot_pos[in_rep].max() - standing["foot_pos"]),
            "heel_load_pct": 100 * float(rear_share[b]),
            "descent_s": t_bottom - t_start, "ascent_s": t_end - t_bottom,
            "lockout_trunk_deg": float(trunk[k_lock]),
            "lockout_close_s": t_close - t_end,
            # the whole second after the end, without the early close (the issue's own wording)
            "lockout_trunk_whole_second_deg": float(trunk[second].min()),
            "lockout_hip_back_mm": 1000 * float(d[k_lock]),
            "lockout_hip_ahead_of_ankle_mm": 1000 * float(mk["hip"][k_lock, 0] - mk["ankle"][k_lock, 0]),
            "neck_extension_deg": float(neck[near_b].mean() - standing["neck_deg"]),
            "bottom_hold_s": float(np.sum(np.diff(t)[(d[:-1] >= band) & in_rep[:-1]])),
            "scripted_hold_s": r.hold_s,
            "foot_pos_range": (float(foot_pos[span].min()), float(foot_pos[span].max())),
        }
        truth["hinge_ratio"] = truth["hip_back_mm"] / max(truth["hip_drop_mm"], 1.0)
        truth["faults"] = expected_faults(truth, standing["trunk_deg"], th)
        out.append(truth)
    return standing, out


def _lockout_close_s(t: np.ndarray, trunk: np.ndarray, t_end: float, t_second: float,
                     standing_trunk_deg: float, th: Thresholds, step_s: float = 0.01) -> float:
    """When the lockout window closes (docs/metrics.md): at t_second (a second after the end, or the next
    rep's start), or earlier, as soon as the trunk is steady (least-squares slope over the last 0.3 s below
    5 deg/s) and no further forward than the incomplete-lockout limit of the standing trunk."""
    i_end = int(np.searchsorted(t, t_end))
    for t_now in np.arange(t_end + 0.3, t_second, step_s):
        i0, i1 = int(np.searchsorted(t, t_now - 0.3)), int(np.searchsorted(t, t_now, side="right"))
        tr, yr = t[i0:i1] - t_now, trunk[i0:i1]
        slope = float(np.sum((tr - tr.mean()) * (yr - yr.mean())) / np.sum((tr - tr.mean()) ** 2))
        lowest = float(trunk[i_end:i1].min())
        if abs(slope) < 5.0 and lowest - standing_trunk_deg <= th.lockout_incomplete_deg:
            return float(t_now)
    return t_second


def expected_faults(v: dict, standing_trunk_deg: float, th: Thresholds) -> list[str]:
    """The documented fault rules (docs/metrics.md, 'Faults') applied to truth values."""
    found = set()
    if v["hinge_ratio"] <= th.hinge_ratio_squat_max or v["knee_flexion_deg"] > th.knee_flexion_squat_deg \
            or v["knee_flexion_change_deg"] > th.knee_flexion_change_squat_deg:
        found.add("squat_pattern")
    if v["foot_pos_bottom"] > th.foot_pos_bottom_max or v["foot_pos_shift"] > th.foot_pos_shift_max \
            or v["heel_load_pct"] < th.heel_load_min_pct:
        found.add("toe_shift")
    if v["trunk_inclination_deg"] < th.trunk_inclination_min_deg:
        found.add("shallow")
    if v["neck_extension_deg"] > th.neck_extension_max_deg:
        found.add("neck_extension")
    if v["lockout_trunk_deg"] - standing_trunk_deg > th.lockout_incomplete_deg:
        found.add("incomplete_lockout")
    if standing_trunk_deg - v["lockout_trunk_deg"] > th.lockout_lean_back_deg:
        found.add("lean_back")
    if v["descent_s"] < th.tempo_min_s or v["ascent_s"] < th.tempo_min_s:
        found.add("too_fast")
    return [f for f in ALL_FAULTS if f in found]
