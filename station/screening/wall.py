"""The wall drill in words (issue 19, item 7): which reps reached the wall the coach set, which fell short.

The values come from the core (station.core.target: `reached_target`, `target_short_mm`, null without a wall);
this only says them, for the client's feedback after a set and the report.
"""

from __future__ import annotations

from station.results import RepResult
from station.screening.gate import rep_list_words


def _reps(numbers: list[int]) -> str:
    return ("rep " if len(numbers) == 1 else "reps ") + rep_list_words(numbers)


def wall_cell(rep: RepResult, none: str = "-") -> str:
    """A rep's wall verdict in a table cell (dashboard, report): 'reached', '35 short', or `none` without a
    wall."""
    if getattr(rep, "reached_target", None) is None:
        return none
    if rep.reached_target:
        return "reached"
    return "short" if rep.target_short_mm is None else f"{rep.target_short_mm:.0f} short"


def wall_lines(reps: list[RepResult]) -> list[str]:
    """'Wall drill: your hips reached the wall on reps 1-3; short on reps 4 and 5 (by up to 35 mm). ...'
    ([] when no rep was judged against a wall)."""
    judged = [(i + 1, r) for i, r in enumerate(reps) if getattr(r, "reached_target", None) is not None]
    if not judged:
        return []
    reached = [n for n, r in judged if r.reached_target]
    short = [(n, r.target_short_mm) for n, r in judged if not r.reached_target]
    parts = []
    if reached:
        parts.append(f"your hips reached the wall on {_reps(reached)}")
    if short:
        worst = max((mm for _, mm in short if mm is not None), default=None)
        by = f" (by up to {worst:.0f} mm)" if worst is not None else ""
        who = "they" if reached else "your hips"
        parts.append(f"{who} stayed short of it on {_reps([n for n, _ in short])}{by}")
    line = "Wall drill: " + "; ".join(parts) + "."
    if short:
        line += " Tip: reach your hips back to the wall, knees soft, before you come up."
    return [line]
