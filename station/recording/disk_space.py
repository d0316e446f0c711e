"""How many bytes a trial file may still grow by: the disk's free space and any file-size limit.

The writer stops before HDF5 hits either wall (a failed HDF5 write can take the process down): FIELD-NOTES.
"""

from __future__ import annotations

import resource
import shutil
from pathlib import Path


def space_left_bytes(path: Path) -> int:
    """Free bytes the file at path may still grow by (0 when the folder or the file cannot be read)."""
    try:
        left = shutil.disk_usage(path.parent).free
        size = path.stat().st_size
    except OSError:
        return 0
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY:
        left = min(left, soft - size)
    return left
