"""Drills are the catalogue's: a name that is not in it is refused, naming the known ones, before any file
or device is touched; and simulated sources act the drill out (a dowel on the back in a dowel drill,
held the way a coach sets it up for the camera), so the virtual dowel measures the back under it."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim.subject import VirtualSubject
from station.config import StationConfig
from station.recording.reader import read_trial
from tests.conftest import camera_at_15_fps, run_cli, run_cli_together

# The drills acted out on simulated sources, recorded at once for the module: each recording waits on its
# sources' real-time pace, so together they take the wall time of the longest (16 s), not 50 s in turn
DRILL_RECORDINGS = {
    "dowel": ("--plate", "sim:hinge", "--camera", "sim:hinge", "--subject", "S-DW", "--drill", "dowel_hinge",
              "--duration", "9"),
    "rounding": ("--plate", "sim:rounding", "--camera", "sim:rounding", "--subject", "S-DR", "--drill",
                 "dowel_hinge", "--duration", "16"),
    # the steps' checks (hip/knee ratio, hip drop, faults) do not count frames: the camera at 15 fps
    "step": ("--plate", "sim:step_down_knee", "--camera", "sim:step_down_knee", "--subject", "S-ST",
             "--drill", "step_down", "--duration", "12", "--config", "{folder}/at15/station.toml"),
    "step_up": ("--plate", "sim:step_up", "--camera", "sim:step_up", "--subject", "S-SU", "--drill",
                "step_up", "--duration", "13", "--db", "sqlite:///{folder}/a.sqlite",
                "--config", "{folder}/at15/station.toml"),
}


@pytest.fixture(scope="module")
def drill_trials(tmp_path_factory) -> dict:
    """name -> (the `record` CompletedProcess, its trial file), for DRILL_RECORDINGS."""
    folder = tmp_path_factory.mktemp("drills")
    (folder / "at15").mkdir()
    camera_at_15_fps(folder / "at15")
    commands = [["record", *(a.format(folder=folder) for a in args), "--out", folder / f"{name}.h5"]
                for name, args in DRILL_RECORDINGS.items()]
    runs = run_cli_together(*commands, timeout=240)
    return {name: (res, folder / f"{name}.h5") for name, res in zip(DRILL_RECORDINGS, runs, strict=True)}


def test_record_refuses_an_unknown_drill_naming_the_catalogue(tmp_path):
    out = tmp_path / "t.h5"
    res = run_cli("record", "--plate", "sim:hinge", "--subject", "S", "--drill", "dowel", "--duration", "1",
                  "--out", str(out))
    assert res.returncode != 0
    assert "--drill 'dowel': unknown drill" in res.stderr and "dowel_hinge" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not out.exists()


def test_record_refuses_an_unknown_arm_variation(tmp_path):
    res = run_cli("record", "--plate", "sim:hinge", "--subject", "S", "--drill", "bw_rdl",
                  "--arms", "hands_up", "--duration", "1", "--out", str(tmp_path / "t.h5"))
    assert res.returncode != 0
    assert "--arms 'hands_up'" in res.stderr and "arms_crossed" in res.stderr


def test_dashboard_refuses_an_unknown_drill(tmp_path):
    res = run_cli("dashboard", "--drill", "dowel", "--screenshot", str(tmp_path / "d.png"), "--seconds", "1")
    assert res.returncode != 0 and "dowel_hinge" in res.stderr
    assert not (tmp_path / "d.png").exists()


def test_a_dowel_drill_on_simulated_sources_is_measured_under_the_dowel(drill_trials):
    res, out = drill_trials["dowel"]
    assert res.returncode == 0, res.stderr
    trial = read_trial(out)
    measured = np.isfinite(trial.dowel["worst_gap_mm"])
    assert measured.mean() >= 0.9, "the dowel on the back is found and the back read under it"
    (rep,) = trial.reps
    truth = VirtualSubject("hinge", arms="dowel_left_high").truth.reps[0]  # the coached grip, camera right
    assert abs(rep.t_end - truth.t_end) < 0.2
    assert rep.dowel_gap_mm is not None and abs(rep.dowel_gap_mm - max(truth.dowel_gap_mm.values())) <= 7.0
    assert "back_rounding" not in rep.faults and "back_arching" not in rep.faults
    assert trial.metadata["drill"] == "dowel_hinge"


def test_a_rounded_back_under_the_dowel_is_flagged_on_simulated_sources(drill_trials):
    """sim:rounding in the dowel drill: near the bottom the low arm (camera side) lies along the back and
    hides the upper back. The dowel, lifted off the sacrum and resting on upper back and head, says where the
    upper back is: every rounded rep is flagged back_rounding at the sacrum, as it is without a dowel (before,
    the bottom went unmeasured and the reps passed on the 9-14 mm read going down and up)."""
    res, out = drill_trials["rounding"]
    assert res.returncode == 0, res.stderr
    trial = read_trial(out)
    truth = VirtualSubject("rounding", arms="dowel_left_high").truth.reps  # the coached grip, camera right
    assert len(trial.reps) >= 2
    threshold = StationConfig().thresholds.dowel_gap_max_mm
    for rep, true_rep in zip(trial.reps, truth, strict=False):
        assert abs(rep.t_end - true_rep.t_end) < 0.2
        assert true_rep.dowel_gap_worst_mm > threshold + 20  # (the simulated rounding is clear, ~50 mm)
        assert "back_rounding" in rep.faults and "back_arching" not in rep.faults, (rep.faults, rep.notes)
        assert rep.notes["dowel_region"] == "sacrum"
        assert abs(rep.dowel_gap_mm - true_rep.dowel_gap_worst_mm) <= 10.0, (rep.dowel_gap_mm, true_rep)


def test_a_step_down_drill_is_recorded_and_judged_as_a_step(drill_trials):
    """`--drill step_down` names the step movement: the trial keeps it, the live core finds the rep on the
    hip's drop (a knee-dominant step-down barely moves the hips back) and `analyze --json` gives the same
    rep with its hip/knee ratio and the knee_dominant fault (issue 19 item 8)."""
    import json

    res, out = drill_trials["step"]
    assert res.returncode == 0, res.stderr
    trial = read_trial(out)
    assert trial.metadata["movement"] == "step"
    # (its times against the truth's: tests/core/test_core_movements.py, offline.) On a loaded host the camera
    # may open 2-3 s into the subject's timeline, even after the first step-down began: judge the reps seen
    # whole, with quiet standing before them (the second one always is)
    ratios = [r.hip_knee_ratio for r in VirtualSubject("step_down_knee").truth.reps]
    assert max(ratios) - min(ratios) < 0.01 * min(ratios)  # every simulated rep has the same ratio
    whole = [r for r in trial.reps if r.t_start > float(trial.markers.t_s[0]) + 1.0]
    assert whole
    for rep in whole:
        assert abs(rep.hip_knee_ratio - ratios[0]) <= 0.10 * ratios[0]
        assert rep.faults == ["knee_dominant"]
    res = run_cli("analyze", str(out), "--json", timeout=120)
    assert res.returncode == 0, res.stderr
    again = json.loads(res.stdout)["reps"]
    assert [r["hip_knee_ratio"] for r in again] == pytest.approx([r.hip_knee_ratio for r in trial.reps])
    assert all(r["hip_snap_mps"] is None for r in again)


def test_a_step_up_drill_is_recorded_and_judged_as_a_step_up(drill_trials):
    """`--drill step_up`: the subject waits with the working foot on the step and rises first; the live core
    finds the rep on the hip's rise (no tap-down rep on the way back down) and `analyze --json` gives the
    same reps with the truth's hip/knee ratio, a negative hip_drop_mm (the hip went up) and no fault."""
    import json

    res, out = drill_trials["step_up"]
    assert res.returncode == 0, res.stderr
    trial = read_trial(out)
    assert trial.metadata["movement"] == "step"
    truth = VirtualSubject("step_up").truth.reps
    ratios = [r.hip_knee_ratio for r in truth]
    assert max(ratios) - min(ratios) < 0.01 * min(ratios)  # every simulated rep has about the same ratio
    # as for the tap-down: judge the reps seen whole, with quiet standing before them (the first frames may
    # carry no marker while the tracker starts: count from the first hip seen)
    hip = np.asarray(trial.markers.positions["hip"])
    seen = float(np.asarray(trial.markers.t_s)[np.isfinite(hip[:, 0])][0])
    whole = [r for r in trial.reps if r.t_start > seen + 1.0]
    assert whole
    for rep in whole:
        assert rep.notes["step"] == "up"
        assert abs(rep.hip_knee_ratio - ratios[0]) <= 0.10 * ratios[0]
        assert abs(rep.hip_drop_mm - truth[0].hip_drop_mm) < 15.0 and rep.hip_drop_mm < 0
        assert rep.faults == []
    # no more reps than the subject did in the recorded time (a way back down is not a rep of its own)
    assert len(trial.reps) <= sum(t.t_start < float(trial.markers.t_s[-1]) for t in truth)
    res = run_cli("analyze", str(out), "--json", timeout=120)
    assert res.returncode == 0, res.stderr
    again = json.loads(res.stdout)["reps"]
    assert [r["hip_knee_ratio"] for r in again] == pytest.approx([r.hip_knee_ratio for r in trial.reps])
    assert [r["hip_drop_mm"] for r in again] == pytest.approx([r.hip_drop_mm for r in trial.reps])


def test_a_swing_drill_is_recorded_as_a_swing(tmp_path):
    """`--drill kb_swing` (with its bell) names the swing movement; the trial keeps it for `analyze`."""
    out = tmp_path / "swing.h5"
    res = run_cli("record", "--plate", "sim:swing", "--subject", "S-SW", "--drill", "kb_swing", "--load-kg",
                  "16", "--duration", "2", "--out", str(out), timeout=120)
    assert res.returncode == 0, res.stderr
    assert read_trial(out).metadata["movement"] == "swing"
