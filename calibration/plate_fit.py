"""Plate gains from known masses: least squares over every placement, residuals, refusal.

Placement positions. The user names where each mass sits: ``centre`` (0, 0) or a corner mark
``front-left``, ``front-right``, ``rear-left``, ``rear-right``, which is that corner's load cell
moved `CORNER_INSET_M` inwards in x and in y (default plate: (+-0.20, +-0.10) m); or explicit plate
coordinates ``"x,y"`` in metres; or ``unknown``. A known position adds the two moment equations
(sum F_i x_i = m g x, sum F_i y_i = m g y) to the force equation (sum F_i = m g) and gives a CoP
residual; an unknown one gives the force equation only (then at least five placements are needed
and a bad one cannot be told from the others, only that the set is inconsistent).

Refusal. A mass typed wrong or placed off its mark leaves a large residual; the calibration is then
refused naming the placement whose removal makes the others agree, with its error as predicted by
a fit without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.plateaus import Plateau
from station.config import GRAVITY_M_S2, StationConfig
from station.errors import StationError

CORNER_INSET_M = 0.05


class TooFewPlateaus(StationError):
    """Not every listed placement has been seen yet (a live run keeps reading)."""
CORNERS = {"front-left": 0, "front-right": 1, "rear-left": 2, "rear-right": 3}


def placement_xy(position: str | list | tuple | None, config: StationConfig) -> tuple[float, float] | None:
    """Plate-frame (x, y) in metres of a named position; None when unknown."""
    if position is None:
        return None
    if isinstance(position, (list, tuple)):
        if len(position) != 2:
            raise StationError(f"position {position!r}: expected [x, y] in metres")
        return float(position[0]), float(position[1])
    name = str(position).strip().lower().replace("_", "-").replace(" ", "-")
    if name in ("unknown", "?", ""):
        return None
    if name in ("centre", "center"):
        return 0.0, 0.0
    if name in CORNERS:
        x, y = config.plate.channel_xy[CORNERS[name]]
        return float(x - np.sign(x) * CORNER_INSET_M), float(y - np.sign(y) * CORNER_INSET_M)
    try:
        x_str, y_str = name.split(",")
        return float(x_str), float(y_str)
    except ValueError:
        raise StationError(f"position {position!r}: say centre, {', '.join(CORNERS)}, 'x,y' (m) "
                           "or unknown") from None


@dataclass
class Placement:
    """One known mass at rest on the plate: what the user said and the mean counts it produced."""

    label: str  # e.g. "placement 2 (20 kg at front-left)"
    mass_kg: float
    counts_mean: np.ndarray  # (4,) raw counts, tare not yet removed
    xy_m: tuple[float, float] | None


@dataclass
class PlacementResidual:
    label: str
    mass_kg: float
    force_error_n: float  # fitted total minus m g
    cop_error_mm: float | None  # |fitted CoP - known position|; None when the position is unknown
    cop_xy_m: tuple[float, float]


@dataclass
class GainFit:
    gains_n_per_count: np.ndarray
    residuals: list[PlacementResidual]

    def report_dict(self) -> dict:
        """For the calibration file's `residuals` field and the printed report."""
        return {
            "placements": [
                {"label": r.label, "mass_kg": r.mass_kg, "force_error_n": round(r.force_error_n, 4),
                 "cop_error_mm": None if r.cop_error_mm is None else round(r.cop_error_mm, 3),
                 "cop_xy_m": [round(v, 5) for v in r.cop_xy_m]}
                for r in self.residuals],
            "max_force_error_n": max(abs(r.force_error_n) for r in self.residuals),
            "max_cop_error_mm": max((r.cop_error_mm for r in self.residuals if r.cop_error_mm is not None),
                                    default=None),
        }


def _rows(loads: np.ndarray, p: Placement, channel_xy: np.ndarray, lever_m: float):
    """Equations for one placement: A @ gains = b, moments scaled to newtons by the lever arm."""
    w = p.mass_kg * GRAVITY_M_S2
    A = [loads]
    b = [w]
    if p.xy_m is not None:
        A += [loads * channel_xy[:, 0] / lever_m, loads * channel_xy[:, 1] / lever_m]
        b += [w * p.xy_m[0] / lever_m, w * p.xy_m[1] / lever_m]
    return A, b


def _solve(loads: list[np.ndarray], placements: list[Placement], channel_xy: np.ndarray) -> np.ndarray:
    lever_m = float(np.mean(np.abs(channel_xy)))
    A: list = []
    b: list = []
    for L, p in zip(loads, placements, strict=True):
        a_rows, b_rows = _rows(L, p, channel_xy, lever_m)
        A += a_rows
        b += b_rows
    A_arr = np.asarray(A)
    scale = np.abs(A_arr).max(axis=0)  # column scaling: counts can be 1e5, gains 1e-3
    scale[scale == 0] = 1.0
    sol, _, rank, _ = np.linalg.lstsq(A_arr / scale, np.asarray(b), rcond=None)
    if rank < 4:
        raise StationError("placements do not determine all four gains: place masses near each corner "
                           "(or give their positions)")
    return sol / scale


