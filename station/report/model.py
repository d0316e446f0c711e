"""The clinician's report: one content model (ReportModel) rendered to self-contained HTML or to PDF.

Sources: a session JSON (all its sets) or one trial file. Whatever cannot be shown (newer session
schema, a missing trial file, no calibration) becomes a marked note and the rest is still rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from station.config import StationConfig
from station.errors import StationError
from station.report.movement import movement_lines
from station.results import RepResult
from station.screening.drills import DRILLS, describe_set
from station.screening.feedback import set_feedback
from station.screening.felt import FELT_WORDS
from station.screening.gate import GateDecision, evaluate_gate, evidence_words, refusal_words
from station.screening.questions import QUESTIONS
from station.screening.session import Session, SessionTrial, load_session, resolve_trial_file
from station.screening.wall import wall_cell

NOTE_MARK = "\u26a0 NOTE"  # printed before every "could not show" note (also reads in black and white)
REP_COLUMNS = ("Rep", "Back mm", "Drop mm", "Back/down", "Knee \u00b0", "Trunk \u00b0", "Foot pos",
               "Heel %", "Down/up s", "Hold s", "Neck \u00b0", "Lockout \u00b0", "Dowel mm", "Break \u00b0",
               "Wall", "Result", "Faults")  # Wall: the wall drill, "reached" / "35 short" (wall_cell)

SHORT_QUESTIONS = {"acute_low_back_pain": "Low-back pain now?",
                   "severe_hamstring_injury": "Hamstring injury?",
                   "hip_joint_problems": "Hip joint problems?",
                   "pain_during_movement": "Pain moving?"}


@dataclass
class Figure:
    title: str
    png: bytes


@dataclass
class TrialSection:
    title: str
    facts: list[tuple[str, str]]
    rep_rows: list[list[str]]
    feedback: list[str]
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rep_lines: list[str] = field(default_factory=list)  # said under the rep table (usable range per rep)


@dataclass
class Progress:
    """The Progress section: this visit beside the subject's earlier ones from the archive (progress.py);
    `lines` alone (one line) when the archive cannot be read or holds no earlier visit."""

    lines: list[str]
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)  # the table's columns, shares of the PDF's text width


@dataclass
class ReportModel:
    subject_id: str
    date: str
    station_version: str
    notes: list[str]
    screening_header: list[str]
    screening_rows: list[list[str]]
    sections: list[TrialSection]
    gate_lines: list[str]
    gate_rows: list[list[str]]
    deidentified: bool = False  # report --deidentify (report.deidentify): dates moved, no camera stills
    progress: Progress | None = None  # the Progress section (report.progress); None: not asked for


def _num(value: float | None, fmt: str) -> str:
    return "\u2013" if value is None else format(value, fmt)


def dowel_cell(rep: RepResult) -> str:
    """The rep's worst virtual-dowel gap with its region ("sacrum 48"), or why it was not measured."""
    notes = getattr(rep, "notes", None) or {}
    gap = getattr(rep, "dowel_gap_mm", None)
    if gap is not None:
        region = str(notes.get("dowel_region") or "").replace("_", " ")
        return f"{region} {gap:.0f}".strip()
    return str(notes.get("dowel") or "\u2013")


def rep_rows(trial: SessionTrial) -> list[list[str]]:
    rows = []
    for i, r in enumerate(trial.reps):
        tempo = f"{_num(r.descent_s, '.1f')}/{_num(r.ascent_s, '.1f')}"
        verdict = "\u2713 pass" if r.passed else "\u2717 FAIL"
        rows.append([str(i + 1), _num(r.hip_back_mm, ".0f"), _num(r.hip_drop_mm, ".0f"),
                     _num(r.hinge_ratio, ".1f"), _num(r.knee_flexion_deg, ".0f"),
                     _num(r.trunk_inclination_deg, ".0f"), _num(r.foot_pos_bottom, ".2f"),
                     _num(r.heel_load_pct, ".0f"), tempo, _num(getattr(r, "bottom_hold_s", None), ".1f"),
                     _num(getattr(r, "neck_extension_deg", None), "+.0f"),
                     _num(getattr(r, "lockout_trunk_deg", None), ".0f"), dowel_cell(r),
                     _num(getattr(r, "form_break_trunk_deg", None), ".0f"), wall_cell(r, "\u2013"), verdict,
                     ", ".join(f.replace("_", " ") for f in r.faults) or "\u2013"])
    return rows


