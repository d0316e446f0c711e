"""`--plate lsl:NAME`: LSL outlets on loopback -> LslPlate chunks -> the station's newtons and CoP."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

pylsl = pytest.importorskip("pylsl")

from drivers.lsl_plate import LslPlate  # noqa: E402
from drivers.registry import open_plate, resolve  # noqa: E402
from drivers.samples import PlateChunk, PlateSource  # noqa: E402
from station.config import StationConfig, config_from_dict  # noqa: E402
from station.errors import StationError  # noqa: E402

RATE = 500.0
DZ = 0.041


def _name(tag: str) -> str:
    return f"hinge-test-{tag}-{uuid.uuid4().hex[:8]}"


def _outlet(name: str, n: int, *, rate: float = RATE, fmt: str = "float32", labels=None, units=None,
            source_id: str | None = None):
    info = pylsl.StreamInfo(name, "Force", n, rate, fmt, source_id or name)
    if labels:
        chans = info.desc().append_child("channels")
        for lbl, unit in zip(labels, units or [""] * n, strict=True):
            ch = chans.append_child("channel")
            ch.append_child_value("label", lbl)
            ch.append_child_value("unit", unit)
            ch.append_child_value("type", "Force")
    return pylsl.StreamOutlet(info)


def _wait_consumer(outlet, timeout_s: float = 5.0) -> None:
    assert outlet.wait_for_consumers(timeout_s)
    time.sleep(0.2)  # the inlet's data connection is up before the first sample is pushed


def _collect(plate: LslPlate, n: int, timeout_s: float = 10.0) -> PlateChunk:
    chunks, got, t_end = [], 0, time.monotonic() + timeout_s
    while got < n and time.monotonic() < t_end:
        for c in plate.read(0.1):
            chunks.append(c)
            got += len(c)
    return PlateChunk.concat(chunks)


def _truth(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fz (N), CoP (N,2) m and shear (N,2) N of a subject rocking heel to toe and side to side."""
    t = np.arange(k) / RATE
    fz = 700.0 + 150.0 * np.sin(2 * np.pi * 0.7 * t)
    cop = np.stack([-0.05 + 0.12 * np.sin(2 * np.pi * 0.5 * t), 0.04 * np.cos(2 * np.pi * 0.3 * t)], axis=1)
    shear = np.stack([30.0 * np.sin(2 * np.pi * 1.1 * t), -20.0 * np.cos(2 * np.pi * 0.9 * t)], axis=1)
    return fz, cop, shear


def _six(fz, cop, shear) -> np.ndarray:
    """Fx Fy Fz Mx My Mz about an origin DZ below the top (C3D type-2 / AMTI, as drivers.lsl_plate says)."""
    fx, fy = shear[:, 0], shear[:, 1]
    my = -fz * cop[:, 0] - fx * DZ
    mx = fz * cop[:, 1] + fy * DZ
    return np.stack([fx, fy, fz, mx, my, np.full_like(fz, 3.0)], axis=1)


def _fz_cop(chunk: PlateChunk, plate: LslPlate, config: StationConfig) -> tuple[np.ndarray, np.ndarray]:
    sheet = plate.factory_calibration()
    cells = (chunk.counts - np.asarray(sheet["offsets_counts"])) * np.asarray(sheet["gains_n_per_count"])
    fz = cells.sum(axis=1)
    return fz, cells @ config.plate.channel_xy / fz[:, None]


def _push(outlet, rows: np.ndarray, t0: float, k0: int = 0) -> None:
    ts = t0 + (k0 + np.arange(len(rows))) / RATE
    for i in range(0, len(rows), 50):
        outlet.push_chunk(rows[i:i + 50].tolist(), ts[i:i + 50].tolist())


def test_registry_names_lsl():
    assert resolve("plate", "lsl:MyPlate") == ("lsl", "MyPlate")
    plate = open_plate("lsl:MyPlate")
    assert isinstance(plate, LslPlate) and isinstance(plate, PlateSource)


