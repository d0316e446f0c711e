"""`export --format bids`: a trial (or a session's trials) as a BIDS 1.9 motion dataset that the BIDS
validator (npm bids-validator 1.15, installed by scripts/setup.sh into .tools/) accepts with no error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from station.recording.reader import read_trial
from tests.conftest import REPO, run_cli
from tests.support.trial_fixtures import write_synthetic_trial


def _validator() -> str:
    """The bids-validator command; skipped with the reason when absent here, a failure in CI."""
    local = REPO / ".tools" / "node_modules" / ".bin" / "bids-validator"
    exe = str(local) if local.exists() else shutil.which("bids-validator")
    missing = None
    if shutil.which("node") is None:
        missing = "Node.js (node) is not installed: the BIDS validator cannot run"
    elif exe is None:
        missing = "bids-validator is not installed (scripts/setup.sh puts npm bids-validator@1.15 in .tools/)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the BIDS validator: {missing}")
        pytest.skip(missing)
    return exe


def validate(folder: Path) -> dict:
    res = subprocess.run([_validator(), str(folder), "--json"], capture_output=True, text=True, timeout=300)
    assert res.stdout.strip(), res.stderr
    issues = json.loads(res.stdout)["issues"]
    errors = [f"{e['key']}: {e['reason']} {[f.get('file', {}).get('relativePath') for f in e['files']]}"
              for e in issues["errors"]]
    assert not errors, "\n".join(errors)
    return issues


def _trial(path: Path, subject: str = "hs-07_b", duration_s: float = 3.0) -> Path:
    write_synthetic_trial(path, duration_s=duration_s)
    with h5py.File(path, "r+") as f:  # a code with characters BIDS labels may not hold
        f.attrs["subject_id"] = subject
    return path


def test_a_trial_is_a_bids_dataset_the_validator_accepts(tmp_path):
    trial_path = _trial(tmp_path / "trial.h5")
    res = run_cli("export", str(trial_path), "--format", "bids", "--out", str(tmp_path / "ds"))
    assert res.returncode == 0, res.stderr
    issues = validate(tmp_path / "ds")
    trial = read_trial(trial_path)
    day = trial.metadata["start_wall_time"][:10].replace("-", "")
    motion = tmp_path / "ds" / "sub-hs07b" / f"ses-{day}" / "motion"
    stem = f"sub-hs07b_ses-{day}_task-bodyweight"
    camera = np.genfromtxt(motion / f"{stem}_tracksys-camera_motion.tsv", delimiter="\t",
                           missing_values="n/a")
    channels = (motion / f"{stem}_tracksys-camera_channels.tsv").read_text().splitlines()
    assert camera.shape == (len(trial.markers), len(channels) - 1)  # no header row; one column per channel
    assert channels[1].split("\t")[:5] == ["hip_x", "x", "POS", "hip", "m"]
    np.testing.assert_allclose(camera[:, :3], trial.markers.positions["hip"], atol=1e-6)
    np.testing.assert_allclose(camera[:, -1], trial.markers.t_s, atol=1e-6)  # latency
    plate = np.genfromtxt(motion / f"{stem}_tracksys-forceplate_motion.tsv", delimiter="\t",
                          missing_values="n/a")
    np.testing.assert_allclose(plate[:, 0], trial.fz_n, atol=1e-3)
    meta = json.loads((motion / f"{stem}_tracksys-forceplate_motion.json").read_text())
    assert meta["SamplingFrequency"] == 1000.0 and meta["TaskName"] == "bodyweight"
    events = (motion / f"{stem}_events.tsv").read_text().splitlines()
    assert len(events) == 1 + len(trial.reps) and events[1].startswith("0.5000\t3.1000\trep\t0")
    assert (tmp_path / "ds" / "participants.tsv").read_text().split() == ["participant_id", "sub-hs07b"]
    scans = (motion.parent / f"sub-hs07b_ses-{day}_scans.tsv").read_text()
    assert f"motion/{stem}_tracksys-camera_motion.tsv\t{trial.metadata['start_wall_time'][:19]}Z" in scans
    print("validator warnings:", sorted({w["key"] for w in issues["warnings"]}))
    # an existing dataset folder is not written into without --force: one line naming it
    again = run_cli("export", str(trial_path), "--format", "bids", "--out", str(tmp_path / "ds"))
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [f"hinge-station export: {tmp_path / 'ds'}: already exists "
                                                 "(use --force to overwrite)"]
    forced = run_cli("export", str(trial_path), "--format", "bids", "--out", str(tmp_path / "ds"), "--force")
    assert forced.returncode == 0, forced.stderr


def test_a_session_file_exports_all_its_trials_as_runs(tmp_path):
    from station.screening.session import Session, SessionTrial, save_session

    env = dict(os.environ, HINGE_DATA_ROOT=str(tmp_path))
    (tmp_path / "s").mkdir()
    session = Session(subject_id="S07")
    for i in (1, 2):
        _trial(tmp_path / "s" / f"t{i}.h5", subject="S07", duration_s=2.0)
        session.trials.append(SessionTrial(f"T{i}", "bodyweight", None, trial_file=f"t{i}.h5"))
    session.trials.append(SessionTrial("T3", "bodyweight", None, status="refused"))  # no file: skipped
    save_session(session, tmp_path / "s" / "session.json")
    res = run_cli("export", str(tmp_path / "s" / "session.json"), "--format", "bids", "--deidentify", env=env)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "s" / "session_bids"
    validate(out)
    names = sorted(p.name for p in out.rglob("*_motion.tsv"))
    assert len(names) == 4 and all("_run-1_" in n or "_run-2_" in n for n in names)
    real_day = read_trial(tmp_path / "s" / "t1.h5").metadata["start_wall_time"][:10].replace("-", "")
    (ses,) = [p.name for p in (out / "sub-S07").iterdir()]
    assert ses != f"ses-{real_day}"  # --deidentify: the session's date is the subject's shifted one
    csv = run_cli("export", str(tmp_path / "s" / "session.json"), "--format", "csv", env=env)
    assert csv.returncode == 2 and "exports only as --format bids" in csv.stderr
