"""The valid files the fuzzers start from, made by the station's own writers (and the same every run)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

# `hinge-station sim camera` arguments of the .db3 seed: 7 frames, 640x480, uncompressed and PNG-compressed
DB3_SEEDS = {
    "sim_hinge": ["--pattern", "hinge", "--seconds", "0.5", "--fps", "15", "--resolution", "640x480"],
    "sim_hinge_png": ["--pattern", "hinge", "--seconds", "0.5", "--fps", "15", "--resolution", "640x480",
                      "--compress"],
}
H5_SEEDS = ("synthetic", "archive")
C3D_SEEDS = ("type2", "type4", "markers_only")


def h5_seed(name: str, folder: Path) -> Path:
    path = folder / f"seed-{name}.h5"
    if not path.exists():
        if name == "synthetic":
            from tests.support.trial_fixtures import write_synthetic_trial

            write_synthetic_trial(path, duration_s=2.0)
        else:
            from tests.support.archive_files import write_trial

            write_trial(path, "S01", start_wall_time="2026-01-02T10:00:00")
    return path


def c3d_seed(name: str, folder: Path) -> Path:
    """One second of markers (50 Hz) with a TYPE 2 or TYPE 4 platform (500 Hz), or markers only."""
    path = folder / f"seed-{name}.c3d"
    if not path.exists():
        from tests.support.c3d_writer import write_c3d

        t = np.arange(50) / 50.0
        back = 0.15 * (1 - np.cos(2 * np.pi * t)) / 2
        markers = {"hip": np.column_stack([0.05 - back, np.full_like(t, -0.1), 0.92 - 0.3 * back]),
                   "knee": np.tile([0.08, -0.1, 0.5], (50, 1)),
                   "ankle": np.tile([-0.05, -0.1, 0.08], (50, 1)),
                   "shoulder": np.column_stack([0.05 + back, np.full_like(t, -0.1), 1.4 - back]),
                   "heel": np.tile([-0.13, -0.1, 0.03], (50, 1)), "toe": np.tile([0.13, -0.1, 0.03], (50, 1))}
        tf = np.arange(500) / 500.0
        fz = 700.0 + 30 * np.sin(2 * np.pi * tf)
        cop = np.column_stack([0.05 * np.sin(2 * np.pi * tf), 0.01 * np.cos(2 * np.pi * tf)])
        write_c3d(path, markers=markers, marker_rate=50.0, fz_n=fz, cop_xy_m=cop, force_rate=500.0,
                  heading_deg=30.0, plate_type=4 if name == "type4" else 2,
                  with_platform=name != "markers_only")
    return path


def calibration_seed(kind: str) -> dict:
    """A valid calibration document of each kind (the envelope calibration.store writes)."""
    result = {"plate": {"offsets_counts": [1200.0, -800.0, 500.0, 300.0],
                        "gains_n_per_count": [0.0011, 0.00095, 0.00102, 0.00099]},
              "camera": {"T_plate_from_camera": [[1.0, 0.0, 0.0, 0.1], [0.0, 0.0, 1.0, -2.2],
                                                 [0.0, -1.0, 0.0, 0.9], [0.0, 0.0, 0.0, 1.0]]},
              "feet": {"heel_x_m": -0.13, "foot_length_m": 0.26, "method": "typed", "details": None}}[kind]
    return {"kind": kind, "version": 1, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "device_id": "plate-fuzz" if kind != "feet" else "S01", "software_version": "0.1.0",
            "result": result, "residuals": {"rms_n": 0.4}}


def steps_seed() -> dict:
    return {"placements": [{"mass_kg": 20.0, "position": "centre"}, {"mass_kg": 10, "position": [0.1, 0.1]}],
            "timeout_s": 120}


def config_seed() -> dict:
    """Every section and key of the station TOML with its default value."""
    import dataclasses

    from station.config import StationConfig

    cfg = StationConfig()
    out = {f.name: dataclasses.asdict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)
           if dataclasses.is_dataclass(getattr(cfg, f.name))}
    out["calibration_dir"] = cfg.calibration_dir
    return out


def session_seed() -> dict:
    """A session with a complete set (screening, analysis with a rep, series) and a refused one."""
    from station.analysis.series import TrialSeries
    from station.results import AnalysisResult, RepResult
    from station.screening.questions import QUESTION_KEYS, ScreeningAnswers
    from station.screening.session import Session, SessionTrial

    answers = ScreeningAnswers(answers={k: False for k in QUESTION_KEYS}, asked_at="2026-01-02T10:00:00")
    rep = RepResult(index=0, t_start=0.5, t_bottom=2.0, t_end=3.6, hip_back_mm=150.0, faults=["shallow"])
    series = TrialSeries(t_s=[0.0, 0.1], hip_back_mm=[0.0, 1.0], hip_drop_mm=[0.0, 0.5], foot_pos=[0.4, None])
    session = Session(subject_id="S01", date="2026-01-02", session_uid="0" * 32, trials=[
        SessionTrial("T1", "dowel_hinge", answers, source="sim:hinge", trial_file="t1.h5",
                     analysis=AnalysisResult("t1.h5", [rep], {"duration_s": 4.0}, []), series=series),
        SessionTrial("T2", "bw_rdl", answers, status="refused", stop_reason="pain")])
    return json.loads(json.dumps(session.to_json()))


def toml_text(doc: dict) -> str:
    """A minimal TOML writer for the config's shape (tables of scalars and arrays); strings via JSON
    escapes, which TOML basic strings share."""

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return "nan" if v != v else ("inf" if v == float("inf") else "-inf" if v == -float("inf")
                                         else repr(v))
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(str(k))} = {value(x)}" for k, x in v.items()) + "}"
        if v is None:
            return '""'  # TOML has no null
        raise TypeError(type(v))

    lines = [f"{json.dumps(str(k))} = {value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for section, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(str(section))}]")
            lines += [f"{json.dumps(str(k))} = {value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
