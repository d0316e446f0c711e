"""A minimal XDF writer (what LabRecorder writes), from the XDF 1.0 specification; pyxdf only reads.

File = b"XDF:" then chunks. A chunk is [NumLengthBytes: u8 1|4|8][Length: that many bytes, counting the
tag and the content][Tag: u16][Content]. Tags: 1 FileHeader (XML), 2 StreamHeader (StreamID u32 + the
stream's LSL XML), 3 Samples (StreamID + varlen NumSamples + per sample [TimeStampBytes u8 0|8][f64
stamp][values]), 4 ClockOffset (StreamID + f64 collection time + f64 offset), 6 StreamFooter (StreamID +
XML). Numbers are little-endian; a string value is [varlen length][UTF-8 bytes]; varlen = [u8 1|4|8][uint].
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NUMERIC = {"float32": "<f4", "double64": "<f8", "int8": "<i1", "int16": "<i2", "int32": "<i4", "int64": "<i8"}


@dataclass
class XdfStream:
    """One stream as a recorder captured it: its header XML (StreamInfo.as_xml()), samples, stamps."""

    header_xml: str
    channel_format: str  # float32, double64, int8..int64 or string
    samples: list  # (N, channels) numbers, or N lists of str
    stamps: np.ndarray  # (N,) seconds on the sender's clock
    clock_offsets: list[tuple[float, float]] = field(default_factory=list)  # (collection time, offset)


def _varlen(n: int) -> bytes:
    if n < 256:
        return struct.pack("<BB", 1, n)
    if n < 2**32:
        return struct.pack("<BI", 4, n)
    return struct.pack("<BQ", 8, n)


def _chunk(tag: int, content: bytes) -> bytes:
    return _varlen(len(content) + 2) + struct.pack("<H", tag) + content


def _samples(sid: int, stream: XdfStream, rows: range) -> bytes:
    out = [struct.pack("<I", sid), _varlen(len(rows))]
    numeric = stream.channel_format != "string"
    values = np.asarray(stream.samples, NUMERIC[stream.channel_format]) if numeric else stream.samples
    for i in rows:
        out.append(struct.pack("<Bd", 8, float(stream.stamps[i])))
        if numeric:
            out.append(np.ascontiguousarray(values[i]).tobytes())
        else:
            for value in values[i]:
                data = str(value).encode()
                out.append(_varlen(len(data)) + data)
    return b"".join(out)


def write_xdf(path: str | Path, streams: list[XdfStream], chunk_rows: int = 500) -> Path:
    """Write the streams as one XDF file: headers, samples in chunks, clock offsets, footers."""
    parts = [b"XDF:", _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')]
    for sid, s in enumerate(streams, start=1):
        parts.append(_chunk(2, struct.pack("<I", sid) + s.header_xml.encode()))
    for sid, s in enumerate(streams, start=1):
        for a in range(0, len(s.stamps), chunk_rows):
            parts.append(_chunk(3, _samples(sid, s, range(a, min(a + chunk_rows, len(s.stamps))))))
        for when, offset in s.clock_offsets:
            parts.append(_chunk(4, struct.pack("<Idd", sid, when, offset)))
    for sid, s in enumerate(streams, start=1):
        first, last = (float(s.stamps[0]), float(s.stamps[-1])) if len(s.stamps) else (0.0, 0.0)
        offsets = "".join(f"<offset><time>{t!r}</time><value>{v!r}</value></offset>"
                          for t, v in s.clock_offsets)
        footer = (f'<?xml version="1.0"?><info><first_timestamp>{first!r}</first_timestamp>'
                  f"<last_timestamp>{last!r}</last_timestamp><sample_count>{len(s.stamps)}</sample_count>"
                  f"<clock_offsets>{offsets}</clock_offsets></info>")
        parts.append(_chunk(6, struct.pack("<I", sid) + footer.encode()))
    out = Path(path)
    out.write_bytes(b"".join(parts))
    return out
