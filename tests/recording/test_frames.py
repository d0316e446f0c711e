"""Frames stored in a trial file are read back in a process that has not written any: the Blosc modes need
their HDF5 filter registered there too (station.recording.frames.readable_frames), and without the
package that brings it the reader says so in one line naming the file."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from station.errors import StationError
from station.recording.frames import FrameStore, readable_frames
from tests.conftest import REPO


def _store(path, mode: str, n: int = 3) -> np.ndarray:
    depth = np.random.default_rng(0).integers(0, 4000, (n, 48, 64), dtype=np.uint16)
    store = FrameStore(mode, 48, 64)
    with h5py.File(path, "w") as f:
        store.create(f)
        for i in range(n):
            store.append(i + 1, depth[i], (depth[i] // 16).astype(np.uint8))
    return depth


@pytest.mark.parametrize("mode", ["h5-lz4", "h5-zstd", "h5-lzf", "h5-raw"])
def test_stored_frames_read_back_in_a_fresh_process(tmp_path, mode):
    path = tmp_path / "t.h5"
    depth = _store(path, mode)
    np.save(tmp_path / "depth.npy", depth)
    # a fresh interpreter that never imported hdf5plugin: only readable_frames can register the filter
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        import h5py, numpy as np
        from station.recording.frames import readable_frames
        with h5py.File({str(path)!r}, "r") as f:
            frames = readable_frames({str(path)!r}, f["frames"])
            assert np.array_equal(frames["depth"][:], np.load({str(tmp_path / "depth.npy")!r}))
            assert frames["frame_number"][:].tolist() == [1, 2, 3]
        assert ("hdf5plugin" in sys.modules) == ({mode!r} in ("h5-lz4", "h5-zstd"))
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_without_the_filter_package_the_reader_says_so_naming_the_file(tmp_path, monkeypatch):
    path = tmp_path / "t.h5"
    _store(path, "h5-lz4")
    monkeypatch.setitem(sys.modules, "hdf5plugin", None)  # as if it were not installed
    with h5py.File(path, "r") as f, pytest.raises(StationError) as err:
        readable_frames(path, f["frames"])
    assert str(err.value) == (f"{path}: its frames are stored with h5-lz4: reading them needs the hdf5plugin "
                              "package")
