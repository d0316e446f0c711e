"""Sync check: the camera-to-plate time offset from one sharp whole-body event seen by both sensors.

The plate gives the body's vertical acceleration directly, ``(Fz - m g) / m``; the camera gives the
hip marker's height, differentiated twice. A hop, stomp, heel raise or a ball dropped on the plate
makes both swing hard at the same instant, so the lag that best aligns them is the offset.

Sign: ``offset_ms > 0`` means the camera's timestamps are LATE: an event the plate saw at t appears in
the camera stream at t + offset. Correct camera times with ``t_camera - offset_ms / 1000``.

Both signals get the same zero-phase low-pass (Butterworth, `cutoff_hz`, filtfilt), and the hip's
double derivative is a central difference, also zero-phase, so filtering shifts neither of them.
The lag is searched on a 1 ms grid over +-`search_ms` (force interpolated at camera sample times
minus the lag) and refined to sub-millisecond by a parabola through the peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import butter, filtfilt

from station.config import GRAVITY_M_S2
from station.errors import StationError


@dataclass
class SyncResult:
    offset_ms: float  # camera minus plate; > 0: camera timestamps late
    peak_corr: float  # normalised cross-correlation at the peak (1 = identical shapes)
    camera_frame_ms: float
    warning: str | None

    def as_dict(self) -> dict:
        return {"offset_ms": round(self.offset_ms, 3), "peak_corr": round(self.peak_corr, 4),
                "camera_frame_ms": round(self.camera_frame_ms, 3), "warning": self.warning}


def _lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    wn = min(cutoff_hz / (rate_hz / 2.0), 0.95)
    b, a = butter(4, wn)
    return filtfilt(b, a, x, padlen=min(3 * max(len(a), len(b)), x.size - 1))


def _fill_gaps(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    if ok.sum() < 8:
        raise StationError(f"sync check: only {int(ok.sum())} hip positions tracked; need the hip marker "
                           "visible through the event")
    if ok.all():
        return x
    # a smooth body motion: a cubic through the tracked samples bridges a short dropout far better
    # than a straight line, which would flatten the event's peak and bias the lag
    return CubicSpline(t[ok], x[ok], extrapolate=True)(t)


def hip_vertical_acceleration(hip_t_s: np.ndarray, hip_z_m: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Zero-phase low-passed hip height, twice central-differenced (m/s^2), at the camera times."""
    t = np.asarray(hip_t_s, dtype=float)
    z = _fill_gaps(t, np.asarray(hip_z_m, dtype=float))
    rate = 1.0 / float(np.median(np.diff(t)))
    z_f = _lowpass(z, rate, cutoff_hz)
    return np.gradient(np.gradient(z_f, t), t)


def force_vertical_acceleration(force_t_s: np.ndarray, fz_n: np.ndarray, body_mass_kg: float,
                                cutoff_hz: float) -> np.ndarray:
    t = np.asarray(force_t_s, dtype=float)
    rate = 1.0 / float(np.median(np.diff(t)))
    a = (np.asarray(fz_n, dtype=float) - body_mass_kg * GRAVITY_M_S2) / body_mass_kg
    return _lowpass(a, rate, cutoff_hz)


def sync_offset(force_t_s: np.ndarray, fz_n: np.ndarray, body_mass_kg: float, hip_t_s: np.ndarray,
                hip_z_m: np.ndarray, *, search_ms: float = 200.0, cutoff_hz: float = 8.0,
                warn_frames: float = 1.0, min_corr: float = 0.5) -> SyncResult:
    """Camera-to-plate offset (ms) by cross-correlating plate- and hip-derived vertical acceleration.

    Give a span a few seconds long around the event, times on the host clock (seconds). The result
    warns when |offset| exceeds `warn_frames` camera frames (config thresholds.sync_warn_frames) or
    the peak correlation is below `min_corr` (no clear event in the span).
    """
    if body_mass_kg <= 0:
        raise StationError(f"sync check: body mass {body_mass_kg} kg must be positive")
    t_f = np.asarray(force_t_s, dtype=float)
    t_c = np.asarray(hip_t_s, dtype=float)
    if t_f.size < 20 or t_c.size < 8:
        raise StationError("sync check: too little data (need a few seconds of force and hip "
                           "around the event)")
    frame_s = float(np.median(np.diff(t_c)))
    # the camera can resolve nothing above its Nyquist frequency: keep both under it
    cutoff = min(cutoff_hz, 0.4 / frame_s)
    a_force = force_vertical_acceleration(t_f, fz_n, body_mass_kg, cutoff)
    a_hip = hip_vertical_acceleration(t_c, hip_z_m, cutoff)

    lags_s = np.arange(-search_ms, search_ms + 0.5, 1.0) * 1e-3
    # only camera samples whose shifted time stays inside the force record for every lag
    inside = (t_c - lags_s.max() >= t_f[0]) & (t_c - lags_s.min() <= t_f[-1])
    edge = 3 * frame_s  # the double derivative's end samples are unreliable
    inside &= (t_c > t_c[0] + edge) & (t_c < t_c[-1] - edge)
    if inside.sum() < 8:
        raise StationError("sync check: force and camera spans barely overlap; record both through the event")
    h = a_hip[inside] - a_hip[inside].mean()
    h_norm = np.linalg.norm(h)
    corr = np.empty(lags_s.size)
    for k, lag in enumerate(lags_s):
        f = np.interp(t_c[inside] - lag, t_f, a_force)
        f = f - f.mean()
        denom = h_norm * np.linalg.norm(f)
        corr[k] = float(h @ f / denom) if denom > 0 else 0.0
    k = int(np.argmax(corr))
    lag_ms = lags_s[k] * 1e3
    if 0 < k < corr.size - 1:  # parabola through the peak and its neighbours
        y0, y1, y2 = corr[k - 1], corr[k], corr[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            lag_ms += 0.5 * (y0 - y2) / den
    warning = None
    if k in (0, corr.size - 1):
        warning = f"sync offset at the edge of the +-{search_ms:g} ms search: widen it or check the clocks"
    elif corr[k] < min_corr:
        warning = f"no clear sync event (peak correlation {corr[k]:.2f}): hop or stomp once on the plate"
    elif abs(lag_ms) > warn_frames * frame_s * 1e3:
        warning = (f"camera-to-plate offset {lag_ms:+.1f} ms is more than {warn_frames:g} camera frame(s) "
                   f"({frame_s * 1e3:.1f} ms)")
    return SyncResult(float(lag_ms), float(corr[k]), frame_s * 1e3, warning)
