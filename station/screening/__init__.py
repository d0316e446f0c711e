"""Screening before loaded progressions: the contraindication questions (questions), the drill catalogue
(drills), where a set's data comes from (sets), the session file (session), the progression gate (gate),
the client's feedback in words (feedback), "Where did you feel it?" after each set (felt) and the wall
drill in words (wall).
"""

from station.lazy import lazy_exports

_EXPORTS = {
    "Session": "session", "SessionTrial": "session", "load_session": "session", "save_session": "session",
    "evaluate_gate": "gate", "GateDecision": "gate", "DRILLS": "drills", "drill": "drills",
    "ScreeningAnswers": "questions", "parse_answers": "questions", "set_feedback": "feedback",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
