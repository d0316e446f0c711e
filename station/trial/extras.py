"""The camera extras of a live trial: the virtual dowel on each frame and one still per rep.

Split out of station.trial.runner (TrialRunner) because neither is part of the core data path (sources ->
clock -> markers/force -> core -> file): both only watch frames and reps. The runner calls these hooks
at fixed points of its worker (after the markers, before the markers reach the core, per rep, at stop).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from drivers.samples import CameraFrame
from station.config import StationConfig
from station.recording.stills import StillKeeper
from station.results import RepResult


class CameraExtras:
    """The virtual dowel (dowel.step, built at the first frame) and the rep stills (recording.stills).

    `drill`: the trial's drill (metadata), which says whether the subject holds a dowel. `writer`: the
    trial's TrialWriter or None. All calls come from the runner's worker thread.
    """

    def __init__(self, config: StationConfig, camera_T: np.ndarray, writer: object | None,
                 drill: object = None) -> None:
        self.config, self.camera_T, self.writer, self.drill = config, camera_T, writer, drill
        self.dowel_step = None  # station.dowel.step.DowelStep, built at the first frame with depth
        self.dowel_live: dict | None = None  # the last dowel result for the live view
        # the frame nearest each rep's bottom, for the report's picture
        self.stills = StillKeeper(writer)

    def on_markers(self, t_s: float, frame: CameraFrame, pixels: dict[str, np.ndarray]) -> None:
        """A frame and its marker pixels: into the stills' ring."""
        self.stills.on_frame(t_s, frame, pixels)

    def on_dowel(self, frame: CameraFrame, positions: dict, t_s: float, core: object | None) -> dict | None:
        """The virtual dowel on this frame (call before its markers reach the core, which waits for it).

        Returns the live view's dowel dict, or None when the frame was skipped (worker behind: the core
        then waits for the next measured frame).
        """
        from station.dowel import step as ds

        if self.dowel_step is None:
            holding = ds.is_dowel_drill(self.drill)
            self.dowel_step = ds.DowelStep(self.config, self.camera_T, holding_dowel=holding)
        got = self.dowel_step.update(frame, positions, t_s)
        if got is None:
            return None
        self.stills.on_dowel(t_s, got)
        if core is not None:
            core.push_dowel(ds.block_of(got))
        if self.writer is not None:
            self.writer.append_dowel(ds.record_row(got))
        self.dowel_live = ds.live_dict(got)
        return self.dowel_live

    def explain(self, rep: RepResult) -> None:
        """The dowel's notes on a rep (before the rep is recorded or shown)."""
        if self.dowel_step is not None:
            self.dowel_step.explain(rep)

    def on_rep(self, rep: RepResult) -> None:
        """Keep the still nearest the rep's bottom."""
        self.stills.on_rep(rep)

    def on_final_reps(self, reps: Iterable[RepResult]) -> None:
        """The core's reps at stop: explain them all, then a still for any rep first found at stop
        (its bottom is still in the ring; live reps are not stored twice)."""
        reps = list(reps)
        for rep in reps:
            self.explain(rep)
        for rep in reps:
            self.on_rep(rep)
