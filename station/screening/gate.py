"""Progression gate (metrics.md): dowel hinge -> bodyweight RDL -> weighted RDL.

Rules (numbers from config.gate, so a clinic can change them):
- dowel_hinge: `dowel_consecutive_clean_reps` clean reps in a row within one dowel set unlock bw_rdl.
- bw_rdl: `bodyweight_clean_sets` clean sets with the `bodyweight_hardest_arms` variation unlock
  weighted_rdl; a clean set has at least `bodyweight_set_reps` reps and every rep passes.
- weighted_rdl: `weighted_clean_sets` clean sets (>= `weighted_set_min_reps` reps, every rep passes) at
  the prescribed load (session.prescribed_load_kg, else the heaviest load used that day).
- A set stopped for pain or a contraindication answered yes blocks progression for the session.
- So does a set the subject felt in the low back (`felt` = low_back, station.screening.felt).
A rep is clean when it has no fault. Rep numbers in evidence count from 1 within a set.
The decision is about the highest gated drill tried in the session: a session that starts at the
bodyweight RDL (dowel passed on an earlier day) is judged on its bodyweight sets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from station.config import GateConfig
from station.results import RepResult
from station.screening.drills import ARM_VARIATIONS, DRILLS, GATED_STAGES
from station.screening.felt import low_back_stop
from station.screening.session import Session, SessionTrial

Evidence = list[tuple[str, list[int]]]  # (trial_id, rep numbers from 1)


@dataclass
class StageResult:
    stage: str
    attempted: bool
    passed: bool
    reason: str
    evidence: Evidence = field(default_factory=list)


@dataclass
class GateDecision:
    unlocked: str | None
    current_stage: str
    passed: bool
    reason: str
    evidence: Evidence = field(default_factory=list)
    stages: list[StageResult] = field(default_factory=list)
    rules: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"unlocked": self.unlocked, "current_stage": self.current_stage, "passed": self.passed,
                "reason": self.reason, "evidence": [[t, list(r)] for t, r in self.evidence],
                "stages": [{"stage": s.stage, "attempted": s.attempted, "passed": s.passed,
                            "reason": s.reason, "evidence": [[t, list(r)] for t, r in s.evidence]}
                           for s in self.stages],
                "rules": self.rules}

    @classmethod
    def from_json(cls, data: dict) -> GateDecision:
        def ev(raw: list) -> Evidence:
            return [(str(t), [int(n) for n in reps]) for t, reps in raw]
        return cls(unlocked=data.get("unlocked"), current_stage=str(data.get("current_stage", "")),
                   passed=bool(data.get("passed")), reason=str(data.get("reason", "")),
                   evidence=ev(data.get("evidence", [])),
                   stages=[StageResult(s["stage"], bool(s["attempted"]), bool(s["passed"]), s["reason"],
                                       ev(s.get("evidence", []))) for s in data.get("stages", [])],
                   rules=dict(data.get("rules", {})))


def evidence_words(evidence: Evidence) -> str:
    """[("T1", [1, 2]), ("T1", [4]), ("T2", [1])] -> 'T1 reps 1, 2 and 4; T2 rep 1' (merged per set)."""
    merged: dict[str, list[int]] = {}
    for trial_id, reps in evidence:
        merged.setdefault(trial_id, []).extend(reps)
    return "; ".join(f"{t} {_reps_phrase(sorted(set(r)))}" for t, r in merged.items() if r)


def rep_list_words(numbers: list[int]) -> str:
    """[3, 4, 5] -> '3-5'; [2, 4] -> '2 and 4'; [1, 3, 4, 5, 8] -> '1, 3-5 and 8'."""
    numbers = sorted(set(numbers))
    runs: list[str] = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        if j - i >= 2:
            runs.append(f"{numbers[i]}-{numbers[j]}")
        else:
            runs.extend(str(n) for n in numbers[i:j + 1])
        i = j + 1
    if len(runs) <= 1:
        return "".join(runs)
    return ", ".join(runs[:-1]) + " and " + runs[-1]


def _reps_phrase(numbers: list[int]) -> str:
    return ("rep " if len(numbers) == 1 else "reps ") + rep_list_words(numbers)


def _failed(reps: list[RepResult]) -> list[int]:
    return [i + 1 for i, r in enumerate(reps) if not r.passed]


def _sets(session: Session, drill_id: str) -> list[SessionTrial]:
    return [t for t in session.trials if t.drill == drill_id and t.status != "refused"]


def _dowel(session: Session, cfg: GateConfig) -> StageResult:
    need = cfg.dowel_consecutive_clean_reps
    sets = _sets(session, "dowel_hinge")
    if not sets:
        return StageResult("dowel_hinge", False, False, "No dowel hinge set recorded.")
    best: tuple[int, str, int] = (0, sets[0].trial_id, 0)  # run length, trial, first rep number
    for t in sets:
        run = 0
        for i, rep in enumerate(t.reps):
            run = run + 1 if rep.passed else 0
            if run == need:
                reps = list(range(i + 2 - need, i + 2))
                return StageResult("dowel_hinge", True, True,
                                   f"{need} clean dowel hinges in a row (set {t.trial_id}, "
                                   f"{_reps_phrase(reps)}).", [(t.trial_id, reps)])
            if run > best[0]:
                best = (run, t.trial_id, i + 2 - run)
    run, tid, first = best
    evidence: Evidence = []
    if run:
        evidence.append((tid, list(range(first, first + run))))
        words = f"the longest clean run was {run} ({tid}, {_reps_phrase(evidence[0][1])})"
    else:
        words = "no dowel hinge was clean"
    failed = [(t.trial_id, _failed(t.reps)) for t in sets if _failed(t.reps)]
    evidence += failed
    return StageResult("dowel_hinge", True, False,
                       f"Not yet: {need} clean dowel hinges in a row are needed; {words}.", evidence)


def _clean_sets(sets: list[SessionTrial], min_reps: int) -> tuple[list[SessionTrial], list[str]]:
    """Sets that are complete, long enough and fault-free; plus plain words on the others."""
    clean, why = [], []
    for t in sets:
        if t.status != "complete":
            why.append(f"{t.trial_id} was stopped")
        elif len(t.reps) < min_reps:
            why.append(f"{t.trial_id} had {len(t.reps)} reps (at least {min_reps} needed)")
        elif _failed(t.reps):
            why.append(f"{t.trial_id} had faults on {_reps_phrase(_failed(t.reps))}")
        else:
            clean.append(t)
    return clean, why


def _sets_stage(stage: str, sets: list[SessionTrial], counted: list[SessionTrial], need: int, min_reps: int,
                what: str, unlock_words: str) -> StageResult:
    if not sets:
        return StageResult(stage, False, False, f"No {DRILLS[stage].short} set recorded.")
    clean, why = _clean_sets(counted, min_reps)
    evidence: Evidence = [(t.trial_id, list(range(1, len(t.reps) + 1))) for t in clean]
    if len(clean) >= need:
        ids = ", ".join(t.trial_id for t in clean[:need])
        return StageResult(stage, True, True, f"{need} clean sets {what} ({ids}): {unlock_words}.",
                           evidence[:need])
    evidence += [(t.trial_id, _failed(t.reps)) for t in counted if t not in clean and _failed(t.reps)]
    detail = f"; {'; '.join(why)}" if why else ""
    if not counted:
        detail = f"; no set was done {what}"
    return StageResult(stage, True, False,
                       f"Not yet: {len(clean)} of {need} clean sets {what}{detail}.", evidence)


def _bodyweight(session: Session, cfg: GateConfig) -> StageResult:
    sets = _sets(session, "bw_rdl")
    hardest = cfg.bodyweight_hardest_arms
    counted = [t for t in sets if t.arms == hardest]
    return _sets_stage("bw_rdl", sets, counted, cfg.bodyweight_clean_sets, cfg.bodyweight_set_reps,
                       f"with {ARM_VARIATIONS.get(hardest, hardest)}", "load may be added")


def _weighted(session: Session, cfg: GateConfig) -> StageResult:
    sets = _sets(session, "weighted_rdl")
    loads = [t.load_kg for t in sets if t.load_kg is not None]
    prescribed = session.prescribed_load_kg if session.prescribed_load_kg is not None else (
        max(loads) if loads else None)
    counted = [t for t in sets if t.load_kg is not None and prescribed is not None
               and t.load_kg >= prescribed - 1e-6]
    how = "prescribed" if session.prescribed_load_kg is not None else "heaviest used"
    what = f"at the {how} load of {prescribed:g} kg" if prescribed is not None else "at a recorded load"
    return _sets_stage("weighted_rdl", sets, counted, cfg.weighted_clean_sets, cfg.weighted_set_min_reps,
                       what, "the clinician may raise the load")


def refusal_words(trial: SessionTrial) -> str:
    """Why a refused set did not start, in plain words."""
    from_answers = trial.screening.refusal_reason() if trial.screening else None
    return trial.stop_reason or from_answers or "Test not started."


def _safety_stop(session: Session) -> str | None:
    for t in session.trials:
        if t.status == "refused":
            return refusal_words(t)
    for t in session.trials:
        if t.stop_reason and t.pain_at_rep is not None:
            return (f"Set {t.trial_id} was stopped because of pain during rep {t.pain_at_rep}; "
                    "no progression today: please see your clinician.")
    return None


def evaluate_gate(session: Session, cfg: GateConfig) -> GateDecision:
    stages = [_dowel(session, cfg), _bodyweight(session, cfg), _weighted(session, cfg)]
    rules = asdict(cfg)
    attempted = [i for i, s in enumerate(stages) if s.attempted]
    index = attempted[-1] if attempted else 0
    stage = stages[index]
    safety = _safety_stop(session) if cfg.block_on_pain else None
    if safety is None and cfg.block_on_low_back:  # felt in the low back, not the hamstrings (felt.py)
        safety = low_back_stop(session.trials)
    if safety is not None:
        return GateDecision(None, stage.stage, False, safety, stage.evidence, stages, rules)
    if not attempted:
        return GateDecision(None, "dowel_hinge", False, "No gated set recorded yet: start with the dowel "
                            "hinge.", [], stages, rules)
    unlocked = GATED_STAGES[index + 1] if stage.passed and index + 1 < len(GATED_STAGES) else None
    reason = stage.reason
    if unlocked:
        reason += f" Unlocked: {DRILLS[unlocked].short}."
    skipped = [DRILLS[s.stage].short for s in stages[:index] if s.attempted and not s.passed]
    if skipped:
        reason += f" Note: the {', '.join(skipped)} gate was not met in this session."
    return GateDecision(unlocked, stage.stage, stage.passed, reason, stage.evidence, stages, rules)
