"""Plain-text read-outs of a LiveSnapshot: device status, device problems, the core's live values.

Pure functions (no Qt) so they are cheap on the GUI thread and testable on their own.
"""

from __future__ import annotations

import math

import numpy as np

from station.trial.live import LiveSnapshot

STALE_S = 1.0  # a live stream silent this long is reported in the banner


def live_value(snap: LiveSnapshot, key: str) -> float | None:
    """One of the core's live read-outs (a dict, or a dataclass under "value"); None when unknown."""
    value = snap.live.get(key)
    if value is None and "value" in snap.live:
        value = getattr(snap.live["value"], key, None)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _last_t(rows: np.ndarray) -> float | None:
    return float(rows[-1, 0]) if len(rows) else None


def device_problems(snap: LiveSnapshot, *, expect_plate: bool, expect_camera: bool) -> list[str]:
    """What the banner says: the runner's warnings, dead or disconnected sources, silent streams."""
    problems = list(dict.fromkeys(snap.warnings))  # in order, without repeats
    stats = snap.stats or {}
    for name, expected, rows in (("plate", expect_plate, snap.force), ("camera", expect_camera, snap.hip)):
        if not expected or not snap.running:
            continue
        src = stats.get(name, {})
        if src.get("alive") is False:
            if not any(p.startswith(name) for p in problems):
                problems.append(f"{name} failed; recording continues without it")
            continue
        if src.get("connected") is False and src.get("disconnects", 0):
            problems.append(f"{name} disconnected (reconnecting); recording continues")
            continue
        last = _last_t(rows)
        silent_s = snap.elapsed_s - last if last is not None else snap.elapsed_s
        if silent_s > STALE_S + (2.0 if last is None else 0.0):  # allow the first data to take a moment
            problems.append(f"no {name} data for {silent_s:.1f} s")
    return problems


def device_outages_text(snap: LiveSnapshot) -> str:
    """One line per device that went during the trial: which, how, when, and when it came back
    (runner.stats()["outages"], station.trial.device_watch); empty when none went."""
    lines = []
    for o in (snap.stats or {}).get("outages", []):
        back = "not back yet" if o.get("back_s") is None else \
            f"back at t={o['back_s']:.1f} s ({o['back_s'] - o['went_s']:.1f} s away)"
        lost = f", {o['lost_samples']} samples lost" if o.get("lost_samples") is not None else ""
        lines.append(f"{o['device']} {o['name']}: {o['how']} at t={o['went_s']:.1f} s, {back}{lost}")
    return "\n".join(lines)


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "-"
    return "-" if math.isnan(v) else f"{v:{spec}}{unit}"


def device_status_text(snap: LiveSnapshot) -> str:
    """One line per source: rate, lost samples or dropped frames, clock offset and drift."""
    s = snap.stats or {}
    lines = []
    if "plate" in s:
        clock = s["plate"].get("clock", {})
        lines.append(f"Plate {_fmt(s.get('plate_rate_hz'), '.0f', ' Hz')}  lost {s.get('plate_lost', 0)}  "
                     f"clock {_fmt(1000 * clock.get('offset_s', math.nan), '+.1f', ' ms')} "
                     f"{_fmt(clock.get('drift_ppm'), '+.0f', ' ppm')}")
        lines.append(shear_text(snap))
    if "markers" in s:  # a mocap stream (--markers lsl:NAME) gives the markers
        m = s["markers"]
        own = (m.get("clock") or {}).get("source_clock") or {}
        lines.append(f"Mocap {_fmt(m.get('rate_hz'), '.0f', ' Hz')}  lost {m.get('lost', 0)}  "
                     f"LSL correction {_fmt(1000 * (own.get('correction_s') or math.nan), '+.2f', ' ms')}")
    if s.get("markers_method"):  # `--markers depth`: the landmarks are estimates; say so beside them
        lines.append(f"Landmarks {s['markers_method']}")
    if "camera" in s:
        clock = s["camera"].get("clock", {})
        lines.append(f"Camera {_fmt(s.get('camera_fps'), '.1f', ' fps')}  "
                     f"dropped {s.get('camera_dropped', 0)}  "
                     f"clock {_fmt(1000 * clock.get('offset_s', math.nan), '+.1f', ' ms')}")
    if not lines and ("plate_lost" in s or "camera_dropped" in s):  # a replayed file's counts
        lines.append(f"recorded: plate lost {s.get('plate_lost', 0)}, camera dropped "
                     f"{s.get('camera_dropped', 0)}")
    if not lines:
        lines.append("no devices")
    outages = device_outages_text(snap)  # which device went during the trial, and when it came back
    return "\n".join(lines + ([outages] if outages else []))


def shear_text(snap: LiveSnapshot) -> str:
    """A six-component plate's latest shear and free moment (the swing's horizontal drive); a four-cell
    plate measures neither and the line says so."""
    rows = snap.shear
    if rows is None or not len(rows):
        return "Shear: not measured (4-cell plate)"
    _, fx, fy, tz = rows[-1]
    peak = np.nanmax(np.abs(rows[:, 1]))  # over the plot window
    return (f"Shear Fx {_fmt(fx, '+.0f', ' N')}  Fy {_fmt(fy, '+.0f', ' N')}  "
            f"free moment {_fmt(tz, '+.1f', ' N·m')}  (peak |Fx| {_fmt(peak, '.0f', ' N')})")


def calibration_text(status: str) -> tuple[str, bool]:
    """(label text, is calibrated). Anything but "calibrated" is shown as clearly marked defaults."""
    if status == "calibrated":
        return "Plate calibrated", True
    return f"UNCALIBRATED \u2014 nominal gains ({status})", False
