"""A live rep is given at its end without its lockout, and again once the lockout is judged: the rep
table, the coach view's verdict and the fault cue show that it is not final, then the amended rep."""

from __future__ import annotations

import os
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from station.dashboard.cues import CueEngine  # noqa: E402
from station.dashboard.rep_table import form_text, verdict_text  # noqa: E402
from station.results import (  # noqa: E402
    LOCKOUT_PENDING,  # noqa: E402
    RepResult,
    add_or_amend,
)


def _rep(index: int, faults: list[str], pending: bool) -> RepResult:
    rep = RepResult(index=index, t_start=1.0, t_bottom=2.0, t_end=3.0, descent_s=1.0, ascent_s=1.0,
                    faults=list(faults))
    if pending:
        rep.notes["lockout"] = LOCKOUT_PENDING
    else:
        rep.lockout_trunk_deg = -14.0
    return rep


def test_the_verdict_says_it_waits_for_the_lockout():
    assert verdict_text(_rep(1, [], pending=True)) == "PASS\u2026"
    assert "lockout\u2026" in form_text(_rep(1, [], pending=True))
    assert verdict_text(_rep(1, [], pending=False)) == "PASS"
    assert verdict_text(_rep(1, ["squat_pattern"], pending=True)) == "FAIL"  # a fault now is a fault
    assert "lockout -14\u00b0" in form_text(_rep(1, ["lean_back"], pending=False))


def test_a_lockout_fault_found_after_the_verdict_is_cued_once():
    cues: list[str] = []
    engine = CueEngine(target_mm=150.0, visual=cues.append)
    reps: list[RepResult] = []
    assert add_or_amend(reps, _rep(1, [], pending=True)) is False
    engine.update(SimpleNamespace(reps=list(reps)), None)
    assert engine.counts["fault"] == 0
    assert add_or_amend(reps, _rep(1, ["lean_back"], pending=False)) is True  # same index: replaced
    assert len(reps) == 1 and reps[0].faults == ["lean_back"]
    engine.update(SimpleNamespace(reps=list(reps)), None)
    engine.update(SimpleNamespace(reps=list(reps)), None)
    assert engine.counts["fault"] == 1 and cues == ["fault"]
    add_or_amend(reps, _rep(2, ["squat_pattern"], pending=True))  # a fault at the end: cued at once
    add_or_amend(reps, _rep(3, [], pending=True))
    engine.update(SimpleNamespace(reps=list(reps)), None)
    add_or_amend(reps, _rep(2, ["squat_pattern", "lean_back"], pending=False))  # not cued twice
    engine.update(SimpleNamespace(reps=list(reps)), None)
    assert engine.counts["fault"] == 2
