"""What a RealSense recording (.db3 / .bag) holds, read before librealsense plays it.

check_db3 refuses a damaged rosbag2 recording that librealsense would wait on forever or die on;
recording_fps says at what rate its depth stream was recorded (the camera process is used at >= 60 fps).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from drivers.rs_import import import_pyrealsense2
from station.errors import StationError

# rosbag2 topics of a RealSense recording: a stream's (`.../Depth_0/...`) and an option's (`.../option/X/...`)
_STREAM_TOPIC = re.compile(r"(/device_\d+/sensor_\d+/(?!option/)[^/]+_\d+/).+")
_OPTION_TOPIC = re.compile(r"(/device_\d+/sensor_\d+/option/[^/]+/).+")
# a stream's extrinsics (`.../tf/ref_N`, a CDR string after the 8-byte header): 3x3 rotation, translation
_NUMBER = rb"[!-+\-./0-:<>-~]+"  # printable ASCII but , ; =
_EXTRINSICS = re.compile(rb"rotation=(?:%s,){8}%s;translation=(?:%s,){2}%s" % ((_NUMBER,) * 4))


def check_db3(path: Path) -> None:
    """Refuse a .db3 with messages of a stream but no `info` message, or of an option but no `value`
    message, at time 0 (where the recorder puts them): librealsense waits for it forever, holding the GIL
    (no timeout can end the wait)."""
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT t.name, COUNT(m.id), TOTAL(m.timestamp <= 0) FROM topics t "
                               "LEFT JOIN messages m ON m.topic_id = t.id GROUP BY t.id").fetchall()
            extrinsics = con.execute("SELECT t.name, m.data FROM messages m JOIN topics t "
                                     "ON m.topic_id = t.id WHERE t.name LIKE '/device_%/tf/%'").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise StationError(f"{path}: not a readable RealSense recording ({exc})") from None
    used = {str(name) for name, count, _ in rows if count}
    at_start = {str(name) for name, _, static in rows if static}
    needed = {m[1] + "info" for m in map(_STREAM_TOPIC.fullmatch, used) if m}
    needed |= {m[1] + "value" for m in map(_OPTION_TOPIC.fullmatch, used) if m}
    missing = sorted(needed - at_start)
    if missing:
        raise StationError(f"{path}: damaged recording: no {missing[0]} message at its start")
    for name, data in extrinsics:  # librealsense dies (segfault) on a cut or garbled one
        data = bytes(data) if isinstance(data, bytes | memoryview) else b""
        size = int.from_bytes(data[4:8], "little")
        if len(data) < 8 + size or not _EXTRINSICS.fullmatch(data[8:8 + size].rstrip(b"\0")):
            raise StationError(f"{path}: damaged recording: {name} is not rotation=9 numbers;translation=3")


def recording_fps(path: str | Path) -> float:
    """The depth stream's recorded frame rate, from the recording's own stream profile (not played)."""
    path = Path(path)
    if not path.is_file():
        raise StationError(f"{path}: recording not found")
    if path.suffix.lower() == ".db3":
        check_db3(path)
    rs = import_pyrealsense2()
    cfg = rs.config()
    cfg.enable_device_from_file(str(path), repeat_playback=False)
    try:
        profile = cfg.resolve(rs.pipeline_wrapper(rs.pipeline()))
    except RuntimeError as exc:
        raise StationError(f"{path}: cannot play this recording ({exc})") from None
    rates = [p.fps() for p in profile.get_streams() if p.stream_type() == rs.stream.depth]
    if not rates:
        raise StationError(f"{path}: no depth stream in this recording")
    return float(rates[0])
