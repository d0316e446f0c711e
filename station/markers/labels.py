"""Marker labels -> station marker names (presets or an explicit mapping), the Plug-in Gait hip, and a
lab frame -> the plate frame: shared by C3D import (station.analysis.c3d_input) and live mocap over LSL
(station.trial.mocap), so a file and a stream of one lab are read by one rule.

Plug-in Gait has no trochanter marker: "hip" is the hip joint centre from the four pelvis markers by the
Harrington et al. (2007) regression (J Biomech 40:595-602, the pelvis width/depth form), in the pelvis
frame (origin mid-ASIS, X anterior, Y superior, Z right), distances in mm:
    X = -0.24 PD - 9.9,  Y = -0.30 PW - 10.9,  Z = +/-(0.33 PW + 7.3)  (+ right hip, - left hip)
with PW the ASIS distance and PD the mid-ASIS to mid-PSIS distance. Not the pelvis centroid (frames doc:
it swings around the joint when the pelvis tilts in a deep hinge). A trochanter marker, when present,
wins (it is what the station's camera tracks) and the notes say which was used.

Lab frame -> plate frame (plate_frame): +z the lab's up axis (config c3d.lab_up_axis), +x the subject's
anterior direction from the heel->toe markers when there are some, else config c3d.lab_anterior_axis.
"""

from __future__ import annotations

import numpy as np

from station.config import StationConfig
from station.errors import StationError

STATION_NAMES = ("hip", "knee", "ankle", "shoulder", "head", "heel", "toe")
TROCHANTER_LABELS = ("GTR", "GT", "TROC", "TRO", "GTRO")  # with the side letter in front
HARRINGTON_2007 = "hip joint centre, Harrington 2007 regression from LASI/RASI/LPSI/RPSI"


def clean_label(label: str) -> str:
    """'Subject:LASI ' -> 'LASI' (Nexus prefixes the subject name)."""
    return label.split(":")[-1].strip().upper()


def parse_mapping(text: str | None) -> dict[str, str]:
    """'hip=RGT,knee=RKNE' -> {'hip': 'RGT', 'knee': 'RKNE'}."""
    if not text:
        return {}
    out = {}
    for item in text.split(","):
        name, sep, label = item.partition("=")
        name = name.strip().lower()
        if not sep or not label.strip():
            raise StationError(f"--markers: expected name=LABEL, got {item!r}")
        if name not in STATION_NAMES:
            raise StationError(f"--markers: unknown marker name {name!r} (known: {', '.join(STATION_NAMES)})")
        out[name] = clean_label(label)
    return out


def _valid_frames(points: dict[str, np.ndarray], labels: list[str]) -> int:
    return sum(int(np.count_nonzero(np.isfinite(points[k][:, 0]))) for k in labels if k in points)


def choose_side(points: dict[str, np.ndarray], side: str | None, default_side: str) -> str:
    """'R' or 'L': the given one, else the side whose markers have more valid samples (tie: camera side)."""
    if side:
        s = side[0].upper()
        if s not in "LR":
            raise StationError(f"--side: expected left or right, got {side!r}")
        return s
    suffixes = ("ASI", "PSI", "KNE", "ANK", "SHO", "HEE", "TOE", *TROCHANTER_LABELS)
    right = _valid_frames(points, ["R" + x for x in suffixes])
    left = _valid_frames(points, ["L" + x for x in suffixes])
    if right != left:
        return "R" if right > left else "L"
    return "L" if default_side == "left" else "R"


def harrington_hjc(lasi: np.ndarray, rasi: np.ndarray, lpsi: np.ndarray, rpsi: np.ndarray,
                   side: str) -> np.ndarray:
    """Hip joint centre (M, 3), same units as the input which must be metres; NaN where a marker is."""
    mid_asis = 0.5 * (lasi + rasi)
    mid_psis = 0.5 * (lpsi + rpsi)
    z = rasi - lasi
    pw = np.linalg.norm(z, axis=1, keepdims=True)
    z = z / pw
    fwd = mid_asis - mid_psis
    x = fwd - np.sum(fwd * z, axis=1, keepdims=True) * z
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    pd = np.linalg.norm(fwd, axis=1, keepdims=True)
    pw_mm, pd_mm = pw * 1000.0, pd * 1000.0
    sign = 1.0 if side == "R" else -1.0
    local_mm = np.hstack([-0.24 * pd_mm - 9.9, -0.30 * pw_mm - 10.9, sign * (0.33 * pw_mm + 7.3)])
    return mid_asis + (local_mm[:, :1] * x + local_mm[:, 1:2] * y + local_mm[:, 2:] * z) / 1000.0