@pytest.mark.parametrize("metadata", [True, False])
def test_six_component_plate_gives_truth_fz_and_cop(metadata):
    name = _name("six")
    config = config_from_dict({"lsl_plate": {"origin_depth_m": DZ}})
    k = 1000
    fz, cop, shear = _truth(k)
    six = _six(fz, cop, shear)
    if metadata:  # shuffled channels, forces in kN and moments in N·mm: the metadata says so
        labels, units = ["Mz", "Fz", "Fx", "My", "Fy", "Mx"], ["N.mm", "kN", "kN", "N.mm", "kN", "N.mm"]
        scale = {"F": 1e-3, "M": 1e3}
        cols = {lbl: i for i, lbl in enumerate(["Fx", "Fy", "Fz", "Mx", "My", "Mz"])}
        rows = np.stack([six[:, cols[lbl]] * scale[lbl[0]] for lbl in labels], axis=1)
        outlet = _outlet(name, 6, labels=labels, units=units, fmt="double64")
    else:
        rows, outlet = six, _outlet(name, 6)
    with LslPlate(name, config, resolve_timeout_s=5.0) as plate:
        _wait_consumer(outlet)
        t0 = pylsl.local_clock()
        _push(outlet, rows, t0)
        chunk = _collect(plate, k)
    assert len(chunk) == k
    got_fz, got_cop = _fz_cop(chunk, plate, config)
    np.testing.assert_allclose(got_fz, fz, atol=1.0)
    np.testing.assert_allclose(got_cop, cop, atol=1e-3)
    stats = plate.stats()
    assert stats["variant"] == "lsl-6axis" and stats["lost"] == 0 and stats["samples"] == k
    assert stats["rate_hz"] == RATE and stats["clock"]["mapping"] == "lsl time_correction"
    # device clock is the sample's stamp; host = stamp + time_correction in time.monotonic_ns()
    np.testing.assert_allclose(chunk.t_device_s, t0 + np.arange(k) / RATE, atol=1e-6)
    assert abs(int(chunk.t_host_ns[-1]) - time.monotonic_ns()) < 5e9
    assert np.all(np.diff(chunk.seq) == 1)


def test_four_cell_plate_in_newtons():
    name = _name("four")
    config = StationConfig()
    k = 400
    rng = np.random.default_rng(1)
    cells = 150.0 + 40.0 * rng.random((k, 4))
    outlet = _outlet(name, 4, labels=["c0", "c1", "c2", "c3"], units=["N"] * 4)
    with LslPlate(name, config) as plate:
        _wait_consumer(outlet)
        _push(outlet, cells, pylsl.local_clock())
        chunk = _collect(plate, k)
    got = chunk.counts * np.asarray(plate.factory_calibration()["gains_n_per_count"])
    np.testing.assert_allclose(got, cells, atol=1e-3)
    assert plate.stats()["variant"] == "lsl-4cell" and plate.stats()["channels"] == ["c0", "c1", "c2", "c3"]


@pytest.mark.parametrize(("n", "rate", "fmt", "said"), [
    (5, RATE, "float32", "5 channels"),
    (6, 0.0, "float32", "irregular rate"),
    (4, RATE, "string", "string samples"),
])
def test_wrong_shape_is_refused_naming_the_stream(n, rate, fmt, said):
    name = _name("bad")
    outlet = _outlet(name, n, rate=rate, fmt=fmt)
    with pytest.raises(StationError) as err:
        LslPlate(name, resolve_timeout_s=5.0).start()
    assert name in str(err.value) and said in str(err.value)
    del outlet


def test_stream_not_found_is_one_line():
    name = _name("absent")
    with pytest.raises(StationError) as err:
        LslPlate(name, resolve_timeout_s=0.5).start()
    text = str(err.value)
    assert name in text and "\n" not in text and "0.5 s" in text


def test_stream_vanishing_then_returning_is_a_reported_gap():
    name = _name("gone")
    k1, gap, k2 = 200, 150, 200
    rows = np.tile([0.0, 0.0, 600.0, 0.0, 0.0, 0.0], (k1 + gap + k2, 1))
    outlet = _outlet(name, 6, source_id=f"{name}-a")
    plate = LslPlate(name, StationConfig())
    plate.start()
    try:
        _wait_consumer(outlet)
        t0 = pylsl.local_clock()
        _push(outlet, rows[:k1], t0)
        first = _collect(plate, k1)
        del outlet  # the plate is unplugged
        t_end = time.monotonic() + 10
        while plate.stats()["disconnects"] == 0 and time.monotonic() < t_end:
            plate.read(0.1)
        assert plate.stats()["disconnects"] == 1 and not plate.stats()["connected"]
        outlet = _outlet(name, 6, source_id=f"{name}-b")  # plugged back in
        _wait_consumer(outlet, 10.0)
        _push(outlet, rows[k1 + gap:], t0, k1 + gap)
        second = _collect(plate, k2)
    finally:
        plate.stop()
    assert len(first) == k1 and len(second) == k2
    stats = plate.stats()
    assert stats["reconnects"] == 1 and stats["lost"] == gap
    assert int(second.seq[0]) - int(first.seq[-1]) - 1 == gap
    assert any("lost" in e and "reconnecting" in e for e in plate.events)
    assert any(f"{gap} samples lost while disconnected" in e for e in plate.events)


