"""Session summary of the reps (the `summary` object of `analyze --json`)."""

from __future__ import annotations

import numpy as np

from station.results import ALL_FAULTS, REP_VALUE_KEYS, RepResult


def summarize(reps: list[RepResult], **extra) -> dict:
    """rep_count, passed, fault counts and the mean of each metric over the reps that have it."""
    out: dict = {"rep_count": len(reps), "passed": sum(r.passed for r in reps),
                 "fault_counts": {f: sum(f in r.faults for r in reps) for f in ALL_FAULTS}}
    means = {}
    for key in REP_VALUE_KEYS:
        values = [getattr(r, key) for r in reps if getattr(r, key) is not None]
        means[key] = float(np.mean(values)) if values else None
    out["mean"] = means
    out.update(extra)
    return out
