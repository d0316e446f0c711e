"""`hinge-station analyze INPUT [--json]`: reps, metrics and faults of a .h5, .db3 or .c3d."""

from __future__ import annotations

import argparse
import json
import sys

from station.results import AnalysisResult

_COLUMNS = (  # header, key, format
    ("#", "index", "{:d}"), ("start s", "t_start", "{:.2f}"), ("bottom s", "t_bottom", "{:.2f}"),
    ("end s", "t_end", "{:.2f}"), ("back mm", "hip_back_mm", "{:.0f}"), ("drop mm", "hip_drop_mm", "{:.0f}"),
    ("ratio", "hinge_ratio", "{:.1f}"), ("knee deg", "knee_flexion_deg", "{:.0f}"),
    ("dknee deg", "knee_flexion_change_deg", "{:+.0f}"), ("trunk deg", "trunk_inclination_deg", "{:.0f}"),
    ("foot", "foot_pos_bottom", "{:.2f}"), ("shift", "foot_pos_shift", "{:+.2f}"),
    ("heel %", "heel_load_pct", "{:.0f}"), ("down s", "descent_s", "{:.1f}"), ("up s", "ascent_s", "{:.1f}"),
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT", help="trial .h5, RealSense .db3 or .c3d")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--config", help="station TOML (default: $HINGE_STATION_CONFIG or ./station.toml)")
    parser.add_argument("--plate-cal", help="plate calibration file to use instead of the trial's")
    parser.add_argument("--camera-cal", help="camera calibration file to use instead of the trial's "
                        "(.db3: else the config's camera pose, said in the result)")
    parser.add_argument("--markers", help="C3D label mapping, e.g. hip=RGT,knee=RKNE,ankle=RANK; or depth "
                        "(.db3, or a trial with stored frames: no stickers, the landmarks estimated from the "
                        "depth image, said as such)")
    parser.add_argument("--preset", choices=("station", "plug-in-gait"), help="C3D marker label preset")
    parser.add_argument("--side", choices=("left", "right"), help="C3D: which side's markers to use")
    parser.add_argument("--plate", metavar="TRIAL.h5",
                        help=".db3 only: a station trial whose plate stream to pair with the recording "
                             "(clock from its camera index when it recorded this camera, else by start)")
    parser.add_argument("--body-mass-kg", type=float, help="body mass for the CoP force gate")
    parser.add_argument("--movement", choices=("hinge", "swing", "step"),
                        help="judge the reps as this movement (default: the recorded drill's; hinge)")
    parser.set_defaults(func=run)


def _cell(value, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def format_table(result: AnalysisResult) -> str:
    lines = [f"{result.source}: {len(result.reps)} reps, {result.summary.get('passed', 0)} passed"]
    if result.summary.get("hip_source"):
        lines.append(f"hip: {result.summary['hip_source']}")
    rows = [[h for h, _, _ in _COLUMNS] + ["result"]]
    for rep in result.reps:
        data = rep.to_json()
        verdict = "PASS" if rep.passed else "FAIL " + ",".join(rep.faults)
        rows.append([_cell(data[k], f) for _, k, f in _COLUMNS] + [verdict])
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    for row in rows:
        lines.append("  ".join(v.rjust(w) for v, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])
    force = result.summary.get("force")
    if force and force.get("loaded_s"):
        lines.append(f"CoP while loaded: foot_pos {force['foot_pos_mean']:.2f} "
                     f"(range {force['foot_pos_min']:.2f}-{force['foot_pos_max']:.2f}), "
                     f"heel load {force['heel_load_pct_mean']:.0f}%")
    lines += [f"warning: {w}" for w in result.warnings]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from station.analysis.analyze import LoadOptions, analyze_path
    from station.config import load_config

    options = LoadOptions(config=load_config(args.config), preset=args.preset, markers=args.markers,
                          side=args.side, plate=args.plate, plate_cal=args.plate_cal,
                          camera_cal=args.camera_cal, body_mass_kg=args.body_mass_kg,
                          movement=args.movement)
    result = analyze_path(args.input, options)
    if args.json:
        json.dump(result.to_json(), sys.stdout)
        sys.stdout.write("\n")
    else:
        print(format_table(result))  # warnings are its last lines
    return 0
