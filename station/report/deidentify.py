"""The report model for sharing (`report --deidentify`) or for the clinic's own file (`report --identify`).

De-identified: every date (the visit, each set's start, when the questions were asked, dates inside notes
and file names) moves by the subject's shift from the identity list, the same shift as the subject's
de-identified exports; file names lose their folders; the camera still (a picture of the person) gives
way to the stick figure drawn from the markers; and the PDF carries no creation date. The report has no
free-text field of the operator's (`record --notes` stays in the trial file), so none can leak into it.

Identified: the subject line adds the name and date of birth from the identity list (audited by the
caller: station.archive.audit, action identity_lookup).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import PurePath

from station.privacy.dates import shift_dates_in
from station.privacy.identities import Identity
from station.report.model import Figure, ReportModel, TrialSection
from station.screening.session import Session, SessionTrial

CAMERA_STILL = "Deepest rep: camera still"
# a file's path -> its name (a/b/S01_x.h5 -> S01_x.h5); only names of files the station reads or writes
_PATH = re.compile(r"[^\s:'\"]*[/\\]([^\s/\\'\"]+\.(?:h5|hdf5|json|db3|bag|c3d|csv|html|pdf))(?![\w.])",
                   re.IGNORECASE)


def _text(text: str, days: int) -> str:
    return shift_dates_in(_PATH.sub(r"\1", text), days)


def _fact(key: str, value: str, days: int) -> str:
    kind, sep, rest = value.partition(":")
    if key == "Source" and sep and kind in ("h5", "c3d", "db3"):  # h5:/any/folder/file.h5 -> h5:file.h5
        value = f"{kind}:{PurePath(rest).name}"
    return _text(value, days)


def _figures(section: TrialSection, trial: SessionTrial | None) -> list[Figure]:
    out = []
    for fig in section.figures:
        if not fig.title.startswith(CAMERA_STILL):
            out.append(fig)
            continue
        still = trial.series.still if trial is not None and trial.series is not None else None
        if still and still.get("markers"):
            from station.report import figures as rf

            png = rf.still_png(still, trial.series.heel_x_m, trial.series.foot_length_m)
            out.append(Figure("Deepest rep: stick figure from the markers (camera still left out: "
                              "de-identified report)", png))
    return out


def deidentify_model(model: ReportModel, session: Session, shift_days: int) -> ReportModel:
    """A copy of `model` with dates moved by `shift_days`, paths cut to file names, no camera still."""
    def t(text: str) -> str:
        return _text(text, shift_days)

    trials = list(session.trials) + [None] * max(0, len(model.sections) - len(session.trials))
    sections = [dataclasses.replace(s, title=t(s.title),
                                    facts=[(k, _fact(k, v, shift_days)) for k, v in s.facts],
                                    feedback=[t(x) for x in s.feedback], notes=[t(n) for n in s.notes],
                                    figures=_figures(s, trial))
                for s, trial in zip(model.sections, trials, strict=False)]
    note = ("De-identified: every date is moved by this subject's own offset (intervals between visits "
            "are kept), no names or camera pictures.")
    return dataclasses.replace(
        model, date=t(model.date), notes=[note] + [t(n) for n in model.notes],
        screening_rows=[[t(c) for c in row] for row in model.screening_rows], sections=sections,
        gate_lines=[t(x) for x in model.gate_lines],
        gate_rows=[[t(c) for c in row] for row in model.gate_rows], deidentified=True)


def identify_model(model: ReportModel, identity: Identity) -> ReportModel:
    """The subject line with the name (and date of birth) the identity list holds for the code."""
    who = identity.name or "no name in the identity list"
    born = f", born {identity.born}" if identity.born else ""
    return dataclasses.replace(model, subject_id=f"{model.subject_id} ({who}{born})")
