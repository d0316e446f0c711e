"""Faces masked in every stored or printed camera picture (station.privacy.faces; issue 20, item 1).

Truth: the simulator's own head capsule (drivers.sim pose), projected with the renderer's camera
(tests.support.head_truth), never the station's head marker or depth. One short rounding rep (1.5 s of
standing, 15 fps, ~10 s of subject time) rendered once to a .db3, then recorded twice through the live
TrialRunner with stills and `--frames h5-raw`: by default (masked) and with the consent to keep faces.
"""

from __future__ import annotations

import dataclasses
import json

import h5py
import numpy as np
import pytest

from drivers.sim.render import Renderer, default_intrinsics
from drivers.sim.subject import VirtualSubject
from station.config import StationConfig
from station.privacy.faces import DEPTH_FILL, IR_FILL, CameraGeometry, FaceMasker, nominal_geometry
from tests.support.head_truth import head_pixels

FPS = 15
MARGIN_PX = 30  # pixels changed by masking lie within this of the true head outline (disc margin at ~2 m)


def _subject() -> VirtualSubject:
    return VirtualSubject("rounding", reps=1, standing_s=1.5)


def _geometry() -> tuple:
    cfg = StationConfig()
    intr = default_intrinsics(cfg.camera.width, cfg.camera.height)
    return cfg, intr, cfg.camera.T_plate_from_camera()


def _truth(subject: VirtualSubject, frame_number: int, shape: tuple[int, int]) -> np.ndarray:
    """True head pixels of a recorded frame: frame n shows the subject at (n - 1) / fps (sim.softcam)."""
    _, intr, T = _geometry()
    return head_pixels(subject.pose((frame_number - 1) / FPS), intr, T, shape)


def _dilate(mask: np.ndarray, px: int) -> np.ndarray:
    import cv2

    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)).astype(bool)


def _record(db3, path, *, faces_kept: bool) -> dict:
    from station.recording.writer import TrialWriter
    from station.trial.consumers import TrialFileConsumer
    from station.trial.runner import TrialRunner
    from tests.support.integrate_sources import PlaybackCamera, SharedHostClock, SubjectPlate, record_fast
    from tests.support.trial_fixtures import KnownCalibration

    meta = {"subject_id": "S-FACE", "drill": "bw_rdl"}
    if faces_kept:
        meta.update(faces_kept=True, faces_consent_operator="dr-test")
    clock = SharedHostClock()
    camera = PlaybackCamera(db3, clock, fps=FPS)
    plate = SubjectPlate(_subject(), clock, camera)
    consumer = TrialFileConsumer(TrialWriter(path, config=StationConfig(), metadata=meta, frames="h5-raw"))
    runner = TrialRunner(plate, camera, StationConfig(), plate_calibration=KnownCalibration(),
                         consumers=[consumer], metadata=meta)
    # the dowel on every frame in both runs, however busy the host (it skips frames when behind): the
    # two trials then measure the same frames and can be compared frame by frame
    runner.dowel_step.behind_s = float("inf")
    summary = record_fast(runner, plate, camera)
    assert summary["error"] is None
    return {"summary": summary, "faces": consumer.faces}


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    from drivers.sim.softcam import record_db3

    folder = tmp_path_factory.mktemp("faces")
    db3 = folder / "rounding.db3"
    record_db3(_subject(), db3, fps=FPS)
    masked = _record(db3, folder / "masked.h5", faces_kept=False)
    kept = _record(db3, folder / "kept.h5", faces_kept=True)
    return {"masked": folder / "masked.h5", "kept": folder / "kept.h5", "masker": masked["faces"],
            "kept_masker": kept["faces"]}


