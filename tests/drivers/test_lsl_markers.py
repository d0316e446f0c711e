"""`--markers lsl:NAME`: LSL MoCap outlets on loopback -> LslMarkers chunks -> the station's markers in the
plate frame (station.trial.mocap), by the C3D import's presets, mapping and frame rule."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

pylsl = pytest.importorskip("pylsl")

from drivers.lsl_markers import LslMarkers  # noqa: E402
from drivers.registry import open_markers, resolve  # noqa: E402
from drivers.samples import MarkerChunk, MarkerSource  # noqa: E402
from station.config import config_from_dict  # noqa: E402
from station.errors import StationError  # noqa: E402
from station.trial.mocap import MocapStep  # noqa: E402

RATE = 200.0
LABELS = ("HIP", "KNEE", "ANKLE", "SHOULDER", "HEAD")


def _name(tag: str) -> str:
    return f"hinge-test-mocap-{tag}-{uuid.uuid4().hex[:8]}"


def _outlet(name: str, n: int, *, rate: float = RATE, fmt: str = "float32", channels=None,
            source_id: str | None = None):
    """channels: (label, marker, type, unit) per channel as the XDF MoCap meta-data has them."""
    info = pylsl.StreamInfo(name, "MoCap", n, rate, fmt, source_id or name)
    if channels:
        chans = info.desc().append_child("channels")
        for label, marker, kind, unit in channels:
            ch = chans.append_child("channel")
            ch.append_child_value("label", label)
            if marker:
                ch.append_child_value("marker", marker)
            if kind:
                ch.append_child_value("type", kind)
            ch.append_child_value("unit", unit)
    return pylsl.StreamOutlet(info)


def _xdf_channels(labels, unit="millimeters"):
    return [(f"{m}_{a}", m, f"Position{a}", unit) for m in labels for a in "XYZ"]


def _wait_consumer(outlet, timeout_s: float = 5.0) -> None:
    assert outlet.wait_for_consumers(timeout_s)
    time.sleep(0.2)  # the inlet's data connection is up before the first sample is pushed


def _collect(src: LslMarkers, n: int, timeout_s: float = 10.0) -> MarkerChunk:
    chunks, got, t_end = [], 0, time.monotonic() + timeout_s
    while got < n and time.monotonic() < t_end:
        for c in src.read(0.1):
            chunks.append(c)
            got += len(c)
    return MarkerChunk.concat(chunks)


def _truth(k: int) -> np.ndarray:
    """(k, 5, 3) metres: five markers moving differently (hip goes back and down)."""
    t = np.arange(k) / RATE
    base = np.array([[-0.05, 0.2, 0.95], [0.02, 0.2, 0.5], [-0.02, 0.2, 0.09], [0.0, 0.2, 1.45],
                     [0.02, 0.2, 1.65]])
    move = np.stack([-0.15 * np.sin(np.pi * t / t[-1]), 0 * t, -0.1 * np.sin(np.pi * t / t[-1])], axis=1)
    out = np.repeat(base[None], k, axis=0)
    out[:, 0] += move
    out[:, 3] += 2 * move
    return out


def _push(outlet, rows: np.ndarray, t0: float, k0: int = 0) -> None:
    ts = t0 + (k0 + np.arange(len(rows))) / RATE
    for i in range(0, len(rows), 20):
        outlet.push_chunk(rows[i:i + 20].tolist(), ts[i:i + 20].tolist())


def test_registry_names_lsl_markers():
    assert resolve("markers", "lsl:Qualisys") == ("lsl", "Qualisys")
    src = open_markers("lsl:Qualisys")
    assert isinstance(src, LslMarkers) and isinstance(src, MarkerSource)
    with pytest.raises(StationError, match="lsl:NAME"):
        resolve("markers", "qualisys")


def test_metadata_labels_units_and_order():
    """Channels shuffled, in mm, named by marker + type: the chunk holds metres per marker, x y z."""
    name = _name("meta")
    k = 300
    truth = _truth(k)
    channels = _xdf_channels(LABELS)
    order = np.random.default_rng(3).permutation(len(channels))
    flat = truth.reshape(k, -1) * 1000.0  # mm, marker-major x y z
    outlet = _outlet(name, 15, channels=[channels[i] for i in order])
    with LslMarkers(name, resolve_timeout_s=5.0) as src:
        _wait_consumer(outlet)
        t0 = pylsl.local_clock()
        _push(outlet, flat[:, order], t0)
        chunk = _collect(src, k)
    assert len(chunk) == k and sorted(chunk.labels) == sorted(LABELS)  # in the stream's order of first use
    for i, label in enumerate(LABELS):
        np.testing.assert_allclose(chunk.positions_m[:, chunk.labels.index(label)], truth[:, i], atol=1e-6)
    np.testing.assert_allclose(chunk.t_device_s, t0 + np.arange(k) / RATE, atol=1e-6)
    stats = src.stats()
    assert stats["labels_from"] == "stream metadata" and stats["lost"] == 0 and stats["rate_hz"] == RATE
    assert stats["clock"]["mapping"] == "lsl time_correction" and stats["clock"]["correction_s"] is not None
    assert abs(int(chunk.t_host_ns[-1]) - time.monotonic_ns()) < 5e9


def test_stream_without_metadata_is_read_by_the_tomls_order_and_unit():
    name = _name("order")
    config = config_from_dict({"lsl_markers": {"channel_labels": list(LABELS), "unit": "cm"}})
    k = 100
    truth = _truth(k)
    truth[5:9, 2] = 0.0  # the head occluded: 0, 0, 0 as mocap systems send it
    outlet = _outlet(name, 15)
    with LslMarkers(name, config) as src:
        _wait_consumer(outlet)
        _push(outlet, truth.reshape(k, -1) * 100.0, pylsl.local_clock())
        chunk = _collect(src, k)
    assert chunk.labels == LABELS and src.stats()["labels_from"] == "[lsl_markers] channel_labels"
    assert np.isnan(chunk.positions_m[5:9, 2]).all()
    np.testing.assert_allclose(chunk.positions_m[9:], truth[9:], atol=1e-5)


@pytest.mark.parametrize(("n", "rate", "fmt", "said"), [
    (7, RATE, "float32", "7 channels"),
    (15, 0.0, "float32", "irregular rate"),
    (15, RATE, "string", "string samples"),
])
def test_wrong_shape_is_refused_naming_the_stream(n, rate, fmt, said):
    name = _name("bad")
    outlet = _outlet(name, n, rate=rate, fmt=fmt)
    with pytest.raises(StationError) as err:
        LslMarkers(name, resolve_timeout_s=5.0).start()
    assert name in str(err.value) and said in str(err.value) and "\n" not in str(err.value)
    del outlet


def test_no_labels_anywhere_is_refused_naming_the_setting():
    name = _name("nolabels")
    outlet = _outlet(name, 15)
    with pytest.raises(StationError) as err:
        LslMarkers(name, resolve_timeout_s=5.0).start()
    assert name in str(err.value) and "[lsl_markers] channel_labels" in str(err.value)
    del outlet


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
    name = _name("unknown")
    outlet = _outlet(name, 9, channels=_xdf_channels(("PELV1", "THIGH2", "SHANK3")))
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
    truth = _truth(50)
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


def test_stream_vanishing_then_returning_is_a_reported_gap():
    name = _name("gone")
    k1, gap, k2 = 100, 60, 100
    rows = _truth(k1 + gap + k2).reshape(k1 + gap + k2, -1) * 1000.0
    outlet = _outlet(name, 15, channels=_xdf_channels(LABELS), source_id=f"{name}-a")
    src = LslMarkers(name)
    src.start()
    try:
        _wait_consumer(outlet)
        t0 = pylsl.local_clock()
        _push(outlet, rows[:k1], t0)
        first = _collect(src, k1)
        del outlet  # the mocap system is switched off
        t_end = time.monotonic() + 10
        while src.stats()["disconnects"] == 0 and time.monotonic() < t_end:
            src.read(0.1)
        assert src.stats()["disconnects"] == 1 and not src.stats()["connected"]
        outlet = _outlet(name, 15, channels=_xdf_channels(LABELS), source_id=f"{name}-b")
        _wait_consumer(outlet, 10.0)
        _push(outlet, rows[k1 + gap:], t0, k1 + gap)
        second = _collect(src, k2)
    finally:
        src.stop()
    assert len(first) == k1 and len(second) == k2
    stats = src.stats()
    assert stats["reconnects"] == 1 and stats["lost"] == gap
    assert any("lost" in e and "reconnecting" in e for e in src.events)
    assert any(f"{gap} samples lost while disconnected" in e for e in src.events)


def test_mocap_vanishing_mid_trial_is_an_outage_and_a_gap_in_the_file(tmp_path):
    """The runner with only a mocap stream: switched off for ~1 s, then back; the trial says so (events,
    outages) and its markers rows have the hole (nothing filled in)."""
    from station.recording.reader import read_trial
    from station.recording.writer import TrialWriter
    from station.trial.consumers import TrialFileConsumer
    from station.trial.runner import TrialRunner

    name = _name("outage")
    config = config_from_dict({})
    k = 600  # 3 s at 200 Hz: 1 s, ~1 s away, 1 s
    rows = _truth(k).reshape(k, -1) * 1000.0
    outlet = _outlet(name, 15, channels=_xdf_channels(LABELS), source_id=f"{name}-a")
    writer = TrialWriter(tmp_path / "t.h5", config=config, metadata={"subject_id": "S-O", "drill": "bw_rdl"})
    runner = TrialRunner(None, None, config, consumers=[TrialFileConsumer(writer)],
                         markers=LslMarkers(name, config))
    runner.start()
    try:
        _wait_consumer(outlet)
        t0 = pylsl.local_clock()
        _push(outlet, rows[:200], t0)
        time.sleep(0.5)
        del outlet  # switched off
        t_end = time.monotonic() + 10
        while not runner.stats()["outages"] and time.monotonic() < t_end:
            time.sleep(0.1)
        outlet = _outlet(name, 15, channels=_xdf_channels(LABELS), source_id=f"{name}-b")
        _wait_consumer(outlet, 10.0)
        _push(outlet, rows[400:], t0, 400)
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
    import threading

    from drivers.sim.subject import VirtualSubject
    from station.cli import main
    from station.recording.reader import read_trial

    dz, plate_rate, mocap_rate = 0.041, 1000.0, 100.0
    plate_name, mocap_name = _name("rec-plate"), _name("rec-mocap")
    origin = np.array([1.2, 0.0, -0.5])
    rot = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # rows: plate x, y, z in the lab
    (tmp_path / "station.toml").write_text(
        f'[lsl_plate]\norigin_depth_m = {dz}\n[c3d]\nlab_up_axis = "+y"\nlab_anterior_axis = "-z"\n'
        f"[lsl_markers]\nplate_origin_m = {origin.tolist()}\n")
    monkeypatch.setenv("HINGE_STATION_CONFIG", str(tmp_path / "station.toml"))
    config = config_from_dict({})
    subject = VirtualSubject("hinge", reps=3, arms="arms_crossed", fidget=False, standing_s=3.0)
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

    plate_out = pylsl.StreamOutlet(_plate_info(plate_name, plate_rate))
    mocap_out = _outlet(mocap_name, 15, rate=mocap_rate, channels=_xdf_channels(labels))
    epoch_ns = time.monotonic_ns()  # the subject's t = 0
    lsl_epoch_s = pylsl.local_clock() - (time.monotonic_ns() - epoch_ns) / 1e9
    done = threading.Event()

    def stream() -> None:
        kp = km = 0
        while not done.is_set():
            t_now = min((time.monotonic_ns() - epoch_ns) / 1e9, subject.duration_s)
            kp_now, km_now = int(t_now * plate_rate), int(t_now * mocap_rate)
            if kp_now > kp:
                t = np.arange(kp, kp_now) / plate_rate
                plate_out.push_chunk(six_of(t).tolist(), (lsl_epoch_s + t).tolist())
                kp = kp_now
            if km_now > km:
                t = np.arange(km, km_now) / mocap_rate
                truth = subject.markers(t)
                lab = np.stack([truth[n] @ rot + origin for n in names], axis=1) * 1000.0  # mm
                mocap_out.push_chunk(lab.reshape(len(t), -1).tolist(), (lsl_epoch_s + t).tolist())
                km = km_now
            done.wait(0.01)

    pusher = threading.Thread(target=stream, daemon=True)
    pusher.start()
    out = tmp_path / "t.h5"
    try:
        rc = main(["record", "--plate", f"lsl:{plate_name}", "--markers", f"lsl:{mocap_name}",
                   "--markers", "hip=RGT,knee=RKNE,ankle=RANK,shoulder=RSHO,head=RHEAD",
                   "--subject", "S-MOCAP", "--drill", "bw_rdl", "--arms", "arms_crossed",
                   "--zero-check-s", "0", "--duration", f"{subject.duration_s + 0.5:.1f}", "--out", str(out)])
    finally:
        done.set()
        pusher.join(2)
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


def _plate_info(name: str, rate: float):
    info = pylsl.StreamInfo(name, "Force", 6, rate, "float32", name)
    chans = info.desc().append_child("channels")
    for lbl, unit in zip(("Fx", "Fy", "Fz", "Mx", "My", "Mz"), ("N", "N", "N", "N.m", "N.m", "N.m"),
                         strict=True):
        ch = chans.append_child("channel")
        ch.append_child_value("label", lbl)
        ch.append_child_value("unit", unit)
    return info


@pytest.mark.slow
def test_record_with_mocap_and_a_camera_keeps_the_cameras_dowel(tmp_path, monkeypatch):
    """`record --plate sim:hinge --camera sim:hinge --markers lsl:M`: the mocap (the same virtual subject,
    on the simulator's timeline) gives the markers, the camera still gives the virtual dowel."""
    import threading

    from drivers.sim.subject import VirtualSubject
    from drivers.sim.timeline import reset_trial_epoch, trial_epoch_ns
    from station.cli import main
    from station.recording.reader import read_trial

    name, rate, duration = _name("rec-cam"), 100.0, 12
    monkeypatch.setenv("HINGE_STATION_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    subject = VirtualSubject("hinge", arms="arms_crossed")
    outlet = _outlet(name, 15, rate=rate, channels=_xdf_channels(LABELS))
    reset_trial_epoch()
    epoch_ns = trial_epoch_ns()  # the sim camera and plate start on this same t = 0
    lsl_epoch_s = pylsl.local_clock() - (time.monotonic_ns() - epoch_ns) / 1e9
    done = threading.Event()

    def stream() -> None:
        k = 0
        while not done.is_set():
            k_now = int((time.monotonic_ns() - epoch_ns) / 1e9 * rate)
            if k_now > k:
                t = np.arange(k, k_now) / rate
                truth = subject.markers(np.mod(t, subject.duration_s))
                xyz = np.stack([truth[n] for n in ("hip", "knee", "ankle", "shoulder", "head")], axis=1)
                outlet.push_chunk((xyz * 1000.0).reshape(len(t), -1).tolist(), (lsl_epoch_s + t).tolist())
                k = k_now
            done.wait(0.01)

    pusher = threading.Thread(target=stream, daemon=True)
    pusher.start()
    out = tmp_path / "t.h5"
    try:
        rc = main(["record", "--plate", "sim:hinge", "--camera", "sim:hinge", "--markers", f"lsl:{name}",
                   "--subject", "S-MOCAP", "--drill", "bw_rdl", "--arms", "arms_crossed", "--no-stills",
                   "--duration", str(duration), "--out", str(out)])
    finally:
        done.set()
        pusher.join(2)
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
    assert trial.reps, "no reps"
    for rep in trial.reps:
        t_sim = np.mod(rep.t_end - offset_s, subject.duration_s)
        want = min(subject.truth.reps, key=lambda r: abs(r.t_end - t_sim))
        assert abs(want.t_end - t_sim) < 0.3, (rep.t_end, t_sim, [r.t_end for r in subject.truth.reps])
        assert abs(rep.hip_back_mm - want.hip_back_mm) < 5.0, (rep.hip_back_mm, want.hip_back_mm, offset_s)
        assert abs(rep.foot_pos_bottom - want.foot_pos_bottom) < 0.02
