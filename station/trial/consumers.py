"""The station's own consumers of a trial's documents: the trial file, the LSL outlets, a rep callback.

Each turns the documents (station.trial.documents) into its own vocabulary; the runner only knows the
TrialConsumer protocol. The live view (station.trial.live.LiveView) is one too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from drivers.samples import CameraFrame
from station.export.lsl import LslOutlets
from station.privacy.faces import CameraGeometry, FaceMasker, other_markers
from station.recording.rows import dowel_row
from station.recording.stills import Still, StillKeeper
from station.recording.writer import TrialWriter
from station.results import RepResult
from station.trial.documents import (
    Calibration,
    FrameData,
    MarkerData,
    PlateData,
    StopTrial,
    StreamInfo,
    TrialDocument,
    TrialEnd,
    TrialEvent,
    TrialStart,
)
from station.trial.held import HeldPlate


class TrialFileConsumer:
    """The HDF5 trial file (recording.writer.TrialWriter), plus one camera still per rep bottom.

    A write that fails (disk full) raises StopTrial naming the file: the trial ends, what was flushed
    stays readable, and the end still reaches the writer so the summary carries its path and error.
    """

    name = "writer"

    def __init__(self, writer: TrialWriter) -> None:
        self.writer = writer
        # the frame nearest each rep's bottom, for the report; stored with the head masked
        self.stills = StillKeeper(writer, redact=self._redact_still)
        self.faces: FaceMasker | None = None  # made at the first frame (its intrinsics); None: faces kept
        self._camera_T: np.ndarray | None = None
        self._raw_ahead: set[int] = set()  # ids of chunks whose raw rows were written as HeldPlate

    def receive(self, doc: TrialDocument) -> dict | None:
        w = self.writer
        match doc:
            case HeldPlate():  # held for the zero check: raw counts on disk now, force rows at release
                w.append_plate(doc.chunk)
                self._raw_ahead.add(id(doc.chunk))
            case TrialStart():
                self._calibration(doc.calibration)
                w.start(doc.metadata, t0_host_ns=doc.t0_host_ns)
                self._camera_T = doc.calibration.camera_T if doc.calibration.camera_T is not None \
                    else doc.config.camera.T_plate_from_camera()
            case StreamInfo():
                w.descriptor(doc.stream, rate=doc.rate_hz, units=doc.units, shape=doc.shape)
            case Calibration():
                self._calibration(doc)
            case PlateData():
                if id(doc.chunk) in self._raw_ahead:
                    self._raw_ahead.discard(id(doc.chunk))
                else:
                    w.append_plate(doc.chunk)
                for gap in doc.gaps:
                    w.append_gap(*gap)
                w.append_force(doc.t_s, doc.fz_n, doc.cop_xy_m, doc.foot_pos, doc.cells_n,
                               shear_n=doc.shear_n, free_moment_nm=doc.free_moment_nm)
            case FrameData():
                self._frame(doc)
            case MarkerData():  # mocap: the markers rows come from it, not from the camera frames
                m = len(doc.t_s)
                w.append_markers(doc.t_s, doc.positions, {}, {k: np.zeros(m, bool) for k in doc.positions})
            case RepResult():
                self.stills.on_rep(doc)
                w.append_rep(doc)
            case TrialEvent():
                w.event(doc.kind, doc.text, doc.t_s)
            case TrialEnd():
                return self._end(doc)
        if w.failed is not None:
            raise StopTrial(str(w.failed))
        return None

    def _calibration(self, cal: Calibration) -> None:
        self.writer.set_calibration(cal.status, plate=cal.plate, camera_T=cal.camera_T)

    def _frame(self, doc: FrameData) -> None:
        w, frame = self.writer, doc.frame
        self.stills.on_frame(doc.t_s, frame, doc.pixels)
        w.append_camera_index(frame.frame_number, frame.t_device_ms, frame.t_host_ns, doc.t_s, doc.dropped)
        if doc.markers_from_camera:  # else the mocap's MarkerData fills markers/
            w.append_markers(doc.t_s, {k: v[None] for k, v in doc.positions.items()},
                             {k: v[None] for k, v in doc.pixels.items()},
                             {k: np.array([v]) for k, v in doc.bridged.items()})
        self._face_masker(frame)
        if w.frames_mode not in ("none", "db3"):  # --frames keeps them: the stored copy, head masked
            ir, depth = frame.ir, frame.depth
            if self.faces is not None:
                ir, depth, _ = self.faces.apply(ir, depth, doc.pixels.get("head"), other_markers(doc.pixels))
            w.append_frames(frame.frame_number, depth, ir, frame)
        if doc.dowel is not None:
            self.stills.on_dowel(doc.t_s, doc.dowel)
            w.append_dowel(dowel_row(doc.dowel))

    def _face_masker(self, frame: CameraFrame) -> None:
        """The masker of this camera (its own intrinsics), unless the subject consented to keep faces."""
        if self.faces is not None or self.writer.metadata.get("faces_kept"):
            return
        k = frame.intrinsics
        self.faces = FaceMasker(CameraGeometry(k.fx, k.fy, k.ppx, k.ppy, frame.depth_scale_m, self._camera_T))

    def _redact_still(self, still: Still) -> Still:
        """The copy of a rep still that is stored: the head masked (after the dowel measured the frame)."""
        if self.faces is None:
            return still
        ir, depth, _ = self.faces.apply(still.ir, still.depth, still.marker_pixels.get("head"),
                                        other_markers(still.marker_pixels))
        return dataclasses.replace(still, ir=ir, depth=depth)

    def _end(self, end: TrialEnd) -> dict:
        for rep in end.reps:  # a still for any rep first found at stop (live ones are not stored twice)
            self.stills.on_rep(rep)
        self.writer.reps_final(end.reps)
        mocap = {"markers_clock": end.clocks["markers"]} if "markers" in end.clocks else {}
        self.writer.set_sync(plate_clock=end.clocks.get("plate"), camera_clock=end.clocks.get("camera"),
                             **mocap, **(end.sync or {"status": "not checked"}))
        out = self.writer.stop(end.reason, dict(end.counts))
        return {"file": out["path"], "error": out["error"]}


class LslConsumer:
    """Lab Streaming Layer outlets (export.lsl): force, hip and reps stamped on the host clock, so a lab
    records the station beside its other instruments; cells and camera (markers, dowel) for re-analysis."""

    name = "lsl"

    def __init__(self, outlets: LslOutlets) -> None:
        self.outlets = outlets
        self._t0_host_s = 0.0

    def receive(self, doc: TrialDocument) -> dict | None:
        match doc:
            case TrialStart():
                self._t0_host_s = doc.t0_host_ns / 1e9
            case PlateData():
                self.outlets.push_force(doc.host_s, doc.fz_n, doc.cop_xy_m, doc.foot_pos, doc.cells_n)
            case FrameData():
                if doc.markers_from_camera:
                    self.outlets.push_hip(doc.host_s, doc.positions.get("hip", np.full(3, np.nan)))
                self.outlets.push_camera(doc.host_s, doc.positions, doc.dowel)
            case MarkerData():  # mocap: the hip outlet carries the mocap's hip
                hip = doc.positions.get("hip", np.full((len(doc.t_s), 3), np.nan))
                for host_s, xyz in zip(doc.host_s, hip, strict=True):
                    self.outlets.push_hip(host_s, xyz)
            case RepResult():
                self.outlets.push_rep(self._t0_host_s + doc.t_end, doc)
            case TrialEnd():
                self.outlets.close()
        return None


class RepCallback:
    """Calls `callback(rep)` for each rep as the live core emits it (e.g. the record command's print)."""

    name = "on_rep"

    def __init__(self, callback: Callable[[RepResult], None]) -> None:
        self.callback = callback

    def receive(self, doc: TrialDocument) -> dict | None:
        if isinstance(doc, RepResult):
            self.callback(doc)
        return None
