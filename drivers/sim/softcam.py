"""The virtual subject through the real pyrealsense2 SDK: a software device shaped like a D4xx stereo module.

`SoftwareCamera` owns an `rs.software_device` with one "Stereo Module" sensor streaming depth (z16,
index 0) and left infrared (y8, index 1) with intrinsics, depth units, frame numbers, hardware-clock
timestamps (ms) and metadata. `record_db3` renders a VirtualSubject into it and records it with
`rs.recorder` (ROS2 .db3, which any RealSense tool opens); beside the recording a small JSON sidecar
(`trial.sim.json`) keeps what only the simulator knows (pattern, seed, camera pose) so tests can get
the truth back. `hinge-station sim camera --pattern hinge --out trial.db3` is `configure` below.
"""

from __future__ import annotations

import argparse
import gc
import json
import threading
import time
from pathlib import Path

import numpy as np

from drivers.rs_import import import_pyrealsense2
from drivers.samples import Intrinsics
from station.config import StationConfig, load_config
from station.errors import StationError
from station.owner_files import make_dirs, secure, write_text

SIM_SERIAL = "SIMD4XX0001"
RESOLUTIONS = ("848x480", "640x480", "1280x720")
FRAME_RATES = (15, 30, 60, 90)  # the D4xx depth + IR modes (15 also keeps sim tests short)
DEVICE_CLOCK_START_MS = 10_000.0  # the device clock does not start at 0 on a real camera either
DRAIN_TIMEOUT_S = 2.0  # record_db3 waits this long for the last frames to reach the recorder


def sidecar_path(db3_path: str | Path) -> Path:
    """`trial.db3` -> `trial.sim.json` (the simulator's truth about a recording)."""
    return Path(db3_path).with_suffix(".sim.json")


class SoftwareCamera:
    """A pyrealsense2 software device with depth z16 + left IR y8 at one resolution and frame rate."""

    def __init__(self, intrinsics: Intrinsics, fps: int = 30, *, depth_scale_m: float = 0.001,
                 serial: str = SIM_SERIAL) -> None:
        rs = self.rs = import_pyrealsense2()
        self.intrinsics, self.fps, self.depth_scale_m = intrinsics, fps, depth_scale_m
        self.device = rs.software_device()
        self.device.register_info(rs.camera_info.name, "Intel RealSense D435 (hinge-station simulator)")
        self.device.register_info(rs.camera_info.serial_number, serial)
        self.device.register_info(rs.camera_info.product_line, "D400")
        self.sensor = self.device.add_sensor("Stereo Module")
        self.sensor.add_read_only_option(rs.option.depth_units, depth_scale_m)
        self.sensor.add_read_only_option(rs.option.emitter_enabled, 1.0)
        rs_intr = rs.intrinsics()
        rs_intr.width, rs_intr.height = intrinsics.width, intrinsics.height
        rs_intr.fx, rs_intr.fy = intrinsics.fx, intrinsics.fy
        rs_intr.ppx, rs_intr.ppy = intrinsics.ppx, intrinsics.ppy
        rs_intr.model = rs.distortion.brown_conrady
        rs_intr.coeffs = list(intrinsics.coeffs)
        self.profiles = []
        for uid, (stream, index, fmt, bpp) in enumerate(
                ((rs.stream.depth, 0, rs.format.z16, 2), (rs.stream.infrared, 1, rs.format.y8, 1))):
            vs = rs.video_stream()
            vs.type, vs.index, vs.uid, vs.fmt, vs.bpp = stream, index, uid, fmt, bpp
            vs.width, vs.height, vs.fps, vs.intrinsics = intrinsics.width, intrinsics.height, fps, rs_intr
            self.profiles.append(self.sensor.add_video_stream(vs).as_video_stream_profile())
        self.device.create_matcher(rs.matchers.di)
        self._started = False

    def start(self, sink) -> None:
        """Open both streams and deliver frames to `sink` (a callable, rs.frame_queue or rs.syncer)."""
        self.sensor.open(self.profiles)
        self.sensor.start(sink)
        self._started = True

    def push(self, frame_number: int, t_device_ms: float, depth: np.ndarray, ir: np.ndarray) -> None:
        """Inject one depth + IR pair sharing a frame number and timestamp, as a D4xx produces them."""
        rs = self.rs
        for profile, pixels in zip(self.profiles, (depth, ir), strict=True):
            pixels = np.ascontiguousarray(pixels)
            self.sensor.set_metadata(rs.frame_metadata_value.frame_counter, int(frame_number))
            self.sensor.set_metadata(rs.frame_metadata_value.frame_timestamp, int(t_device_ms * 1000))
            self.sensor.set_metadata(rs.frame_metadata_value.actual_fps, int(self.fps))
            self.sensor.set_metadata(rs.frame_metadata_value.frame_emitter_mode, 1)
            frame = rs.software_video_frame()
            frame.pixels = pixels
            frame.bpp = pixels.itemsize
            frame.stride = pixels.shape[1] * pixels.itemsize
            frame.timestamp = float(t_device_ms)
            frame.domain = rs.timestamp_domain.hardware_clock
            frame.frame_number = int(frame_number)
            frame.profile = profile
            if pixels.dtype == np.uint16:
                frame.depth_units = self.depth_scale_m
            self.sensor.on_video_frame(frame)

    def stop(self) -> None:
        if self._started:
            self._started = False
            self.sensor.stop()
            self.sensor.close()