@pytest.mark.slow
def test_record_with_an_lsl_six_component_plate_gives_the_sims_reps(tmp_path, monkeypatch):
    """`record --plate lsl:NAME --camera sim:hinge`: a lab's six-component plate streaming the virtual
    subject's forces (on the simulator's shared timeline) is recorded like the station's own plate."""
    import threading

    from drivers.sim.subject import VirtualSubject
    from drivers.sim.timeline import reset_trial_epoch, trial_epoch_ns
    from station.cli import main
    from station.recording.reader import read_trial

    name, rate, duration = _name("record"), 1000.0, 17
    (tmp_path / "station.toml").write_text(f"[lsl_plate]\norigin_depth_m = {DZ}\n")
    monkeypatch.setenv("HINGE_STATION_CONFIG", str(tmp_path / "station.toml"))
    config = config_from_dict({"lsl_plate": {"origin_depth_m": DZ}})
    subject = VirtualSubject("hinge", arms="arms_crossed")
    outlet = _outlet(name, 6, rate=rate, labels=["Fx", "Fy", "Fz", "Mx", "My", "Mz"],
                     units=["N", "N", "N", "N.m", "N.m", "N.m"])
    reset_trial_epoch()
    epoch_ns = trial_epoch_ns()  # the sim camera starts on this same t=0
    lsl_epoch_s = pylsl.local_clock() - (time.monotonic_ns() - epoch_ns) / 1e9  # t=0 on LSL's clock
    done = threading.Event()

    def stream() -> None:
        k = 0
        while not done.is_set():
            k_now = int((time.monotonic_ns() - epoch_ns) / 1e9 * rate)
            if k_now > k:
                ks = np.arange(k, k_now)
                t = ks / rate
                cells = subject.cell_loads_n(np.mod(t, subject.duration_s))
                fz = cells.sum(axis=1)
                cop = cells @ config.plate.channel_xy / np.maximum(fz, 1e-9)[:, None]
                six = _six(fz, cop, np.zeros((len(ks), 2)))
                outlet.push_chunk(six.tolist(), (lsl_epoch_s + t).tolist())
                k = k_now
            done.wait(0.01)

    pusher = threading.Thread(target=stream, daemon=True)
    pusher.start()
    out = tmp_path / "t.h5"
    try:
        rc = main(["record", "--plate", f"lsl:{name}", "--camera", "sim:hinge", "--subject", "S-LSL",
                   "--drill", "bw_rdl", "--arms", "arms_crossed", "--duration", str(duration),
                   "--out", str(out)])
    finally:
        done.set()
        pusher.join(2)
        reset_trial_epoch()
    assert rc == 0
    trial = read_trial(out)
    assert 2 <= len(trial.reps) <= len(subject.truth.reps)
    # which of the subject's reps were recorded: trial t=0 is the runner's start, not the sim's, and on a
    # loaded host the camera may open after the first rep began. Align on the rep spacing.
    # a recording that opened while the subject was already hinging (a loaded host: CI saw the first rep
    # start at 2.6 s with a 24 deg "standing" trunk) has a partial first rep: compare the whole ones
    recorded = [r for r in trial.reps if r.t_start > 3.0] if trial.reps[0].t_start < 3.0 else trial.reps
    assert recorded, [r.t_start for r in trial.reps]
    trial.reps = recorded
    ends = np.array([r.t_end for r in trial.reps])
    every = subject.truth.reps

    def misfit(k: int) -> float:
        want = np.array([r.t_end for r in every[k:k + len(ends)]])
        return float(np.abs((ends - ends[0]) - (want - want[0])).max())

    first = min(range(len(every) - len(ends) + 1), key=misfit)
    truth = every[first:first + len(ends)]
    offset = trial.reps[0].t_end - truth[0].t_end
    for rep, want in zip(trial.reps, truth, strict=True):
        assert abs(rep.t_end - want.t_end - offset) < 0.3
        assert abs((rep.t_end - rep.t_start) - (want.t_end - want.t_start)) < 0.3
        assert rep.foot_pos_bottom is not None and 0.2 < rep.foot_pos_bottom < 0.7  # CoP from the plate
