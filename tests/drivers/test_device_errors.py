"""One-line errors a user meets when plugging things in: a camera on a USB 2 link that cannot give the
station's mode, and a plate port another program already holds. Both through the real stacks: a
pyrealsense2 software device that reports a USB 2.1 link, and pyserial on a pseudo-terminal."""

from __future__ import annotations

import os
import pty

import pytest
import serial

from drivers.forceplate import ForcePlate
from drivers.realsense import RealSenseCamera
from drivers.rs_import import import_pyrealsense2
from drivers.sim.render import default_intrinsics
from drivers.sim.softcam import SIM_SERIAL, SoftwareCamera
from station.errors import StationError


def test_a_camera_on_usb2_that_cannot_give_the_mode_says_so():
    rs = import_pyrealsense2()
    cam = SoftwareCamera(default_intrinsics(848, 480), 30)  # offers 848x480 at 30 fps only
    cam.device.register_info(rs.camera_info.usb_type_descriptor, "2.1")
    ctx = rs.context()
    events: list = []
    ctx.set_devices_changed_callback(events.append)  # keeps the software device listed (FIELD-NOTES)
    cam.device.add_to(ctx)
    assert list(ctx.query_devices())
    camera = RealSenseCamera(serial=SIM_SERIAL, width=1280, height=720, fps=30, context=ctx)
    with pytest.raises(StationError) as err:
        camera.start()
    text = str(err.value)
    assert text.startswith(f"realsense:{SIM_SERIAL}: cannot stream depth + infrared at 1280x720 30 fps")
    assert "USB 2.1 link" in text and "USB 3 port" in text and "\n" not in text


def test_a_plate_port_held_by_another_program_is_named_busy():
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    other = serial.serial_for_url(name, exclusive=True)  # another program has the plate open
    try:
        with pytest.raises(StationError) as err:
            ForcePlate(name).start()
        assert str(err.value) == (f"plate {name}: cannot open: the port is in use by another program "
                                  f"(close it; `fuser -v {name}` shows which)")
    finally:
        other.close()
        os.close(master)
        os.close(slave)
