"""Lab Streaming Layer outlets so labs record the station beside EMG and other instruments.

Five outlets, named `<prefix>-Force`, `<prefix>-Hip`, `<prefix>-Reps`, `<prefix>-Cells`, `<prefix>-Camera`:
  Force:  Fz [N], CoPx [m], CoPy [m], foot_pos [1] at the plate rate (float32, NaN below the CoP gate)
  Hip:    x, y, z [m] in the plate frame at the camera rate
  Reps:   one JSON string per rep (RepResult.to_json()), irregular rate, stamped at the rep's end; a rep
          given at its end with notes.lockout "pending: ..." is sent again (same index) once its lockout
          is judged: the later one counts
  Cells:  the four load cells [N] at the plate rate: what the core's CoP, gate and heel load come from
  Camera: per camera frame, the five markers' x, y, z [m] in the plate frame (hip, knee, ankle, shoulder,
          head; NaN = not seen), then the virtual dowel's worst gap [mm] and its region (index into
          station.streams.DOWEL_REGIONS; NaN both when the dowel did not run on that frame)
Force, Hip and Reps are what a lab watches; Cells and Camera carry everything the core eats, so a
LabRecorder file of a trial gives the same reps through `analyze FILE.xdf` (station.analysis.xdf_input) as
the trial file does. A rep's stamp minus its `t_end` is the trial's t = 0 on the same clock.
Samples carry the station's host-monotonic time, which is LSL's own local_clock() on Linux/macOS
(both CLOCK_MONOTONIC), so LabRecorder's clock sync applies directly.

Outlets exist only with `record --lsl` (nothing listens on the network by default). What any machine on
the network can resolve (names, types, source ids, channel descriptions) names the station, never the
subject: no code, no name (tests/privacy/test_privacy_run.py reads the stream XML).
"""

from __future__ import annotations

import json

import numpy as np

from station.dowel.frame import DowelFrame
from station.errors import StationError
from station.results import RepResult
from station.streams import DOWEL_REGIONS, MARKER_NAMES

CAMERA_CHANNELS = [(f"{m}_{a}", "m") for m in MARKER_NAMES for a in "xyz"] + [("dowel_gap_mm", "mm"),
                                                                              ("dowel_region", "index")]


class LslOutlets:
    def __init__(self, plate_rate_hz: float, camera_rate_hz: float, prefix: str = "HingeStation",
                 source_id: str = "hinge-station") -> None:
        try:
            import pylsl
        except Exception as exc:  # ImportError, or liblsl missing: one line, the trial can run without LSL
            raise StationError(f"--lsl: pylsl is not usable here ({exc})") from None
        self._pylsl = pylsl
        self.names = {k: f"{prefix}-{k}" for k in ("Force", "Hip", "Reps", "Cells", "Camera")}

        def outlet(kind: str, stype: str, channels: list[tuple[str, str]], rate: float,
                   fmt: str) -> pylsl.StreamOutlet:
            info = pylsl.StreamInfo(self.names[kind], stype, len(channels), rate, fmt, f"{source_id}-{kind}")
            chans = info.desc().append_child("channels")
            for label, unit in channels:
                ch = chans.append_child("channel")
                ch.append_child_value("label", label)
                ch.append_child_value("unit", unit)
            info.desc().append_child_value("manufacturer", "hinge-station")
            return pylsl.StreamOutlet(info, chunk_size=0, max_buffered=60)

        f32 = pylsl.cf_float32
        self.force = outlet("Force", "Force", [("Fz", "N"), ("CoPx", "m"), ("CoPy", "m"),
                                               ("foot_pos", "1")], plate_rate_hz, f32)
        self.hip = outlet("Hip", "Mocap", [(f"hip_{a}", "m") for a in "xyz"], camera_rate_hz, f32)
        self.reps = outlet("Reps", "Markers", [("rep", "json")], pylsl.IRREGULAR_RATE, pylsl.cf_string)
        self.cells = outlet("Cells", "Force", [(f"cell{i}", "N") for i in range(4)], plate_rate_hz, f32)
        self.camera = outlet("Camera", "Mocap", CAMERA_CHANNELS, camera_rate_hz, f32)

    def push_force(self, t_host_s: np.ndarray, fz_n: np.ndarray, cop_xy_m: np.ndarray,
                   foot_pos: np.ndarray, cells_n: np.ndarray | None = None) -> None:
        stamps = np.asarray(t_host_s, float).tolist()
        data = np.column_stack([fz_n, cop_xy_m, foot_pos]).astype(np.float32)
        self.force.push_chunk(data.tolist(), stamps)
        if cells_n is not None:
            self.cells.push_chunk(np.asarray(cells_n, np.float32).tolist(), stamps)

    def push_hip(self, t_host_s: float, hip_xyz_m: np.ndarray) -> None:
        self.hip.push_sample(np.asarray(hip_xyz_m, np.float32).tolist(), float(t_host_s))

    def push_camera(self, t_host_s: float, positions: dict[str, np.ndarray],
                    dowel: DowelFrame | None = None) -> None:
        """One camera frame: the markers (absent = NaN) and the dowel (NaN, NaN when it did not run)."""
        row = [float(v) for m in MARKER_NAMES for v in positions.get(m, np.full(3, np.nan))]
        if dowel is None:
            row += [np.nan, np.nan]
        else:
            region = DOWEL_REGIONS.index(dowel.worst_region) if dowel.worst_region in DOWEL_REGIONS else -1
            row += [np.nan if dowel.worst_gap_mm is None else float(dowel.worst_gap_mm), float(region)]
        self.camera.push_sample(row, float(t_host_s))

    def push_rep(self, t_host_s: float, rep: RepResult) -> None:
        self.reps.push_sample([json.dumps(rep.to_json())], float(t_host_s))

    def close(self) -> None:
        self.force = self.hip = self.reps = self.cells = self.camera = None
