"""`screen --plate --camera`: a live set recorded through `record`'s path, then scored and gated."""

import json

from drivers.sim.subject import VirtualSubject
from tests.conftest import camera_at_15_fps, run_cli


def test_live_set_is_recorded_scored_and_gated(tmp_path):
    config = camera_at_15_fps(tmp_path)
    truth = VirtualSubject("hinge").truth.reps[0]  # the subject sim:hinge plays
    res = run_cli("screen", "--subject", "S9", "--drill", "bw_rdl", "--arms", "arms_crossed",
                  "--answers", "no,no,no,no", "--plate", "sim:hinge", "--camera", "sim:hinge",
                  "--override-reason", "dowel hinge passed on paper",
                  "--db", f"sqlite:///{tmp_path / 'a.sqlite'}",
                  "--seconds", f"{truth.t_end + 1.5:.1f}", "--config", str(config),
                  "--out-dir", str(tmp_path), "--json", timeout=150)
    assert res.returncode == 0, res.stderr[-2000:]
    session = json.loads(next(tmp_path.glob("S9_*.session.json")).read_text())
    trial = session["trials"][0]
    assert trial["status"] == "complete" and trial["trial_file"].endswith(".h5")
    reps = trial["analysis"]["reps"]
    assert len(reps) == 1 and reps[0]["pass"] and not truth.faults
    assert abs(reps[0]["hip_back_mm"] - truth.hip_back_mm) <= 10
    assert abs(reps[0]["t_start"] - truth.t_start) <= 0.15
    # one clean set of 1 rep cannot pass a gate that wants 2 clean sets of 10 with arms crossed
    assert session["gate"]["passed"] is False and "10 needed" in session["gate"]["reason"]
