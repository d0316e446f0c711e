"""The trial file layout in one place: the writer creates exactly this, the reader checks exactly this.

docs/trial-format.md explains every entry; keep the two in step (bump SCHEMA_VERSION on any change
a reader of an older version could misread).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from station.streams import MARKER_NAMES

SCHEMA_VERSION = 1
FORMAT_NAME = "hinge-station-trial"
REP_JSON_BYTES = 4096  # fixed-length rows: variable-length strings are not safe to append under SWMR
EVENT_TEXT_BYTES = 240
N_MARKERS = len(MARKER_NAMES)


@dataclass(frozen=True)
class DatasetSpec:
    """One appendable dataset: rows grow along axis 0 (time first)."""

    path: str
    dtype: np.dtype
    row_shape: tuple[int, ...]
    units: str
    chunk_rows: int


def _spec(path: str, dtype: str | np.dtype, row_shape: tuple[int, ...], units: str,
          chunk: int) -> DatasetSpec:
    return DatasetSpec(path, np.dtype(dtype), row_shape, units, chunk)


EVENT_DTYPE = np.dtype([("t_s", "<f8"), ("kind", "S24"), ("text", f"S{EVENT_TEXT_BYTES}")])

# every dataset a schema-1 trial holds, created (empty, resizable, chunked) when the trial starts
DATASETS: tuple[DatasetSpec, ...] = (
    _spec("plate/raw/seq", "<i8", (), "sample number (unwrapped)", 4096),
    _spec("plate/raw/t_device_s", "<f8", (), "s (plate clock)", 4096),
    _spec("plate/raw/t_host_ns", "<i8", (), "ns (host monotonic)", 4096),
    _spec("plate/raw/counts", "<i4", (4,), "ADC counts", 4096),
    _spec("plate/raw/flags", "u1", (), "bit0 saturated, bit1 stale", 4096),
    _spec("plate/gaps", "<i8", (3,), "[t_host_ns, seq_before_gap, n_lost]", 64),
    _spec("force/t_s", "<f8", (), "s (trial clock)", 4096),
    _spec("force/fz_n", "<f8", (), "N", 4096),
    _spec("force/cop_xy_m", "<f8", (2,), "m (plate frame), NaN below the CoP force threshold", 4096),
    _spec("force/foot_pos", "<f8", (), "1 (0 heel, 1 toe), NaN below threshold", 4096),
    _spec("force/cells_n", "<f8", (4,), "N per load cell", 4096),
    _spec("camera/index/frame_number", "<i8", (), "camera frame counter", 512),
    _spec("camera/index/t_device_ms", "<f8", (), "ms (camera clock, see timestamp_domain)", 512),
    _spec("camera/index/t_host_ns", "<i8", (), "ns (host monotonic at arrival)", 512),
    _spec("camera/index/t_s", "<f8", (), "s (trial clock)", 512),
    _spec("camera/index/dropped_before", "<i4", (), "frames missing just before this one", 512),
    _spec("markers/t_s", "<f8", (), "s (trial clock)", 512),
    _spec("markers/positions_m", "<f8", (N_MARKERS, 3), "m (plate frame), NaN missing", 512),
    _spec("markers/pixels", "<f4", (N_MARKERS, 2), "px (u, v) in the IR image, NaN missing", 512),
    _spec("markers/bridged", "|b1", (N_MARKERS,), "True = interpolated across a gap", 512),
    _spec("reps/live_json", f"S{REP_JSON_BYTES}", (), "reps as the live core emitted them (JSON)", 16),
    _spec("reps/json", f"S{REP_JSON_BYTES}", (), "final reps at stop (core.finish()), JSON", 16),
    _spec("events", EVENT_DTYPE, (), "warnings and device events", 64),
)
# optional (added later, same schema version): the virtual dowel per camera frame with depth. Written by
# every new trial; a file without /dowel (older, or written by another tool) still reads (no dowel series).
DOWEL_DATASETS: tuple[DatasetSpec, ...] = (
    _spec("dowel/t_s", "<f8", (), "s (trial clock)", 512),
    _spec("dowel/gap_mm", "<f8", (3,), "mm per region [sacrum, upper_back, head], NaN not measured", 512),
    _spec("dowel/worst_gap_mm", "<f8", (), "mm, the fault-relevant gap, NaN not measured", 512),
    _spec("dowel/worst_region", "|i1", (), "index into [head, upper_back, sacrum], -1 none", 512),
    _spec("dowel/lumbar_curve_mm", "<f8", (), "mm, + rounded (flexion), - arched, NaN unknown", 512),
    _spec("dowel/reason", "S160", (), "why not measured (empty when measured)", 512),
)
# optional (same schema version): a six-component plate's shear and free moment, one row per force/t_s row,
# and the components as it sent them, one row per plate/raw row. Created in every new trial and left empty
# for a four-cell plate (root attribute plate_components says which); older files lack them.
SIX_DATASETS: tuple[DatasetSpec, ...] = (
    _spec("force/shear_n", "<f8", (2,), "N [Fx, Fy] (force on the plate, plate axes)", 4096),
    _spec("force/free_moment_nm", "<f8", (), "N·m Tz about the vertical through the CoP, NaN below "
          "the CoP force threshold", 4096),
    _spec("plate/raw/six", "<f8", (6,), "N, N·m [Fx, Fy, Fz, Mx, My, Mz] about the transducer origin "
          "(lsl_plate.origin_depth_m below the top)", 4096),
)
WRITTEN_DATASETS = DATASETS + DOWEL_DATASETS + SIX_DATASETS
DATASET_BY_PATH = {d.path: d for d in WRITTEN_DATASETS}
REQUIRED_GROUPS = ("plate/raw", "force", "camera/index", "markers", "reps", "calibration", "sync")

# root attributes the writer sets at start (the "start document")
START_ATTRS = ("schema_version", "format", "software_version", "subject_id", "drill", "load_kg", "arms",
               "side", "notes", "start_wall_time", "t0_host_ns", "station_config_json")


# /dowel/worst_region codes as files have always stored them (index into this tuple, -1 none). The
# station's own order is station.streams.DOWEL_REGIONS; recording.rows converts between the two.
WORST_REGION_CODES = ("head", "upper_back", "sacrum")
DOWEL_REASON_BYTES = 160  # fixed-length reason text (SWMR cannot append variable-length strings)
