"""Heel line and foot length per subject, stored with the subject.

Three ways in:

- typed: the clinician measures and types ``heel_x_m`` (plate x of the heels' back edge, usually the
  line marked on the plate) and ``foot_length_m``;
- functional: the subject rocks back onto the heels (toes up), holds, then forward onto the toes
  (heels up), holds. The CoP limits bound the foot but never reach its ends: on the heels the CoP
  sits under the calcaneus contact, about `HEEL_COP_FRAC` of the foot length in front of the heel's
  back edge; on the toes it sits under the metatarsal heads and toe pads, about `TOE_COP_FRAC` from
  the heel. So ``L = (x_front - x_back) / (TOE_COP_FRAC - HEEL_COP_FRAC)`` and
  ``heel_x = x_back - HEEL_COP_FRAC * L``. The fractions are anatomical approximations (forefoot
  contact centroid ~0.75-0.8 L, heel pad centroid ~0.08-0.12 L); a typed measurement is better when
  it exists, and the file records which method was used;
- from the depth camera (side view of the subject standing still on the plate): calibration/feet_camera.py.

Storage: ``<calibration_dir>/subjects/<subject id>.json``, a calibration file of kind "feet" whose
device_id is the subject id (one current file per subject; a new calibration replaces it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.plateaus import moving_std
from calibration.store import load_calibration, safe_name, save_calibration
from station.config import StationConfig
from station.errors import StationError

HEEL_COP_FRAC = 0.10
TOE_COP_FRAC = 0.78


@dataclass
class FeetCalibration:
    subject_id: str
    heel_x_m: float
    foot_length_m: float
    method: str  # "typed", "functional" or "camera"
    details: dict | None = None

    def to_result(self) -> dict:
        return {"heel_x_m": float(self.heel_x_m), "foot_length_m": float(self.foot_length_m),
                "method": self.method, "details": self.details or {}}


def typed_feet(subject_id: str, heel_x_m: float, foot_length_m: float) -> FeetCalibration:
    if not 0.05 < foot_length_m < 0.5:
        raise StationError(f"--foot-length {foot_length_m} m: expected a foot, 0.05-0.5 m")
    return FeetCalibration(subject_id, float(heel_x_m), float(foot_length_m), "typed")


def functional_feet(subject_id: str, t_s: np.ndarray, cop_x_m: np.ndarray, fz_n: np.ndarray, *,
                    hold_s: float = 0.5, min_force_n: float = 200.0,
                    heel_frac: float = HEEL_COP_FRAC, toe_frac: float = TOE_COP_FRAC) -> FeetCalibration:
    """Heel line and foot length from the CoP limits of a rock back / rock forward.

    The limits are taken over held stretches only (CoP moving less than 5 mm std over `hold_s`), so a
    momentary overshoot while losing balance does not count.
    """
    t = np.asarray(t_s, dtype=float)
    x = np.asarray(cop_x_m, dtype=float)
    fz = np.asarray(fz_n, dtype=float)
    ok = np.isfinite(x) & (fz > min_force_n)
    if ok.sum() < 10:
        raise StationError(f"functional feet: the subject is not on the plate (Fz below {min_force_n:g} N)")
    n_win = max(3, int(round(hold_s / float(np.median(np.diff(t))))))
    x_filled = np.interp(t, t[ok], x[ok])
    held = ok & (moving_std(x_filled[:, None], n_win)[:, 0] < 0.005)
    if held.sum() < n_win:
        raise StationError("functional feet: no held position found; hold each lean for a second")
    x_back, x_front = float(np.percentile(x[held], 1)), float(np.percentile(x[held], 99))
    span = x_front - x_back
    if span < 0.08:
        raise StationError(f"functional feet: CoP moved only {span * 1000:.0f} mm; rock fully back onto the "
                           "heels and forward onto the toes")
    length = span / (toe_frac - heel_frac)
    heel_x = x_back - heel_frac * length
    return FeetCalibration(subject_id, heel_x, length, "functional",
                           {"cop_x_back_m": x_back, "cop_x_front_m": x_front,
                            "heel_cop_frac": heel_frac, "toe_cop_frac": toe_frac})


def subject_path(subject_id: str, config: StationConfig) -> Path:
    return Path(config.calibration_dir) / "subjects" / f"{safe_name(subject_id)}.json"


def save_feet(feet: FeetCalibration, config: StationConfig, out: str | Path | None = None) -> Path:
    return save_calibration("feet", feet.to_result(), device_id=feet.subject_id,
                            out=out or subject_path(feet.subject_id, config), config=config)


def load_feet(subject_id: str, config: StationConfig, path: str | Path | None = None) -> FeetCalibration:
    """The subject's stored feet, or the station config's [feet] when the subject has none."""
    p = Path(path) if path is not None else subject_path(subject_id, config)
    if path is None and not p.is_file():
        return FeetCalibration(subject_id, config.feet.heel_x_m, config.feet.foot_length_m, "config")
    doc = load_calibration(p, "feet")
    r = doc["result"]
    return FeetCalibration(doc["device_id"], r["heel_x_m"], r["foot_length_m"], r.get("method", "typed"),
                           r.get("details"))
