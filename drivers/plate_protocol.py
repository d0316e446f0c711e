"""Force plate wire protocol v1 (shared/spec/plate-protocol.md): constants and encoders.

The parser (drivers/forceplate_parser.py), the emulator (drivers/sim/plate_emulator.py) and the
firmware test vector (drivers/firmware/) all build on these, so there is one definition of a frame.
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Sequence

SYNC = b"\xa5\x5a"
FRAME_TYPE_SAMPLE = 0x01
FRAME_SIZE_BYTES = 28
FLAG_SATURATED = 0x01  # bit0: a channel is saturated
FLAG_STALE = 0x02  # bit1: stale ADC value (repeated)
SEQ_MODULO = 1 << 16
T_US_MODULO = 1 << 32
COUNTS_MIN = -(1 << 23)  # 24-bit ADC values, sign-extended into i32
COUNTS_MAX = (1 << 23) - 1
NOMINAL_RATES_HZ = (80, 1000, 2000)

# type, flags, seq, t_us, 4 x counts: the CRC-covered body, bytes 2..25 of a frame
_BODY = struct.Struct("<BBHI4i")


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0); b'123456789' -> 0x29B1."""
    return binascii.crc_hqx(data, 0xFFFF)


def encode_binary_frame(seq: int, t_us: int, counts4: Sequence[int], flags: int = 0,
                        frame_type: int = FRAME_TYPE_SAMPLE) -> bytes:
    """One 28-byte little-endian frame; seq and t_us are taken modulo their wire width."""
    if len(counts4) != 4:
        raise ValueError(f"expected 4 channel counts, got {len(counts4)}")
    body = _BODY.pack(frame_type, flags & 0xFF, seq % SEQ_MODULO, t_us % T_US_MODULO,
                      *(int(c) for c in counts4))
    return SYNC + body + struct.pack("<H", crc16_ccitt_false(body))


def encode_ascii_line(t_us: int, counts4: Sequence[int], newline: bytes = b"\n") -> bytes:
    """One ASCII-variant sample line `t_us,c0,c1,c2,c3` (t_us modulo 2**32, as a u32 device clock)."""
    if len(counts4) != 4:
        raise ValueError(f"expected 4 channel counts, got {len(counts4)}")
    fields = [t_us % T_US_MODULO, *(int(c) for c in counts4)]
    return ",".join(str(v) for v in fields).encode() + newline


def info_line(fw: str = "1.0", rate_hz: int = 1000, channels: int = 4) -> bytes:
    """The boot banner a plate may print: `# plate fw=1.0 rate=1000 ch=4`."""
    return f"# plate fw={fw} rate={rate_hz} ch={channels}\n".encode()
