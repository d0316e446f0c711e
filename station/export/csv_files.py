"""A trial file -> CSV: one file per stream plus the reps table, named <base>_<stream>.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from station.documents import DocumentValue
from station.owner_files import open_private
from station.recording.reader import RecordedTrial
from station.results import REP_VALUE_KEYS, TARGET_KEYS

CSV_STREAMS = ("plate_raw", "force", "camera_index", "markers", "reps", "events")


def csv_paths(base: Path) -> dict[str, Path]:
    return {s: base.with_name(f"{base.name}_{s}.csv") for s in CSV_STREAMS}


def _write(path: Path, header: list[str], columns: list[np.ndarray], fmt: list[str]) -> None:
    n = len(columns[0]) if columns else 0
    with open_private(path) as fh:
        fh.write(",".join(header) + "\n")
        if n:
            for row in zip(*columns, strict=True):
                fh.write(",".join(_fmt(v, f) for v, f in zip(row, fmt, strict=True)) + "\n")


def _fmt(value: DocumentValue, fmt: str) -> str:
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return ""
    return format(value, fmt)


def export_csv(trial: RecordedTrial, base: Path) -> list[Path]:
    paths = csv_paths(base)
    p = trial.plate
    _write(paths["plate_raw"], ["seq", "t_device_s", "t_host_ns", "counts0", "counts1", "counts2", "counts3",
                                "flags"],
           [p.seq, p.t_device_s, p.t_host_ns, *p.counts.T, p.flags], ["d", ".6f", "d"] + ["d"] * 5)
    six: tuple[list[str], list[np.ndarray], list[str]] = ([], [], [])
    if trial.force.shear_n is not None and trial.force.free_moment_nm is not None:  # six-component only
        six = (["fx_n", "fy_n", "free_moment_nm"], [*trial.force.shear_n.T, trial.force.free_moment_nm],
               [".3f", ".3f", ".4f"])
    _write(paths["force"], ["t_s", "fz_n", "cop_x_m", "cop_y_m", "foot_pos", "cell0_n", "cell1_n", "cell2_n",
                            "cell3_n", *six[0]],
           [trial.force.t_s, trial.fz_n, *trial.cop_xy_m.T, trial.foot_pos, *trial.force.cells_n.T, *six[1]],
           [".6f", ".3f", ".5f", ".5f", ".4f", ".3f", ".3f", ".3f", ".3f", *six[2]])
    ci = trial.camera_index
    _write(paths["camera_index"], ["frame_number", "t_device_ms", "t_host_ns", "t_s", "dropped_before"],
           [ci["frame_number"], ci["t_device_ms"], ci["t_host_ns"], ci["t_s"], ci["dropped_before"]],
           ["d", ".3f", "d", ".6f", "d"])
    header, cols, fmts = ["t_s"], [trial.markers.t_s], [".6f"]
    for name, pos in trial.markers.positions.items():
        pix = trial.marker_pixels[name]
        header += [f"{name}_{col}" for col in ("x_m", "y_m", "z_m", "u_px", "v_px", "bridged")]
        cols += [*pos.T, *pix.T, trial.markers.bridged[name].astype(int)]
        fmts += [".5f"] * 3 + [".2f"] * 2 + ["d"]
    _write(paths["markers"], header, cols, fmts)
    with open_private(paths["reps"]) as fh:
        keys = ["index", "t_start", "t_bottom", "t_end", *REP_VALUE_KEYS, *TARGET_KEYS, "faults", "pass"]
        fh.write(",".join(keys) + "\n")
        for rep in trial.reps:
            data = rep.to_json()
            data["faults"] = ";".join(data["faults"])
            if data["reached_target"] is not None:  # as in the JSON: true / false (empty: no wall set)
                data["reached_target"] = "true" if data["reached_target"] else "false"
            fh.write(",".join("" if data[k] is None else str(data[k]) for k in keys) + "\n")
    with open_private(paths["events"]) as fh:
        fh.write("t_s,kind,text\n")
        for ev in trial.events:
            text = ev["text"].replace('"', "'")
            fh.write(f"{ev['t_s']:.6f},{ev['kind']},\"{text}\"\n")
    return list(paths.values())
