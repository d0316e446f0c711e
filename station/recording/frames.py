"""Optional depth + IR frame storage inside the trial file (the choice and its numbers: docs/trial-format.md).

Modes: "none" (default: markers, index and raw plate only), "h5-lz4" (Blosc LZ4 + bit-shuffle via
hdf5plugin, lossless), "h5-zstd" (Blosc zstd-1 + bit-shuffle), "h5-lzf", "h5-gzip1", "h5-raw".
"db3" (the camera's own recording beside the trial) is done by the camera source, not here.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import h5py
import numpy as np

from station.config import StationConfig
from station.errors import StationError

FRAME_MODES = ("none", "h5-lz4", "h5-zstd", "h5-lzf", "h5-gzip1", "h5-raw", "db3")
BLOSC_MODES = ("h5-lz4", "h5-zstd")  # filters HDF5 knows only once hdf5plugin is imported


def compression_kwargs(mode: str) -> dict:
    """h5py create_dataset keywords for a lossless frame filter."""
    if mode == "h5-raw":
        return {}
    if mode == "h5-lzf":
        return {"compression": "lzf"}
    if mode == "h5-gzip1":
        return {"compression": "gzip", "compression_opts": 1}
    if mode in BLOSC_MODES:
        hdf5plugin = _blosc_filter(f"--frames {mode}:")
        cname, level = ("lz4", 5) if mode == "h5-lz4" else ("zstd", 1)
        return dict(hdf5plugin.Blosc(cname=cname, clevel=level, shuffle=hdf5plugin.Blosc.BITSHUFFLE))
    raise StationError(f"--frames {mode}: unknown (choose from {', '.join(FRAME_MODES)})")


def readable_frames(path: str | Path, group: h5py.Group) -> h5py.Group:
    """A trial's stored frames group, its filter ready to read: the Blosc modes (h5-lz4, h5-zstd) need
    hdf5plugin registered with HDF5 in the reading process too, else HDF5 fails on the first frame with
    "can't open directory (/usr/local/lib/plugin)". StationError naming the file when it cannot be."""
    mode = str(group.attrs.get("compression", ""))
    if mode in BLOSC_MODES:
        _blosc_filter(f"{path}: its frames are stored with {mode}: reading them")
    return group


def _blosc_filter(what: str) -> ModuleType:
    """hdf5plugin, imported: that registers the Blosc filter with HDF5, for writing and for reading.
    StationError "<what> needs the hdf5plugin package" without it."""
    try:
        import hdf5plugin
    except ImportError:
        raise StationError(f"{what} needs the hdf5plugin package") from None
    return hdf5plugin


class FrameStore:
    """frames/depth (F,H,W) u16, frames/ir (F,H,W) u8, frames/frame_number (F,): one chunk per frame."""

    def __init__(self, mode: str, height: int, width: int) -> None:
        self.mode = mode
        self.shape = (height, width)
        self.kwargs = compression_kwargs(mode)
        self.count = 0
        self._ds: dict[str, h5py.Dataset] = {}

    def create(self, f: h5py.File) -> None:
        h, w = self.shape
        g = f.require_group("frames")
        g.attrs["compression"] = self.mode
        for name, dtype in (("depth", np.uint16), ("ir", np.uint8)):
            self._ds[name] = g.create_dataset(name, shape=(0, h, w), maxshape=(None, h, w), dtype=dtype,
                                              chunks=(1, h, w), **self.kwargs)
        self._ds["frame_number"] = g.create_dataset("frame_number", shape=(0,), maxshape=(None,),
                                                    dtype=np.int64, chunks=(256,))

    def append(self, frame_number: int, depth: np.ndarray, ir: np.ndarray) -> None:
        if depth.shape != self.shape:
            return  # a frame of another size (reconfigured camera) is not stored; the index still has it
        n = self.count
        for name, value in (("depth", depth), ("ir", ir), ("frame_number", frame_number)):
            ds = self._ds[name]
            ds.resize(n + 1, axis=0)
            ds[n] = value
        self.count = n + 1

    def flush(self) -> None:
        pass  # same file: flushed with it

    def close(self) -> None:
        self._ds.clear()


def frame_store_for(mode: str, config: StationConfig, trial_path: Path) -> FrameStore | None:
    if mode in ("none", "db3"):
        return None
    compression_kwargs(mode)  # fail early with one line if the filter is missing
    return FrameStore(mode, config.camera.height, config.camera.width)


def db3_path_for(trial_path: Path) -> Path:
    """Where the camera's own recording goes when frames are kept beside the trial."""
    return trial_path.with_suffix(".db3")
