"""Contraindication check asked before every set (metrics.md): any yes and the test does not start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from station.documents import DocumentValue, read_document
from station.errors import StationError

# key, question asked, reason recorded when answered yes
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("acute_low_back_pain", "Do you have acute low-back pain right now?", "acute low-back pain now"),
    ("severe_hamstring_injury", "Do you have a severe hamstring injury?", "severe hamstring injury"),
    ("hip_joint_problems", "Do you have hip joint problems?", "hip joint problems"),
    ("pain_during_movement", "Does bending forward like this movement hurt?", "pain during the movement"),
)
QUESTION_KEYS = tuple(q[0] for q in QUESTIONS)
_YES = {"yes", "y", "true", "1", "ja", "oui"}
_NO = {"no", "n", "false", "0", "nein", "non"}


@dataclass
class ScreeningAnswers:
    """The four answers (True = yes) and when they were given."""

    answers: dict[str, bool]
    asked_at: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))

    @property
    def cleared(self) -> bool:
        return not any(self.answers.get(k, False) for k in QUESTION_KEYS)

    def refusal_reason(self) -> str | None:
        """Plain words for why the test did not start, None when cleared."""
        yes = [reason for key, _, reason in QUESTIONS if self.answers.get(key)]
        if not yes:
            return None
        return "Test not started: the subject reported " + _join_words(yes) + "."

    def to_json(self) -> dict:
        return {"answers": {k: bool(self.answers[k]) for k in QUESTION_KEYS}, "asked_at": self.asked_at}

    @classmethod
    def from_json(cls, data: dict, where: str = "screening") -> ScreeningAnswers:
        raw = data.get("answers") if isinstance(data, dict) else None
        if not isinstance(raw, dict):
            raise StationError(f"{where}.answers: expected an object with {', '.join(QUESTION_KEYS)}")
        return cls(answers=_answers_from_mapping(raw, where), asked_at=str(data.get("asked_at", "")))


def _join_words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _as_bool(value: DocumentValue, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise StationError(f"{where}: answer {value!r} is neither yes nor no")


def _answers_from_mapping(raw: dict, where: str) -> dict[str, bool]:
    missing = [k for k in QUESTION_KEYS if k not in raw]
    if missing:
        raise StationError(f"{where}: missing answer(s) {', '.join(missing)}")
    unknown = [k if k.isprintable() else repr(k) for k in raw if k not in QUESTION_KEYS]  # one line
    if unknown:
        raise StationError(f"{where}: unknown question(s) {', '.join(unknown)}")
    return {k: _as_bool(raw[k], f"{where}.{k}") for k in QUESTION_KEYS}


def parse_answers(spec: str) -> ScreeningAnswers:
    """`no,no,no,no` (in question order) or a JSON file {"acute_low_back_pain": "no", ...}."""
    path = Path(spec)
    if spec.lower().endswith(".json") or path.is_file():
        data = read_document(path, "answers file", invalid="not valid JSON ({error})")
        if isinstance(data, dict) and "answers" in data:
            data = data["answers"]
        if not isinstance(data, dict):
            raise StationError(f"{path}: expected an object mapping question to yes/no")
        return ScreeningAnswers(_answers_from_mapping(data, str(path)))
    parts = [p for p in spec.split(",")]
    if len(parts) != len(QUESTIONS):
        raise StationError(f"--answers {spec!r}: expected {len(QUESTIONS)} comma-separated yes/no "
                           f"({', '.join(QUESTION_KEYS)})")
    return ScreeningAnswers({k: _as_bool(p, f"--answers {k}") for k, p in zip(QUESTION_KEYS, parts,
                                                                                strict=True)})


def ask_interactively(ask: Callable[[str], str] = input) -> ScreeningAnswers:
    """Ask the four questions; re-ask on anything that is not yes/no."""
    answers: dict[str, bool] = {}
    for key, question, _ in QUESTIONS:
        while True:
            reply = ask(f"{question} [yes/no] ").strip().lower()
            if reply in _YES or reply in _NO:
                answers[key] = reply in _YES
                break
    return ScreeningAnswers(answers)
