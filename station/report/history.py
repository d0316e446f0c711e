"""The history report: one subject's visits from the archive (`station.archive.queries.history()`), as trend
plots a clinician reads at a glance and a table of every set, written as self-contained HTML or as PDF.

Input is the `history` document: {subject, sessions: [{date, session_uid, gate, trials: [{trial_id, drill,
arms, implement, load_kg, status, reps, clean_reps, hip_back_mm_mean, foot_pos_bottom_mean,
dowel_gap_mm_mean, faults}]}], stage, stage_detail}. Subject code only: the archive holds no names.

The plots share one date axis: clean reps per visit, hip travel back and foot position (and the virtual
dowel's gap when measured) with the station's threshold lines, and the gate stage as a step line. Every
drill has its own line style and marker, thresholds are dashed and named: it reads in black and white.
The Progress section of the clinician's report (progress.py) uses the same rows and plots.
"""

from __future__ import annotations

import base64
import html
from datetime import date
from pathlib import Path

from station.config import StationConfig, load_config
from station.errors import StationError
from station.screening.drills import DRILLS, GATED_STAGES, IMPLEMENTS

DPI = 150
DASH = "\u2013"
HISTORY_COLUMNS = ("Date", "Set", "Drill", "Arms / load", "Clean / reps", "Hip back mm", "Foot pos",
                   "Dowel gap mm", "Faults", "Gate")
HISTORY_WIDTHS = (0.09, 0.035, 0.12, 0.12, 0.105, 0.055, 0.05, 0.06, 0.175, 0.19)  # of the PDF's text width
# one style per drill (black and white): line, marker, marker face
_STYLE = {"dowel_hinge": ("-", "o", "black"), "bw_rdl": ("--", "s", "white"),
          "weighted_rdl": (":", "^", "black")}
_OTHER_STYLE = ("-.", "D", "white")
_MEANS = ("hip_back_mm_mean", "foot_pos_bottom_mean", "dowel_gap_mm_mean")
_STAGE_NAMES = {"dowel_hinge": "dowel hinge", "bw_rdl": "bodyweight RDL", "weighted_rdl": "weighted RDL"}


# --- words and table rows ------------------------------------------------------------------------------
def drill_words(drill: str) -> str:
    d = DRILLS.get(drill)
    return (d.short or d.name) if d else drill.replace("_", " ")


def arms_or_load(tr: dict) -> str:
    """'arms crossed', 'dumbbell 20 kg', or a dash."""
    if tr.get("load_kg") is not None or tr.get("implement"):
        implement = IMPLEMENTS.get(tr.get("implement") or "", tr.get("implement") or "")
        load = f"{tr['load_kg']:g} kg" if tr.get("load_kg") is not None else ""
        return " ".join(p for p in (implement, load) if p) or DASH
    arms = tr.get("arms")
    return arms.replace("_", " ") if arms else DASH  # 'arms crossed', 'hands low back', 'fingertips ears'


def _num(value: float | None, fmt: str) -> str:
    return DASH if value is None else format(value, fmt)


