"""Run the live core over a recorded trial's raw streams: force re-derived from raw counts and the stored
calibration, markers from the stored 3D trajectories, fed in time order in short blocks (optionally at
real pace, so a dashboard can watch it as if live)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from station.recording.reader import RecordedTrial
from station.results import AnalysisResult, RepResult
from station.streams import ForceBlock, MarkerBlock
from station.trial.steps import ForceStep

Block = tuple[float, ForceBlock | None, MarkerBlock | None]


def replay_blocks(trial: RecordedTrial, block_s: float = 0.1) -> list[Block]:
    """(t_end, force block, marker block) pairs covering the trial in block_s steps, in time order."""
    step = ForceStep.from_description(trial.calibration.get("plate") or {}, trial.config)
    n_force = min(len(trial.plate), len(trial.force.t_s))
    cells = step.cells_n(trial.plate.counts[:n_force])
    ft = trial.force.t_s[:n_force]
    mt = trial.markers.t_s
    ends = [a[-1] for a in (ft, mt) if len(a)]
    starts = [a[0] for a in (ft, mt) if len(a)]
    if not ends:
        return []
    t0, t1 = min(starts), max(ends)
    edges = t0 + block_s * np.arange(int(np.floor((t1 - t0) / block_s)) + 2)  # last edge > t1
    force = ForceBlock(ft, cells)
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        fb, mb = force.between(a, b), trial.markers.between(a, b)
        out.append((float(b), fb if len(fb) else None, mb if len(mb) else None))
    return out


def replay_trial(trial: RecordedTrial, *, real_time: bool = False,
                 on_rep: Callable[[RepResult], None] | None = None,
                 on_block: Callable[[float, ForceBlock | None, MarkerBlock | None], None] | None = None,
                 body_mass_kg: float | None = None) -> AnalysisResult:
    from station.core.hinge_core import HingeCore

    mass = body_mass_kg if body_mass_kg is not None else trial.metadata.get("body_mass_kg")
    dowel = None
    if trial.dowel is not None and len(trial.dowel["t_s"]):
        from station.recording.rows import dowel_block_from_rows

        dowel = dowel_block_from_rows(trial.dowel)
    core = HingeCore(trial.config, body_mass_kg=mass, expect_force=len(trial.force) > 0,
                     expect_markers=len(trial.markers) > 0, expect_dowel=dowel is not None)
    if dowel is not None:  # the recorded per-frame dowel is a measurement, not re-derived (no depth kept)
        core.push_dowel(dowel)
    wall0 = time.monotonic()
    blocks = replay_blocks(trial)
    t_first = blocks[0][0] if blocks else 0.0
    for t_end, fb, mb in blocks:
        if real_time:
            delay = (t_end - t_first) - (time.monotonic() - wall0)
            if delay > 0:
                time.sleep(delay)
        if fb is not None:
            core.push_force(fb)
        if mb is not None:
            core.push_markers(mb)
        if on_block is not None:
            on_block(t_end, fb, mb)
        for rep in core.poll():
            if on_rep is not None:
                on_rep(rep)
    result = core.finish()
    result.source = str(trial.path)
    return result
