"""A synthetic trial with a known answer: a subject's weight rocking heel<->toe while the hip moves back.

Used by the recorder, reader, export and LSL tests; independent of the simulator so the file format
is tested on its own.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from drivers.samples import PlateChunk
from station.config import StationConfig
from station.core.cop import cop_and_foot_pos
from station.recording.writer import TrialWriter
from station.results import RepResult
from station.trial.steps import ForceStep

PLATE_HZ = 1000.0
CAMERA_FPS = 30.0
OFFSETS = np.array([1200.0, -800.0, 500.0, 300.0])
GAINS = np.array([0.0011, 0.00095, 0.00102, 0.00099])


class KnownCalibration:
    """Stands in for a calibration file: offsets and gains the synthetic counts were made with."""

    offsets_counts = OFFSETS
    gains_n_per_count = GAINS
    source = "synthetic"
    is_default = False


def truth_cells(t_s: np.ndarray, config: StationConfig) -> np.ndarray:
    """700 N whose CoP moves along x between -0.10 and +0.12 m (0.25 Hz) and sways in y."""
    xy = config.plate.channel_xy
    cop_x = 0.01 + 0.11 * np.sin(2 * np.pi * 0.25 * t_s)
    cop_y = 0.02 * np.cos(2 * np.pi * 0.4 * t_s)
    fz = 700.0 + 30 * np.sin(2 * np.pi * 1.1 * t_s)
    # bilinear weights of a point load between the four cells
    ax = (cop_x - xy[2, 0]) / (xy[0, 0] - xy[2, 0])
    ay = (cop_y - xy[1, 1]) / (xy[0, 1] - xy[1, 1])
    w = np.column_stack([ax * ay, ax * (1 - ay), (1 - ax) * ay, (1 - ax) * (1 - ay)])
    return w * fz[:, None]


def hip_truth(t_s: np.ndarray) -> np.ndarray:
    back = 0.15 * (1 - np.cos(2 * np.pi * 0.25 * t_s)) / 2
    return np.column_stack([0.05 - back, np.full_like(t_s, -0.1), 0.92 - 0.3 * back])


def write_synthetic_trial(path: Path, duration_s: float = 8.0, *, force: bool = False,
                          flush_period_s: float = 0.5) -> dict:
    """Write a complete trial through TrialWriter the way the runner does; return the truth."""
    config = StationConfig()
    cal = KnownCalibration()
    step = ForceStep(config, cal)
    writer = TrialWriter(path, force=force, config=config, flush_period_s=flush_period_s,
                         metadata={"subject_id": "S01", "drill": "bodyweight", "load_kg": 0.0,
                                   "side": "right", "notes": "synthetic"})
    writer.set_calibration(step.status, plate=step.describe(), camera_T=config.camera.T_plate_from_camera())
    writer.start(t0_host_ns=0)
    writer.descriptor("plate", rate=PLATE_HZ, units="counts")
    writer.descriptor("camera", rate=CAMERA_FPS)
    n = int(duration_s * PLATE_HZ)
    t = np.arange(n) / PLATE_HZ
    cells = truth_cells(t, config)
    counts = np.round(cells / GAINS + OFFSETS).astype(np.int32)
    seq = np.arange(n, dtype=np.int64)
    seq[n // 2:] += 3  # three samples lost on the wire halfway
    for a in range(0, n, 100):
        b = a + 100
        chunk = PlateChunk(seq[a:b], t[a:b], (t[a:b] * 1e9).astype(np.int64), counts[a:b],
                           np.zeros(b - a, np.uint8))
        writer.append_plate(chunk)
        if a == n // 2:
            writer.append_gap(int(t[a] * 1e9), int(seq[a - 1]), 3)
        c = step.cells_n(chunk.counts)
        fz, cop, fp = cop_and_foot_pos(c, config, step.min_force_n)
        writer.append_force(t[a:b], fz, cop, fp, c)
    mt = np.arange(int(duration_s * CAMERA_FPS)) / CAMERA_FPS
    hip = hip_truth(mt)
    for k, tk in enumerate(mt):
        writer.append_camera_index(k, tk * 1000.0, int(tk * 1e9), tk, 0)
        writer.append_markers(tk, {"hip": hip[k:k + 1]}, {"hip": np.array([[400.0 + k, 200.0]])},
                              {"hip": np.array([False])})
    reps = [RepResult(index=0, t_start=0.5, t_bottom=2.0, t_end=3.6, hip_back_mm=150.0, faults=[]),
            RepResult(index=1, t_start=4.5, t_bottom=6.0, t_end=7.6, hip_back_mm=149.0, faults=["shallow"])]
    for rep in reps:
        writer.append_rep(rep)
    writer.reps_final(reps)
    writer.set_sync(offset_ms=1.5, verdict="ok")
    writer.stop("duration reached", {"plate_lost": 3})
    return {"t": t, "cells": cells, "marker_t": mt, "hip": hip, "reps": reps, "config": config}


class TruthPlate:
    """Emits what has 'arrived' since start at 1 kHz, stamped with both clocks."""

    name = "truth-plate"

    def __init__(self, config: StationConfig) -> None:
        self.config = config
        self.sent = 0

    def start(self) -> None:
        self.t0_ns = time.monotonic_ns()

    def read(self, timeout_s: float = 0.1) -> list:
        time.sleep(min(timeout_s, 0.005))
        now = time.monotonic_ns()
        due = int((now - self.t0_ns) / 1e6)
        if due <= self.sent:
            return []
        seq = np.arange(self.sent, due, dtype=np.int64)
        self.sent = due
        t = seq / 1000.0
        counts = np.round(truth_cells(t, self.config) / GAINS + OFFSETS).astype(np.int32)
        host = self.t0_ns + (seq * 1_000_000)
        return [PlateChunk(seq, t, host, counts, np.zeros(len(seq), np.uint8))]

    def stop(self) -> None:
        pass

    def stats(self) -> dict:
        return {"samples": self.sent}
