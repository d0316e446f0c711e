"""Progression gate rules on hand-made reps (the known truth is the fault pattern we write down)."""

import json

import pytest

from station.config import GateConfig, config_from_dict
from station.errors import StationError
from station.results import AnalysisResult, RepResult
from station.screening.gate import GateDecision, evaluate_gate, rep_list_words
from station.screening.questions import ScreeningAnswers, parse_answers
from station.screening.session import Session, SessionTrial, load_session, save_session

CLEAR = ScreeningAnswers({"acute_low_back_pain": False, "severe_hamstring_injury": False,
                          "hip_joint_problems": False, "pain_during_movement": False})


def _set(tid: str, drill: str, faults_per_rep: list[list[str]], **kw) -> SessionTrial:
    reps = [RepResult(index=i, t_start=3.0 * i, t_bottom=3.0 * i + 1.5, t_end=3.0 * i + 3.0,
                      hip_back_mm=150.0, faults=list(f)) for i, f in enumerate(faults_per_rep)]
    return SessionTrial(trial_id=tid, drill=drill, screening=CLEAR,
                 analysis=AnalysisResult(source="hand-made", reps=reps), **kw)


def test_rep_list_words():
    assert rep_list_words([3, 4, 5]) == "3-5"
    assert rep_list_words([2, 4]) == "2 and 4"
    assert rep_list_words([1, 3, 4, 5, 8]) == "1, 3-5 and 8"
    assert rep_list_words([6]) == "6"
    assert rep_list_words([1, 2]) == "1 and 2"


def test_dowel_gate_passes_on_8_consecutive_clean_reps_after_a_fault():
    faults = [[], ["squat_pattern"]] + [[]] * 8
    s = Session("S1", trials=[_set("T1", "dowel_hinge", faults)])
    d = evaluate_gate(s, GateConfig())
    assert d.passed and d.unlocked == "bw_rdl" and d.current_stage == "dowel_hinge"
    assert d.evidence == [("T1", list(range(3, 11)))]


def test_dowel_gate_blocked_when_faults_break_every_run():
    faults = [[]] * 5 + [["squat_pattern"]] + [[]] * 7
    s = Session("S1", trials=[_set("T1", "dowel_hinge", faults)])
    d = evaluate_gate(s, GateConfig())
    assert not d.passed and d.unlocked is None
    assert d.evidence == [("T1", list(range(7, 14))), ("T1", [6])]  # longest run, then the breaking rep
    assert "8 clean dowel hinges in a row are needed" in d.reason
    assert "longest clean run was 7 (T1, reps 7-13)" in d.reason


def test_dowel_runs_do_not_span_sets_and_threshold_comes_from_config():
    s = Session("S1", trials=[_set("T1", "dowel_hinge", [[]] * 5), _set("T2", "dowel_hinge", [[]] * 5)])
    assert not evaluate_gate(s, GateConfig()).passed
    cfg = config_from_dict({"gate": {"dowel_consecutive_clean_reps": 5}}).gate
    d = evaluate_gate(s, cfg)
    assert d.passed and d.evidence == [("T1", [1, 2, 3, 4, 5])]
    assert d.rules["dowel_consecutive_clean_reps"] == 5


def test_bodyweight_gate_counts_only_hardest_arms_full_clean_sets():
    trials = [_set("T1", "dowel_hinge", [[]] * 8),
              _set("T2", "bw_rdl", [[]] * 10, arms="hands_low_back"),
              _set("T3", "bw_rdl", [[]] * 10, arms="arms_crossed"),
              _set("T4", "bw_rdl", [[]] * 4 + [["toe_shift"]] + [[]] * 5, arms="arms_crossed"),
              _set("T5", "bw_rdl", [[]] * 9, arms="arms_crossed")]
    s = Session("S1", trials=trials)
    d = evaluate_gate(s, GateConfig())
    assert d.current_stage == "bw_rdl" and not d.passed
    assert "1 of 2" in d.reason and "T4 had faults on rep 5" in d.reason and "T5 had 9 reps" in d.reason
    s.trials.append(_set("T6", "bw_rdl", [[]] * 10, arms="arms_crossed"))
    d = evaluate_gate(s, GateConfig())
    assert d.passed and d.unlocked == "weighted_rdl"
    assert [t for t, _ in d.evidence] == ["T3", "T6"]


def test_weighted_gate_at_prescribed_load():
    trials = [_set("T1", "weighted_rdl", [[]] * 8, implement="kettlebell", load_kg=12.0),
              _set("T2", "weighted_rdl", [[]] * 8, implement="kettlebell", load_kg=16.0),
              _set("T3", "weighted_rdl", [[]] * 5, implement="kettlebell", load_kg=16.0)]
    s = Session("S1", trials=trials, prescribed_load_kg=16.0)
    d = evaluate_gate(s, GateConfig())
    assert not d.passed and "1 of 2" in d.reason and "16 kg" in d.reason
    s.trials.append(_set("T4", "weighted_rdl", [[]] * 6, implement="kettlebell", load_kg=16.0))
    d = evaluate_gate(s, GateConfig())
    assert d.passed and d.unlocked is None and [t for t, _ in d.evidence] == ["T2", "T4"]


def test_pain_stop_and_refusal_block_progression():
    stopped = _set("T2", "dowel_hinge", [[]] * 3, status="stopped", stop_reason="pain", pain_at_rep=4)
    s = Session("S1", trials=[_set("T1", "dowel_hinge", [[]] * 8), stopped])
    d = evaluate_gate(s, GateConfig())
    assert not d.passed and d.unlocked is None and "pain during rep 4" in d.reason
    refused = SessionTrial("T1", "dowel_hinge", parse_answers("yes,no,no,no"), status="refused")
    d = evaluate_gate(Session("S2", trials=[refused]), GateConfig())
    assert not d.passed and "acute low-back pain" in d.reason


def test_session_roundtrip_and_newer_version_refused(tmp_path):
    s = Session("S9", trials=[_set("T1", "dowel_hinge", [[], ["back_rounding"]])])
    s.gate = evaluate_gate(s, GateConfig()).to_json()
    p = tmp_path / "s.json"
    save_session(s, p)
    back = load_session(p)
    assert back.trials[0].reps[1].faults == ["back_rounding"] and back.trials[0].reps[0].passed
    assert GateDecision.from_json(back.gate).evidence == GateDecision.from_json(s.gate).evidence
    data = json.loads(p.read_text())
    data["session_schema_version"] = 2
    p.write_text(json.dumps(data))
    with pytest.raises(StationError, match=r"s\.json: session_schema_version 2 is newer"):
        load_session(p)
    with pytest.raises(StationError, match="newer"):  # never overwrite what we cannot read
        save_session(s, p)
    lenient = load_session(p, lenient=True)
    assert lenient.notes and lenient.trials[0].trial_id == "T1"


def test_answers_parsing():
    assert parse_answers("no,no,no,no").cleared
    a = parse_answers("no,yes,no,yes")
    assert not a.cleared and "severe hamstring injury and pain during the movement" in a.refusal_reason()
    with pytest.raises(StationError, match="expected 4"):
        parse_answers("no,no")
    with pytest.raises(StationError, match="neither yes nor no"):
        parse_answers("no,no,maybe,no")
