"""Import pyrealsense2, preloading libusb-1.0 from the libusb-package wheel when the system lacks it."""

from __future__ import annotations

import ctypes
import sys
from types import ModuleType

from station.errors import StationError

_MISSING = (
    "pyrealsense2 needs the system library libusb-1.0 (apt-get install libusb-1.0-0, "
    "or pip install libusb-package)"
)


def import_pyrealsense2() -> ModuleType:
    """Return the pyrealsense2 module or raise StationError in one line saying what is missing."""
    try:
        import pyrealsense2 as rs

        return rs
    except ImportError as exc:
        if "libusb" not in str(exc):
            raise StationError(f"cannot import pyrealsense2: {exc}") from None
    try:
        import libusb_package

        path = libusb_package.get_library_path()
        if path is None:
            raise OSError("libusb-package has no library for this platform")
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        import pyrealsense2 as rs

        return rs
    except (ImportError, OSError):
        raise StationError(_MISSING) from None


if __name__ == "__main__":
    if "--check" in sys.argv:
        try:
            import_pyrealsense2()
        except StationError as exc:
            print(f"setup: {exc}", file=sys.stderr)
            sys.exit(1)
