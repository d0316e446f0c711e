"""What went wrong, in words a client understands: one sentence per fault naming the reps, plus a cue."""

from __future__ import annotations

from station.results import FAULTS, RepResult
from station.screening.felt import felt_lines
from station.screening.gate import rep_list_words
from station.screening.wall import wall_lines

# fault -> (what happened, a cue to fix it)
FAULT_WORDS: dict[str, tuple[str, str]] = {
    "squat_pattern": ("your hips dropped like a squat",
                      "push your hips back towards the wall behind you and keep your shins nearly upright"),
    "squat_swing": ("your swing turned into a squat",
                    "snap the hips back and forward; the knees only soften, the bell swings from the hips"),
    "knee_dominant": ("your knee led the step-down more than your hips",
                      "sit the hips back and lean the chest forward as you lower, shin and trunk parallel"),
    "toe_shift": ("your weight moved onto your toes",
                  "keep your weight over the middle of your feet, heels heavy"),
    "shallow": ("your chest stayed too upright",
                "let your chest tip forward as your hips go back"),
    "back_rounding": ("your low back rounded",
                      "keep your back long and flat, as if the dowel touched head, upper back and tailbone"),
    "back_arching": ("you arched your back too much",
                     "keep your ribs down and your back flat rather than arched"),
    "neck_extension": ("you looked up at the bottom",
                       "keep your chin tucked and your neck in line with your back, eyes on the floor ahead"),
    "incomplete_lockout": ("you did not come all the way up",
                           "squeeze your glutes to drive your hips forward until you stand tall"),
    "lean_back": ("you leaned back at the top",
                  "stop when you stand tall: hips under the shoulders, ribs down, no bending backwards"),
    "too_fast": ("you moved too fast",
                 "take one to three seconds down and one to three seconds up"),
    "incomplete_tracking": ("the station could not follow you well enough to judge",
                            "stay on the plate and keep the hip marker visible to the camera"),
}
assert set(FAULT_WORDS) == set(FAULTS)  # a new fault needs its words here


def _reps(numbers: list[int]) -> str:
    return ("rep " if len(numbers) == 1 else "reps ") + rep_list_words(numbers)


def fault_sentences(reps: list[RepResult]) -> list[str]:
    """['Your hips dropped like a squat on reps 3-5: push your hips back ...', ...] in FAULTS order."""
    out = []
    for fault in FAULTS:
        numbers = [i + 1 for i, r in enumerate(reps) if fault in r.faults]
        if numbers:
            what, cue = FAULT_WORDS[fault]
            out.append(f"{what[0].upper()}{what[1:]} on {_reps(numbers)}. Tip: {cue}.")
    unknown = sorted({f for r in reps for f in r.faults} - set(FAULTS))
    for fault in unknown:  # a newer core may name faults we have no words for yet
        numbers = [i + 1 for i, r in enumerate(reps) if fault in r.faults]
        out.append(f"Fault '{fault.replace('_', ' ')}' on {_reps(numbers)}.")
    return out


def set_feedback(reps: list[RepResult], status: str = "complete",
                 pain_at_rep: int | None = None, felt: str | None = None) -> list[str]:
    """Plain sentences for one set: faults by rep, or praise when every rep was clean; then the wall drill
    (wall.py, when a wall was set) and the coaching note for where the set was felt (felt.py)."""
    lines = _rep_feedback(reps, status, pain_at_rep)
    return lines + wall_lines(reps) + felt_lines(felt)


def _rep_feedback(reps: list[RepResult], status: str, pain_at_rep: int | None) -> list[str]:
    lines: list[str] = []
    if status == "stopped" and pain_at_rep is not None:
        lines.append(f"The set was stopped at rep {pain_at_rep} because you reported pain.")
    if not reps:
        lines.append("No complete reps were recorded in this set.")
        return lines
    faults = fault_sentences(reps)
    if faults:
        clean = [i + 1 for i, r in enumerate(reps) if r.passed]
        lines += faults
        if clean:
            lines.append(f"Good form on {_reps(clean)}.")
    else:
        n = len(reps)
        which = "Your rep" if n == 1 else f"All {n} reps"
        lines.append(f"{which} looked good: your hips moved back rather than down and your weight "
                     "stayed over the middle of your feet.")
    return lines
