"""Camera path speed: marker pipeline per 848x480 frame, render, .db3 playback, vs cv2.SimpleBlobDetector.

Run: .venv/bin/python bench/camera.py   -> bench/results/camera.json
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.realsense import RealSenseCamera  # noqa: E402
from drivers.samples import CameraFrame  # noqa: E402
from drivers.sim.render import Renderer  # noqa: E402
from drivers.sim.softcam import record_db3  # noqa: E402
from drivers.sim.subject import VirtualSubject  # noqa: E402
from station.markers.detect import bright_components, detect_markers  # noqa: E402
from station.markers.discs import find_discs  # noqa: E402
from station.markers.tracking import MarkerTracker  # noqa: E402


def _ms(samples: list[float]) -> dict:
    a = np.asarray(samples) * 1000
    return {"median_ms": round(float(np.median(a)), 3), "p95_ms": round(float(np.percentile(a, 95)), 3)}


def main() -> int:
    fps, n_frames = 30, 300
    subject = VirtualSubject("hinge", reps=2, standing_s=2.0)
    renderer = Renderer(seed=1)
    frames, render_s = [], []
    for n in range(n_frames):
        t0 = time.perf_counter()
        depth, ir = renderer.render(subject.pose(n / fps))
        render_s.append(time.perf_counter() - t0)
        frames.append(CameraFrame(n + 1, n * 1000 / fps, "hardware_clock", 0, depth, ir, 0.001,
                                  renderer.intrinsics))
    tracker = MarkerTracker()
    pipeline_s, detect_s = [], []
    for f in frames:
        t0 = time.perf_counter()
        tracker.update(f)  # detection + 3D + labelling + tracking
        pipeline_s.append(time.perf_counter() - t0)
    from scipy.signal import butter, filtfilt

    block = tracker.block()
    b, a = butter(2, 6.0 / (fps / 2))
    hip_err = filtfilt(b, a, block.positions["hip"], axis=0) - subject.markers(block.t_s)["hip"]
    hip_rms_mm = [round(float(x), 2) for x in np.sqrt(np.mean(hip_err**2, axis=0)) * 1000]
    for f in frames:
        t0 = time.perf_counter()
        detect_markers(f)
        detect_s.append(time.perf_counter() - t0)
    # the disc-finding step alone against OpenCV's SimpleBlobDetector on the same IR frames
    import cv2

    params = cv2.SimpleBlobDetector_Params()
    params.filterByColor, params.blobColor = True, 255
    params.minThreshold, params.maxThreshold, params.thresholdStep = 200, 256, 56
    params.filterByArea, params.minArea, params.maxArea = True, 2, 4000
    params.filterByCircularity = params.filterByConvexity = params.filterByInertia = False
    params.minDistBetweenBlobs, params.minRepeatability = 2, 1  # one threshold, like ours
    blob = cv2.SimpleBlobDetector_create(params)
    # ours: the station's finder (station/markers/discs.py, compiled) with sub-pixel centres, like cv2's
    # keypoints; the reference: the numpy flood fill it replaced (components only, no centres)
    ours_s, cv_s, ref_s, counts, dist_px = [], [], [], [], []
    load_before = os.getloadavg()
    for f in frames:
        t0 = time.perf_counter()
        ours = find_discs(f.ir)
        ours_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        kps = blob.detect(f.ir)
        cv_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ref = bright_components(f.ir)
        ref_s.append(time.perf_counter() - t0)
        counts.append((len(ours), len(kps), len([c for c in ref if 2 <= c.size <= 4000])))
        cv_uv = np.array([k.pt for k in kps]).reshape(-1, 2)  # same discs: nearest cv2 blob to each of ours
        if len(ours) and len(cv_uv):
            dist_px.append(float(np.max(np.min(np.linalg.norm(
                ours.uv[:, None] - cv_uv[None], axis=2), axis=1))))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db3"
        t0 = time.perf_counter()
        record_db3(subject, path, fps=fps, seconds=5.0, seed=1)
        record_s = time.perf_counter() - t0
        cam = RealSenseCamera(file=str(path), real_time=False)
        cam.start()
        t0 = time.perf_counter()
        played = sum(1 for _ in cam.frames())
        play_s = time.perf_counter() - t0
        cam.stop()
        db3_mb = os.path.getsize(path) / 1e6
    counts = np.asarray(counts)
    result = {
        "frame": "848x480, VirtualSubject hinge at 2.2 m, one process on a shared 2-core machine",
        "marker_pipeline_per_frame": _ms(pipeline_s) | {"goal_median_ms": 3.0},
        "detect_and_3d_per_frame": _ms(detect_s),
        "render_per_frame": _ms(render_s),
        "hip_rms_mm_xyz_after_6hz_lowpass_10s": hip_rms_mm,
        "disc_finding_ours": _ms(ours_s),
        "disc_finding_cv2_SimpleBlobDetector": _ms(cv_s),
        "disc_finding_ratio_cv2_over_ours": round(float(np.median(cv_s) / np.median(ours_s)), 2),
        "disc_finding_ratio_cv2_over_ours_mean": round(float(np.mean(cv_s) / np.mean(ours_s)), 2),
        "disc_finding_reference_full_frame_components_only": _ms(ref_s),
        "blobs_found_median_ours_cv2": [int(np.median(counts[:, 0])), int(np.median(counts[:, 1]))],
        "frames_same_disc_count_ours_cv2_reference": int(np.sum((counts[:, 0] == counts[:, 1])
                                                                 & (counts[:, 0] == counts[:, 2]))),
        "max_px_ours_to_nearest_cv2_blob": round(max(dist_px), 3) if dist_px else None,
        "load_avg_1_5_15_before_after_disc_timing": [list(load_before), list(os.getloadavg())],
        "db3_record_5s_s": round(record_s, 2),
        "db3_size_mb_per_s": round(db3_mb / 5.0, 1),
        "playback_frames_per_s_non_real_time": round(played / play_s, 1),
        "playback_frames": played,
    }
    out = Path(__file__).parent / "results" / "camera.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