def faults_words(faults: dict) -> str:
    """'back rounding x5, knee dominant x1', most frequent first."""
    ranked = sorted(faults.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{k.replace('_', ' ')} \u00d7{v}" for k, v in ranked) or DASH


def gate_words(gate: dict | None) -> str:
    if not gate:
        return DASH
    stage = _STAGE_NAMES.get(gate.get("current_stage", ""), gate.get("current_stage", "") or "?")
    return f"{stage}: \u2713 passed" if gate.get("passed") else f"{stage}: not yet"


def trial_cells(tr: dict) -> list[str]:
    """Set, Drill, Arms / load, Clean / reps ('7/8 (88%)'), Hip back mm, Foot pos, Dowel gap mm, Faults of
    one archived set."""
    status = tr.get("status") or "complete"
    reps, clean = int(tr.get("reps") or 0), int(tr.get("clean_reps") or 0)
    if status == "refused":
        clean_cell = "refused"
    else:
        clean_cell = f"{clean}/{reps} ({round(100 * clean / reps)}%)" if reps else "no reps"
        clean_cell += "" if status == "complete" else f", {status}"
    return [str(tr.get("trial_id") or ""), drill_words(tr.get("drill") or ""), arms_or_load(tr), clean_cell,
            _num(tr.get("hip_back_mm_mean"), ".0f"), _num(tr.get("foot_pos_bottom_mean"), ".2f"),
            _num(tr.get("dowel_gap_mm_mean"), ".0f"), faults_words(tr.get("faults") or {})]


def visit_rows(visits: list[dict], labels: dict[int, str] | None = None) -> list[list[str]]:
    """One row per set: the date and the gate on the first row of each visit (labels: visit index -> what
    to show instead of the date, e.g. '2026-11-16 (this visit)')."""
    rows = []
    for i, visit in enumerate(visits):
        when = (labels or {}).get(i, visit.get("date") or "?")
        trials = visit.get("trials") or [{}]
        for k, tr in enumerate(trials):
            first = k == 0
            gate = gate_words(visit.get("gate")) if first else ""
            rows.append([when if first else "", *trial_cells(tr), gate])
    return rows


def stage_words(doc: dict) -> str:
    """'bw_rdl unlocked on 2026-11-09 (T1 reps 1-8)' from the document's stage_detail."""
    from station.archive.queries import StageInfo

    detail = doc.get("stage_detail") or {}
    try:
        info = StageInfo(**detail)
    except TypeError:
        return _STAGE_NAMES.get(doc.get("stage", ""), doc.get("stage", "") or "?")
    return info.words().replace(info.stage, _STAGE_NAMES.get(info.stage, info.stage), 1)


# --- the trend plots -----------------------------------------------------------------------------------
def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        return None


def _weighted(trials: list[dict], key: str) -> float | None:
    pairs = [(t[key], max(int(t.get("reps") or 0), 1)) for t in trials if t.get(key) is not None]
    return sum(v * w for v, w in pairs) / sum(w for _, w in pairs) if pairs else None


def per_drill(visits: list[dict]) -> dict[str, list[tuple[date, float | None, float | None, float | None,
                                                           float | None]]]:
    """drill -> [(day, clean %, hip back mm, foot pos, dowel gap mm)] over the visits (sets of one drill on
    one visit pooled, means weighted by their reps); refused and rep-less sets are left out."""
    out: dict[str, list] = {}
    for visit in visits:
        day = _day(visit.get("date"))
        if day is None:
            continue
        by_drill: dict[str, list[dict]] = {}
        for tr in visit.get("trials") or []:
            if int(tr.get("reps") or 0) > 0:
                by_drill.setdefault(tr.get("drill") or "?", []).append(tr)
        for drill, trials in by_drill.items():
            reps = sum(int(t["reps"]) for t in trials)
            clean = sum(int(t.get("clean_reps") or 0) for t in trials)
            out.setdefault(drill, []).append((day, 100.0 * clean / reps,
                                              *(_weighted(trials, k) for k in _MEANS)))
    order = {d: i for i, d in enumerate(GATED_STAGES)}
    return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))


def stage_steps(visits: list[dict]) -> tuple[list[date], list[int], list[tuple[date, int, bool]]]:
    """The stage reached after each visit (index into GATED_STAGES: a passed gate unlocks the next stage)
    and each visit's judged stage with its outcome."""
    days, reached, judged = [], [], []
    level = 0
    for visit in visits:
        day, gate = _day(visit.get("date")), visit.get("gate") or {}
        if day is None:
            continue
        stage = gate.get("current_stage")
        if stage in GATED_STAGES:
            rank = GATED_STAGES.index(stage)
            passed = bool(gate.get("passed"))
            judged.append((day, rank, passed))
            level = max(level, rank + (1 if passed else 0))
        days.append(day)
        reached.append(min(level, len(GATED_STAGES) - 1))
    return days, reached, judged


def _pad(visits: list[dict]) -> float:
    """Days of room left and right of the visits on the date axis."""
    days = [d for d in (_day(v.get("date")) for v in visits) if d is not None]
    return max((max(days) - min(days)).days * 0.03, 3.0) if days else 3.0


