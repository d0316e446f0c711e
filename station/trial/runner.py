"""TrialRunner: the one live data path. Sources -> one clock, one frame -> core -> writer, LSL, live view.

A trial is a procedure without GUI (ARCHITECTURE pattern 6): the CLI, tests and the dashboard all
drive this object. All computation happens on its worker thread; callers only start(), stop() and
snapshot(). A source that fails mid-trial becomes a warning (in the snapshot and the file) and the
other stream goes on; nothing already recorded is lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from drivers.samples import CameraFrame, PlateChunk
from station.config import StationConfig
from station.core.cop import cop_and_foot_pos
from station.core.filtering import preload as preload_filters
from station.errors import StationError
from station.recording.writer import TrialWriter
from station.results import RepResult
from station.streams import MARKER_NAMES, ForceBlock, MarkerBlock
from station.trial.extras import CameraExtras
from station.trial.live import LiveSnapshot, LiveState
from station.trial.steps import (
    ClockStep,
    ForceStep,
    MarkerStep,
    ZeroCheckStep,
    factory_plate_calibration,
    plate_gaps,
)


class TrialRunner:
    """Run one trial. `with TrialRunner(...) as run: ...; summary = run.stop("done")`."""

    def __init__(self, plate: object | None, camera: object | None, config: StationConfig, *,
                 plate_calibration: object | None = None, camera_T: np.ndarray | None = None,
                 writer: TrialWriter | None = None, metadata: dict | None = None, lsl: object | None = None,
                 body_mass_kg: float | None = None, duration_s: float | None = None,
                 window_s: float = 10.0, on_rep: Callable[[RepResult], None] | None = None,
                 keep_frames: bool = False, zero_check_s: float | None = None) -> None:
        if plate is None and camera is None:
            raise StationError("a trial needs a plate or a camera (neither given)")
        self.plate, self.camera, self.config = plate, camera, config
        self.writer, self.lsl, self.metadata = writer, lsl, dict(metadata or {})
        self.duration_s = duration_s
        self.keep_frames = keep_frames
        self._on_rep = [on_rep] if on_rep else []
        if plate_calibration is None:  # the plate's own factory sheet, if it ships one; else nominal
            plate_calibration = factory_plate_calibration(plate)
        self.force_step = ForceStep(config, plate_calibration, body_mass_kg)
        self.body_mass_kg = body_mass_kg
        # zero check on the first zero_check_s of plate data (None/0: none), see ZeroCheckStep
        self.zero_step = ZeroCheckStep(zero_check_s if plate is not None else None)
        self.camera_T = np.asarray(camera_T if camera_T is not None else config.camera.T_plate_from_camera(),
                                   float)
        self.marker_step: MarkerStep | None = None
        # the virtual dowel and one still per rep (station.trial.extras): camera trials only
        self.extras = CameraExtras(config, self.camera_T, writer, self.metadata.get("drill")) \
            if camera is not None else None
        self.plate_clock, self.camera_clock = ClockStep("plate"), ClockStep("camera")
        self.core = self._make_core(config, body_mass_kg, expect_dowel=camera is not None)
        preload_filters()  # no first import inside the worker (seconds on a loaded host): scipy.signal,
        if camera is not None:  # and cv2 for the dowel at the first frame
            from station.dowel import step as dowel_step  # noqa: F401
        self.state = LiveState(window_s, config.plate.rate_hz, float(config.camera.fps))
        self.t0_host_ns = 0
        self._sources_started_ns = 0
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._dead: set[str] = set()
        self._counts = {"plate_samples": 0, "plate_lost": 0, "camera_frames": 0, "camera_dropped": 0}
        self._last_seq: int | None = None
        self._last_frame: int | None = None
        self._stop_reason = "stopped"
        self._summary: dict | None = None
        self.reps: list[RepResult] = []
        self._final = None  # the core's finish() result
        # Fz and hip height of the whole trial for the sync check at stop (16 kB/s of plate: fine in RAM)
        self._sync_force: list[np.ndarray] = []
        self._sync_hip: list[tuple[float, float]] = []

    # ---- public -------------------------------------------------------------------------------
    def on_rep(self, callback: Callable[[RepResult], None]) -> None:
        self._on_rep.append(callback)

    def start(self) -> None:
        self.t0_host_ns = time.monotonic_ns()
        if self.writer is not None:
            self.writer.set_calibration(self.force_step.status, plate=self.force_step.describe(),
                                        camera_T=self.camera_T if self.camera is not None else None)
            self.writer.start(self.metadata, t0_host_ns=self.t0_host_ns)
            self.writer.descriptor("plate", rate=self.config.plate.rate_hz, units="counts")
            self.writer.descriptor("camera", rate=float(self.config.camera.fps),
                                   shape=(self.config.camera.height, self.config.camera.width))
        for src in (self.plate, self.camera):
            if src is not None:
                src.start()
        fps = getattr(self.camera, "fps", None)  # what the device actually streams (known once started)
        if self.writer is not None and isinstance(fps, (int, float)) and 0 < fps != self.config.camera.fps:
            self.writer.descriptor("camera", rate=float(fps))
        self._sources_started_ns = time.monotonic_ns()  # --duration counts data time, not file creation
        self._thread = threading.Thread(target=self._run, name="trial-worker", daemon=True)
        self._thread.start()

    def stop(self, reason: str = "stopped") -> dict:
        """End the trial: stop the worker and sources, finish the analysis, close the file."""
        if self._summary is not None:
            return self._summary
        if not self._stop_event.is_set():
            self._stop_reason = reason
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        for src in (self.plate, self.camera):
            if src is not None:
                try:
                    src.stop()
                except Exception as exc:  # a device that died cannot stop cleanly; keep going
                    self._warn(getattr(src, "name", "source"), f"stop failed: {exc}")
        if not self.zero_step.done:  # a trial shorter than the window: record what came, unchecked
            for chunk in self.zero_step.release():
                self._on_plate(chunk)
            self.zero_step.result = {"status": "skipped", "message": "zero check skipped: trial too short"}
        final = self._finish_core()
        sync = self._sync_check()
        summary = {"reason": self._stop_reason, "elapsed_s": self.elapsed_s(), **self._counts,
                   "reps": [r.to_json() for r in final], "warnings": list(self.state.warnings),
                   "calibration": self.force_step.status, "sync": sync, "zero_check": self.zero_step.result}
        if self.writer is not None:
            self.writer.reps_final(final)
            self._write_sync(sync)
            out = self.writer.stop(self._stop_reason, dict(self._counts))
            summary["file"] = out["path"]
            summary["error"] = out["error"]
        if self.lsl is not None:
            self.lsl.close()
        self._summary = summary
        return summary

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the worker ends by itself (duration reached, both sources dead, disk full)."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def elapsed_s(self) -> float:
        return (time.monotonic_ns() - self.t0_host_ns) / 1e9 if self.t0_host_ns else 0.0

    def snapshot(self) -> LiveSnapshot:
        running = self._thread is not None and self._thread.is_alive()
        return self.state.snapshot(self.elapsed_s(), running, self.stats(), self.force_step.status)

    def stats(self) -> dict:
        out = dict(self._counts)
        for name, src, clock in (("plate", self.plate, self.plate_clock),
                                 ("camera", self.camera, self.camera_clock)):
            if src is None:
                continue
            try:
                out[name] = dict(src.stats())
            except Exception:
                out[name] = {}
            out[name]["clock"] = clock.stats()
            out[name]["alive"] = name not in self._dead
        el = max(self.elapsed_s(), 1e-9)
        out["plate_rate_hz"] = self._counts["plate_samples"] / el
        out["camera_fps"] = self._counts["camera_frames"] / el
        return out

    def __enter__(self) -> TrialRunner:
        self.start()
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.stop("exception" if exc_type else "stopped")

    # ---- worker -------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop_event.is_set():
                got = 0
                if self.plate is not None and "plate" not in self._dead:
                    got += self._read("plate", self.plate, 0.005)
                if self.camera is not None and "camera" not in self._dead:
                    got += self._read("camera", self.camera, 0.0 if got else 0.005)
                self._poll_core()
                if self.writer is not None:
                    self.writer.tick()
                    if self.writer.failed is not None:
                        self._end(str(self.writer.failed))
                        self._warn("writer", str(self.writer.failed))
                if self.duration_s is not None and \
                        time.monotonic_ns() - self._sources_started_ns >= self.duration_s * 1e9:
                    self._end("duration reached")
                live = [n for n, s in (("plate", self.plate), ("camera", self.camera))
                        if s is not None and n not in self._dead]
                if not live:
                    self._end("all sources failed")
        except Exception as exc:  # a bug must not lose the file: record it and stop cleanly
            self._warn("station", f"trial worker stopped: {type(exc).__name__}: {exc}")
            self._end(f"error: {exc}")

    def _end(self, reason: str) -> None:
        if not self._stop_event.is_set():
            self._stop_reason = reason
            self._stop_event.set()

    def _read(self, name: str, src: object, timeout_s: float) -> int:
        try:
            items = src.read(timeout_s)
        except Exception as exc:  # a device failing mid-trial: warn, keep the other stream going
            self._dead.add(name)
            self._warn(name, f"{name} failed at t={self.elapsed_s():.2f} s: {exc}; recording continues")
            return 0
        if not items:
            return 0
        if name == "plate":
            for chunk in self._zero_gate(PlateChunk.concat([c for c in items if isinstance(c, PlateChunk)])):
                self._on_plate(chunk)
            return len(items)
        for frame in items:
            try:
                self._on_frame(frame)
            except Exception as exc:  # e.g. the tracker cannot load: the plate goes on
                self._dead.add(name)
                self._warn(name, f"camera processing failed at t={self.elapsed_s():.2f} s: "
                                 f"{type(exc).__name__}: {exc}; recording continues without it")
                break
        return len(items)

    def _zero_gate(self, chunk: PlateChunk) -> list[PlateChunk]:
        """Hold the first chunks for the zero check; once it has run, the chunks to process."""
        if self.zero_step.done:
            return [chunk]
        ready = self.zero_step.feed(chunk)
        if ready:
            retared = self.zero_step.decide(self.force_step.calibration, self.config, ready)
            message = self.zero_step.result["message"]
            if retared is not None:  # a warning (live view, summary) as well as an event in the file
                self.force_step = ForceStep(self.config, retared, self.body_mass_kg)
                self._warn("zero_check", message)
            elif self.writer is not None:
                self.writer.event("zero_check", message, self.elapsed_s())
            if self.writer is not None:  # the calibration the whole trial uses, with the check's outcome
                plate = self.force_step.describe() | {"zero_check": self.zero_step.result}
                self.writer.set_calibration(self.force_step.status, plate=plate,
                                            camera_T=self.camera_T if self.camera is not None else None)
        return ready

    def _on_plate(self, chunk: PlateChunk) -> None:
        if len(chunk) == 0:
            return
        gaps, self._last_seq = plate_gaps(chunk, self._last_seq)
        host_ns = self.plate_clock.host_ns(chunk.t_device_s, chunk.t_host_ns)
        t_s = (host_ns - self.t0_host_ns) / 1e9
        cells = self.force_step.cells_n(chunk.counts)
        fz, cop, foot_pos = cop_and_foot_pos(cells, self.config, self.force_step.min_force_n)
        self._counts["plate_samples"] += len(chunk)
        if self.writer is not None:
            self.writer.append_plate(chunk)
            for gap in gaps:
                self.writer.append_gap(*gap)
            self.writer.append_force(t_s, fz, cop, foot_pos, cells)
        for _t, _s, n in gaps:
            self._counts["plate_lost"] += n
        self._sync_force.append(np.column_stack([t_s, fz]))
        if self.core is not None:
            self.core.push_force(ForceBlock(t_s=t_s, cells_n=cells))
        if self.lsl is not None:
            self.lsl.push_force(host_ns / 1e9, fz, cop, foot_pos)
        with self.state.lock:
            self.state.force.push(np.column_stack([t_s, fz, cop, foot_pos]))

    def _on_frame(self, frame: CameraFrame) -> None:
        dropped = 0 if self._last_frame is None else max(0, frame.frame_number - self._last_frame - 1)
        self._last_frame = frame.frame_number
        self._counts["camera_frames"] += 1
        self._counts["camera_dropped"] += dropped
        host_ns = int(self.camera_clock.host_ns(np.array([frame.t_device_ms / 1000.0]),
                                                np.array([frame.t_host_ns]))[0])
        t_s = (host_ns - self.t0_host_ns) / 1e9
        if self.marker_step is None:  # built at the first frame: the tracker is only needed with a camera
            self.marker_step = MarkerStep(self.config, self.camera_T)
        positions, pixels, bridged = self.marker_step.update(frame)
        if self.extras is not None:
            self.extras.on_markers(t_s, frame, pixels)
        if self.writer is not None:
            self.writer.append_camera_index(frame.frame_number, frame.t_device_ms, frame.t_host_ns, t_s,
                                            dropped)
            self.writer.append_markers(t_s, {k: v[None] for k, v in positions.items()},
                                       {k: v[None] for k, v in pixels.items()},
                                       {k: np.array([v]) for k, v in bridged.items()})
            if self.keep_frames:
                self.writer.append_frames(frame.frame_number, frame.depth, frame.ir)
        if self.extras is not None:  # before the markers reach the core, which waits for the dowel
            self._on_dowel(frame, positions, t_s)
        if self.core is not None:
            nan3 = np.full(3, np.nan)
            block = MarkerBlock(t_s=np.array([t_s]),
                                positions={k: positions.get(k, nan3)[None] for k in MARKER_NAMES},
                                bridged={k: np.array([bridged.get(k, False)]) for k in MARKER_NAMES})
            self.core.push_markers(block)
        hip = positions.get("hip", np.full(3, np.nan))
        self._sync_hip.append((t_s, float(hip[2])))
        if self.lsl is not None:
            self.lsl.push_hip(host_ns / 1e9, hip)
        with self.state.lock:
            self.state.push_hip(np.array([[t_s, *hip]]))
            self.state.ir, self.state.depth = frame.ir, frame.depth
            self.state.frame_number = frame.frame_number
            self.state.marker_pixels = {k: (float(v[0]), float(v[1])) for k, v in pixels.items()}

    def _on_dowel(self, frame: CameraFrame, positions: dict, t_s: float) -> None:
        live = self.extras.on_dowel(frame, positions, t_s, self.core)
        if live is not None:
            with self.state.lock:
                self.state.live["dowel"] = live

    # ---- core ---------------------------------------------------------------------------------
    @staticmethod
    def _make_core(config: StationConfig, body_mass_kg: float | None, expect_dowel: bool = False) -> object:
        from station.core.hinge_core import HingeCore

        return HingeCore(config, body_mass_kg=body_mass_kg, expect_dowel=expect_dowel)

    def _poll_core(self) -> None:
        if self.core is None:
            return
        for rep in self.core.poll():
            self._emit_rep(rep)
        live = getattr(self.core, "live", None)
        if live is not None:
            value = live() if callable(live) else live
            with self.state.lock:
                self.state.live = dict(value) if isinstance(value, dict) else {"value": value}
                if self.extras is not None and self.extras.dowel_live is not None:
                    self.state.live["dowel"] = self.extras.dowel_live

    def _emit_rep(self, rep: RepResult) -> None:
        if self.extras is not None:
            self.extras.explain(rep)
        self.reps.append(rep)
        if self.extras is not None:
            self.extras.on_rep(rep)
        if self.writer is not None:
            self.writer.append_rep(rep)
        if self.lsl is not None:
            self.lsl.push_rep(self.t0_host_ns / 1e9 + rep.t_end, rep)
        with self.state.lock:
            self.state.reps.append(rep)
        for cb in self._on_rep:
            try:
                cb(rep)
            except Exception as exc:  # a consumer's bug must not stop the recording
                self._warn("station", f"on_rep callback failed: {exc}")

    def _finish_core(self) -> list[RepResult]:
        if self.core is None:
            return list(self.reps)
        self._poll_core()
        self._final = self.core.finish()
        if self.extras is not None:
            self.extras.on_final_reps(self._final.reps)
        return list(self._final.reps)

    def _sync_check(self) -> dict | None:
        """Camera-to-plate offset from a hop / heel raise in the trial; a result beyond the config's
        limit (thresholds.sync_warn_frames) is a warning."""
        from station.trial.sync_check import sync_from_buffers

        body_weight_n = self._final.summary.get("body_weight_n") if self._final is not None else None
        sync = sync_from_buffers(self._sync_force, self._sync_hip, self.config, body_weight_n)
        if sync and sync.get("warning"):
            self._warn("sync", sync["warning"])
        return sync

    def _write_sync(self, sync: dict | None) -> None:
        """The clock mappings in force and the sync check's result (attributes of /sync)."""
        self.writer.set_sync(plate_clock=self.plate_clock.stats(), camera_clock=self.camera_clock.stats(),
                             **(sync or {"status": "not checked"}))

    def _warn(self, kind: str, text: str) -> None:
        with self.state.lock:
            self.state.warnings.append(text)
        if self.writer is not None:
            self.writer.event(kind, text, self.elapsed_s())
