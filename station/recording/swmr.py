"""Opening a trial file so that a kill at any moment leaves one that opens (docs/trial-format.md).

A file HDF5 has open for writing outside SWMR mode is marked in its superblock; killed then, it never
opens again without `h5clear -s`. So the writer makes the file under NAME.part and renames it once it is
in SWMR mode, and reopens it for the stop document in SWMR-write mode, never plain r+ (an SWMR-write file
killed mid-write opens as an SWMR reader, as every killed recording does).
"""

from __future__ import annotations

import os

import h5py

PART_SUFFIX = ".part"  # a trial file being made; never a trial (archive scan takes *.h5 only)


def reopen_swmr_write(path: str | os.PathLike) -> h5py.h5f.FileID:
    """A low-level file id of an existing v110 trial file, open read-write in SWMR-write mode (wrap it in
    h5py.File); OSError as h5py raises it."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_V110, h5py.h5f.LIBVER_V110)
    return h5py.h5f.open(os.fsencode(os.fspath(path)), h5py.h5f.ACC_RDWR | h5py.h5f.ACC_SWMR_WRITE, fapl=fapl)
