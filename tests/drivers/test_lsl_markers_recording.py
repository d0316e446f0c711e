"""`--markers lsl:NAME` in the station: LSL MoCap streams -> the station's markers in the plate frame
(station.trial.mocap), by the C3D import's presets, mapping and frame rule; the trial runner and `record`
with a mocap stream (alone, beside an LSL plate, beside a camera). The driver itself:
tests/drivers/test_lsl_markers.py."""

from __future__ import annotations

import time

import numpy as np
import pytest

pylsl = pytest.importorskip("pylsl")

from drivers.lsl_markers import LslMarkers  # noqa: E402
from drivers.samples import MarkerChunk  # noqa: E402
from station.config import config_from_dict  # noqa: E402
from station.errors import StationError  # noqa: E402
from station.trial.mocap import MocapStep  # noqa: E402
from tests.support.lsl_mocap import (  # noqa: E402
    LABELS,
    RATE,
    mocap_name,
    mocap_outlet,
    mocap_truth,
    push_mocap,
    xdf_channels,
)
from tests.support.lsl_outlets import open_outlet, pushing_in_real_time, wait_consumer  # noqa: E402


def test_unknown_labels_list_the_labels_and_name_the_flag():
    config = config_from_dict({})
    labels = ("Subj:PELV1", "Subj:THIGH2", "Subj:SHANK3")
    with pytest.raises(StationError) as err:
        MocapStep(config, labels, source="markers lsl:Q")
    text = str(err.value)
    assert "PELV1, THIGH2, SHANK3" in text and "--markers hip=" in text and "lsl:Q" in text
    with pytest.raises(StationError) as err:  # a mapped label the stream lacks
        MocapStep(config, labels, source="markers lsl:Q", mapping="hip=RGT")
    assert "'RGT'" in str(err.value) and "PELV1" in str(err.value) and "--markers" in str(err.value)
    step = MocapStep(config, labels, mapping="hip=PELV1,knee=THIGH2")  # mapped: accepted
    assert step.notes["labels"] == {"hip": "PELV1", "knee": "THIGH2"}
    assert "ankle" in step.notes["missing"]