def _frames(path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    with h5py.File(path, "r") as f:
        g = f["frames"]
        return {int(n): (g["ir"][i], g["depth"][i]) for i, n in enumerate(g["frame_number"][:])}


def test_stored_frames_hold_no_head_pixel_and_nothing_else_changes(trials):
    subject = _subject()
    masked, kept = _frames(trials["masked"]), _frames(trials["kept"])
    common = sorted(set(masked) & set(kept))
    assert len(common) >= 0.9 * len(kept) > 100
    head_px_total, changed_total = 0, 0
    for n in common[::5]:  # every 5th frame: ~30 frames, standing and the rep
        (ir_m, d_m), (ir_k, d_k) = masked[n], kept[n]
        head = _truth(subject, n, d_m.shape)
        assert head.sum() > 500, n  # the head is in view on every frame of this trial
        # consent kept the head: its depth and IR are there, unmasked
        assert np.count_nonzero(d_k[head]) > 0.5 * head.sum() and np.count_nonzero(ir_k[head] != IR_FILL) > 0
        # masked: no pixel of the true head keeps its depth or IR
        assert np.all(d_m[head] == DEPTH_FILL), f"frame {n}: head depth stored"
        assert np.all(ir_m[head] == IR_FILL), f"frame {n}: head IR stored"
        # away from the head nothing changed (byte for byte the kept frame)
        changed = (d_m != d_k) | (ir_m != ir_k)
        assert not np.any(changed & ~_dilate(head, MARGIN_PX)), f"frame {n}: pixels away from the head"
        head_px_total += int(head.sum())
        changed_total += int(np.count_nonzero(changed))
    print(f"frames checked {len(common[::5])}: true head {head_px_total / len(common[::5]):.0f} px, "
          f"changed {changed_total / len(common[::5]):.0f} px per frame; masker "
          f"{trials['masker'].stats.ms_per_frame():.2f} ms per frame, {trials['masker'].stats.sources}")


def test_stored_stills_are_masked_and_kept_with_consent(trials):
    from station.recording.reader import read_trial_stills

    subject = _subject()
    masked, kept = read_trial_stills(trials["masked"]), read_trial_stills(trials["kept"])
    assert masked and kept and len(masked) == len(kept) == 1
    for sm, sk in zip(masked, kept, strict=True):
        assert sm.frame_number == sk.frame_number
        head = _truth(subject, sm.frame_number, sm.ir.shape)
        assert np.all(sm.depth[head] == DEPTH_FILL) and np.all(sm.ir[head] == IR_FILL)
        assert np.count_nonzero(sk.depth[head]) > 0.5 * head.sum()  # consent: the head is there
        changed = (sm.depth != sk.depth) | (sm.ir != sk.ir)
        assert changed.any() and not np.any(changed & ~_dilate(head, MARGIN_PX))
        if sm.overlay is not None and sk.overlay is not None:  # None: the dowel skipped it (worker behind)
            assert sm.overlay == sk.overlay  # measured on the camera's frame in both
        # the shoulder marker lies inside the head's disc at the bottom: its own bright disc stays
        u, v = (int(round(x)) for x in sm.marker_pixels["shoulder"])
        assert sm.ir[v, u] >= 200 and sk.ir[v, u] >= 200


def test_the_trial_records_the_consent(trials):
    with h5py.File(trials["masked"], "r") as f:
        assert not f.attrs["faces_kept"] and f.attrs["faces_consent_operator"] == ""
        assert "faces_kept" not in json.loads(f.attrs["metadata_json"])
    with h5py.File(trials["kept"], "r") as f:
        assert f.attrs["faces_kept"] and f.attrs["faces_consent_operator"] == "dr-test"
    from station.recording.reader import read_trial

    assert read_trial(trials["kept"]).metadata["faces_kept"] is True
    assert read_trial(trials["masked"]).metadata["faces_kept"] is False
    assert trials["kept_masker"] is None and trials["masker"].stats.frames > 100


def _dowel_by_frame(path) -> dict[int, np.ndarray]:
    with h5py.File(path, "r") as f:
        t_m, numbers = f["markers/t_s"][:], f["camera/index/frame_number"][:]
        t_d, gaps = f["dowel/t_s"][:], f["dowel/gap_mm"][:]
    row = {float(t): int(numbers[i]) for i, t in enumerate(t_m[:len(numbers)])}
    return {row[float(t)]: gaps[i] for i, t in enumerate(t_d) if float(t) in row}


def test_the_dowel_head_contact_is_the_same_with_and_without_masking(trials):
    masked, kept = _dowel_by_frame(trials["masked"]), _dowel_by_frame(trials["kept"])
    common = sorted(set(masked) & set(kept))
    assert len(common) > 0.8 * max(len(masked), len(kept))
    head = np.array([masked[n][2] for n in common]), np.array([kept[n][2] for n in common])
    assert np.isfinite(head[0]).sum() > 20  # the head contact was measured
    np.testing.assert_array_equal(head[0], head[1])
    np.testing.assert_array_equal(np.array([masked[n] for n in common]), np.array([kept[n] for n in common]))


def test_masking_first_would_lose_the_head_contact():
    """Why the order matters (and that the test above could fail): the dowel on a masked frame does not
    measure the head as it does on the camera's frame."""
    from station.dowel.tracker import DowelTracker
    from tests.support.dowel_helpers import frame_at, markers_at

    cfg, intr, T = _geometry()
    subject = _subject()
    t = subject.truth.reps[0].t_bottom
    frame = frame_at(Renderer(intr, config=cfg), subject, t)
    markers = markers_at(subject, t)
    ir_before, depth_before = frame.ir.copy(), frame.depth.copy()
    cam = np.linalg.inv(T) @ np.append(markers["head"], 1.0)
    head_px = (intr.fx * cam[0] / cam[2] + intr.ppx, intr.fy * cam[1] / cam[2] + intr.ppy)
    ir, depth, region = FaceMasker(CameraGeometry(intr.fx, intr.fy, intr.ppx, intr.ppy, 0.001, T)).apply(
        frame.ir, frame.depth, head_px)
    assert region is not None and region.source == "head marker"
    np.testing.assert_array_equal(frame.ir, ir_before)  # copies: the camera's arrays are untouched
    np.testing.assert_array_equal(frame.depth, depth_before)
    live = DowelTracker(cfg).update(frame, markers, t)
    late = DowelTracker(cfg).update(dataclasses.replace(frame, ir=ir, depth=depth), markers, t)
    assert np.isfinite(live.gap_mm["head"]) and "head" in live.contacts_xyz
    changed = "head" not in late.contacts_xyz or late.gap_mm is None \
        or not np.isclose(late.gap_mm.get("head", np.nan), live.gap_mm["head"], atol=0.5)
    assert changed


@pytest.mark.parametrize("when", ["standing", "bottom"])
def test_the_silhouette_finds_the_head_without_its_marker(when):
    """No head marker (occluded, fallen off): the head from the depth outline above the plate."""
    cfg, intr, T = _geometry()
    subject = _subject()
    t = 1.0 if when == "standing" else subject.truth.reps[0].t_bottom
    pose = subject.pose(t)
    depth, ir = Renderer(intr, config=cfg).render(pose)
    head = head_pixels(pose, intr, T, depth.shape)
    masker = FaceMasker(CameraGeometry(intr.fx, intr.fy, intr.ppx, intr.ppy, 0.001, T))
    ir_m, depth_m, region = masker.apply(ir, depth, (np.nan, np.nan))
    assert region is not None and region.source == "silhouette"
    assert np.all(depth_m[head] == DEPTH_FILL) and np.all(ir_m[head] == IR_FILL)
    hip = np.linalg.inv(T) @ np.append(pose.markers["hip"], 1.0)  # the hip stays visible
    u, v = int(intr.fx * hip[0] / hip[2] + intr.ppx), int(intr.fy * hip[1] / hip[2] + intr.ppy)
    assert ir_m[v, u] == ir[v, u]
    print(f"{when}: silhouette disc {masker.stats.pixels_last} px over a true head of {head.sum()} px, "
          f"{masker.stats.ms_per_frame():.2f} ms")
    # no camera pose: no silhouette, and no marker: nothing found, the frame comes back as it was
    blind = FaceMasker(CameraGeometry(intr.fx, intr.fy, intr.ppx, intr.ppy, 0.001, None))
    assert blind.apply(ir, depth, None)[2] is None


def test_report_pictures_are_masked_and_say_so(trials, tmp_path, artifacts_dir):
    from station.recording.reader import read_trial_stills
    from station.report import write_report
    from station.report.faces import KEPT_WORDS, MASKED_WORDS, still_ir_for_report
    from station.report.model import build_report_model, load_for_report

    subject = _subject()
    still = read_trial_stills(trials["kept"])[0]  # a still stored with the face
    head = _truth(subject, still.frame_number, still.ir.shape)
    ir, words = still_ir_for_report(still, trials["kept"], keep_faces=False)
    assert words == MASKED_WORDS and np.all(ir[head] == IR_FILL)
    ir, words = still_ir_for_report(still, trials["kept"], keep_faces=True)  # consent recorded + asked
    assert words == KEPT_WORDS and ir is still.ir
    masked_still = read_trial_stills(trials["masked"])[0]
    ir, words = still_ir_for_report(masked_still, trials["masked"], keep_faces=True)  # no consent: masked
    assert words == MASKED_WORDS and np.all(ir[head] == IR_FILL)
    config = StationConfig()
    for keep in (False, True):
        session = load_for_report(trials["kept"], config)
        model = build_report_model(session, trials["kept"], config, keep_faces=keep)
        fig = next(f for s in model.sections for f in s.figures if "camera still" in f.title)
        assert (KEPT_WORDS if keep else MASKED_WORDS) in fig.title
    html = write_report(trials["kept"], tmp_path / "faces.html").read_text()
    assert MASKED_WORDS in html and KEPT_WORDS not in html
    pdf = write_report(trials["kept"], artifacts_dir / "faces_report.pdf")
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    for i in range(min(len(doc), 2)):
        doc[i].render(scale=1.5).to_pil().save(artifacts_dir / f"faces_report_p{i + 1}.png")


def test_nominal_geometry_is_on_the_safe_side():
    """The report and the dashboard picture lack the frame's intrinsics: the nominal focal length must not
    make the disc smaller than the camera's own would."""
    for w, h in ((848, 480), (640, 480), (1280, 720)):
        assert nominal_geometry(w, h).fx_px >= default_intrinsics(w, h).fx


def test_the_dashboard_picture_saved_by_screenshot_is_masked(qtbot, artifacts_dir):
    """`dashboard --screenshot` sets ImageView.faces: the IR shown (and saved) has the head masked, the
    markers (drawn over it) stay; without it the live view shows the camera's frame."""
    from station.dashboard.image_view import DISPLAY_STEP, ImageView
    from station.trial.live import LiveSnapshot

    cfg, intr, T = _geometry()
    subject = _subject()
    t = subject.truth.reps[0].t_bottom
    pose = subject.pose(t)
    depth, ir = Renderer(intr, config=cfg).render(pose)
    head = head_pixels(pose, intr, T, depth.shape)[::DISPLAY_STEP, ::DISPLAY_STEP]
    pixels = {}
    for name, p in pose.markers.items():
        c = np.linalg.inv(T) @ np.append(p, 1.0)
        pixels[name] = (intr.fx * c[0] / c[2] + intr.ppx, intr.fy * c[1] / c[2] + intr.ppy)
    empty = np.zeros((0, 5))
    snap = LiveSnapshot(elapsed_s=t, running=True, force=empty, hip=np.zeros((0, 4)), hip_back_m=np.zeros(0),
                        hip_down_m=np.zeros(0), ir=ir, depth=depth, frame_number=1, marker_pixels=pixels,
                        reps=[], stats={}, calibration_status="calibrated", warnings=[])
    for faces in (None, FaceMasker(nominal_geometry(intr.width, intr.height, T))):
        view = ImageView()
        qtbot.addWidget(view)
        view.faces = faces
        view.resize(848, 480)
        view.update_from(snap)
        shown = view.image.image
        if faces is None:
            assert np.count_nonzero(shown[head] != IR_FILL) > 0.9 * head.sum()
        else:
            assert np.all(shown[head] == IR_FILL)
            view.grab().save(str(artifacts_dir / "faces_dashboard_screenshot.png"))


@pytest.mark.parametrize("keep", [False, True])
def test_record_keep_faces_records_the_consent_and_its_operator(tmp_path, keep):
    """`record --keep-faces --operator X` (the path screen and demo take too): faces_kept and who took the
    consent, as root attributes; without it faces_kept is False. A plate-only trial keeps it short."""
    from tests.conftest import run_cli

    out = tmp_path / "t.h5"
    args = ["record", "--plate", "sim:hinge", "--subject", "S01", "--drill", "bw_rdl", "--duration", "1.5",
            "--operator", "dr-consent", "--db", f"sqlite:///{tmp_path / 'a.sqlite'}", "--out", str(out)]
    res = run_cli(*args, *(["--keep-faces"] if keep else []), timeout=180)
    assert res.returncode == 0, res.stderr
    with h5py.File(out, "r") as f:
        assert bool(f.attrs["faces_kept"]) is keep
        assert f.attrs["faces_consent_operator"] == ("dr-consent" if keep else "")


def test_every_picture_command_takes_keep_faces():
    import argparse

    from station.commands import dashboard, demo, record, report, screen

    for module in (record, screen, dashboard, demo, report):
        parser = argparse.ArgumentParser()
        module.configure(parser)
        assert "--keep-faces" in parser.format_help(), module.__name__