def fit_gains(offsets_counts: np.ndarray, placements: list[Placement], config: StationConfig, *,
              max_force_error_frac: float = 0.01, max_force_error_floor_n: float = 2.0,
              max_cop_error_mm: float = 8.0) -> GainFit:
    """Least-squares gains; raises StationError naming a placement that disagrees with the rest.

    Limits: a placement fails when its force is off by more than `max_force_error_frac` of its weight
    (at least `max_force_error_floor_n`) or its CoP by more than `max_cop_error_mm`. When one fails,
    the culprit is the placement whose removal leaves the others most consistent (one bad placement
    drags the fit, so its neighbours' residuals grow too); the message gives its error as predicted
    by the others.
    """
    channel_xy = config.plate.channel_xy
    offsets = np.asarray(offsets_counts, dtype=float)
    loads = [np.asarray(p.counts_mean, dtype=float) - offsets for p in placements]
    n_eq = sum(3 if p.xy_m is not None else 1 for p in placements)
    if n_eq < 4:
        raise StationError(f"{len(placements)} placement(s) give {n_eq} equations; four gains need more: "
                           "place known masses at the centre and near each corner")
    limits = (max_force_error_frac, max_force_error_floor_n, max_cop_error_mm)
    gains = _solve(loads, placements, channel_xy)
    residuals = [_residual(gains, L, p, channel_xy) for L, p in zip(loads, placements, strict=True)]
    if max(_score(r, *limits) for r in residuals) > 1.0:
        _refuse(loads, placements, channel_xy, limits)
    if np.any(np.sign(gains) != np.sign(np.median(gains))):
        raise StationError(f"gains {np.array2string(gains, precision=6)} N/count differ in sign: "
                           "check the load-cell wiring")
    return GainFit(gains, residuals)


def _residual(gains: np.ndarray, L: np.ndarray, p: Placement, channel_xy: np.ndarray) -> PlacementResidual:
    f = L * gains
    total = float(f.sum())
    cop = (f @ channel_xy) / total if total != 0 else np.array([np.nan, np.nan])
    force_err = total - p.mass_kg * GRAVITY_M_S2
    cop_err = None if p.xy_m is None else float(np.hypot(*(cop - np.asarray(p.xy_m)))) * 1000.0
    return PlacementResidual(p.label, p.mass_kg, force_err, cop_err, (float(cop[0]), float(cop[1])))


def _score(r: PlacementResidual, frac: float, floor_n: float, cop_mm: float) -> float:
    """Residual relative to its limit: above 1 fails."""
    score_f = abs(r.force_error_n) / max(frac * r.mass_kg * GRAVITY_M_S2, floor_n)
    score_c = 0.0 if r.cop_error_mm is None else r.cop_error_mm / cop_mm
    return max(score_f, score_c)


def _refuse(loads: list[np.ndarray], placements: list[Placement], channel_xy: np.ndarray, limits) -> None:
    best = None  # (max score of the rest, index, the left-out placement's predicted residual)
    for i, p in enumerate(placements):
        others = [j for j in range(len(placements)) if j != i]
        if sum(3 if placements[j].xy_m is not None else 1 for j in others) < 4:
            continue
        try:
            g = _solve([loads[j] for j in others], [placements[j] for j in others], channel_xy)
        except StationError:
            continue
        rest = max(_score(_residual(g, loads[j], placements[j], channel_xy), *limits) for j in others)
        if best is None or rest < best[0]:
            best = (rest, i, _residual(g, loads[i], p, channel_xy))
    if best is None:
        raise StationError("calibration refused: the placements disagree and there are too few to tell "
                           "which is wrong; add placements with known positions")
    rest, _, r = best
    f_lim = max(limits[0] * r.mass_kg * GRAVITY_M_S2, limits[1])
    force_worse = abs(r.force_error_n) / f_lim >= (r.cop_error_mm or 0) / limits[2]
    why = (f"force off by {r.force_error_n:+.1f} N" if force_worse
           else f"CoP off by {r.cop_error_mm:.0f} mm")
    more = "" if rest <= 1.0 else " (the others disagree too: check every mass and mark)"
    raise StationError(f"calibration refused: {r.label} disagrees with the other placements ({why}): "
                       f"mass typed wrong or not on its mark? redo that placement{more}")


# --- from a stream of plateaus ------------------------------------------------------------------

def placements_from_plateaus(plateaus: list[Plateau], steps: list[dict], offsets_counts: np.ndarray,
                             gains_n_per_count: np.ndarray, config: StationConfig, *,
                             empty_tol_n: float = 10.0) -> list[Placement]:
    """Match loaded plateaus (in time order) to the steps the user listed (in the order placed).

    steps: [{"mass_kg": 20.0, "position": "centre"}, ...]. Plateaus within `empty_tol_n` of the tare
    (by the rough gains) are the empty plate between placements and are skipped. A plateau clearly
    lighter than the tare means the tare was not empty: refused, naming the load.
    """
    offsets = np.asarray(offsets_counts, dtype=float)
    g = np.asarray(gains_n_per_count, dtype=float)
    loaded: list[Plateau] = []
    for p in plateaus:
        load_n = float(((p.counts_mean - offsets) * g).sum())
        if load_n < -empty_tol_n:
            raise StationError(f"plate was not empty at the tare: it held about {-load_n:.1f} N "
                               f"({-load_n / GRAVITY_M_S2:.1f} kg) more than at {p.t_start_s:.1f} s; "
                               "remove everything and redo the calibration")
        if load_n > empty_tol_n:
            loaded.append(p)
    if len(loaded) < len(steps):
        raise TooFewPlateaus(f"found {len(loaded)} stable loaded plateau(s) for {len(steps)} placement(s): "
                           "hold each mass still for at least a second")
    if len(loaded) > len(steps):
        raise StationError(f"found {len(loaded)} stable loaded plateaus for {len(steps)} placement(s): "
                           "a load changed while on the plate; redo with one placement per step")
    out = []
    for i, (p, step) in enumerate(zip(loaded, steps, strict=True), start=1):
        mass = float(step["mass_kg"])
        pos = step.get("position", "unknown")
        out.append(Placement(f"placement {i} ({mass:g} kg at {pos})", mass, p.counts_mean,
                             placement_xy(pos, config)))
    return out
