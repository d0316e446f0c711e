"""The report's lines for the two movements of issue 19 item 8, under a set's rep table: the step tap-down's
hip/knee ratio per rep, the kettlebell swing's hip snap and peak force per swing and the set's swing rate.
(The rep table keeps its hinge columns; these values are null for a hinge set, which then gets no line.)"""

from __future__ import annotations

from station.results import AnalysisResult


def movement_lines(analysis: AnalysisResult | None) -> list[str]:
    if analysis is None:
        return []
    lines = []
    for i, r in enumerate(analysis.reps):
        parts = []
        if r.hip_knee_ratio is not None:
            lead = "hips led" if r.hip_knee_ratio >= 1.0 else "knee led"
            parts.append(f"hip/knee flexion {r.hip_knee_ratio:.2f} ({lead})")
        if r.hip_snap_mps is not None:
            parts.append(f"hip snap {r.hip_snap_mps:.2f} m/s")
        if r.peak_fz_bw is not None:
            parts.append(f"peak force {r.peak_fz_bw:.2f} x body weight")
        if parts:
            lines.append(f"Rep {i + 1}: " + ", ".join(parts) + ".")
    rate = (analysis.summary or {}).get("swings_per_min")
    if rate is not None:
        lines.append(f"Swing rate: {rate:.0f} swings per minute.")
    return lines