def usable_range_lines(reps: list) -> list[str]:
    """'Rep 3: usable range: to 55 deg (...)' for each rep whose dowel lost a contact on the way down."""
    lines = []
    for i, r in enumerate(reps):
        deg = getattr(r, "form_break_trunk_deg", None)
        if deg is not None:
            lines.append(f"Rep {i + 1}: usable range: to {deg:.0f} deg (trunk angle at which the dowel first "
                         "lost a contact on the way down).")
    return lines


def _trial_notes(trial: SessionTrial, session_path: Path | None) -> list[str]:
    notes = []
    path = resolve_trial_file(trial, session_path)
    if path is not None and not path.exists():
        what = "numbers and pictures below come from the copy kept in the session" if trial.analysis \
            else "this set cannot be shown"
        notes.append(f"Trial file {trial.trial_file} is missing: {what}.")
    if trial.status != "refused" and trial.analysis is None and (path is None or path.exists()):
        notes.append("No analysis stored for this set: re-run `hinge-station report` on its trial file.")
    if trial.status != "refused" and not trial.calibration:
        notes.append("No calibration recorded for this set: station default plate gains and camera "
                     "placement were used, so mm and foot position are approximate.")
    if trial.analysis is not None:
        notes += [f"Analysis warning: {w}" for w in trial.analysis.warnings]
    said = sorted({str(rep_notes["markers"]).split(";")[0] for r in trial.reps
                   if (rep_notes := getattr(r, "notes", None) or {}).get("markers")})
    if said:  # markerless: the numbers are estimates, with the error to expect
        notes += [f"Landmarks {text}." for text in said]
    return notes


def _deepest(reps: list) -> tuple[int, object] | None:
    """(number from 1, rep) of the rep with the most hip travel back (the deepest hinge)."""
    candidates = [(i + 1, r) for i, r in enumerate(reps) if r.hip_back_mm is not None]
    return max(candidates, key=lambda nr: nr[1].hip_back_mm) if candidates else None


def _camera_still(trial: SessionTrial, path: Path | None, keep_faces: bool = False
                  ) -> tuple[Figure | None, str | None]:
    """The IR still of the deepest rep from the trial file's /stills (recording.stills), or a note why not."""
    from station.recording.reader import read_trial_stills
    from station.recording.stills import still_for_rep
    from station.report import figures as rf

    deepest = _deepest(trial.reps)
    if deepest is None or path is None or not path.exists():
        return None, None
    try:
        stills = read_trial_stills(path)
    except StationError as exc:
        return None, f"Camera still not readable: {exc}"
    number, rep = deepest
    still = still_for_rep(stills, rep)
    if still is None:
        return None, None
    from station.report.faces import still_ir_for_report

    ir, faces = still_ir_for_report(still, path, keep_faces)  # the head masked unless consented and asked
    title = f"Deepest rep: camera still of rep {number} at its bottom (IR, markers, virtual dowel; {faces})"
    png = rf.camera_still_png(ir, still.marker_pixels, still.overlay,
                              f"Rep {number}, bottom (t = {still.t_s:.2f} s, frame {still.frame_number})")
    return Figure(title, png), None


def _figures(trial: SessionTrial, config: StationConfig, path: Path | None = None, keep_faces: bool = False
             ) -> tuple[list[Figure], list[str]]:
    from station.report import figures as rf

    if trial.series is None:
        return [], ["No motion series stored for this set: pictures cannot be drawn."] if trial.reps else []
    th = config.thresholds
    figs = [Figure("Hip path", rf.hip_path_png(trial.series, trial.reps, 2.0, th.hinge_ratio_squat_max)),
            Figure("Foot position over time", rf.foot_pos_png(trial.series, trial.reps,
                                                              th.foot_pos_bottom_max))]
    camera, why = _camera_still(trial, path, keep_faces)
    notes = [why] if why else []
    if camera is not None:
        figs.append(camera)
    elif trial.series.still and trial.series.still.get("markers"):
        stick = rf.still_png(trial.series.still, trial.series.heel_x_m, trial.series.foot_length_m)
        figs.append(Figure("Deepest rep: stick figure from the markers (no camera still stored)", stick))
    elif trial.reps:
        notes.append("No marker positions at the deepest rep: the still picture cannot be drawn.")
    return figs, notes


