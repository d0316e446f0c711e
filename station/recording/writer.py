"""TrialWriter: the HDF5 consumer of a trial's documents (start, descriptors, data, stop).

Crash safety (FIELD-NOTES, HDF5): every dataset is created when the trial starts, the file then
switches to SWMR (libver v110) and is flushed at least every `flush_period_s`, so a SIGKILL or a
power cut leaves a file that opens directly and lacks at most the last flush period. Rows are
buffered and written in blocks (one sample per call costs a third of a core at 1 kHz).

A write that fails (disk full, file too large, medium gone) stops the writer cleanly: it keeps
everything flushed so far, closes the file and sets `failed` to a StationError naming the file.
The file has no chunk cache (see start()): after a failed write nothing is left that must still be
written when the datasets close, so the process exits cleanly.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import time
import uuid

import h5py
import numpy as np
from numpy.typing import ArrayLike

from drivers.samples import PlateChunk
from station.config import StationConfig
from station.documents import DocumentValue
from station.errors import StationError
from station.owner_files import prepare
from station.recording.disk_space import space_left_bytes
from station.recording.format import (
    DATASET_BY_PATH,
    EVENT_DTYPE,
    WRITTEN_DATASETS,
)
from station.recording.frames import FrameStore, frame_store_for
from station.recording.root_attrs import calibration_attributes, start_attributes
from station.recording.rows import (
    check_output_path,
    quiet_hdf5_unraisable,
    rep_row,
    stack_markers,
    to_json,
)
from station.recording.stills import Still, StillStore
from station.recording.swmr import PART_SUFFIX, reopen_swmr_write
from station.results import RepResult
from station.streams import MARKER_NAMES

LIBVER = ("v110", "v110")  # readable by HDF5 1.10 tools; 'latest' + filters is not
SPACE_RESERVE_BYTES = 1 << 20  # headroom for HDF5 metadata and the stop record


class TrialWriter:
    """Writes one trial file. Call order: start -> descriptor* -> append_* / tick -> stop."""

    def __init__(self, path: str | os.PathLike, *, force: bool = False, config: StationConfig | None = None,
                 metadata: dict | None = None, frames: str = "none", flush_period_s: float = 0.5,
                 stills: bool = True) -> None:
        """stills: keep the optional /stills group (one camera frame per rep bottom, recording.stills)."""
        self.path = check_output_path(path, force)
        self.config = config or StationConfig()
        self.metadata = dict(metadata or {})
        # the trial's identity wherever the file is copied or moved (the archive's key; random, so two
        # stations recording at the same moment can never collide)
        self.metadata.setdefault("trial_uid", uuid.uuid4().hex)
        self.flush_period_s = float(flush_period_s)
        self.frames_mode = frames
        self.failed: StationError | None = None
        self.rows_written: dict[str, int] = {}
        self._file: h5py.File | None = None
        self._frames: FrameStore | None = None
        self.keep_stills = stills
        self._stills: StillStore | None = None
        self._pending: dict[str, list[np.ndarray]] = {d.path: [] for d in WRITTEN_DATASETS}
        self._pending_rows = 0
        self._flushed_rows: dict[str, int] = {}
        self._late_attrs: dict[str, dict] = {}  # group -> attrs set after SWMR began (written at stop)
        self._calibration: dict | None = None
        self._swmr = False
        self._last_flush = time.monotonic()
        self._stopped = False
        self.t0_host_ns: int | None = None

    # ---- documents -------------------------------------------------------------------------
    def start(self, meta: dict | None = None, *, t0_host_ns: int | None = None) -> None:
        """Create the file, every dataset, and write the start document (subject, drill, config...)."""
        self.metadata.update(meta or {})
        self.t0_host_ns = int(t0_host_ns if t0_host_ns is not None else time.monotonic_ns())
        try:
            # rdcc_nbytes=0: no chunk cache, so every block reaches the file in _write_pending and a
            # dataset never holds unwritten chunks. With a cache, closing a dataset after a write error
            # (disk full) must write its dirty chunks, fails, and leaves a half-closed dataset id that
            # HDF5's atexit clean-up closes again: a segfault at interpreter exit (about 1 run in 3).
            # made as NAME.part and renamed once in SWMR mode (end of start): a kill at any moment leaves
            # either no trial file or one that opens (a file killed before SWMR mode never opens again)
            part = self.path.with_name(self.path.name + PART_SUFFIX)
            prepare(part)  # owner-only from its first byte (HDF5 truncates it and keeps the mode)
            self._file = h5py.File(part, "w", libver=LIBVER, rdcc_nbytes=0)
        except OSError as exc:
            raise StationError(f"{self.path}: cannot create trial file ({exc})") from None
        f = self._file
        for spec in WRITTEN_DATASETS:
            f.create_dataset(spec.path, shape=(0, *spec.row_shape), maxshape=(None, *spec.row_shape),
                             dtype=spec.dtype, chunks=(spec.chunk_rows, *spec.row_shape))
            f[spec.path].attrs["units"] = spec.units
            self.rows_written[spec.path] = 0
        f["markers"].attrs["names"] = to_json(list(MARKER_NAMES))
        f.require_group("sync")
        f.require_group("calibration")
        self._frames = frame_store_for(self.frames_mode, self.config, self.path)
        if self._frames is not None:
            self._frames.create(f)
        if self.keep_stills:
            self._stills = StillStore(self.config.camera.height, self.config.camera.width)
            self._stills.create(f)
        f.attrs.update(start_attributes(self.metadata, self.config, self.t0_host_ns, self.frames_mode))
        if self._calibration is not None:
            f.require_group("calibration").attrs.update(calibration_attributes(self._calibration))
        f.flush()
        try:
            f.swmr_mode = True  # every dataset exists; from now on attributes wait for stop (_late_attrs)
            self._swmr = True
            os.replace(part, self.path)
        except OSError as exc:
            raise StationError(f"{self.path}: cannot create trial file ({exc})") from None

    def descriptor(self, stream: str, dtype: str | None = None, shape: tuple | None = None,
                   units: str | None = None, rate: float | None = None, **extra: DocumentValue) -> None:
        """Describe a stream (plate, force, camera, markers): rate in Hz, units, anything else."""
        values = {k: v for k, v in {"dtype": dtype, "shape": shape, "units": units,
                                    "rate_hz": rate, **extra}.items() if v is not None}
        self._set_attrs(stream, {f"descriptor_{k}": (to_json(v) if isinstance(v, (tuple, list, dict)) else v)
                                for k, v in values.items()})

    def set_calibration(self, status: str, *, plate: dict | None = None, camera_T: np.ndarray | None = None,
                        clocks: dict | None = None, files: dict | None = None) -> None:
        """The calibration in force: status 'calibrated' or 'nominal defaults', its parameters and files."""
        cal = {"status": status, "plate": plate, "camera_T": camera_T, "clocks": clocks, "files": files}
        self._calibration = cal
        if self._file is not None:
            if self._swmr:
                self._late_attrs["calibration"] = calibration_attributes(cal)
            else:
                self._file.require_group("calibration").attrs.update(calibration_attributes(cal))

    def set_sync(self, **values: DocumentValue) -> None:
        """The sync check (offset plate vs camera, its uncertainty, verdict): attributes of /sync."""
        self._set_attrs("sync", {k: (to_json(v) if isinstance(v, (dict, list, tuple)) else v)
                                 for k, v in values.items() if v is not None})

    # ---- data pages ---------------------------------------------------------------------------
    def append_plate(self, chunk: PlateChunk) -> None:
        if len(chunk) == 0:
            return
        self._queue("plate/raw/seq", chunk.seq)
        self._queue("plate/raw/t_device_s", chunk.t_device_s)
        self._queue("plate/raw/t_host_ns", chunk.t_host_ns)
        self._queue("plate/raw/counts", chunk.counts)
        self._queue("plate/raw/flags", chunk.flags)
        if chunk.six is not None:  # a six-component plate's own Fx Fy Fz Mx My Mz, as sent
            self._queue("plate/raw/six", chunk.six)
        self._after_append()

    def append_gap(self, t_host_ns: int, seq_before: int, n_lost: int) -> None:
        self._queue("plate/gaps", np.array([[t_host_ns, seq_before, n_lost]], np.int64))
        self._after_append()

    def append_force(self, t_s: np.ndarray, fz_n: np.ndarray, cop_xy_m: np.ndarray, foot_pos: np.ndarray,
                     cells_n: np.ndarray | None = None, *, shear_n: np.ndarray | None = None,
                     free_moment_nm: np.ndarray | None = None) -> None:
        """shear_n (N, 2) / free_moment_nm (N,): a six-component plate's only (absent: a four-cell plate)."""
        t = np.atleast_1d(np.asarray(t_s, float))
        if shear_n is not None:
            self._queue("force/shear_n", np.reshape(shear_n, (-1, 2)))
            self._queue("force/free_moment_nm", np.full(len(t), np.nan) if free_moment_nm is None
                        else free_moment_nm)
        self._queue("force/t_s", t)
        self._queue("force/fz_n", fz_n)
        self._queue("force/cop_xy_m", np.reshape(cop_xy_m, (-1, 2)))
        self._queue("force/foot_pos", foot_pos)
        cells = np.full((len(t), 4), np.nan) if cells_n is None else np.reshape(cells_n, (-1, 4))
        self._queue("force/cells_n", cells)
        self._after_append()

    def append_camera_index(self, frame_number: int | np.ndarray, t_device_ms: float | np.ndarray,
                            t_host_ns: int | np.ndarray, t_s: float | np.ndarray,
                            dropped_before: int | np.ndarray = 0) -> None:
        n = np.atleast_1d(frame_number).shape[0]
        self._queue("camera/index/frame_number", frame_number)
        self._queue("camera/index/t_device_ms", t_device_ms)
        self._queue("camera/index/t_host_ns", t_host_ns)
        self._queue("camera/index/t_s", t_s)
        self._queue("camera/index/dropped_before", np.broadcast_to(dropped_before, (n,)))
        self._after_append()

    def append_markers(self, t_s: float | np.ndarray, positions: dict | np.ndarray,
                       pixels: dict | np.ndarray | None = None,
                       bridged: dict | np.ndarray | None = None) -> None:
        """positions: name -> (M,3) m or (M,5,3); pixels: name -> (M,2) px; bridged: name -> (M,) bool."""
        t = np.atleast_1d(np.asarray(t_s, float))
        m = t.shape[0]
        self._queue("markers/t_s", t)
        self._queue("markers/positions_m", stack_markers(positions, m, 3, np.nan))
        self._queue("markers/pixels", stack_markers(pixels, m, 2, np.nan))
        self._queue("markers/bridged", stack_markers(bridged, m, None, False))
        self._after_append()

    def append_frames(self, frame_number: int, depth: np.ndarray, ir: np.ndarray,
                      camera_frame: object | None = None) -> None:
        if self._frames is None or self.failed is not None or self._stopped:
            return
        try:
            group = self._file["frames"] if self._file is not None and "frames" in self._file else None
            if camera_frame is not None and group is not None and "intrinsics_json" not in group.attrs:
                # the imager's pinhole and depth unit, once: what re-reading the stored depth needs
                # (analyze --markers depth)
                k = camera_frame.intrinsics
                group.attrs["intrinsics_json"] = to_json({n: getattr(k, n) for n in
                                                          ("width", "height", "fx", "fy", "ppx", "ppy")})
                group.attrs["depth_scale_m"] = float(camera_frame.depth_scale_m)
            self._frames.append(frame_number, depth, ir)
        except (OSError, RuntimeError) as exc:
            self._fail(exc)

    def append_still(self, still: Still) -> None:
        """A rep's camera still (station.recording.stills): written at once, on disk with the next flush."""
        if self._stills is None or self._file is None or self.failed is not None or self._stopped:
            return
        try:
            self._stills.append(still)
        except (OSError, RuntimeError) as exc:
            self._fail(exc)

    def append_dowel(self, row: dict[str, np.ndarray]) -> None:
        """One or more virtual-dowel rows (recording.rows.dowel_row): /dowel/<key> per key."""
        for key, values in row.items():
            self._queue(f"dowel/{key}", values)
        self._after_append()

    def append_rep(self, rep: RepResult) -> None:
        """A rep as the live core emitted it: on disk at once (rare and precious)."""
        self._queue("reps/live_json", rep_row(rep))
        self._flush_now()

    def reps_final(self, reps: list[RepResult]) -> None:
        """The reps of the whole trial at stop (the core's finish()): what analyze/replay must equal."""
        for rep in reps:
            self._queue("reps/json", rep_row(rep))

    def event(self, kind: str, text: str, t_s: float = float("nan")) -> None:
        """A warning or device event (e.g. kind='plate', text='disconnected at t=12.3 s')."""
        row = np.array([(t_s, kind.encode()[:24], text.encode()[:240])], dtype=EVENT_DTYPE)
        self._queue("events", row)
        self._flush_now()

    def tick(self) -> None:
        """Flush if the flush period has passed (call this even when no data arrives)."""
        if self._file is not None and time.monotonic() - self._last_flush >= self.flush_period_s:
            self._flush_now()

    def stop(self, reason: str = "stopped", counts: dict | None = None) -> dict:
        """Stop document: write what is pending, close, then add reason, counts, sync and end time."""
        if self._stopped:
            return self.summary()
        self._stopped = True
        if self._file is not None and self.failed is None:
            self._flush_now()
        self._close()
        if self.failed is None and self._file is None and self.t0_host_ns is not None:
            stop_attrs = {"stop_reason": reason, "counts_json": to_json(counts or {}), "complete": True,
                          "stop_wall_time": _dt.datetime.now(_dt.UTC).isoformat(),
                          # what the plate measured: shear and free moment only from a six-component one
                          "plate_components": "six-component" if self.rows_written.get("force/shear_n")
                          else "4-cell" if self.rows_written.get("force/t_s") else "none"}
            try:
                # reopened in SWMR-write mode, not plain r+: a kill while the stop document is written
                # leaves a file SWMR readers open (a plain r+ open marks it unopenable until h5clear)
                with h5py.File(reopen_swmr_write(self.path)) as f:
                    f.attrs.update(stop_attrs)
                    for group, attrs in self._late_attrs.items():
                        f.require_group(group).attrs.update(attrs)
            except (OSError, RuntimeError) as exc:
                self._fail(exc)
        return self.summary()

    def summary(self) -> dict:
        return {"path": str(self.path), "rows": dict(self.rows_written),
                "error": str(self.failed) if self.failed else None}

    # ---- internals ----------------------------------------------------------------------------
    def _set_attrs(self, group: str, attrs: dict) -> None:
        if self._file is not None and not self._swmr:
            self._file.require_group(group).attrs.update(attrs)
        else:  # before start or once SWMR began (no new attributes allowed): written at stop
            self._late_attrs.setdefault(group, {}).update(attrs)

    def _queue(self, path: str, values: ArrayLike) -> None:
        if self._stopped or self.failed is not None:
            return
        if self._file is None:
            raise StationError(f"{self.path}: data before the trial started (call start() first)")
        arr = np.asarray(values)
        # the format's spec, not an h5py lookup: that cost the live worker more than the writes
        arr = arr.reshape((-1, *DATASET_BY_PATH[path].row_shape))
        self._pending[path].append(arr)
        self._pending_rows += arr.shape[0]

    def _after_append(self) -> None:
        if self._pending_rows > 20000:  # bound memory between flushes
            self._write_pending()
        self.tick()

    def _write_pending(self) -> None:
        f = self._file
        if f is None:
            return
        try:
            for path, blocks in self._pending.items():
                if not blocks:
                    continue
                block = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
                blocks.clear()
                ds = f[path]
                n0 = ds.shape[0]
                ds.resize(n0 + block.shape[0], axis=0)
                ds[n0:] = block
                self.rows_written[path] = n0 + block.shape[0]
            self._pending_rows = 0
        except (OSError, RuntimeError) as exc:
            self._fail(exc)

    def _flush_now(self) -> None:
        if self._file is None or self.failed is not None:
            return
        need = sum(b.nbytes for blocks in self._pending.values() for b in blocks) * 2 + SPACE_RESERVE_BYTES
        left = space_left_bytes(self.path)
        if left < need:  # stop before HDF5 hits the wall: a failed HDF5 write can take the process down
            self._fail(OSError(28, f"no space left: {left / 1e6:.1f} MB free for this file"))
            return
        self._write_pending()
        if self.failed is not None:
            return
        try:
            if not self._swmr:
                self._file.swmr_mode = True  # after every dataset exists; readers may now follow live
                self._swmr = True
            if self._frames is not None:
                self._frames.flush()
            self._file.flush()
        except (OSError, RuntimeError) as exc:
            self._fail(exc)
            return
        self._flushed_rows = dict(self.rows_written)
        self._last_flush = time.monotonic()

    def _fail(self, exc: Exception) -> None:
        kept = self.rows_written.get("force/t_s", 0)
        why = getattr(exc, "strerror", None) or str(exc).split("error message = ")[-1].strip("')")
        self.failed = StationError(
            f"{self.path}: writing failed ({why}); trial stopped, "
            f"{kept} force samples recorded so far are kept in {self.path}")
        for blocks in self._pending.values():
            blocks.clear()
        # HDF5 reports every handle it cannot flush while closing; the message above says it all
        sys.unraisablehook = quiet_hdf5_unraisable(sys.unraisablehook)
        if self._file is not None:
            try:  # extents back to the last good flush: rows whose data never reached the disk are not kept
                for path, rows in self._flushed_rows.items():
                    if self._file[path].shape[0] > rows:
                        self._file[path].resize(rows, axis=0)
            except (OSError, RuntimeError, ValueError):
                pass
        self._close()

    def _close(self) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        try:
            if self._frames is not None:
                self._frames.close()
            if self._stills is not None:
                self._stills.close()
            f.close()
        except (OSError, RuntimeError):
            pass  # the data already flushed stays readable; nothing more can be saved

    def __enter__(self) -> TrialWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop("exception" if exc[0] else "stopped")
