"""A synthetic trial whose reps carry chosen per-rep values, and its CSV reps table read back
(tests/export/test_export_rep_values.py, tests/export/test_export_movement_values.py)."""

from __future__ import annotations

from pathlib import Path

from station.export.csv_files import export_csv
from station.recording.reader import read_trial
from tests.support.trial_fixtures import write_synthetic_trial


def trial_with_rep_values(tmp_path: Path, values: list[dict]):
    """The 8 s synthetic trial read back, rep i's attributes set from values[i] (one dict per rep)."""
    path = tmp_path / "trial.h5"
    write_synthetic_trial(path, duration_s=8.0)
    trial = read_trial(path)
    for rep, rep_values in zip(trial.reps, values, strict=True):
        for key, value in rep_values.items():
            setattr(rep, key, value)
    return trial


def csv_rep_rows(trial, tmp_path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """export_csv's reps table for `trial` (written below tmp_path): its header and one dict per rep."""
    export_csv(trial, tmp_path / "out")
    lines = (tmp_path / "out_reps.csv").read_text().splitlines()
    header = lines[0].split(",")
    return header, [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
