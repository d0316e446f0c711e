"""A lab's motion capture (a MarkerSource, e.g. `--markers lsl:NAME`) -> the station's markers in the plate
frame, by the C3D import's rules (station.markers.labels): the same presets (station, plug-in-gait with
the Harrington hip) and `--markers hip=LABEL,...` mapping, and the same lab -> plate frame rule (+z the
lab's up axis, +x anterior from heel->toe markers else [c3d] lab_anterior_axis); the origin is the plate
top's centre in the lab, `[lsl_markers] plate_origin_m` (a C3D file says where its platforms are; a live
stream does not).

The labels are checked when the step is made, before any data (the runner makes it as the source starts):
a label the mapping names that the stream lacks, or no marker that can be the hip, is refused listing the
stream's labels and naming the flag to map them with. The lab -> plate rotation is fixed on the first
block of data (heel->toe needs positions) and kept for the trial: notes say where it came from.
"""

from __future__ import annotations

import warnings

import numpy as np

from drivers.samples import MarkerChunk
from station.config import StationConfig
from station.errors import StationError
from station.markers.labels import clean_label, map_markers, parse_mapping, plate_frame
from station.streams import MARKER_NAMES

MAP_FLAG = "--markers hip=LABEL,knee=LABEL,... (or [lsl_markers] mapping)"


class MocapStep:
    """MarkerChunk (lab frame, the stream's labels) -> {station name: (M, 3) plate-frame metres}."""

    def __init__(self, config: StationConfig, labels: tuple[str, ...] | list[str], *, source: str = "",
                 preset: str | None = None, mapping: str | None = None, side: str | None = None) -> None:
        self.config = config
        mc = config.lsl_markers
        self.source = source or "the marker stream"
        self.labels = [clean_label(lbl) for lbl in labels]
        self.preset = preset or mc.preset or None
        self.mapping = parse_mapping(mapping if mapping is not None else mc.mapping)
        self.origin_m = np.asarray(mc.plate_origin_m, float).reshape(3)
        self.rotation: np.ndarray | None = None  # rows: plate x, y, z in lab axes; fixed at the first data
        empty = {lbl: np.zeros((0, 3)) for lbl in self.labels}
        mapped, notes = map_markers(empty, self.preset, self.mapping, side, config.camera.side,
                                    where=self.source)
        self.side = notes.get("side", side)
        if "hip" not in mapped:
            raise StationError(f"{self.source}: no marker to use as the hip among its labels "
                               f"{', '.join(self.labels) or '(none)'}; map them with {MAP_FLAG}")
        self.notes = notes
        missing = [n for n in MARKER_NAMES if n not in mapped]
        if missing:
            self.notes["missing"] = missing  # e.g. no head marker: head/neck metrics stay empty

    def update(self, chunk: MarkerChunk) -> dict[str, np.ndarray]:
        """Station name -> (M, 3) metres in the plate frame (NaN where occluded), the five core markers."""
        points = {clean_label(lbl): chunk.positions_m[:, k, :] for k, lbl in enumerate(chunk.labels)}
        lab, _ = map_markers(points, self.preset, self.mapping, self.side, self.config.camera.side,
                             where=self.source)
        if self.rotation is None:
            with warnings.catch_warnings():  # heel/toe occluded in the first block: the config's axes
                warnings.simplefilter("ignore", RuntimeWarning)
                self.rotation, self.notes["anterior_from"] = plate_frame(lab, self.config)
            self.notes["plate_origin_m"] = self.origin_m.tolist()
        return {name: (lab[name] - self.origin_m) @ self.rotation.T for name in MARKER_NAMES if name in lab}

    def describe(self) -> dict:
        """What the trial stores about the mapping: preset, side, hip source, labels used, frame."""
        return {"source": self.source, **{k: v for k, v in self.notes.items()},
                "rotation_plate_from_lab": None if self.rotation is None else self.rotation.tolist()}
