"""The virtual subject: physics consistency, rep timing, truth faults per pattern, determinism, a picture."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim.figure import pattern_strip
from drivers.sim.patterns import EXPECTED_FAULTS
from drivers.sim.subject import ARMS, PATTERNS, VirtualSubject
from station.config import GRAVITY_M_S2, StationConfig

PLATE_HZ = 1000.0


@pytest.fixture(scope="module")
def subjects() -> dict[str, VirtualSubject]:
    return {p: VirtualSubject(p, reps=4, seed=3) for p in PATTERNS}


def _t(subj: VirtualSubject) -> np.ndarray:
    return np.arange(0.0, subj.duration_s, 1.0 / PLATE_HZ)


def test_quiet_standing_weight_and_sway(subjects):
    subj = subjects["hinge"]
    t = np.arange(0.0, subj.truth.standing_end_s, 1.0 / PLATE_HZ)
    fz = subj.forces(t).fz_n
    weight = subj.total_mass_kg * GRAVITY_M_S2
    assert abs(fz.mean() - weight) / weight < 0.005
    com_x = subj.com(t)[:, 0]
    cop_x = subj.forces(t).cop_xy_m[:, 0]
    # physiological sway: a few mm of COM, CoP a bit larger (it leads the COM)
    assert 1e-3 < np.ptp(com_x) < 10e-3
    assert np.ptp(cop_x) > np.ptp(com_x)
    fp = subj.foot_pos(t)
    assert 0.31 <= fp.mean() <= 0.58           # quiet-standing range quoted in metrics.md


def test_cells_reproduce_fz_and_cop(subjects):
    cfg = StationConfig()
    xy = cfg.plate.channel_xy
    for subj in subjects.values():
        t = _t(subj)
        f = subj.forces(t)
        cells = subj.cell_loads_n(t)
        np.testing.assert_allclose(cells.sum(axis=1), f.fz_n, rtol=0, atol=1e-9)
        cop = (cells @ xy) / cells.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(cop, f.cop_xy_m, rtol=0, atol=1e-9)
        assert np.all(cells >= 0)


def test_cells_other_layout_still_exact():
    cfg = StationConfig()
    cfg.plate.channel_xy_m = [[-0.2, -0.12], [0.22, 0.14], [0.21, -0.15], [-0.23, 0.16]]  # not a rectangle
    subj = VirtualSubject("hinge", reps=1, fidget=False, config=cfg)
    t = _t(subj)
    cells = subj.cell_loads_n(t)
    f = subj.forces(t)
    com_cop = subj.com(t)[:, :2]   # CoP stays near the COM projection, not wherever the cells sit
    np.testing.assert_allclose(cells.sum(axis=1), f.fz_n, atol=1e-9)
    np.testing.assert_allclose((cells @ cfg.plate.channel_xy) / f.fz_n[:, None], f.cop_xy_m, atol=1e-9)
    assert np.max(np.abs(f.cop_xy_m - com_cop)) < 0.08


@pytest.mark.parametrize("arms", [*ARMS, "hands_low_back", "fingertips_ears"])
def test_cop_inside_the_feet_every_pattern_and_arm_option(subjects, arms):
    cfg = StationConfig()
    heel, length = cfg.feet.heel_x_m, cfg.feet.foot_length_m
    cases = subjects.values() if arms == "crossed" else [
        VirtualSubject(p, reps=2, arms=arms, load_kg=16.0 if arms == "weights" else 0.0, seed=1)
        for p in ("hinge", "toe_shift", "squat")]
    for subj in cases:
        cop = subj.forces(_t(subj)).cop_xy_m
        assert np.all(cop[:, 0] > heel + 0.02) and np.all(cop[:, 0] < heel + length - 0.02), subj.pattern
        assert np.all(np.abs(cop[:, 1]) < 0.15)


def test_rep_count_and_times(subjects):
    for subj in subjects.values():
        reps = subj.truth.reps
        assert len(reps) == 4
        for r in reps:
            assert r.t_start < r.t_bottom < r.t_end
            assert 1.0 <= r.descent_s <= 2.6 and 1.0 <= r.ascent_s <= 2.6
        assert all(a.t_end < b.t_start for a, b in zip(reps, reps[1:], strict=False))
        assert reps[0].t_start > subj.truth.standing_end_s


def test_hip_excursion_matches_the_15_percent_rule(subjects):
    """Independent check of the truth times on the marker stream a camera would see (30 fps)."""
    subj = subjects["hinge"]
    t = np.arange(0.0, subj.duration_s, 1 / 30)
    hip_x = subj.markers(t)["hip"][:, 0]
    back = hip_x[t < subj.truth.standing_end_s].mean() - hip_x
    for r in subj.truth.reps:
        sel = (t > r.t_start - 0.5) & (t < r.t_end + 0.5)
        amp = back[sel].max()
        assert abs(amp * 1000 - r.hip_back_mm) < 1.0
        above = t[sel][back[sel] > 0.15 * amp]
        assert abs(above[0] - r.t_start) < 1 / 30 and abs(above[-1] - r.t_end) < 1 / 30


def test_truth_faults_per_pattern(subjects):
    for pattern, subj in subjects.items():
        for r in subj.truth.reps:
            assert r.faults == EXPECTED_FAULTS[pattern], (pattern, r.index, r.faults)


def test_patterns_sit_clearly_past_thresholds(subjects):
    th = StationConfig().thresholds
    for r in subjects["hinge"].truth.reps:
        assert r.hinge_ratio >= 4 and r.knee_flexion_deg < 25 and r.trunk_inclination_deg > 50
        assert 80 <= r.hip_back_mm <= 210 and r.foot_pos_bottom < 0.5 and r.dowel_gap_worst_mm < 5
    for r in subjects["squat"].truth.reps:
        assert r.hinge_ratio <= 1.0 and r.knee_flexion_deg > 60 and r.hip_drop_mm > 150
    for r in subjects["toe_shift"].truth.reps:
        assert r.foot_pos_bottom > 0.7 and r.foot_pos_shift > 0.2 and r.heel_load_pct < th.heel_load_min_pct
        assert r.hip_back_mm > 50            # still a rep: the hips do go back
    for r in subjects["shallow"].truth.reps:
        assert r.trunk_inclination_deg < 35
    for r in subjects["rounding"].truth.reps:
        assert 15 <= r.lumbar_flexion_deg <= 30 and r.dowel_gap_worst_mm > 28
    for r in subjects["arching"].truth.reps:
        assert r.lumbar_flexion_deg < -15 and r.dowel_gap_worst_mm > 26


def test_knee_and_trunk_truth_from_geometry(subjects):
    """Knee flexion equals the prescribed joint angle (markers share one lateral plane)."""
    subj = subjects["squat"]
    for r in subj.truth.reps:
        m = subj.markers(np.array([r.t_bottom]))
        thigh = m["hip"][0] - m["knee"][0]
        shank = m["ankle"][0] - m["knee"][0]
        cos = thigh @ shank / np.linalg.norm(thigh) / np.linalg.norm(shank)
        assert abs(180 - np.degrees(np.arccos(cos)) - r.knee_flexion_deg) < 1e-6
        assert m["hip"][0, 1] == pytest.approx(m["ankle"][0, 1]) and m["hip"][0, 1] < 0   # camera side -y


def test_fidget_is_not_a_rep(subjects):
    subj = subjects["hinge"]
    f0, f1 = subj.truth.fidget_t_s
    t = np.arange(0.0, subj.duration_s, 1 / 200)
    hip_x = subj.markers(t)["hip"][:, 0]
    back = hip_x[t < subj.truth.standing_end_s].mean() - hip_x
    amp = back[(t >= f0 - 0.2) & (t <= f1 + 0.2)].max()
    median_rep = np.median([r.hip_back_mm for r in subj.truth.reps]) / 1000
    assert 0.01 < amp < 0.5 * median_rep
    assert f1 - f0 < 1.0
    assert all(not (r.t_start <= f0 <= r.t_end) for r in subj.truth.reps)


def test_heel_raise_moves_cop_forward_and_shows_in_fz():
    subj = VirtualSubject("hinge", reps=1, fidget=False, heel_raise=True)
    t0 = subj.truth.heel_raise_t_s
    t = np.arange(t0 - 0.1, t0 + 1.4, 1e-3)
    f = subj.forces(t)
    hip_z = subj.markers(t)["hip"][:, 2]
    assert np.ptp(hip_z) > 0.02
    assert subj.foot_pos(np.array([t0 + 0.6]))[0] > 0.7
    weight = subj.total_mass_kg * GRAVITY_M_S2
    assert np.max(np.abs(f.fz_n - weight)) > 0.02 * weight


def test_deterministic_and_seed_varies():
    a = VirtualSubject("hinge", reps=2, seed=11)
    b = VirtualSubject("hinge", reps=2, seed=11)
    c = VirtualSubject("hinge", reps=2, seed=12)
    t = _t(a)[:5000]
    np.testing.assert_array_equal(a.cell_loads_n(t), b.cell_loads_n(t))
    assert a.truth.reps[1].t_bottom == b.truth.reps[1].t_bottom
    assert a.truth.reps[1].t_bottom != c.truth.reps[1].t_bottom
    assert a.truth.reps[0].hip_back_mm != c.truth.reps[0].hip_back_mm


def test_lumbar_override_and_body_size():
    r = VirtualSubject("hinge", reps=1, fidget=False, lumbar_flexion_deg=10.0).truth.reps[0]
    assert abs(r.lumbar_flexion_deg - 10.0) < 0.6 and r.dowel_gap_worst_mm > 3
    small = VirtualSubject("hinge", reps=1, fidget=False, height_m=1.55, mass_kg=55.0)
    big = VirtualSubject("hinge", reps=1, fidget=False, height_m=1.95, mass_kg=100.0)
    hip_small = small.markers(np.array([0.5]))["hip"][0, 2]
    hip_big = big.markers(np.array([0.5]))["hip"][0, 2]
    assert hip_big / hip_small == pytest.approx(1.95 / 1.55, rel=0.03)   # Winter: hip at 0.53 H


def test_pose_has_whole_body_and_markers(subjects):
    subj = VirtualSubject("hinge", reps=1, arms="dowel", fidget=False)
    pose = subj.pose(subj.truth.reps[0].t_bottom)
    names = {c.name for c in pose.capsules}
    for part in ("thigh_left", "thigh_right", "shank_left", "foot_right", "pelvis_left", "lumbar_left",
                 "thorax_right", "neck", "head", "upper_arm_left", "forearm_right", "hand_left", "dowel"):
        assert part in names
    assert set(pose.markers) == {"hip", "knee", "ankle", "shoulder", "head"}
    np.testing.assert_allclose(pose.markers["hip"], subj.markers(np.array([pose.t_s]))["hip"][0], atol=1e-6)
    pts = subj.spine_back_points(pose.t_s)
    assert set(pts) == {"sacrum", "upper_back", "head"}


def test_picture_of_every_pattern(artifacts_dir, subjects):
    path = pattern_strip(list(subjects.values()), artifacts_dir / "sim_subject_patterns.png")
    assert path.stat().st_size > 20_000
    arms = [VirtualSubject("hinge", reps=1, fidget=False, arms=a, load_kg=16.0 if a == "weights" else 0.0)
            for a in (*ARMS, "hands_low_back", "fingertips_ears")]
    assert pattern_strip(arms, artifacts_dir / "sim_subject_arms.png").stat().st_size > 20_000
