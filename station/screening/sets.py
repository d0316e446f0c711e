"""Where a screened set's data comes from: data objects in, RecordedSet out.

Every source ends as ForceBlock + MarkerBlock run through the one core (`analysis.analyze.analyze_blocks`);
the report's small series are taken from the same blocks (see station/analysis/series.py for why).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from station.analysis.series import TrialSeries, series_from_blocks
from station.config import StationConfig
from station.documents import DocumentValue
from station.errors import StationError
from station.results import AnalysisResult
from station.streams import DowelBlock, ForceBlock, MarkerBlock

SIM_FORCE_RATE_HZ = 1000.0
SIM_CAMERA_RATE_HZ = 30.0
SIM_CELL_NOISE_N = 1.0  # per-cell white noise of a typical strain-gauge plate
SIM_MARKER_NOISE_M = 0.003  # depth-camera marker jitter at ~2 m


@dataclass
class RecordedSet:
    analysis: AnalysisResult
    series: TrialSeries | None
    source: str
    calibration: dict | None
    trial_file: str | None = None
    stopped_at_s: float | None = None  # where the set was cut (pain), seconds from its start


def _analyze(force: ForceBlock | None, markers: MarkerBlock | None, config: StationConfig,
             source: str, dowel: DowelBlock | None = None) -> AnalysisResult:
    from station.analysis.analyze import analyze_blocks

    return analyze_blocks(force, markers, config, source=source, dowel=dowel)


def set_from_blocks(force: ForceBlock | None, markers: MarkerBlock | None, config: StationConfig, *,
                    source: str, calibration: dict | None, pain_at_rep: int | None = None,
                    trial_file: str | None = None, dowel: DowelBlock | None = None) -> RecordedSet:
    """Analyse a set; with pain_at_rep=N the set ends at the bottom of rep N and only what came before
    it is judged (the painful rep is not a rep of the set). dowel: the recorded virtual-dowel series
    (a trial file's /dowel), judged as live."""
    result = _analyze(force, markers, config, source, dowel)
    stopped_at = None
    if pain_at_rep is not None:
        if pain_at_rep < 1:
            raise StationError(f"--pain-at-rep {pain_at_rep}: rep numbers start at 1")
        if pain_at_rep <= len(result.reps):
            rep = result.reps[pain_at_rep - 1]
            stopped_at = rep.t_bottom
            t_cut = min(b.t_s[0] for b in (force, markers) if b is not None and len(b)) + stopped_at
            force, markers, dowel = (None if b is None else b.between(-np.inf, t_cut, include_end=True)
                                     for b in (force, markers, dowel))
            result = _analyze(force, markers, config, source, dowel)
            result.reps = [r for r in result.reps if r.t_end <= stopped_at]
            # the cut is ours: replace the core's "ends during a movement" with the reason
            result.warnings = [w for w in result.warnings if "ends during a movement" not in w]
    series = series_from_blocks(force, markers, result.reps, config, result.summary.get("body_weight_n"))
    return RecordedSet(result, series, source, calibration, trial_file, stopped_at)


def _sim_arms(drill_id: str, arms: str | None, load_kg: float | None) -> str:
    """What the virtual subject holds: the dowel, the weights, or the bodyweight arm position."""
    if drill_id == "dowel_hinge":
        return "dowel"
    if load_kg:
        return "weights"
    return arms or "arms_crossed"


def sim_blocks(pattern: str, drill_id: str, reps: int, arms: str | None, load_kg: float | None,
               seed: int) -> tuple[ForceBlock, MarkerBlock]:
    """The virtual subject's truth signals sampled like the devices, plus realistic sensor noise."""
    from drivers.sim.subject import VirtualSubject

    try:
        subject = VirtualSubject(pattern, reps=reps, arms=_sim_arms(drill_id, arms, load_kg),
                                 load_kg=load_kg or 0.0, seed=seed)
    except ValueError as exc:
        raise StationError(f"--sim {pattern}: {exc}") from None
    duration_s = subject.duration_s
    rng = np.random.default_rng(seed + 1)
    t_force = np.arange(0.0, duration_s, 1.0 / SIM_FORCE_RATE_HZ)
    cells = np.asarray(subject.cell_loads_n(t_force), dtype=float)
    cells = cells + rng.normal(0.0, SIM_CELL_NOISE_N, cells.shape)
    t_cam = np.arange(0.0, duration_s, 1.0 / SIM_CAMERA_RATE_HZ)
    positions = {name: np.asarray(p, dtype=float) + rng.normal(0.0, SIM_MARKER_NOISE_M, np.shape(p))
                 for name, p in subject.markers(t_cam).items()}
    return ForceBlock(t_force, cells), MarkerBlock(t_cam, positions)


def set_from_sim(pattern: str, config: StationConfig, *, drill_id: str, reps: int, arms: str | None,
                 load_kg: float | None, seed: int, pain_at_rep: int | None = None) -> RecordedSet:
    force, markers = sim_blocks(pattern, drill_id, reps, arms, load_kg, seed)
    return set_from_blocks(force, markers, config, source=f"sim:{pattern}",
                           calibration={"plate": "simulated (exact)", "camera": "simulated (exact)"},
                           pain_at_rep=pain_at_rep)


def _trial_calibration(trial) -> dict | None:
    """What the report shows as the set's calibration; None when the trial ran on nominal defaults."""
    cal = trial.calibration
    plate = cal.get("plate") or {}
    out = {}
    if cal.get("status") == "calibrated":
        out["plate"] = str(plate.get("source") or "calibrated")
    if cal.get("camera_T") is not None and (cal.get("files") or {}).get("camera"):
        out["camera"] = str(cal["files"]["camera"])
    return out or None


def set_from_trial_file(path: Path, config: StationConfig, pain_at_rep: int | None = None) -> RecordedSet:
    """A recorded station trial (.h5): its stored force and markers through the core.

    The trial's own config (plate geometry, feet, thresholds as recorded) is used unless a config file
    was given (config.source_path), the same rule as `analyze trial.h5`.
    """
    from station.recording.reader import read_trial

    trial = read_trial(path)
    if config.source_path is None:
        config = trial.config
    from station.core.target import with_recorded_wall

    config = with_recorded_wall(config, trial.metadata.get("wall_mm"))  # the wall drill as recorded
    force = trial.force if len(trial.force) else None
    markers = trial.markers if len(trial.markers) else None
    dowel = None
    if trial.dowel is not None and len(trial.dowel["t_s"]):  # the back judged as live (as `analyze` does)
        from station.recording.rows import dowel_block_from_rows

        dowel = dowel_block_from_rows(trial.dowel)
    recorded = set_from_blocks(force, markers, config, source=f"h5:{path}",
                               calibration=_trial_calibration(trial), pain_at_rep=pain_at_rep,
                               trial_file=str(path), dowel=dowel)
    recorded.analysis.warnings = list(trial.warnings) + recorded.analysis.warnings
    if trial.metadata.get("markers_method") == "markerless (estimated)":  # every rep says it is an estimate
        from station.markerless.labels import SOURCE_LABEL, expected_error_text

        for rep in recorded.analysis.reps:
            rep.notes.setdefault("markers", f"{SOURCE_LABEL}: expected error {expected_error_text()}")
    meta = {k: trial.metadata.get(k) for k in ("subject_id", "drill", "load_kg", "arms", "side")}
    recorded.analysis.summary["trial_meta"] = {k: v for k, v in meta.items()
                                               if v not in (None, "") and not _is_nan(v)}
    return recorded


def _is_nan(value: DocumentValue) -> bool:
    """The trial file stores "no load" as load_kg NaN (docs/trial-format.md)."""
    return isinstance(value, float) and value != value


def session_from_trial_file(path: Path, config: StationConfig):
    """A one-set session for a report made straight from a trial file (no screening asked here)."""
    from station.screening.session import Session, SessionTrial, path_for_session

    recorded = set_from_trial_file(path, config)
    meta = recorded.analysis.summary.get("trial_meta", {}) if recorded.analysis else {}
    trial = SessionTrial("T1", str(meta.get("drill", "dowel_hinge")), None, source=recorded.source,
                           arms=meta.get("arms") or None, load_kg=meta.get("load_kg") or None,
                           trial_file=path_for_session(path, None), calibration=recorded.calibration,
                           analysis=recorded.analysis, series=recorded.series)
    session = Session(str(meta.get("subject_id", "unknown")), trials=[trial])
    session.notes.append(f"Made from the trial file {path.name} alone: no screening answers or other sets.")
    return session
