"""Raw plate samples the runner holds back for the zero check (station.trial.steps.ZeroCheckStep): they go
to the trial file at once, as raw counts, so a kill or power loss during the check window loses no more
than any other moment (the writer's flush period); their force rows follow when the check has chosen the
calibration. Consumers that do not know this document ignore it (the live view, LSL)."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.samples import PlateChunk


@dataclass(frozen=True)
class HeldPlate:
    """A chunk of raw plate samples that a PlateData with this very chunk object follows later."""

    chunk: PlateChunk
