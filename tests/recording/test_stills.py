"""One camera still per rep (recording.stills): the live runner keeps the frame nearest each rep's bottom in
/stills, the reader gives it back, the report draws it (IR + markers + virtual dowel); files without
/stills still read and report. Truth: the rep bottom the runner itself reported and the marker pixels it
tracked (stored in /markers per frame); one rounding rep at 15 fps (~12 s) keeps it short."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from station.config import StationConfig
from station.recording.stills import STILL_STEP_S, StillRing
from tests.conftest import run_cli

FPS = 15


@pytest.fixture(scope="module")
def live_trial(tmp_path_factory):
    from drivers.sim.subject import VirtualSubject
    from station.recording.writer import TrialWriter
    from station.trial.consumers import TrialFileConsumer
    from station.trial.runner import TrialRunner
    from tests.support.integrate_sources import PlaybackCamera, SharedHostClock, SubjectPlate, record_fast
    from tests.support.trial_fixtures import KnownCalibration

    folder = tmp_path_factory.mktemp("stills")
    db3 = folder / "rounding.db3"
    res = run_cli("sim", "camera", "--pattern", "rounding", "--reps", "1", "--fps", str(FPS),
                  "--out", str(db3), timeout=300)
    assert res.returncode == 0, res.stderr
    config = StationConfig()
    path = folder / "trial.h5"
    clock = SharedHostClock()
    camera = PlaybackCamera(db3, clock, fps=FPS)
    plate = SubjectPlate(VirtualSubject("rounding", reps=1), clock, camera)
    writer = TrialWriter(path, config=config, metadata={"subject_id": "S-ST", "drill": "bw_rdl"})
    runner = TrialRunner(plate, camera, config, plate_calibration=KnownCalibration(),
                         consumers=[TrialFileConsumer(writer)])
    summary = record_fast(runner, plate, camera)
    assert summary["error"] is None
    return path, summary


def test_the_stored_still_is_the_frame_nearest_the_rep_bottom(live_trial):
    from station.recording.reader import read_trial

    path, summary = live_trial
    trial = read_trial(path)
    assert len(trial.reps) == 1 and trial.stills is not None and len(trial.stills) == 1
    rep, still = trial.reps[0], trial.stills[0]
    frame_t = trial.camera_index["t_s"]
    # nearest possible frame to the bottom among all recorded frames; the ring keeps every frame at 15 fps
    nearest = frame_t[np.argmin(np.abs(frame_t - rep.t_bottom))]
    assert abs(still.t_s - rep.t_bottom) <= 1.0 / FPS + STILL_STEP_S
    assert abs(still.t_s - rep.t_bottom) <= abs(nearest - rep.t_bottom) + 1e-9
    k = int(np.argmin(np.abs(frame_t - still.t_s)))
    assert still.frame_number == int(trial.camera_index["frame_number"][k])
    assert still.ir.shape == (480, 848) and still.ir.dtype == np.uint8 and still.ir.max() > 0
    assert still.depth.dtype == np.uint16 and (still.depth > 0).mean() > 0.2
    row = int(np.argmin(np.abs(trial.markers.t_s - still.t_s)))  # the tracked pixels of that frame
    for name, (u, v) in still.marker_pixels.items():
        want = trial.marker_pixels[name][row]
        np.testing.assert_allclose([u, v], want, atol=1e-3, equal_nan=True, err_msg=name)
    assert still.overlay is not None and still.overlay["line"] is not None  # rounding: dowel measured
    assert "contour" not in still.overlay
    with h5py.File(path, "r") as f:
        print(f"still bytes on disk: ir {f['stills/ir'].id.get_storage_size()}, "
              f"depth {f['stills/depth'].id.get_storage_size()}, file {path.stat().st_size}")


def test_report_embeds_the_camera_still_html_and_pdf(live_trial, artifacts_dir):
    from station.report import write_report

    path, _ = live_trial
    html_path = write_report(path, artifacts_dir / "stills_report.html")
    text = html_path.read_text()
    assert "<img alt='Deepest rep: camera still" in text
    assert "<figcaption>Deepest rep: camera still" in text
    # the report made from the trial file judges the back from its recorded dowel series, as live did
    from drivers.sim.subject import VirtualSubject

    truth = VirtualSubject("rounding", reps=1).truth.reps[0]
    assert "back_rounding" in truth.faults and "back rounding" in text
    assert "nan kg" not in text  # no load recorded (NaN in the file) is not a load
    pdf = write_report(path, artifacts_dir / "stills_report.pdf")
    _render_pages(pdf, artifacts_dir, "stills_report")


def test_a_file_without_stills_reads_and_reports_the_stick_figure(live_trial, tmp_path, artifacts_dir):
    import shutil

    from station.recording.reader import read_trial
    from station.report import write_report

    path, _ = live_trial
    old = tmp_path / "old.h5"
    shutil.copy(path, old)
    with h5py.File(old, "r+") as f:
        del f["stills"]  # an older file: no /stills group
    trial = read_trial(old)
    assert trial.stills is None and len(trial.reps) == 1
    text = write_report(old, tmp_path / "old.html").read_text()
    assert "Deepest rep: camera still" not in text and "Deepest rep: stick figure" in text
    pdf = write_report(old, artifacts_dir / "stills_old_report.pdf")
    assert pdf.stat().st_size > 0


def test_ring_keeps_by_time_and_step():
    ring = StillRing(span_s=1.0, step_s=1.0 / 15)
    ir = np.zeros((4, 4), np.uint8)
    for k in range(90):  # 3 s at 30 fps: every second frame kept, the last 1 s only
        ring.push(k / 30.0, k, ir, None, {})
    assert 15 <= len(ring) <= 16
    assert ring.nearest(2.5).frame_number in (74, 75, 76)
    assert ring.nearest(0.0).t_s >= 1.9  # older frames left the ring


def _render_pages(pdf, artifacts_dir, stem: str) -> None:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    assert len(doc) >= 1
    for i in range(min(len(doc), 2)):
        doc[i].render(scale=1.2).to_pil().save(artifacts_dir / f"{stem}_p{i + 1}.png")