def trend_png(visits: list[dict], config: StationConfig, *, this_day: str | None = None,
              panel_h_in: float = 1.45, width_in: float = 7.0) -> bytes:
    """The trend plots on one date axis (PNG): clean reps %, hip back, foot position, dowel gap (when any
    was measured) and the gate stage; `this_day` draws a 'this visit' line."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    series = per_drill(visits)
    has_dowel = any(p[4] is not None for pts in series.values() for p in pts)
    panels = ["clean", "hip", "foot"] + (["dowel"] if has_dowel else []) + ["stage"]
    fig = Figure(figsize=(width_in, panel_h_in * len(panels) + 0.9), dpi=DPI)
    fig.patch.set_facecolor("white")
    axes = fig.subplots(len(panels), 1, sharex=True)
    ax_of = dict(zip(panels, axes, strict=True))
    th, many = config.thresholds, sum(len(p) for p in series.values()) > 40
    ms, lw = (3.0, 0.9) if many else (5.0, 1.2)

    def plot(ax, k: int) -> None:
        for drill, pts in series.items():
            ls, marker, face = _STYLE.get(drill, _OTHER_STYLE)
            xy = [(p[0], p[k]) for p in pts if p[k] is not None]
            if xy:
                ax.plot([x for x, _ in xy], [y for _, y in xy], ls=ls, marker=marker, mfc=face, mec="black",
                        color="black", lw=lw, ms=ms)

    def threshold(ax, y: float, above_hatched: float | None = None) -> None:
        """The station's threshold as a dashed line (its words are in the panel's title, where they
        cannot hide a point), the wrong side hatched."""
        if above_hatched is not None:
            ax.axhspan(y, above_hatched, facecolor="none", edgecolor="0.65", hatch="\\\\\\", lw=0)
        ax.axhline(y, color="black", ls=(0, (5, 3)), lw=1.0)

    def title(ax, words: str) -> None:
        ax.set_title(words, fontsize=8.5, loc="left", pad=3)

    ax = ax_of["clean"]
    plot(ax, 1)
    ax.set_ylim(-5, 108)
    ax.set_yticks([0, 50, 100], ["0%", "50%", "100%"])
    title(ax, "Clean reps (% of the reps done; 100% = no faults)")
    handles = [Line2D([], [], color="black", ls=_STYLE.get(d, _OTHER_STYLE)[0], lw=1.2,
                      marker=_STYLE.get(d, _OTHER_STYLE)[1], mfc=_STYLE.get(d, _OTHER_STYLE)[2], mec="black",
                      label=drill_words(d)) for d in series]
    if handles:
        fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8, frameon=False,
                   bbox_to_anchor=(0.5, 1.0))

    ax = ax_of["hip"]
    plot(ax, 2)
    target = config.dashboard.hip_back_target_mm
    top = max([target] + [p[2] for pts in series.values() for p in pts if p[2] is not None])
    ax.set_ylim(0, top * 1.25)
    threshold(ax, target)
    title(ax, f"Hip travel back at the bottom, mean (mm): more = hips further back; "
              f"dashed = target {target:.0f} mm")

    ax = ax_of["foot"]
    plot(ax, 3)
    ax.set_ylim(0, 1)
    ax.set_yticks([0, 0.5, 1], ["heel 0", "mid 0.5", "toe 1"])
    threshold(ax, th.foot_pos_bottom_max, 1.0)
    title(ax, f"Weight along the foot at the bottom, mean (0 heel, 1 toe); "
              f"hatched above {th.foot_pos_bottom_max:.2f} = on the toes")

    if has_dowel:
        ax = ax_of["dowel"]
        plot(ax, 4)
        top = max([th.dowel_gap_max_mm] + [p[4] for pts in series.values() for p in pts if p[4] is not None])
        ax.set_ylim(0, top * 1.3)
        threshold(ax, th.dowel_gap_max_mm, top * 1.3)
        title(ax, f"Virtual dowel: largest gap from the back, mean (mm); hatched above "
                  f"{th.dowel_gap_max_mm:.0f} mm = back off the dowel")

    ax = ax_of["stage"]
    days, reached, judged = stage_steps(visits)
    if days:
        # drawn on past the last visit (to the plot's edge): where the subject starts next time
        ax.step([mdates.date2num(d) for d in days] + [mdates.date2num(days[-1]) + _pad(visits)],
                reached + reached[-1:], where="post", color="black", lw=1.6)
    for passed in (True, False):
        pts = [(d, r) for d, r, p in judged if p == passed]
        if pts:
            ax.plot([d for d, _ in pts], [r for _, r in pts], ls="none", marker="o", ms=ms + 1.5,
                    mfc="black" if passed else "white", mec="black", mew=1.2)
    ax.set_ylim(-0.5, len(GATED_STAGES) - 0.5)
    ax.set_yticks(range(len(GATED_STAGES)), ["dowel\nhinge", "bodyweight\nRDL", "weighted\nRDL"], fontsize=7)
    title(ax, "Gate stage: line = stage reached (start there next visit); "
              "\u25cf passed, \u25cb not passed at the stage judged")

    dated = [mdates.date2num(d) for d in (_day(v.get("date")) for v in visits) if d is not None]
    if dated:
        axes[-1].set_xlim(min(dated) - _pad(visits), max(dated) + _pad(visits))
    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    this = _day(this_day)
    for a in axes:
        a.grid(True, axis="y", color="0.85", lw=0.5)
        a.tick_params(labelsize=7.5)
        if this is not None:
            a.axvline(this, color="0.45", ls=":", lw=1.4, zorder=0.5)  # behind the points
    if this is not None:  # named above the top plot, clear of the points
        axes[0].annotate("this visit", (mdates.date2num(this), 1.0), xycoords=("data", "axes fraction"),
                         xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=7.5)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()), h_pad=0.6)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


# --- the report ----------------------------------------------------------------------------------------
TREND_TITLE = "Trends over the visits (one point per visit and drill)"
TABLE_NOTE = ("Means over each set's reps. Clean = reps without a fault. Foot pos: where the weight sits at "
              "the bottom, 0 heel to 1 toe. Dowel gap: the virtual dowel's largest gap from the back. "
              "Gate: the stage judged on that visit.")


def summary_lines(doc: dict) -> list[str]:
    visits = doc.get("sessions") or []
    dates = [v.get("date") for v in visits if v.get("date")]
    n_sets = sum(len(v.get("trials") or []) for v in visits)
    span = f", {dates[0]} to {dates[-1]}" if dates else ""
    return [f"{len(visits)} visit{'s' * (len(visits) != 1)}, {n_sets} set{'s' * (n_sets != 1)}{span}.",
            f"Stage reached: {stage_words(doc)}."]


def render_history_html(doc: dict, config: StationConfig, trend: bytes | None = None) -> str:
    from station.report.html import _CSS, _table

    e = html.escape
    subject = str(doc.get("subject", ""))
    visits = doc.get("sessions") or []
    trend = trend if trend is not None else trend_png(visits, config)
    lines = summary_lines(doc)
    data = base64.b64encode(trend).decode("ascii")
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Hip hinge history {e(subject)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Hip hinge history</h1><p><b>Subject:</b> <span id='subject'>{e(subject)}</span> &nbsp; "
             f"<span id='visits'>{e(lines[0])}</span></p>",
             f"<p><b id='stage'>{e(lines[1])}</b></p>",
             f"<figure><img alt='{e(TREND_TITLE)}' src='data:image/png;base64,{data}'>"
             f"<figcaption>{e(TREND_TITLE)}</figcaption></figure>",
             "<h2>Visits</h2>", f"<p>{e(TABLE_NOTE)}</p>",
             _table(list(HISTORY_COLUMNS), visit_rows(visits), "history"),
             "</body></html>"]
    return "\n".join(parts)


def write_history_pdf(doc: dict, out: Path, config: StationConfig, trend: bytes | None = None) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    from station.report.pdf import _Pages

    subject = str(doc.get("subject", ""))
    visits = doc.get("sessions") or []
    trend = trend if trend is not None else trend_png(visits, config)
    lines = summary_lines(doc)
    with PdfPages(out, metadata={"Title": f"Hip hinge history {subject}", "Creator": "hinge-station"}) as pdf:
        p = _Pages(pdf, f"Hip hinge history: {subject}")
        p.text("Hip hinge history", 18, bold=True)
        p.space(0.05)
        p.text(f"Subject: {subject}     {lines[0]}", 10)
        p.text(lines[1], 10, bold=True)
        p.space(0.05)
        p.image(trend, p.width_in, TREND_TITLE)
        p.ensure(1.4)  # the heading stays with its note and the table's first rows
        p.text("Visits", 13, bold=True)
        p.text(TABLE_NOTE, 8)
        p.table(list(HISTORY_COLUMNS), visit_rows(visits), size=7,
                widths=[w * p.width_in for w in HISTORY_WIDTHS])
        p.close()


def write_history(doc: dict, out: str | Path, config: StationConfig | None = None) -> Path:
    """Write the subject's history (the `history` document) as .html (self-contained) or .pdf."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise StationError(f"--out {out}: give a .html or .pdf file")
    from station.owner_files import prepare, write_text

    config = config or load_config()
    prepare(out)  # owner-only (or the [privacy] group), as every report the station writes
    if out.suffix.lower() == ".pdf":
        write_history_pdf(doc, out, config)
    else:
        write_text(out, render_history_html(doc, config))
    return out
