"""The PDF's rep table, laid out to be read on a portrait A4 page (the HTML keeps the model's one table).

The model's seventeen rep columns (model.REP_COLUMNS) do not fit one 7-inch-wide table without breaking
words ("Lockou t", "reache d"). The PDF splits them in two tables that each repeat the rep number: the
body at the bottom (hips, knee, trunk, foot, tempo) and form, targets and the verdict (neck, lockout,
dowel, form break, wall, result, faults); a set with few values (a step or swing set) keeps one table when
its columns fit a line (ONE_TABLE_MAX). Headers carry their unit on a line of their own; a column no rep
of the set has a value for is left out and named under the tables ("Not measured in this set: ..."), and
a key says what each shown column means. Column widths never break a word: each column is at least as wide
as its longest word, and the room left goes to the columns whose text is longest (the faults).
"""

from __future__ import annotations

from dataclasses import dataclass

from station.report.model import REP_COLUMNS

DASH = "\u2013"  # the model's "not measured"
# glyph widths in em for width estimates: DejaVu Sans digits are 0.64 em, wider than its average letter
# (pdf.CHAR_W_EM); estimating on them keeps "0.46" or "1.6/1.8" from wrapping
EM_PLAIN, EM_BOLD = 0.64, 0.72
PAD_IN = 0.1  # cell padding, left + right
GAP_IN = 0.15  # more room between columns when the table has it
FAULTS_MIN_IN = 1.6  # the faults column of a single rep table: two faults a line
ONE_TABLE_MAX = 10  # more columns than this make one table too dense to read: two tables

BODY_COLUMNS = ("Rep", "Back mm", "Drop mm", "Back/down", "Knee \u00b0", "Trunk \u00b0", "Foot pos", "Heel %",
                "Down/up s", "Hold s")
FORM_COLUMNS = ("Rep", "Neck \u00b0", "Lockout \u00b0", "Dowel mm", "Break \u00b0", "Wall", "Result",
                "Faults")
ALWAYS = ("Rep", "Result", "Faults")  # shown even when every rep has none

# model column -> (PDF header, unit line or "", plain name, key text; "" = needs no key)
COLUMN_TEXT: dict[str, tuple[str, str, str, str]] = {
    "Rep": ("Rep", "", "rep", ""),
    "Back mm": ("Hips back", "mm", "hips back", ""),
    "Drop mm": ("Hips down", "mm", "hips down", ""),
    "Back/down": ("Back/down", "ratio", "back/down ratio",
                  "Back/down: hips back over hips down at the bottom (a hinge goes back more than down)"),
    "Knee \u00b0": ("Knee flexion", "\u00b0", "knee flexion", ""),
    "Trunk \u00b0": ("Trunk lean", "\u00b0", "trunk lean",
                     "Trunk lean: from vertical, at the bottom (a step-up's: most forward driving up)"),
    "Foot pos": ("Foot pos.", "0\u20131", "foot position",
                 "Foot pos.: centre of pressure along the foot at the bottom, 0 = heel, 1 = toe"),
    "Heel %": ("Heel load", "%", "heel load", "Heel load: share of the weight on the heels at the bottom"),
    "Down/up s": ("Down / up", "s", "down/up time",
                  "Down / up: time to the bottom (a step-up: the top) and back"),
    "Hold s": ("Hold", "s", "bottom hold", "Hold: time held at the bottom"),
    "Neck \u00b0": ("Neck ext.", "\u00b0", "neck extension",
                   "Neck ext.: head tilted against the standing carriage at the bottom (+ = looking up)"),
    "Lockout \u00b0": ("Lockout trunk", "\u00b0", "lockout",
                      "Lockout trunk: trunk from vertical after standing up (\u2212 = leaning back)"),
    "Dowel mm": ("Dowel gap", "mm", "dowel gap",
                 "Dowel gap: the back's largest gap from the dowel, and where"),
    "Break \u00b0": ("Form break", "\u00b0", "form break",
                    "Form break: trunk angle at which the dowel first lost a contact (the usable range)"),
    "Wall": ("Wall", "", "wall", "Wall: the wall drill, reached or how many mm short"),
    "Result": ("Result", "", "result", ""),
    "Faults": ("Faults", "", "faults", ""),
}


@dataclass
class RepTable:
    title: str
    header: list[str]  # a cell's lines are separated by "\n"
    rows: list[list[str]]
    widths_in: list[float]


