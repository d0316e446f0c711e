"""`analyze`: any recorded input -> the same HingeCore a live session uses -> AnalysisResult.

Inputs are read by the loader registered for their suffix (station.analysis.inputs), which returns the
core's blocks in the plate frame; this module runs the core over them.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np

from station.analysis.inputs import LoadOptions, loader_for
from station.config import StationConfig
from station.core import cop
from station.core.hinge_core import HingeCore
from station.core.target import with_recorded_wall
from station.errors import StationError
from station.results import AnalysisResult
from station.streams import DowelBlock, ForceBlock, MarkerBlock

CHUNK_S = 0.5  # offline feeding step; any step gives the same result (decisions are per frame)
MAX_SPAN_S = 24 * 3600.0  # a recording longer than this is damaged times, not a session


def _force_summary(force: ForceBlock, config: StationConfig, body_weight_n: float | None) -> dict:
    """CoP read-outs that need no kinematics (so a force-only input still says something)."""
    fz = cop.total_force_n(force.cells_n)
    loaded = fz > cop.force_gate_n(config, body_weight_n)
    if not np.any(loaded):
        return {"loaded_s": 0.0}
    xy = cop.cop_xy_m(force.cells_n[loaded], config.plate.channel_xy, fz[loaded])
    foot = cop.foot_pos(xy[:, 0], config)
    share = cop.rear_share(force.cells_n[loaded], config.plate.rear_channels, fz[loaded])
    dt = float(np.median(np.diff(force.t_s))) if len(force) > 1 else 0.0
    return {"loaded_s": float(np.count_nonzero(loaded) * dt), "fz_mean_n": float(np.mean(fz[loaded])),
            "foot_pos_mean": float(np.mean(foot)), "foot_pos_min": float(np.min(foot)),
            "foot_pos_max": float(np.max(foot)), "heel_load_pct_mean": float(100 * np.mean(share))}


def analyze_blocks(force: ForceBlock | None, markers: MarkerBlock | None, config: StationConfig, *,
                   source: str, dowel: DowelBlock | None = None, body_mass_kg: float | None = None,
                   chunk_s: float = CHUNK_S, t_origin_s: float | None = None,
                   movement: str = "hinge") -> AnalysisResult:
    """Run the live core over recorded blocks (time order, chunk by chunk) and summarise.

    Rep times are seconds from t_origin_s (default: the first sample), e.g. 0 for a station trial whose
    clock already starts at the recording's start, so analyze and the live record give the same times.
    """
    force = force if force is not None and len(force) else None
    markers = markers if markers is not None and len(markers) else None
    if force is None and markers is None:
        raise StationError(f"{source}: no force samples and no marker frames to analyse")
    core = HingeCore(config, body_mass_kg=body_mass_kg, expect_force=force is not None,
                     expect_markers=markers is not None, expect_dowel=dowel is not None and len(dowel) > 0,
                     movement=movement)  # the swing and the step are found and judged their own way
    starts = [b.t_s[0] for b in (force, markers) if b is not None]
    ends = [b.t_s[-1] for b in (force, markers, dowel) if b is not None and len(b)]
    t0, t_last = float(min(starts)), float(max(ends))
    # the chunk loop below runs (t_last - t0) / chunk_s times: damaged times (NaN, inf, 1e300) stop here
    if not (np.all(np.isfinite(starts + ends)) and abs(t0) < 1e12 and 0 <= t_last - t0 <= MAX_SPAN_S):
        raise StationError(f"{source}: sample times run from {t0:g} to {t_last:g} s, not one recording "
                           f"(at most {MAX_SPAN_S / 3600:g} h; damaged times?)")
    edges = np.arange(t0, t_last + chunk_s, chunk_s)
    edges[-1] = np.inf
    previous = -np.inf
    for edge in edges:
        if force is not None:
            core.push_force(force.between(previous, edge))
        if dowel is not None and len(dowel):
            core.push_dowel(dowel.between(previous, edge))
        if markers is not None:
            core.push_markers(markers.between(previous, edge))
        previous = edge
    result = core.finish()
    result.source = source
    origin = t0 if t_origin_s is None else float(t_origin_s)
    for rep in result.reps:  # seconds from the start of the input
        rep.t_start, rep.t_bottom, rep.t_end = rep.t_start - origin, rep.t_bottom - origin, rep.t_end - origin
    if markers is None:
        result.warnings.insert(0, "no marker data: reps and kinematics not computed (CoP only)")
    if force is None:
        result.warnings.insert(0, "no force data: CoP, foot_pos and heel load not computed (kinematics only)")
    else:
        result.summary["force"] = _force_summary(force, config, result.summary.get("body_weight_n"))
    result.summary["duration_s"] = t_last - t0
    return result


def analyze_path(path: str | Path, options: LoadOptions) -> AnalysisResult:
    """Load a recorded input with its registered loader and analyse it."""
    path = Path(path)
    force, markers, meta = loader_for(path)(path, options)
    config = options.config
    notes = dict(meta.get("notes", {}))
    if meta.get("config") is not None:  # the file's own station config (plate geometry, feet, thresholds)
        if config.source_path is None:
            config = meta["config"]
            notes["config"] = "as recorded in the file"
        else:
            notes["config"] = f"{config.source_path} (given; the file's own config not used)"
    if meta.get("feet"):
        config = copy.deepcopy(config)
        config.feet = dataclasses.replace(config.feet, **meta["feet"])
    config = with_recorded_wall(config, meta.get("wall_mm"))  # the wall drill as recorded
    result = analyze_blocks(force, markers, config, source=str(path), dowel=meta.get("dowel"),
                            body_mass_kg=options.body_mass_kg or meta.get("body_mass_kg"),
                            t_origin_s=meta.get("t_origin_s"),
                            movement=options.movement or meta.get("movement") or "hinge")
    result.warnings = list(meta.get("warnings", [])) + result.warnings
    if notes:
        result.summary["input"] = notes
    result.summary["hip_source"] = notes.get("hip_source", "hip marker" if markers is not None else None)
    for rep in result.reps:
        if "hip_source" in notes:
            rep.notes.setdefault("hip_source", notes["hip_source"])
        if "markers_expected_error" in notes:  # markerless: every rep says its numbers are estimates
            said = f"{notes['markers']}: expected error {notes['markers_expected_error']}"
            rep.notes.setdefault("markers", said)
    if "markers_expected_error" in notes:
        result.summary["hip_source"] = f"{notes['markers']} hip (greater trochanter estimated from depth)"
    return result
