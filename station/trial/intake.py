"""How a TrialRunner takes in its sources' data: each read turned into trial-clock samples, documents
for the consumers and the core's input (plate chunks, camera frames, mocap markers).

`StreamIntake` is a part of TrialRunner (station.trial.runner), kept apart because it is a job of its
own: it runs on the runner's worker thread and works on the runner's state (its steps, clocks, counts,
core, sync buffers, `_emit`, `_warn`, `elapsed_s`), which TrialRunner.__init__ sets up.
"""

from __future__ import annotations

import numpy as np

from drivers.samples import CameraFrame, MarkerChunk, PlateChunk, Source
from station.core.cop import cop_and_foot_pos
from station.core.shear import shear_and_free_moment
from station.dowel.frame import block_of
from station.streams import MARKER_NAMES, ForceBlock, MarkerBlock
from station.trial.camera_process import AnalysedFrame, with_trial_time
from station.trial.documents import FrameData, MarkerData, PlateData, TrialEvent
from station.trial.held import HeldPlate
from station.trial.steps import ForceStep, MarkerStep, plate_gaps


class StreamIntake:
    """The worker's per-stream processing of a TrialRunner (mixed into it; not used alone)."""

    def _read(self, name: str, src: Source, timeout_s: float) -> int:
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
        if name == "markers":
            self._on_markers(MarkerChunk.concat([c for c in items if isinstance(c, MarkerChunk)]))
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
        self._emit(HeldPlate(chunk))  # its raw counts to the file now (a kill in the window loses no more)
        if ready:
            retared = self.zero_step.decide(self.force_step.calibration, self.config, ready)
            message = self.zero_step.result["message"]
            if retared is not None:  # a warning (live view, summary) as well as an event in the file
                self.force_step = ForceStep(self.config, retared, self.body_mass_kg)
                self._warn("zero_check", message)
            else:
                self._emit(TrialEvent("zero_check", message, self.elapsed_s(), warning=False))
            # the calibration the whole trial uses, with the check's outcome
            self._emit(self._calibration(zero_check=self.zero_step.result))
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
        for _t, _s, n in gaps:
            self._counts["plate_lost"] += n
        self._sync.add_force(t_s, fz)
        shear = tz = None
        if chunk.six is not None:  # a six-component plate: its shear and free moment too
            shear, tz = shear_and_free_moment(chunk.six, self.config.lsl_plate.origin_depth_m,
                                              self.force_step.min_force_n)
        self._emit(PlateData(chunk, gaps, t_s, host_ns / 1e9, cells, fz, cop, foot_pos, shear, tz))
        self.core.push_force(ForceBlock(t_s=t_s, cells_n=cells, shear_n=shear, free_moment_nm=tz))

    def _on_frame(self, frame: CameraFrame) -> None:
        dropped = self._frame_numbers.arrived(frame.frame_number, frame.t_host_ns)
        self._counts["camera_frames"] += 1
        self._counts["camera_dropped"] += dropped
        host_ns = int(self.camera_clock.host_ns(np.array([frame.t_device_ms / 1000.0]),
                                                np.array([frame.t_host_ns]))[0])
        t_s = (host_ns - self.t0_host_ns) / 1e9
        mocap = self.markers is not None
        if isinstance(frame, AnalysedFrame) and frame.analysed and not mocap:
            # measured in the camera process (station.trial.camera_process) by the same steps
            positions, pixels, bridged = frame.markers
            dowel = self.dowel_step.accept(with_trial_time(frame.dowel, t_s)) if self.dowel_step else None
        else:
            if self.marker_step is None:  # built at the first frame: only needed with a camera
                self.marker_step = MarkerStep(self.config, self.camera_T)
            positions, pixels, bridged = self.marker_step.update(frame, t_s)
            # the dowel before the markers reach the core, which waits for it (None: frame skipped,
            # behind); with mocap, the dowel is placed by the mocap's markers (the latest: a few ms old)
            near = (self._mocap_last or positions) if mocap else positions
            dowel = self.dowel_step.update(frame, near, t_s) if self.dowel_step is not None else None
        if dowel is not None:
            self.core.push_dowel(block_of(dowel))
        self._emit(FrameData(frame, t_s, host_ns / 1e9, dropped, positions, pixels, bridged, dowel,
                             markers_from_camera=not mocap))
        if mocap:
            return  # the core's markers come from the mocap (_on_markers)
        nan3 = np.full(3, np.nan)
        block = MarkerBlock(t_s=np.array([t_s]),
                            positions={k: positions.get(k, nan3)[None] for k in MARKER_NAMES},
                            bridged={k: np.array([bridged.get(k, False)]) for k in MARKER_NAMES})
        self.core.push_markers(block)
        self._sync.add_hip(np.array([t_s]), np.array([positions.get("hip", nan3)[2]]))

    def _on_markers(self, chunk: MarkerChunk) -> None:
        """Mocap markers: trial clock (the source's stamps through the clock step), plate frame
        (MocapStep), then the core, exactly as the camera's would."""
        if len(chunk) == 0 or self.mocap_step is None:
            return
        host_ns = self.markers_clock.host_ns(chunk.t_device_s, chunk.t_host_ns)
        t_s = (host_ns - self.t0_host_ns) / 1e9
        positions = self.mocap_step.update(chunk)
        self._counts["marker_samples"] = self._counts.get("marker_samples", 0) + len(chunk)
        self._mocap_last = {k: v[-1] for k, v in positions.items() if np.all(np.isfinite(v[-1]))}
        self._emit(MarkerData(t_s, host_ns / 1e9, positions, getattr(self.markers, "name", "")))
        nan = np.full((len(chunk), 3), np.nan)
        block = MarkerBlock(t_s=t_s, positions={k: positions.get(k, nan) for k in MARKER_NAMES},
                            bridged={k: np.zeros(len(chunk), bool) for k in MARKER_NAMES})
        self.core.push_markers(block)
        hip_z = positions.get("hip", nan)[:, 2]
        self._sync.add_hip(t_s, hip_z)