def _section(trial: SessionTrial, session_path: Path | None, config: StationConfig, keep_faces: bool = False
             ) -> TrialSection:
    title = f"{trial.trial_id}: {describe_set(trial.drill, trial.arms, trial.implement, trial.load_kg)}"
    status = {"complete": "completed", "stopped": f"stopped: {trial.stop_reason or 'by the operator'}",
              "refused": refusal_words(trial)}
    facts = [("Started", trial.started_at.replace("T", " ")),
             ("Status", status.get(trial.status, trial.status)),
             ("Source", trial.source or "\u2013")]
    if trial.status != "refused":
        n_pass = sum(r.passed for r in trial.reps)
        facts.append(("Reps", f"{len(trial.reps)} ({n_pass} clean)"))
        if trial.felt is not None:  # "Where did you feel it?" (screening.felt)
            facts.append(("Felt it in", FELT_WORDS.get(trial.felt, trial.felt)))
    notes = _trial_notes(trial, session_path)
    if trial.status == "refused":
        return TrialSection(title, facts, [], [], [], notes)
    figs, fig_notes = _figures(trial, config, resolve_trial_file(trial, session_path), keep_faces)
    feedback = set_feedback(trial.reps, trial.status, trial.pain_at_rep, trial.felt)
    return TrialSection(title, facts, rep_rows(trial), feedback, figs, notes + fig_notes,
                        usable_range_lines(trial.reps) + movement_lines(trial.analysis))  # swing, step


def _gate(session: Session, config: StationConfig) -> tuple[list[str], list[list[str]]]:
    decision = evaluate_gate(session, config.gate)
    verdict = "PASSED" if decision.passed else "NOT PASSED"
    lines = [f"Gate for the {DRILLS[decision.current_stage].short}: {verdict}. {decision.reason}"]
    if decision.evidence:
        lines.append("Reps this decision rests on: " + evidence_words(decision.evidence) + ".")
    if session.gate and GateDecision.from_json(session.gate).passed != decision.passed:
        lines.append(f"{NOTE_MARK}: the decision stored in the session differs from today's rules "
                     f"(stored: {session.gate.get('reason', '')}).")
    rows = [[DRILLS[s.stage].short, "\u2713 met" if s.passed else ("\u2717 not met" if s.attempted
                                                                      else "not tried"), s.reason]
            for s in decision.stages]
    return lines, rows


def build_report_model(session: Session, session_path: Path | None = None,
                       config: StationConfig | None = None, *, keep_faces: bool = False) -> ReportModel:
    """keep_faces: camera pictures keep the head only where the trial recorded the subject's consent."""
    config = config or StationConfig()
    header = ["Set", "Asked at"] + [SHORT_QUESTIONS[k] for k, _, _ in QUESTIONS] + ["Outcome"]
    rows = []
    for t in session.trials:
        if t.screening is None:
            rows.append([t.trial_id, "not asked"] + ["\u2013"] * len(QUESTIONS) + ["\u2013"])
            continue
        a = t.screening.answers
        outcome = "cleared" if t.screening.cleared else "NOT STARTED"
        answers = ["YES" if a.get(k) else "no" for k, _, _ in QUESTIONS]
        asked = t.screening.asked_at.replace("T", " ")[:16]
        rows.append([t.trial_id, asked] + answers + [outcome])
    gate_lines, gate_rows = _gate(session, config)
    return ReportModel(subject_id=session.subject_id, date=session.date,
                       station_version=session.station_version, notes=list(session.notes),
                       screening_header=header, screening_rows=rows,
                       sections=[_section(t, session_path, config, keep_faces) for t in session.trials],
                       gate_lines=gate_lines, gate_rows=gate_rows)


def load_for_report(path: Path, config: StationConfig) -> Session:
    """A session JSON (leniently: a newer schema still shows what it can) or one trial file."""
    if path.suffix.lower() == ".json":
        return load_session(path, lenient=True)
    if path.suffix.lower() in (".h5", ".hdf5"):
        from station.screening.sets import session_from_trial_file

        return session_from_trial_file(path, config)
    raise StationError(f"{path}: expected a session .json or a trial .h5")