def test_record_refuses_unknown_labels_before_creating_the_trial(tmp_path, capsys, monkeypatch):
    from station.cli import main

    monkeypatch.setenv("HINGE_STATION_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    name = mocap_name("unknown")
    outlet = mocap_outlet(name, 9, channels=xdf_channels(("PELV1", "THIGH2", "SHANK3")))
    out = tmp_path / "t.h5"
    argv = ["record", "--markers", f"lsl:{name}", "--subject", "S-X", "--drill", "bw_rdl",
            "--duration", "1", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and name in err and "PELV1, THIGH2, SHANK3" in err and "--markers hip=" in err
    assert not out.exists()
    assert main([*argv, "--markers", "hip=RGT"]) == 2  # a mapped label the stream lacks: named, labels listed
    err = capsys.readouterr().err
    assert "'RGT'" in err and "THIGH2" in err and not out.exists()
    del outlet


def test_lab_frame_to_plate_frame_by_the_c3d_rule():
    """A Y-up lab whose subject faces -z, plate centre at (1.2, 0, -0.5) m: back to the plate frame."""
    config = config_from_dict({"c3d": {"lab_up_axis": "+y", "lab_anterior_axis": "-z"},
                               "lsl_markers": {"plate_origin_m": [1.2, 0.0, -0.5]}})
    truth = mocap_truth(50)
    rot = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # rows: plate x, y, z in lab
    lab = truth @ rot + np.array([1.2, 0.0, -0.5])
    step = MocapStep(config, LABELS)
    got = step.update(MarkerChunk(np.arange(50) / RATE, np.zeros(50, np.int64), lab, LABELS))
    for i, name in enumerate(("hip", "knee", "ankle", "shoulder", "head")):
        np.testing.assert_allclose(got[name], truth[:, i], atol=1e-9)
    assert step.notes["anterior_from"] == "config c3d.lab_anterior_axis"
    # plug-in-gait labels: the Harrington hip from the pelvis, the side's knee/ankle (same as C3D import)
    pig = ("LASI", "RASI", "LPSI", "RPSI", "RKNE", "RANK", "RSHO", "LFHD", "RFHD")
    step = MocapStep(config_from_dict({}), pig, side="right")
    assert step.notes["preset"] == "plug-in-gait" and "Harrington" in step.notes["hip_source"]


def test_mocap_vanishing_mid_trial_is_an_outage_and_a_gap_in_the_file(tmp_path):
    """The runner with only a mocap stream: switched off for ~1 s, then back; the trial says so (events,
    outages) and its markers rows have the hole (nothing filled in)."""
    from station.recording.reader import read_trial
    from station.recording.writer import TrialWriter
    from station.trial.consumers import TrialFileConsumer
    from station.trial.runner import TrialRunner

    name = mocap_name("outage")
    config = config_from_dict({})
    k = 600  # 3 s at 200 Hz: 1 s, ~1 s away, 1 s
    rows = mocap_truth(k).reshape(k, -1) * 1000.0
    outlet = mocap_outlet(name, 15, channels=xdf_channels(LABELS), source_id=f"{name}-a")
    writer = TrialWriter(tmp_path / "t.h5", config=config, metadata={"subject_id": "S-O", "drill": "bw_rdl"})
    runner = TrialRunner(None, None, config, consumers=[TrialFileConsumer(writer)],
                         markers=LslMarkers(name, config))
    runner.start()
    try:
        wait_consumer(outlet)
        t0 = pylsl.local_clock()
        push_mocap(outlet, rows[:200], t0)
        time.sleep(0.5)
        del outlet  # switched off
        t_end = time.monotonic() + 10
        while not runner.stats()["outages"] and time.monotonic() < t_end:
            time.sleep(0.1)
        outlet = mocap_outlet(name, 15, channels=xdf_channels(LABELS), source_id=f"{name}-b")
        wait_consumer(outlet, 10.0)
        push_mocap(outlet, rows[400:], t0, 400)
        t_end = time.monotonic() + 10
        while runner.stats().get("marker_samples", 0) < 400 and time.monotonic() < t_end:
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        summary = runner.stop("test done")
    outages = [o for o in runner.stats()["outages"] if o["device"] == "markers"]
    assert len(outages) == 1 and outages[0]["how"] == "unplugged" and outages[0]["back_s"] is not None
    trial = read_trial(summary["file"])
    texts = [e["text"] for e in trial.events]
    assert any("markers" in t and "unplugged" in t for t in texts), texts
    assert any("markers" in t and "back at" in t for t in texts), texts
    t = trial.markers.t_s
    assert len(t) == 400 and np.isclose(np.diff(t).max(), 200 / RATE + 1 / RATE, atol=0.01)  # the hole, 1 s
    assert np.isfinite(trial.markers.positions["hip"]).all()


@pytest.mark.slow
def test_record_from_six_component_plate_and_mocap_gives_the_truth(tmp_path, monkeypatch):
    """`record --plate lsl:P --markers lsl:M` (no camera): a lab's six-component plate and its mocap (Y-up
    lab frame, mm, plate centre off the lab origin) streaming the virtual subject give the subject's reps,
    hip back within 5 mm, foot_pos within 0.02, shear and free moment as sent, LSL's clock offsets stored."""
    import json

    from drivers.sim.subject import VirtualSubject
    from station.cli import main
    from station.recording.reader import read_trial

    dz, plate_rate, mocap_rate = 0.041, 1000.0, 100.0
    plate_name, markers_name = mocap_name("rec-plate"), mocap_name("rec-mocap")
    origin = np.array([1.2, 0.0, -0.5])
    rot = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # rows: plate x, y, z in the lab
    (tmp_path / "station.toml").write_text(
        f'[lsl_plate]\norigin_depth_m = {dz}\n[c3d]\nlab_up_axis = "+y"\nlab_anterior_axis = "-z"\n'
        f"[lsl_markers]\nplate_origin_m = {origin.tolist()}\n")
    monkeypatch.setenv("HINGE_STATION_CONFIG", str(tmp_path / "station.toml"))
    config = config_from_dict({})
    # two reps: a third passes through the same poses and streams 7.5 s more in real time
    subject = VirtualSubject("hinge", reps=2, arms="arms_crossed", fidget=False, standing_s=3.0)
    names = ("hip", "knee", "ankle", "shoulder", "head")
    labels = ("RGT", "RKNE", "RANK", "RSHO", "RHEAD")  # the lab's names: mapped by --markers

    def shear(t: np.ndarray) -> np.ndarray:  # a swing-like forward-back drive and a steady twist
        return np.column_stack([25.0 * np.sin(2 * np.pi * 0.4 * t), np.full_like(t, -12.0),
                                1.5 + 0.5 * np.sin(2 * np.pi * 0.3 * t)])

    def six_of(t: np.ndarray) -> np.ndarray:
        cells = subject.cell_loads_n(t)
        fz = cells.sum(axis=1)
        cop = cells @ config.plate.channel_xy / np.maximum(fz, 1e-9)[:, None]
        fx, fy, mz = shear(t).T
        mx, my = fz * cop[:, 1] + fy * dz, -fz * cop[:, 0] - fx * dz
        return np.column_stack([fx, fy, fz, mx, my, mz])

    plate_out = open_outlet(plate_name, 6, kind="Force", rate=plate_rate, channels=[
        (("label", lbl), ("unit", unit))
        for lbl, unit in zip(("Fx", "Fy", "Fz", "Mx", "My", "Mz"), ("N", "N", "N", "N.m", "N.m", "N.m"),
                             strict=True)])
    mocap_out = mocap_outlet(markers_name, 15, rate=mocap_rate, channels=xdf_channels(labels))
    def lab_mm(t: np.ndarray) -> np.ndarray:
        truth = subject.markers(t)
        lab = np.stack([truth[n] @ rot + origin for n in names], axis=1) * 1000.0  # mm
        return lab.reshape(len(t), -1)

    epoch_ns = time.monotonic_ns()  # the subject's t = 0
    out = tmp_path / "t.h5"
    with pushing_in_real_time(epoch_ns, [(plate_out, plate_rate, six_of), (mocap_out, mocap_rate, lab_mm)],
                              until_s=subject.duration_s):
        rc = main(["record", "--plate", f"lsl:{plate_name}", "--markers", f"lsl:{markers_name}",
                   "--markers", "hip=RGT,knee=RKNE,ankle=RANK,shoulder=RSHO,head=RHEAD",
                   "--subject", "S-MOCAP", "--drill", "bw_rdl", "--arms", "arms_crossed",
                   "--zero-check-s", "0", "--duration", f"{subject.duration_s + 0.5:.1f}", "--out", str(out)])
    assert rc == 0
    trial = read_trial(out)
    # the subject's t = 0 on the trial clock: both streams' stamps reach it through LSL's time_correction
    offset_s = (epoch_ns - trial.t0_host_ns) / 1e9
    truth = subject.truth.reps
    assert -offset_s < truth[0].t_start - 0.5, f"recording opened {-offset_s:.2f} s in: first rep missed"
    assert len(trial.reps) == len(truth), [(r.t_start, r.t_end) for r in trial.reps]
    for rep, want in zip(trial.reps, truth, strict=True):
        assert abs(rep.t_end - (want.t_end + offset_s)) < 0.3
        assert abs(rep.hip_back_mm - want.hip_back_mm) < 5.0, (rep.hip_back_mm, want.hip_back_mm)
        assert abs(rep.foot_pos_bottom - want.foot_pos_bottom) < 0.02, (rep.foot_pos_bottom,
                                                                         want.foot_pos_bottom)
    # six components kept: shear and free moment as sent (Tz = Mz - COPx Fy + COPy Fx)
    assert trial.metadata["plate_components"] == "six-component"
    f = trial.force
    t_sim = f.t_s - offset_s
    ok = (t_sim > 0.05) & (t_sim < subject.duration_s - 0.05)
    want = shear(t_sim[ok])
    np.testing.assert_allclose(f.shear_n[ok], want[:, :2], atol=0.5)
    cop = trial.cop_xy_m[ok]
    loaded = np.isfinite(cop[:, 0])
    tz = want[:, 2] - cop[:, 0] * want[:, 1] + cop[:, 1] * want[:, 0]
    np.testing.assert_allclose(f.free_moment_nm[ok][loaded], tz[loaded], atol=0.05)
    # the mocap's markers, not a camera's: 100 Hz rows in the plate frame
    assert len(trial.markers) > 0.8 * mocap_rate * (subject.duration_s - 3)
    # LSL's clock offsets stored beside the station's own mapping, for both streams
    for key in ("plate_clock", "markers_clock"):
        clock = json.loads(trial.sync[key])
        assert clock["source_clock"]["mapping"] == "lsl time_correction"
        assert clock["source_clock"]["correction_s"] is not None and clock["source_clock"]["updates"] >= 1
    mapping = json.loads(trial.sync["markers_clock"])["mapping"]
    assert mapping["labels"]["hip"] == "RGT" and mapping["anterior_from"] == "config c3d.lab_anterior_axis"
    # the file analyzes to the reps the live trial gave (the mocap's rows are the markers it stores)
    from station.analysis.analyze import LoadOptions, analyze_path

    again = analyze_path(out, LoadOptions(config=config_from_dict({})))
    assert [round(r.t_end, 3) for r in again.reps] == [round(r.t_end, 3) for r in trial.reps]
    assert [round(r.hip_back_mm, 2) for r in again.reps] == [round(r.hip_back_mm, 2) for r in trial.reps]


@pytest.mark.slow
def test_record_with_mocap_and_a_camera_keeps_the_cameras_dowel(tmp_path, monkeypatch):
    """`record --plate sim:hinge --camera sim:hinge --markers lsl:M`: the mocap (the same virtual subject,
    on the simulator's timeline) gives the markers, the camera still gives the virtual dowel."""
    from drivers.sim.subject import VirtualSubject
    from drivers.sim.timeline import reset_trial_epoch, trial_epoch_ns
    from station.cli import main
    from station.recording.reader import read_trial

    name, rate, duration = mocap_name("rec-cam"), 100.0, 12
    monkeypatch.setenv("HINGE_STATION_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    subject = VirtualSubject("hinge", arms="arms_crossed")
    outlet = mocap_outlet(name, 15, rate=rate, channels=xdf_channels(LABELS))
    reset_trial_epoch()
    epoch_ns = trial_epoch_ns()  # the sim camera and plate start on this same t = 0

    def xyz_mm(t: np.ndarray) -> np.ndarray:
        truth = subject.markers(np.mod(t, subject.duration_s))
        xyz = np.stack([truth[n] for n in ("hip", "knee", "ankle", "shoulder", "head")], axis=1)
        return (xyz * 1000.0).reshape(len(t), -1)

    out = tmp_path / "t.h5"
    try:
        with pushing_in_real_time(epoch_ns, [(outlet, rate, xyz_mm)]):
            rc = main(["record", "--plate", "sim:hinge", "--camera", "sim:hinge", "--markers", f"lsl:{name}",
                       "--subject", "S-MOCAP", "--drill", "bw_rdl", "--arms", "arms_crossed", "--no-stills",
                       "--duration", str(duration), "--out", str(out)])
    finally:
        reset_trial_epoch()
    assert rc == 0
    trial = read_trial(out)
    frames = len(trial.camera_index["t_s"])
    assert frames > 100 and trial.dowel is not None and len(trial.dowel["t_s"]) > 0.5 * frames
    assert np.isfinite(trial.dowel["worst_gap_mm"]).mean() > 0.3  # the dowel measured, placed by the mocap
    assert len(trial.markers) > 0.8 * rate * (duration - 2) > frames  # mocap rows, not camera rows
    assert np.isnan(trial.marker_pixels["hip"]).all()
    # each rep is the subject's rep at the same time (the sim's t = 0 is epoch_ns on the trial clock)
    offset_s = (epoch_ns - trial.t0_host_ns) / 1e9
    # a rep still under way when the recording stopped ends with it (the subject was 3-4 s into its timeline
    # when a loaded host opened the recording, and its second rep ends at 15.1 s): judged are the ones before
    end_s = float(trial.force.t_s[-1])
    judged = [rep for rep in trial.reps if rep.t_end < end_s - 1.0]
    assert judged, ("no rep ended inside the recording", [r.t_end for r in trial.reps], end_s)
    for rep in judged:
        t_sim = np.mod(rep.t_end - offset_s, subject.duration_s)
        want = min(subject.truth.reps, key=lambda r: abs(r.t_end - t_sim))
        assert abs(want.t_end - t_sim) < 0.3, (rep.t_end, t_sim, [r.t_end for r in subject.truth.reps])
        assert abs(rep.hip_back_mm - want.hip_back_mm) < 5.0, (rep.hip_back_mm, want.hip_back_mm, offset_s)
        assert abs(rep.foot_pos_bottom - want.foot_pos_bottom) < 0.02