def _groups() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The two tables' columns; a model column placed in neither goes before Result (never lost)."""
    placed = set(BODY_COLUMNS) | set(FORM_COLUMNS)
    extra = tuple(c for c in REP_COLUMNS if c not in placed)
    cut = FORM_COLUMNS.index("Result")
    return BODY_COLUMNS, FORM_COLUMNS[:cut] + extra + FORM_COLUMNS[cut:]


def _header(column: str) -> str:
    """The PDF header: the name, and its unit in brackets on a line of its own ("Hips back\n(mm)")."""
    name, unit = COLUMN_TEXT[column][:2]
    return name if not unit else f"{name}\n{unit}" if unit == "ratio" else f"{name}\n({unit})"


def _text_in(text: str, size_pt: float, bold: bool) -> float:
    return len(text) * size_pt * (EM_BOLD if bold else EM_PLAIN) / 72.0


def column_widths(header: list[str], rows: list[list[str]], width_in: float, size_pt: float) -> list[float]:
    """Widths (in) that never break a word: at least the longest word (header bold). When every cell fits
    unwrapped, each column gets its text and a gap and the last (the faults) what is left of width_in;
    otherwise what is left goes to columns in proportion to how much wider their text is than its words."""
    least, want = [], []
    for i, head in enumerate(header):
        cells = [(line, True) for line in head.split("\n")] + [(r[i], False) for r in rows]
        words = [(w, bold) for text, bold in cells for w in text.split()]
        least.append(max([_text_in(w, size_pt, b) for w, b in words] or [0.0]) + PAD_IN)
        want.append(max([_text_in(t, size_pt, b) for t, b in cells] or [0.0]) + PAD_IN)
    spare = width_in - sum(least)
    extra = [w - m for w, m in zip(want, least, strict=True)]
    if spare <= 0 or sum(extra) <= 0:
        return least if spare <= 0 else [m + spare / len(least) for m in least]
    if sum(extra) + GAP_IN * len(least) <= spare:  # everything fits unwrapped, with a gap between columns
        widths = [m + e + GAP_IN for m, e in zip(least, extra, strict=True)]
        widths[-1] += width_in - sum(widths)
        return widths
    return [m + spare * e / sum(extra) for m, e in zip(least, extra, strict=True)]


def _fits(cols: list[str], rows: list[list[str]], index: dict[str, int], width_in: float,
          size_pt: float) -> bool:
    """At most ONE_TABLE_MAX columns, each as wide as its longest header word and its widest cell, and the
    faults (the last) at least FAULTS_MIN_IN wide."""
    if len(cols) > ONE_TABLE_MAX:
        return False
    need = 0.0
    for c in cols[:-1]:
        texts = [(w, True) for w in _header(c).split()] + [(r[index[c]], False) for r in rows]
        need += max(_text_in(t, size_pt, b) for t, b in texts) + PAD_IN
    return need + FAULTS_MIN_IN <= width_in


def rep_tables(rows: list[list[str]], width_in: float, size_pt: float) -> tuple[list[RepTable], list[str]]:
    """The set's rep rows (model.rep_rows, in REP_COLUMNS order) as the PDF's rep tables (one when the set's
    values fit a line, else two), and the lines under them: which columns no rep has a value for, and the
    key to the columns shown."""
    index = {c: k for k, c in enumerate(REP_COLUMNS)}
    empty = {c for c in REP_COLUMNS if c not in ALWAYS and all(r[index[c]] in (DASH, "") for r in rows)}
    body, form = ([c for c in group if c not in empty] for group in _groups())
    together = body + form[1:]  # one table when the set has few values (a step or swing set)
    if _fits(together, rows, index, width_in, size_pt):
        groups = [("Reps", together)]
    else:
        split = (("Reps: the body at the bottom", body), ("Reps: form, targets and result", form))
        groups = [(title, cols) for title, cols in split if cols != ["Rep"]]
    tables = []
    for title, cols in groups:
        header = [_header(c) for c in cols]
        cells = [[r[index[c]] for c in cols] for r in rows]
        tables.append(RepTable(title, header, cells, column_widths(header, cells, width_in, size_pt)))
    shown = [c for _, cols in groups for c in cols]
    lines = []
    missing = [COLUMN_TEXT[c][2] for c in REP_COLUMNS if c in empty]
    if missing:
        lines.append("Not measured in this set: " + ", ".join(missing) + ".")
    key = [COLUMN_TEXT[c][3] for c in shown if COLUMN_TEXT[c][3]]
    if key:
        lines.append("Key: " + "; ".join(key) + f". {DASH} = not measured for that rep.")
    return tables, lines
