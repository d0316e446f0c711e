"""Intel RealSense D4xx (live, or a .db3/.bag recording through rs.pipeline) as a Source of CameraFrames.

One reader thread takes framesets from the pipeline, pairs depth and left IR by frame number (the two
share the stereo module's counter; the playback syncer sometimes hands them out one frameset apart),
stamps host arrival time and pushes CameraFrames into a bounded buffer. Live: the oldest frame is dropped
and counted when the consumer falls behind. Recordings: the reader waits instead (nothing is lost).
Gaps in frame numbers are counted as dropped frames; a live camera that stops delivering is recorded
as a stall (start, end host times) and the source keeps waiting for it. A live camera unplugged mid-trial
(the SDK's devices-changed callback) is a disconnect: when its serial comes back the reader restarts the
pipeline, and a frame counter that starts again (a replugged camera) starts the pairing again
(drivers.camera_reconnect).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from drivers.camera_reconnect import ReconnectState
from drivers.chunk_buffer import stop_reader_thread
from drivers.recording_check import check_db3
from drivers.rs_import import import_pyrealsense2
from drivers.samples import CameraFrame, Intrinsics, frames_until_finished
from station.config import StationConfig
from station.errors import StationError

NO_CAMERA = "no RealSense camera found; use a recording: --camera path/to/trial.db3 or --camera sim:hinge"
_STALL_S = 0.5  # a live camera silent this long is reported as stalled
# frame numbers waiting for their other half: each holds SDK frames, and a device's frame pool is small
# (a reader holding too many gets no new frames at all: the stream stops for good)
_PENDING_MAX = 4
_SDK_QUEUE_MIN = 8  # framesets the SDK may hold for the reader (at least 1/3 s of them at high rates)
_METADATA = ("frame_counter", "sensor_timestamp", "time_of_arrival", "actual_exposure", "gain_level",
             "frame_emitter_mode", "frame_laser_power", "actual_fps")


def _intrinsics(rs_intr) -> Intrinsics:
    model = str(rs_intr.model).split(".")[-1]
    return Intrinsics(rs_intr.width, rs_intr.height, rs_intr.fx, rs_intr.fy, rs_intr.ppx, rs_intr.ppy,
                      model, tuple(float(c) for c in rs_intr.coeffs))


class RealSenseCamera:
    """Source protocol (start / read(timeout_s) -> list[CameraFrame] / stop / stats)."""

    def __init__(self, *, serial: str | None = None, file: str | None = None, width: int = 848,
                 height: int = 480, fps: int = 30, real_time: bool = True, emitter: bool = True,
                 buffer_frames: int = 90, context=None) -> None:
        self.serial, self.file = serial, file
        self.width, self.height, self.fps = width, height, fps
        self.real_time, self.emitter = real_time, emitter
        self.name = f"realsense:{file or serial or ''}"
        self._context = context  # e.g. one holding a software device (the live simulator)
        self._buffer: deque[CameraFrame] = deque()
        self._buffer_frames = buffer_frames
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pipe = None
        self._sdk_queue = None  # live cameras: the SDK's frames wait here for the reader (see _start_live)
        self._error: BaseException | None = None
        self.finished = False  # a recording reached its end
        self._stats = {"frames": 0, "dropped": 0, "overflows": 0, "stalls": 0, "incomplete": 0}
        self.stall_intervals_ns: list[tuple[int, int]] = []
        self.depth_scale_m: float | None = None
        self.intrinsics: Intrinsics | None = None
        self.device_info: dict = {}
        self.link = ReconnectState(self.name)  # unplugged / back: stats()["connected"], events

    # --- Source protocol -----------------------------------------------------------------------------
    def start(self) -> None:
        rs = self.rs = import_pyrealsense2()
        pipe = rs.pipeline(self._context) if self._context is not None else rs.pipeline()
        cfg = rs.config()
        if self.file is not None:
            self._start_file(rs, pipe, cfg)
        else:
            self._start_live(rs, pipe, cfg)
        self._pipe, self._cfg = pipe, cfg  # the config again when a replugged camera restarts the pipeline
        self._thread = threading.Thread(target=self._reader, name=f"reader {self.name}", daemon=True)
        self._thread.start()

    def read(self, timeout_s: float = 0.1) -> list:
        with self._cond:
            if not self._buffer and not self.finished and self._error is None:
                self._cond.wait(timeout_s)
            out = list(self._buffer)
            self._buffer.clear()
            self._cond.notify_all()
        if not out and self._error is not None:
            raise StationError(f"{self.name}: {self._error}")
        return out

    def stop(self) -> None:
        stop_reader_thread(self._stop, self._cond, self._thread)
        self._thread = None
        if self._pipe is not None:
            try:
                self._pipe.stop()
            except RuntimeError:
                pass
            self._pipe = None

    def stats(self) -> dict:
        out = dict(self._stats)
        out["finished"] = self.finished
        out["stalled_s"] = sum(b - a for a, b in self.stall_intervals_ns) / 1e9
        return out | self.link.stats()

    def __enter__(self) -> RealSenseCamera:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- opening -------------------------------------------------------------------------------------
    def _start_file(self, rs, pipe, cfg) -> None:
        path = Path(self.file)
        if not path.is_file():
            raise StationError(f"{path}: recording not found")
        if path.suffix.lower() == ".db3":
            check_db3(path)
        cfg.enable_device_from_file(str(path), repeat_playback=False)
        try:
            # Resolve first and set the pace on that device: pipe.start reuses it. Set after start, the
            # first ~0.1 s already plays in real time and is lost if this process is slow to read it.
            profile = cfg.resolve(rs.pipeline_wrapper(pipe))
            profile.get_device().as_playback().set_real_time(self.real_time)
            profile = pipe.start(cfg)  # every recorded stream: check which exist before choosing
        except RuntimeError as exc:
            raise StationError(f"{path}: cannot play this recording ({exc})") from None
        streams = profile.get_streams()
        kinds = {(p.stream_type(), p.format()) for p in streams}
        missing = [name for name, ok in (
            ("depth (z16)", (rs.stream.depth, rs.format.z16) in kinds),
            ("infrared (y8)", (rs.stream.infrared, rs.format.y8) in kinds)) if not ok]
        if missing:
            pipe.stop()
            raise StationError(f"{path}: no {' and no '.join(missing)} stream in this recording "
                               "(the station needs depth and left infrared)")
        ir_indices = sorted(p.stream_index() for p in streams if p.stream_type() == rs.stream.infrared)
        self._ir_index = 1 if 1 in ir_indices else ir_indices[0]
        self._playback = profile.get_device().as_playback()
        self._describe(rs, profile)

    def _start_live(self, rs, pipe, cfg) -> None:
        ctx = self._context if self._context is not None else rs.context()
        if self._context is None:  # (a stand-in's context has its own callback: drivers.sim.simcamera)
            self._ctx = ctx  # kept: the callback lives as long as its context
            ctx.set_devices_changed_callback(self._devices_changed)
        devices = list(ctx.query_devices())
        if not devices:
            raise StationError(NO_CAMERA)
        serials = [d.get_info(rs.camera_info.serial_number) for d in devices]
        serial = self.serial or serials[0]
        if serial not in serials:
            raise StationError(f"no RealSense camera with serial {serial} (found: {', '.join(serials)})")
        cfg.enable_device(serial)
        cfg.enable_stream(rs.stream.depth, self.width, self.height, rs.format.z16, self.fps)
        cfg.enable_stream(rs.stream.infrared, 1, self.width, self.height, rs.format.y8, self.fps)
        device = self._device = devices[serials.index(serial)]
        usb = device.get_info(rs.camera_info.usb_type_descriptor) \
            if device.supports(rs.camera_info.usb_type_descriptor) else ""
        # frames go from the SDK into a queue of its own (C++, no GIL): the pipeline's own holds one frameset,
        # so a reader thread kept from the interpreter for one frame period lost frames in the SDK
        self._sdk_queue = rs.frame_queue(max(_SDK_QUEUE_MIN, self.fps // 3), keep_frames=True)
        try:
            profile = pipe.start(cfg, self._sdk_queue)
        except RuntimeError as exc:
            hint = ""
            if usb.startswith("2"):  # a USB 2 link offers few modes: the usual cause, worth saying
                hint = f"; the camera is on a USB {usb} link: plug it into a USB 3 port with a USB 3 cable"
            raise StationError(f"realsense:{serial}: cannot stream depth + infrared at "
                               f"{self.width}x{self.height} {self.fps} fps ({exc}){hint}") from None
        if usb:
            self.device_info["usb_type"] = usb
        self._ir_index = 1
        self._playback = None
        self._set_emitter(rs, profile)
        self._describe(rs, profile)

    def _set_emitter(self, rs, profile) -> None:
        depth_sensor = profile.get_device().first_depth_sensor()
        if depth_sensor.supports(rs.option.emitter_enabled) and not depth_sensor.is_option_read_only(
                rs.option.emitter_enabled):
            depth_sensor.set_option(rs.option.emitter_enabled, 1.0 if self.emitter else 0.0)

    # --- unplugged and back (drivers.camera_reconnect) -------------------------------------------------
    def _devices_changed(self, event) -> None:
        """The SDK's devices-changed callback (its own thread): our camera went, or a camera came."""
        try:
            if getattr(self, "_device", None) is not None and event.was_removed(self._device):
                self.link.removed()
            serials = [d.get_info(self.rs.camera_info.serial_number) for d in event.get_new_devices()]
        except RuntimeError:  # a device gone again while we asked: the next event says more
            return
        if self.link.removed_ns is not None and (self.serial is None or self.serial in serials):
            self.link.added()

    def _restart_pipeline(self) -> bool:
        """Stop and start the pipeline with the first config (reader thread); False while it cannot."""
        rs = self.rs
        with self.link.push_lock:
            try:
                try:
                    self._pipe.stop()
                except RuntimeError:  # stopped already (the device vanished under it)
                    pass
                self._sdk_queue = rs.frame_queue(self._sdk_queue.capacity(), keep_frames=True)
                profile = self._pipe.start(self._cfg, self._sdk_queue)
                self._set_emitter(rs, profile)
            except RuntimeError as exc:
                self.link.restart_failed(exc)
                return False
        self.link.restarted()
        return True

    def _describe(self, rs, profile) -> None:
        dev = profile.get_device()
        self.depth_scale_m = float(dev.first_depth_sensor().get_depth_scale())
        depth_profile = profile.get_stream(rs.stream.depth).as_video_stream_profile()
        self.intrinsics = _intrinsics(depth_profile.get_intrinsics())
        self.fps = depth_profile.fps()
        for key in ("name", "serial_number", "firmware_version", "product_line"):
            info = getattr(rs.camera_info, key)
            if dev.supports(info):
                try:
                    self.device_info[key] = dev.get_info(info)
                except UnicodeDecodeError:  # a damaged recording's device info: not worth refusing its frames
                    self.device_info[key] = "(unreadable)"

    # --- reader thread -------------------------------------------------------------------------------
    def _reader(self) -> None:
        rs = self.rs
        pending: dict[int, dict[str, object]] = {}
        last_emitted = -1
        silent_since_ns: int | None = None
        stalled = False
        try:
            while not self._stop.is_set():
                if self._playback is None and self.link.wants_restart():
                    if self._restart_pipeline():  # a new stream: numbers start again
                        pending.clear()
                        last_emitted = -1
                    continue
                if self._playback is None and not self.link.connected:
                    self._stop.wait(0.1)  # unplugged: nothing to wait for on the pipeline
                    continue
                ok, frameset = self._next_frameset(100)
                now_ns = time.monotonic_ns()
                if not ok:
                    if self._playback is not None:
                        if self._playback.current_status() == rs.playback_status.stopped:
                            break
                        continue
                    silent_since_ns = silent_since_ns or now_ns
                    if not stalled and now_ns - silent_since_ns > _STALL_S * 1e9:
                        stalled = self.link.stalled = True
                        self._stats["stalls"] += 1
                    continue
                if stalled:
                    self.stall_intervals_ns.append((silent_since_ns, now_ns))
                stalled, silent_since_ns = False, None
                self.link.stalled = False
                for kind, frame in self._depth_and_ir(frameset):
                    if self._playback is None and last_emitted - frame.get_frame_number() > self.fps:
                        pending.clear()  # over a second back: the camera restarted its counter
                        last_emitted = -1
                        self.link.counter_restarted()
                    if frame.get_frame_number() > last_emitted:
                        pending.setdefault(frame.get_frame_number(), {})[kind] = frame
                while len(pending) > _PENDING_MAX:  # the oldest half-pair will not be completed now
                    del pending[min(pending)]
                    self._stats["incomplete"] += 1
                for number in sorted(pending):
                    parts = pending[number]
                    if len(parts) < 2:
                        continue
                    if last_emitted >= 0 and number > last_emitted + 1:
                        self._stats["dropped"] += number - last_emitted - 1
                    self._emit(self._camera_frame(parts["depth"], parts["ir"], now_ns))
                    last_emitted = number
                    for stale in [n for n in pending if n <= number]:
                        if len(pending[stale]) < 2 and stale < number:
                            self._stats["incomplete"] += 1
                        del pending[stale]
        except RuntimeError as exc:
            self._error = exc
        finally:
            if stalled and silent_since_ns is not None:
                self.stall_intervals_ns.append((silent_since_ns, time.monotonic_ns()))
            with self._cond:
                self.finished = self._playback is not None and self._error is None and not self._stop.is_set()
                self._cond.notify_all()

    def _next_frameset(self, timeout_ms: int):
        """(ok, frameset or frame): a live camera's from our SDK queue, a recording's from the pipeline."""
        if self._sdk_queue is not None:
            return self._sdk_queue.try_wait_for_frame(timeout_ms)
        return self._pipe.try_wait_for_frames(timeout_ms)

    def _depth_and_ir(self, got) -> list[tuple[str, object]]:
        """("depth" | "ir", frame) of a frameset, or of a single frame the syncer handed out alone."""
        rs = self.rs
        if got.is_frameset():
            fs = got.as_frameset()
            pairs = (("depth", fs.get_depth_frame()), ("ir", fs.get_infrared_frame(self._ir_index)))
            return [(kind, f) for kind, f in pairs if f]
        profile = got.get_profile()
        if profile.stream_type() == rs.stream.depth:
            return [("depth", got)]
        if profile.stream_type() == rs.stream.infrared and profile.stream_index() == self._ir_index:
            return [("ir", got)]
        return []

    def _camera_frame(self, depth_frame, ir_frame, t_host_ns: int) -> CameraFrame:
        rs = self.rs
        metadata = {}
        for key in _METADATA:
            field = getattr(rs.frame_metadata_value, key)
            if depth_frame.supports_frame_metadata(field):
                metadata[key] = int(depth_frame.get_frame_metadata(field))
        return CameraFrame(
            frame_number=int(depth_frame.get_frame_number()),
            t_device_ms=float(depth_frame.get_timestamp()),
            timestamp_domain=str(depth_frame.get_frame_timestamp_domain()).split(".")[-1],
            t_host_ns=t_host_ns,
            depth=np.array(depth_frame.get_data(), dtype=np.uint16, copy=True),
            ir=np.array(ir_frame.get_data(), dtype=np.uint8, copy=True),
            depth_scale_m=float(depth_frame.as_depth_frame().get_units()),
            intrinsics=self.intrinsics,
            metadata=metadata,
        )

    def _emit(self, frame: CameraFrame) -> None:
        with self._cond:
            if self._playback is not None:  # a recording waits for the consumer: nothing is lost
                while len(self._buffer) >= self._buffer_frames and not self._stop.is_set():
                    self._cond.wait(0.1)
            elif len(self._buffer) >= self._buffer_frames:
                self._buffer.popleft()
                self._stats["overflows"] += 1
            self._buffer.append(frame)
            self._stats["frames"] += 1
            self._cond.notify_all()

    def frames(self, timeout_s: float = 5.0):
        """Iterate every CameraFrame until a recording ends (or nothing arrives for timeout_s)."""
        yield from frames_until_finished(self, timeout_s)


def _size(config: StationConfig) -> dict[str, int]:
    return {"width": config.camera.width, "height": config.camera.height, "fps": config.camera.fps}


def open_live_camera(serial: str, config: StationConfig) -> RealSenseCamera:
    """Registry factory (drivers.registry): `realsense:` (first camera) or `realsense:SERIAL`."""
    return RealSenseCamera(serial=serial or None, **_size(config))


def open_recording(path: str, config: StationConfig, *, real_time: bool = True) -> RealSenseCamera:
    """Registry factory (drivers.registry): a .db3/.bag recording played through rs.pipeline.

    real_time: at the pace of the frames' own timestamps, dropping what the station cannot take
    (drivers.db3_pacing; the SDK's own real-time mode paces by when frames reached its recorder)."""
    if real_time:
        from drivers.db3_pacing import TimestampPaced

        return TimestampPaced(RealSenseCamera(file=path, real_time=False, buffer_frames=8, **_size(config)))
    return RealSenseCamera(file=path, real_time=real_time, **_size(config))
