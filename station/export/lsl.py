"""Lab Streaming Layer outlets so labs record the station beside EMG and other instruments.

Three outlets, named `<prefix>-Force`, `<prefix>-Hip`, `<prefix>-Reps`:
  Force: Fz [N], CoPx [m], CoPy [m], foot_pos [1] at the plate rate (float32, NaN below the CoP gate)
  Hip:   x, y, z [m] in the plate frame at the camera rate
  Reps:  one JSON string per rep (RepResult.to_json()), irregular rate, stamped at the rep's end
Samples carry the station's host-monotonic time, which is LSL's own local_clock() on Linux/macOS
(both CLOCK_MONOTONIC), so LabRecorder's clock sync applies directly.
"""

from __future__ import annotations

import json

import numpy as np

from station.errors import StationError
from station.results import RepResult


class LslOutlets:
    def __init__(self, plate_rate_hz: float, camera_rate_hz: float, prefix: str = "HingeStation",
                 source_id: str = "hinge-station") -> None:
        try:
            import pylsl
        except Exception as exc:  # ImportError, or liblsl missing: one line, the trial can run without LSL
            raise StationError(f"--lsl: pylsl is not usable here ({exc})") from None
        self._pylsl = pylsl
        self.names = {k: f"{prefix}-{k}" for k in ("Force", "Hip", "Reps")}

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

    def push_force(self, t_host_s: np.ndarray, fz_n: np.ndarray, cop_xy_m: np.ndarray,
                   foot_pos: np.ndarray) -> None:
        data = np.column_stack([fz_n, cop_xy_m, foot_pos]).astype(np.float32)
        self.force.push_chunk(data.tolist(), np.asarray(t_host_s, float).tolist())

    def push_hip(self, t_host_s: float, hip_xyz_m: np.ndarray) -> None:
        self.hip.push_sample(np.asarray(hip_xyz_m, np.float32).tolist(), float(t_host_s))

    def push_rep(self, t_host_s: float, rep: RepResult) -> None:
        self.reps.push_sample([json.dumps(rep.to_json())], float(t_host_s))

    def close(self) -> None:
        self.force = self.hip = self.reps = None
