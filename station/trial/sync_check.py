"""The camera-to-plate sync check of a recorded trial (calibration.sync), run at the end of a trial.

It needs a sharp whole-body event both sensors see: a hop or a heel raise. Those are the only
movements of a hinge session that lift the hip ABOVE quiet standing (a hinge or squat only lowers
it), so the event is found as the highest point of the low-passed hip track, if it rises more than
`RISE_M` above the trial's median hip height (quiet standing dominates a trial). A window around it
goes to `calibration.sync.sync_offset`; no such rise means no check (said, not guessed).
"""

from __future__ import annotations

import numpy as np

from station.config import GRAVITY_M_S2, StationConfig
from station.errors import StationError

RISE_M = 0.008  # a 10 deg heel raise lifts the hip ~15 mm; marker noise after a 3 Hz low-pass is ~1 mm
SMOOTH_S = 0.3  # moving-average length for finding the event (the offset itself uses sync_offset's filter)
# window around the hip's highest point (a heel raise's lean-in starts ~1 s before it)
BEFORE_S, AFTER_S = 2.0, 2.5


def find_sync_event(hip_t_s: np.ndarray, hip_z_m: np.ndarray) -> float | None:
    """Time of the hip's highest point if it rises more than RISE_M above the trial's median, else None."""
    t = np.asarray(hip_t_s, float)
    z = np.asarray(hip_z_m, float)
    ok = np.isfinite(z)
    if ok.sum() < 10:
        return None
    t, z = t[ok], z[ok]
    n = max(1, int(round(SMOOTH_S / float(np.median(np.diff(t))))))
    z_s = np.convolve(z, np.ones(n) / n, mode="same")
    z_s[: n // 2], z_s[len(z_s) - n // 2:] = np.nan, np.nan  # edges of the average are biased
    rise = z_s - float(np.median(z))
    if not np.any(np.isfinite(rise)):
        return None
    i = int(np.nanargmax(rise))
    return float(t[i]) if rise[i] > RISE_M else None


def trial_sync_check(force_t_s: np.ndarray, fz_n: np.ndarray, hip_t_s: np.ndarray, hip_z_m: np.ndarray,
                     config: StationConfig, body_weight_n: float | None = None) -> dict:
    """{"status": "checked"|"no event"|"failed", ...}; when checked also calibration.sync's result
    (offset_ms > 0: camera timestamps late), the event time and a warning beyond the config's limit."""
    from calibration.sync import sync_offset

    t_event = find_sync_event(hip_t_s, hip_z_m)
    if t_event is None:
        return {"status": "no event",
                "text": "no hop or heel raise in this trial: camera-to-plate sync not checked"}
    ft, fz = np.asarray(force_t_s, float), np.asarray(fz_n, float)
    ht, hz = np.asarray(hip_t_s, float), np.asarray(hip_z_m, float)
    f_in = (ft >= t_event - BEFORE_S) & (ft <= t_event + AFTER_S)
    h_in = (ht >= t_event - BEFORE_S) & (ht <= t_event + AFTER_S)
    if body_weight_n is None:  # quiet standing dominates: the median loaded force is the weight
        loaded = fz > config.thresholds.cop_min_force_n
        body_weight_n = float(np.median(fz[loaded])) if np.any(loaded) else 0.0
    try:
        res = sync_offset(ft[f_in], fz[f_in], body_weight_n / GRAVITY_M_S2, ht[h_in], hz[h_in],
                          warn_frames=config.thresholds.sync_warn_frames)
    except StationError as exc:
        return {"status": "failed", "event_t_s": round(t_event, 3), "text": f"sync check failed: {exc}"}
    out = {"status": "checked", "event_t_s": round(t_event, 3), **res.as_dict()}
    out["verdict"] = "warn" if res.warning else "ok"
    return out


def sync_line(sync: dict | None) -> str:
    """One line for `record`'s summary."""
    if not sync:
        return "sync: not checked (needs plate and camera)"
    if sync.get("status") != "checked":
        return f"sync: {sync.get('text', sync.get('status'))}"
    late = "late" if sync["offset_ms"] >= 0 else "early"
    line = (f"sync: camera {abs(sync['offset_ms']):.1f} ms {late} vs plate "
            f"(event at {sync['event_t_s']:.1f} s, correlation {sync['peak_corr']:.2f}, "
            f"one frame = {sync['camera_frame_ms']:.1f} ms)")
    return line + (f" WARNING: {sync['warning']}" if sync.get("warning") else "")


def sync_from_buffers(force_chunks: list[np.ndarray], hip_rows: list[tuple[float, float]],
                      config: StationConfig, body_weight_n: float | None) -> dict | None:
    """The live runner's check at stop: force_chunks (k, 2) rows of t_s, Fz; hip_rows (t_s, z_m).
    None without both streams; never raises (the check must not cost the recording)."""
    if not force_chunks or len(hip_rows) < 10:
        return None
    force = np.concatenate(force_chunks)
    hip = np.asarray(hip_rows)
    try:
        return trial_sync_check(force[:, 0], force[:, 1], hip[:, 0], hip[:, 1], config, body_weight_n)
    except Exception as exc:
        return {"status": "failed", "text": f"sync check failed: {type(exc).__name__}: {exc}"}