def map_markers(points: dict[str, np.ndarray], preset: str | None, mapping: dict[str, str], side: str | None,
                default_side: str, *, where: str = "the file") -> tuple[dict[str, np.ndarray], dict]:
    """Station name -> (M, 3) lab positions in metres, plus notes (preset, side, hip source, labels).

    where: what holds the labels, for the error naming a mapped label it lacks ("the file", "stream X")."""
    notes: dict = {}
    if preset is None:
        pelvis = {"LASI", "RASI"} <= set(points)
        preset = "plug-in-gait" if pelvis and "HIP" not in points else "station"
    notes["preset"] = preset
    out: dict[str, np.ndarray] = {}
    used: dict[str, str] = {}
    if preset == "station":
        for name in STATION_NAMES:
            if name.upper() in points:
                out[name], used[name] = points[name.upper()], name.upper()
    elif preset == "plug-in-gait":
        s = choose_side(points, side, default_side)
        notes["side"] = "right" if s == "R" else "left"
        for name, suffix in (("knee", "KNE"), ("ankle", "ANK"), ("shoulder", "SHO"), ("heel", "HEE"),
                             ("toe", "TOE")):
            if s + suffix in points:
                out[name], used[name] = points[s + suffix], s + suffix
        head = [points[k] for k in ("LFHD", "RFHD", "LBHD", "RBHD") if k in points]
        if head:
            out["head"] = np.nanmean(np.stack(head), axis=0) if len(head) > 1 else head[0]
            used["head"] = "mean of head markers"
        trochanter = next((s + t for t in TROCHANTER_LABELS if s + t in points), None)
        psis = ("LPSI", "RPSI") if {"LPSI", "RPSI"} <= set(points) else ("SACR", "SACR") if "SACR" in points \
            else None
        if trochanter:
            out["hip"], used["hip"] = points[trochanter], trochanter
            notes["hip_source"] = f"trochanter marker {trochanter}"
        elif {"LASI", "RASI"} <= set(points) and psis:
            out["hip"] = harrington_hjc(points["LASI"], points["RASI"], points[psis[0]], points[psis[1]], s)
            used["hip"] = "LASI/RASI/" + "/".join(dict.fromkeys(psis))
            notes["hip_source"] = HARRINGTON_2007 + ("" if psis[0] == "LPSI" else " (SACR for the PSIS)")
    else:
        raise StationError(f"--preset: unknown preset {preset!r} (station or plug-in-gait)")
    for name, label in mapping.items():
        if label not in points:
            raise StationError(f"--markers: label {label!r} for {name} is not in {where} "
                              f"(labels: {', '.join(sorted(points)) or 'none'})")
        out[name], used[name] = points[label], label
        if name == "hip":
            notes["hip_source"] = f"marker {label} (--markers)"
    if "hip" in out and "hip_source" not in notes:
        notes["hip_source"] = f"marker {used['hip']}"
    notes["labels"] = used
    return out, notes


def axis(text: str, where: str) -> np.ndarray:
    """'+x', '-y', ... -> that unit vector (where: the setting, for the error)."""
    text = text.strip().lower()
    sign = -1.0 if text.startswith("-") else 1.0
    letter = text.lstrip("+-")
    if letter not in ("x", "y", "z"):
        raise StationError(f"{where}: expected an axis like +x or -y, got {text!r}")
    v = np.zeros(3)
    v["xyz".index(letter)] = sign
    return v


def plate_frame(markers: dict[str, np.ndarray], config: StationConfig) -> tuple[np.ndarray, str]:
    """Rotation R (rows: plate x, y, z in lab axes) and where the anterior direction came from."""
    up = axis(config.c3d.lab_up_axis, "c3d.lab_up_axis")
    source = "config c3d.lab_anterior_axis"
    anterior = axis(config.c3d.lab_anterior_axis, "c3d.lab_anterior_axis")
    if "heel" in markers and "toe" in markers:
        foot = np.nanmedian(markers["toe"] - markers["heel"], axis=0)
        # a heel straight below the toe (damaged markers) gives no direction: keep the config's
        if np.all(np.isfinite(foot)) and np.linalg.norm(foot - np.dot(foot, up) * up) > 1e-3:
            anterior, source = foot, "heel->toe markers"
    anterior = anterior - np.dot(anterior, up) * up
    if np.linalg.norm(anterior) < 1e-9:
        raise StationError("c3d.lab_anterior_axis: must not be the up axis")
    anterior /= np.linalg.norm(anterior)
    return np.vstack([anterior, np.cross(up, anterior), up]), source
