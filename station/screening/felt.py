""""Where did you feel it?" after every set (issue 19, item 5): hamstrings/glutes, low back, or nowhere.

"Once you can do these and NOT feel it in your back... you can start deadlifting"; "if you don't feel that
stretch you're in the wrong position". Stored with the set as `felt` (session JSON and the archive's trials
row): one of FELT_VALUES, or null when not asked. `low_back` blocks progression at the gate for the session
(`[gate] block_on_low_back`), with the reason in the decision and the report; `nowhere` adds a coaching note
to the set's feedback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from station.documents import DocumentValue
from station.errors import StationError

if TYPE_CHECKING:
    from station.screening.session import SessionTrial

FELT_VALUES = ("hamstrings_glutes", "low_back", "nowhere")
QUESTION = "Where did you feel it?"
# what the client hears and the report says, per value
FELT_WORDS = {"hamstrings_glutes": "hamstrings / glutes", "low_back": "low back", "nowhere": "nowhere"}
# interactive shortcuts (the menu numbers and plain words); the stored value is always a FELT_VALUES key
_ALIASES = {"1": "hamstrings_glutes", "hamstrings": "hamstrings_glutes", "glutes": "hamstrings_glutes",
            "2": "low_back", "back": "low_back", "low back": "low_back",
            "3": "nowhere", "none": "nowhere", "nothing": "nowhere"}
NOWHERE_NOTE = ("You did not feel it anywhere: a hinge done right stretches the back of your thighs. "
                "Push your hips further back, knees soft, until you feel that stretch in your hamstrings, "
                "then come up.")
LOW_BACK_NOTE = ("You felt it in your low back: no progression today. Keep your back long and flat and let "
                 "the hips, not the back, do the bending; please tell your clinician.")


def parse_felt(value: DocumentValue, where: str = "--felt") -> str | None:
    """A FELT_VALUES key (aliases accepted), None for None; one-line StationError naming `where`."""
    if value is None:
        return None
    text = str(value).strip().lower().replace("-", "_")
    if text in FELT_VALUES:
        return text
    if text.replace("_", " ") in _ALIASES:
        return _ALIASES[text.replace("_", " ")]
    shown = str(value) if str(value).isprintable() else repr(value)
    raise StationError(f"{where}: {shown!r} is not one of {', '.join(FELT_VALUES)}")


def ask_felt(ask: Callable[[str], str] = input) -> str:
    """Ask after a set until the answer is one of the three."""
    menu = ", ".join(f"{n} {FELT_WORDS[v]}" for n, v in enumerate(FELT_VALUES, start=1))
    while True:
        try:
            return str(parse_felt(ask(f"{QUESTION} [{menu}] ")))
        except StationError:
            continue


def felt_lines(felt: str | None) -> list[str]:
    """The coaching line a set's feedback gets for where it was felt ([] when it needs none)."""
    if felt == "nowhere":
        return [NOWHERE_NOTE]
    if felt == "low_back":
        return [LOW_BACK_NOTE]
    return []


def low_back_stop(trials: Iterable[SessionTrial]) -> str | None:
    """The gate's reason when a set of the session was felt in the low back (None when none was)."""
    sets = [t.trial_id for t in trials if getattr(t, "felt", None) == "low_back"]
    if not sets:
        return None
    which = sets[0] if len(sets) == 1 else ", ".join(sets[:-1]) + " and " + sets[-1]
    return (f"The subject felt set{'s' if len(sets) > 1 else ''} {which} in the low back, not in the "
            "hamstrings or glutes; no progression today: please see your clinician.")