def make_subject(pattern: str, *, seed: int = 0, arms: str = "crossed", config: StationConfig | None = None,
                 **options):
    """The virtual subject (imported here so the renderer works without it); options: reps, heel_raise..."""
    try:
        from drivers.sim.subject import shared_subject
    except ModuleNotFoundError as exc:
        raise StationError("the virtual subject (drivers/sim/subject.py) is not in this build") from exc
    return shared_subject(pattern, seed=seed, arms=arms, config=config, **options)


def record_db3(subject, path: str | Path, *, fps: int = 30, width: int = 848, height: int = 480,
               seconds: float | None = None, real_time: bool = False,
               T_plate_from_camera: np.ndarray | None = None, seed: int = 0, compress: bool = False,
               config: StationConfig | None = None, pattern: str | None = None) -> dict:
    """Render `subject` (anything with .duration_s and .pose(t_s)) into a .db3 recording; returns the sidecar.

    real_time=True pushes frames at their real rate, so real-time playback later paces like a camera
    (the SDK paces by when frames reached the recorder). compress=True stores lossless PNG per frame
    (~3x smaller, slower to write and read; FIELD-NOTES).
    """
    from drivers.sim.render import Renderer, default_intrinsics

    path = Path(path)
    if path.suffix != ".db3":
        raise StationError(f"{path}: the SDK records .db3 only (ROS2); name the file *.db3")
    make_dirs(path.parent)
    cfg = config or StationConfig()
    intr = default_intrinsics(width, height)
    renderer = Renderer(intr, T_plate_from_camera, seed=seed, config=cfg)
    duration_s = float(subject.duration_s if seconds is None else min(seconds, subject.duration_s))
    n_frames = int(np.floor(duration_s * fps + 1e-9))
    rs = import_pyrealsense2()
    cam = SoftwareCamera(intr, fps, depth_scale_m=renderer.depth_scale_m)
    if path.exists():
        path.unlink()
    recorder = rs.recorder(str(path), cam.device, compress)
    # the recorder writes a frame before the sensor's callback sees it, and stopping the sensor drops what
    # its dispatcher still holds: wait for the last pair in the callback before stopping
    last_pair = threading.Semaphore(0)
    cam.start(lambda frame: frame.get_frame_number() == n_frames and last_pair.release())
    t_wall0 = time.perf_counter()
    try:
        for n in range(n_frames):
            depth, ir = renderer.render(subject.pose(n / fps))
            cam.push(n + 1, DEVICE_CLOCK_START_MS + n * 1000.0 / fps, depth, ir)
            if real_time:
                time.sleep(max(0.0, t_wall0 + (n + 1) / fps - time.perf_counter()))
        for _ in range(2 if n_frames else 0):  # depth and IR
            last_pair.acquire(timeout=DRAIN_TIMEOUT_S)
    finally:
        cam.stop()
        del recorder  # the recorder finishes the file when it is destroyed
        gc.collect()
    info = {
        "pattern": pattern or getattr(subject, "pattern", None), "seed": seed,
        "arms": getattr(subject, "arms", None), "fps": fps, "width": width, "height": height,
        "frames": n_frames, "first_frame_number": 1, "t_device_start_ms": DEVICE_CLOCK_START_MS,
        "depth_scale_m": renderer.depth_scale_m, "marker_radius_m": float(subject.pose(0.0).marker_radius_m),
        "intrinsics": {"fx": intr.fx, "fy": intr.fy, "ppx": intr.ppx, "ppy": intr.ppy},
        "T_plate_from_camera": renderer.T_plate_from_camera.tolist(), "compressed": compress,
    }
    secure(path)  # the SDK made it (under the command's owner-only umask): the station's mode and group
    write_text(sidecar_path(path), json.dumps(info, indent=1))
    return info


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pattern", default="hinge", help="movement pattern of the virtual subject")
    parser.add_argument("--out", required=True, help="recording to write (*.db3)")
    parser.add_argument("--seconds", type=float, default=None, help="length (default: the whole pattern)")
    parser.add_argument("--fps", type=int, choices=FRAME_RATES, default=None)
    parser.add_argument("--resolution", choices=RESOLUTIONS, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arms", default="crossed", help="arm position of the virtual subject")
    parser.add_argument("--reps", type=int, default=5, help="reps the virtual subject does")
    parser.add_argument("--heel-raise", action="store_true",
                        help="end with a heel raise (a sync event for the camera-to-plate offset)")
    parser.add_argument("--real-time", action="store_true",
                        help="push frames at their real rate (for real-time playback pacing)")
    parser.add_argument("--compress", action="store_true", help="lossless PNG per frame (smaller, slower)")
    parser.add_argument("--config", default=None, help="station TOML (camera pose, plate)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    resolution = args.resolution or f"{cfg.camera.width}x{cfg.camera.height}"
    width, height = (int(x) for x in resolution.split("x"))
    fps = args.fps or cfg.camera.fps
    subject = make_subject(args.pattern, seed=args.seed, arms=args.arms, config=cfg, reps=args.reps,
                           heel_raise=args.heel_raise)
    info = record_db3(subject, args.out, fps=fps, width=width, height=height, seconds=args.seconds,
                      real_time=args.real_time, seed=args.seed, compress=args.compress, config=cfg,
                      pattern=args.pattern)
    print(f"{args.out}: {info['frames']} frames {width}x{height} @ {fps} fps, pattern {args.pattern}")
    return 0
