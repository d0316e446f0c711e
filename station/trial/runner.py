"""TrialRunner: the one live data path. Sources -> one clock, one frame -> core -> consumers.

A trial is a procedure without GUI (ARCHITECTURE pattern 6): the CLI, tests and the dashboard all
drive this object. All computation happens on its worker thread; callers only start(), stop() and
snapshot(). What the trial produces goes out as documents (station.trial.documents) to a list of
consumers (the trial file, LSL, the live view, callbacks): adding one never edits this file. How each
source's data is taken in (clocks, documents, the core's input) is station.trial.intake. A source
that fails mid-trial becomes a warning (in the snapshot and the file) and the other stream goes on;
nothing already recorded is lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from calibration.plate import PlateGains
from drivers.samples import CameraSource, MarkerSource, PlateSource, Source
from station.config import StationConfig
from station.core.filtering import preload as preload_filters
from station.core.hinge_core import HingeCore
from station.errors import StationError
from station.results import RepResult, add_or_amend
from station.trial.consumers import RepCallback
from station.trial.delivery import CameraRateCheck, FrameNumbers, delivery_stats
from station.trial.device_watch import DeviceWatch
from station.trial.documents import (
    Calibration,
    StopTrial,
    StreamInfo,
    TrialConsumer,
    TrialDocument,
    TrialEnd,
    TrialEvent,
    TrialStart,
)
from station.trial.intake import StreamIntake
from station.trial.live import LiveSnapshot, LiveView
from station.trial.mocap import MocapStep
from station.trial.steps import (
    ClockStep,
    ForceStep,
    MarkerStep,
    ZeroCheckStep,
    factory_plate_calibration,
    warm_marker_finder,
)
from station.trial.stream_start import align_to_trial_start, settle_the_heap
from station.trial.sync_check import SyncBuffers

if TYPE_CHECKING:
    from station.dowel.step import DowelStep


class TrialRunner(StreamIntake):
    """Run one trial. `with TrialRunner(...) as run: ...; summary = run.stop("done")`.

    consumers: what receives the trial's documents besides the live view (e.g.
    `TrialFileConsumer(TrialWriter(path))`, `LslConsumer(outlets)`); on_rep: a callback per live rep.
    plate_calibration: None for the plate's factory sheet if it ships one, else nominal defaults.
    zero_check_s: check the empty plate's zero on this much data first (None/0: no check).
    markers: a motion-capture source (`--markers lsl:NAME`) whose markers replace the camera's
    (station.trial.mocap, mapped by config.lsl_markers); the camera, if any, still gives the dowel.
    """

    def __init__(self, plate: PlateSource | None, camera: CameraSource | None, config: StationConfig, *,
                 consumers: Sequence[TrialConsumer] = (), plate_calibration: PlateGains | None = None,
                 camera_T: np.ndarray | None = None, metadata: dict | None = None,
                 body_mass_kg: float | None = None, duration_s: float | None = None,
                 window_s: float = 10.0, on_rep: Callable[[RepResult], None] | None = None,
                 zero_check_s: float | None = None, markers: MarkerSource | None = None) -> None:
        if plate is None and camera is None and markers is None:
            raise StationError("a trial needs a plate or a camera (neither given)")
        self.plate, self.camera, self.config = plate, camera, config
        self.markers = markers  # mocap: its markers go to the core, the camera's do not
        self.mocap_step: MocapStep | None = None  # made when the marker source has started (its labels)
        self.markers_clock = ClockStep("markers")
        self._mocap_last: dict[str, np.ndarray] = {}  # the latest mocap positions, for the virtual dowel
        self.metadata = dict(metadata or {})
        self.duration_s = duration_s
        if plate_calibration is None:  # the plate's own factory sheet, if it ships one; else nominal
            plate_calibration = factory_plate_calibration(plate)
        self.force_step = ForceStep(config, plate_calibration, body_mass_kg)
        self.body_mass_kg = body_mass_kg
        # zero check on the first zero_check_s of plate data (None/0: none), see ZeroCheckStep
        self.zero_step = ZeroCheckStep(zero_check_s if plate is not None else None)
        self.camera_T = np.asarray(camera_T if camera_T is not None else config.camera.T_plate_from_camera(),
                                   float)
        self.marker_step: MarkerStep | None = None  # built at the first frame
        self.dowel_step = self._dowel_step() if camera is not None else None
        self.plate_clock, self.camera_clock = ClockStep("plate"), ClockStep("camera")
        self.core = HingeCore(config, body_mass_kg=body_mass_kg, expect_dowel=camera is not None,
                              movement=self.metadata.get("movement") or "hinge",  # the drill's (swing, step)
                              live_verdicts=True)  # each rep at its end, then again with its lockout
        preload_filters()  # no first import inside the worker (seconds on a loaded host): scipy.signal
        self.state = LiveView(window_s, config.plate.rate_hz, float(config.camera.fps))
        self.consumers: list[TrialConsumer] = [*consumers, self.state]
        if on_rep is not None:
            self.consumers.append(RepCallback(on_rep))
        self._failed: set[int] = set()  # consumers that raised: no more data, still told the end
        self.t0_host_ns = 0
        self._sources_started_ns = 0
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._dead: set[str] = set()
        self._counts = {"plate_samples": 0, "plate_lost": 0, "camera_frames": 0, "camera_dropped": 0}
        self._last_seq: int | None = None
        self._frame_numbers = FrameNumbers()
        self.device_watch = DeviceWatch()  # which device went and when it came back (events, stats)
        self._camera_said = 0  # the camera's own `events` already in the trial
        self._camera_rate = CameraRateCheck()  # a camera slower than it promised: said once
        self._stop_reason = "stopped"
        self._summary: dict | None = None
        self.reps: list[RepResult] = []
        self._final = None  # the core's finish() result
        # hip height of the whole trial and Fz around its highest points: the sync check at stop
        self._sync = SyncBuffers()

    # ---- public -------------------------------------------------------------------------------
    def on_rep(self, callback: Callable[[RepResult], None]) -> None:
        self.consumers.append(RepCallback(callback))

    def start(self) -> None:
        if self.markers is not None:  # its labels are checked before any consumer (the file) starts
            self._prepare_mocap()
        if (self.camera is not None and self.config.camera.markers != "depth"
                and not getattr(self.camera, "analyse", False)):  # (a camera process finds them itself)
            # the IR marker finder's compiled loops, before any source streams: on a fresh install numba
            # compiles them (15-23 s), which at the first frame dropped a fifth of a first demo's frames
            warm_marker_finder()
        settle_the_heap()  # before t=0 and the sources: a collection here delays no sample, shifts no rep
        self.t0_host_ns = time.monotonic_ns()
        self._emit(TrialStart(dict(self.metadata), self.t0_host_ns, self.config, self._calibration()))
        self._emit(StreamInfo("plate", self.config.plate.rate_hz, units="counts"))
        self._emit(StreamInfo("camera", float(self.config.camera.fps),
                              shape=(self.config.camera.height, self.config.camera.width)))
        align_to_trial_start(self._sources(), self.t0_host_ns)
        for src in self._sources():
            if src is not self.markers:  # started already (_prepare_mocap)
                src.start()
        if self.markers is not None:
            self._announce_mocap()
        fps = getattr(self.camera, "fps", None)  # what the device actually streams (known once started)
        if isinstance(fps, (int, float)) and 0 < fps != self.config.camera.fps:
            self._emit(StreamInfo("camera", float(fps)))
        self._sources_started_ns = time.monotonic_ns()  # --duration counts data time, not file creation
        self._thread = threading.Thread(target=self._run, name="trial-worker", daemon=True)
        self._thread.start()

    def stop(self, reason: str = "stopped") -> dict:
        """End the trial: stop the worker and sources, finish the analysis, tell every consumer."""
        if self._summary is not None:
            return self._summary
        if not self._stop_event.is_set():
            self._stop_reason = reason
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        for src in self._sources():
            try:
                src.stop()
            except Exception as exc:  # a device that died cannot stop cleanly; keep going
                self._warn(getattr(src, "name", "source"), f"stop failed: {exc}")
        if not self.zero_step.done:  # a trial shorter than the window: record what came, unchecked
            for chunk in self.zero_step.release():
                self._on_plate(chunk)
            self.zero_step.result = {"status": "skipped", "message": "zero check skipped: trial too short"}
        for kind, text in self.device_watch.finish(self.elapsed_s()):  # (not polled: sources are stopped)
            self._warn(kind, text)
        final = self._finish_core()
        sync = self._sync_check()
        delivery = self.delivery()
        summary = {"reason": self._stop_reason, "elapsed_s": self.elapsed_s(), **self._counts,
                   "reps": [r.to_json() for r in final], "warnings": list(self.state.warnings),
                   "calibration": self.force_step.status, "sync": sync, "zero_check": self.zero_step.result,
                   "delivery": delivery}
        end = TrialEnd(self._stop_reason, dict(self._counts), final, sync, self._clocks())
        for consumer in self.consumers:  # failed ones too: each closes what it holds
            try:
                summary.update(consumer.receive(end) or {})
            except Exception as exc:
                summary["warnings"].append(f"{consumer.name}: end of trial failed: {exc}")
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
                                 ("camera", self.camera, self.camera_clock),
                                 ("markers", self.markers, self.markers_clock)):
            if src is None:
                continue
            try:
                out[name] = dict(src.stats())
            except Exception:
                out[name] = {}
            own = out[name].get("clock")  # an LSL source's time_correction, kept beside the station's fit
            out[name]["clock"] = clock.stats() | ({"source_clock": own} if isinstance(own, dict) else {})
            out[name]["alive"] = name not in self._dead
        el = max(self.elapsed_s(), 1e-9)
        out["plate_rate_hz"] = self._counts["plate_samples"] / el
        out["camera_fps"] = self._counts["camera_frames"] / el
        out["outages"] = self.device_watch.rows()
        if self.camera is not None and getattr(self.config.camera, "markers", "ir") == "depth":
            from station.markerless.labels import SOURCE_LABEL, expected_error_text

            step = self.marker_step  # markerless: said on screen with its error, and what it waits for
            why = getattr(getattr(step, "tracker", None), "last_reason", "") if step is not None else ""
            out["markers_method"] = f"{SOURCE_LABEL}: {expected_error_text()}" + (f"; {why}" if why else "")
        return out

    def delivery(self) -> dict:
        """What reached the station and what it processed (station.trial.delivery; `--stats`), frozen at
        stop (summary["delivery"])."""
        if self._summary is not None:
            return dict(self._summary["delivery"])
        return delivery_stats(self._counts, self._frame_numbers, self.camera, self.elapsed_s())

    def __enter__(self) -> TrialRunner:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self.stop("exception" if exc_type else "stopped")

    # ---- documents out ------------------------------------------------------------------------
    def _emit(self, doc: TrialDocument) -> None:
        """Hand doc to every consumer still working. A consumer that raises gets no more data (a
        warning says why); one that raises StopTrial also ends the trial (the file on a full disk)."""
        for consumer in self.consumers:
            if id(consumer) in self._failed:
                continue
            try:
                consumer.receive(doc)
            except StopTrial as exc:
                self._failed.add(id(consumer))
                self._end(str(exc))
                self._warn(consumer.name, str(exc))
            except Exception as exc:  # a consumer's bug must not stop the recording
                self._failed.add(id(consumer))
                self._warn("station", f"{consumer.name} failed: {type(exc).__name__}: {exc}; "
                                      "the trial goes on without it")

    def _calibration(self, zero_check: dict | None = None) -> Calibration:
        plate = self.force_step.describe() | ({"zero_check": zero_check} if zero_check else {})
        return Calibration(self.force_step.status, plate, self.camera_T if self.camera is not None else None)

    def _warn(self, kind: str, text: str) -> None:
        self._emit(TrialEvent(kind, text, self.elapsed_s()))

    # ---- worker -------------------------------------------------------------------------------
    def _sources(self) -> list[Source]:
        return [s for s in (self.plate, self.camera, self.markers) if s is not None]

    def _prepare_mocap(self) -> None:
        """Start the marker source and map its labels (known once started); a stream whose labels cannot
        be mapped is stopped and refused before the trial creates anything."""
        src = self.markers
        src.start()
        try:
            self.mocap_step = MocapStep(self.config, tuple(getattr(src, "labels", ())),
                                        source=f"markers {getattr(src, 'name', 'source')}",
                                        side=self.metadata.get("side") or None)
        except StationError:
            try:
                src.stop()
            except Exception:  # noqa: BLE001 - the refusal is what matters
                pass
            raise

    def _announce_mocap(self) -> None:
        """The mocap stream's descriptor and its label mapping, in the trial's documents."""
        src = self.markers
        rate = getattr(src, "rate_hz", None)
        self._emit(StreamInfo("markers", float(rate or 0.0), units="m (plate frame)"))
        notes = self.mocap_step.notes
        self._emit(TrialEvent("markers", f"{src.name}: markers {notes.get('labels')}, preset "
                                         f"{notes.get('preset')}, hip from {notes.get('hip_source')}",
                              0.0, warning=False))

    def _clocks(self) -> dict[str, dict]:
        """Each source's clock mapping as the station fitted it, with the source's own (LSL's
        time_correction) beside it, and the mocap step's mapping of labels and frame."""
        out = {}
        for name, src, clock in (("plate", self.plate, self.plate_clock),
                                 ("camera", self.camera, self.camera_clock),
                                 ("markers", self.markers, self.markers_clock)):
            if name != "markers" or src is not None:  # plate and camera always (as before)
                out[name] = clock.stats()
            own = getattr(src, "clock", None) if src is not None else None
            if callable(own):
                out[name]["source_clock"] = own()
        if self.mocap_step is not None:
            out["markers"]["mapping"] = self.mocap_step.describe()
        return out

    def _run(self) -> None:
        try:
            while not self._stop_event.is_set():
                got = 0
                if self.plate is not None and "plate" not in self._dead:
                    got += self._read("plate", self.plate, 0.005)
                if self.markers is not None and "markers" not in self._dead:
                    got += self._read("markers", self.markers, 0.0 if got else 0.005)
                if self.camera is not None and "camera" not in self._dead:
                    got += self._read("camera", self.camera, 0.0 if got else 0.005)
                self._poll_core()
                self._watch_devices()
                if self.duration_s is not None and \
                        time.monotonic_ns() - self._sources_started_ns >= self.duration_s * 1e9:
                    self._end("duration reached")
                live = [n for n, s in (("plate", self.plate), ("camera", self.camera),
                                       ("markers", self.markers)) if s is not None and n not in self._dead]
                if not live:
                    self._end("all sources failed")
        except Exception as exc:  # a bug must not lose the file: record it and stop cleanly
            self._warn("station", f"trial worker stopped: {type(exc).__name__}: {exc}")
            self._end(f"error: {exc}")

    def _watch_devices(self, *, force: bool = False) -> None:
        """A device unplugged or back: one event line each (station.trial.device_watch); what a camera
        says once (frames late, a station slower than the camera: its `events`) goes in the trial too."""
        sources = {"plate": self.plate, "camera": self.camera, "markers": self.markers}  # mocap too
        for kind, text in self.device_watch.poll(sources, self.elapsed_s(), t0_host_ns=self.t0_host_ns,
                                                 force=force):
            self._warn(kind, text)
        if self.camera is not None and (slow := self._camera_rate.check(self._frame_numbers.last,
                                                                         getattr(self.camera, "fps", None))):
            self._warn("camera", slow)
        said = getattr(self.camera, "events", None)
        if isinstance(said, list) and len(said) > self._camera_said:
            for text in said[self._camera_said:]:
                self._warn("camera", text)
            self._camera_said = len(said)

    def _end(self, reason: str) -> None:
        if not self._stop_event.is_set():
            self._stop_reason = reason
            self._stop_event.set()

    # ---- core ---------------------------------------------------------------------------------
    def _dowel_step(self) -> DowelStep:
        """The virtual dowel of a camera trial; the drill says whether a real dowel is on the back.
        Imported here, not at module level: a plate-only trial never loads OpenCV, and a camera trial
        loads it now rather than at its first frame in the worker (seconds on a loaded host)."""
        from station.dowel.step import DowelStep, is_dowel_drill

        return DowelStep(self.config, self.camera_T, holding_dowel=is_dowel_drill(self.metadata.get("drill")))

    def _poll_core(self) -> None:
        for rep in self.core.poll():
            self._emit_rep(rep)
        self.state.set_core_values(self.core.live)

    def _emit_rep(self, rep: RepResult) -> None:
        if self.dowel_step is not None:  # why a rep has no dowel gap, before it is recorded or shown
            self.dowel_step.explain(rep)
        if self.marker_step is not None:  # markerless: what it could not measure in the rep, and why
            self.marker_step.explain(rep)
        add_or_amend(self.reps, rep)  # a rep given again once its lockout is judged replaces the first
        self._emit(rep)

    def _finish_core(self) -> list[RepResult]:
        self._poll_core()
        self._final = self.core.finish()
        for rep in self._final.reps:
            if self.dowel_step is not None:
                self.dowel_step.explain(rep)
            if self.marker_step is not None:
                self.marker_step.explain(rep)
        return list(self._final.reps)

    def _sync_check(self) -> dict | None:
        """Camera-to-plate offset from a hop / heel raise in the trial; a result beyond the config's
        limit (thresholds.sync_warn_frames) is a warning."""
        body_weight_n = self._final.summary.get("body_weight_n") if self._final is not None else None
        sync = self._sync.check(self.config, body_weight_n)
        if sync and sync.get("warning"):
            self._warn("sync", sync["warning"])
        return sync

