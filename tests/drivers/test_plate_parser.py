"""Plate byte parsers against streams whose truth is known by construction (plate-protocol.md)."""

import numpy as np
import pytest

from drivers.forceplate_parser import AsciiParser, BinaryParser, detect_variant
from drivers.plate_protocol import (
    SEQ_MODULO,
    T_US_MODULO,
    crc16_ccitt_false,
    encode_ascii_line,
    encode_binary_frame,
    info_line,
)
from drivers.samples import PlateChunk


def truth_counts(i: int) -> list[int]:
    # no 0xA5/0x5A bytes in these, so a corruption cannot create a new sync word by accident
    return [40000 + i, -20000 - 3 * i, 7 * i, 123456]


def binary_stream(n: int, seq0: int = 0, t0_us: int = 1000, period_us: int = 1000,
                  skip: frozenset = frozenset()) -> list[bytes]:
    return [encode_binary_frame(seq0 + i, t0_us + i * period_us, truth_counts(i))
            for i in range(n) if i not in skip]


def feed_split(parser, data: bytes, cuts) -> PlateChunk:
    edges = [0, *sorted(cuts), len(data)]
    chunks = [parser.feed(data[a:b], t_host_ns=k) for k, (a, b) in enumerate(zip(edges[:-1], edges[1:],
                                                                                  strict=True))]
    return PlateChunk.concat([*chunks, parser.flush()])


def test_crc_check_value():
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_frame_layout_matches_spec():
    frame = encode_binary_frame(0x1234, 0x89ABCDEF, [1, -1, 2, -2], flags=0x01)
    assert len(frame) == 28 and frame[:2] == b"\xa5\x5a" and frame[2] == 0x01 and frame[3] == 0x01
    assert frame[4:6] == b"\x34\x12" and frame[6:10] == b"\xef\xcd\xab\x89"
    assert frame[14:18] == b"\xff\xff\xff\xff"
    assert int.from_bytes(frame[26:28], "little") == crc16_ccitt_false(frame[2:26])


def test_every_byte_boundary_split_gives_the_same_samples():
    data = info_line(rate_hz=1000) + b"".join(binary_stream(12))
    whole = feed_split(BinaryParser(), data, [])
    assert len(whole) == 12
    assert np.array_equal(whole.counts, np.array([truth_counts(i) for i in range(12)], np.int32))
    assert np.array_equal(whole.seq, np.arange(12))
    for cut in range(len(data) + 1):
        p = BinaryParser()
        got = feed_split(p, data, [cut])
        assert (p.samples, p.lost, p.crc_errors, p.info_lines) == (12, 0, 0, 1), cut
        assert np.array_equal(got.counts, whole.counts) and np.array_equal(got.seq, whole.seq)
    p = BinaryParser()
    got = feed_split(p, data, range(1, len(data)))  # one byte at a time
    assert np.array_equal(got.counts, whole.counts) and p.info == {"fw": "1.0", "rate": "1000", "ch": "4"}


def test_random_garbage_between_frames_and_dropped_frames():
    rng = np.random.default_rng(7)
    n = 400
    skip = frozenset(int(i) for i in rng.choice(np.arange(1, n - 1), 23, replace=False))
    frames = binary_stream(n, skip=skip)
    parts = []
    for frame in frames:
        if rng.random() < 0.3:
            junk = bytearray(rng.integers(0, 256, int(rng.integers(1, 60)), dtype=np.uint8).tobytes())
            if rng.random() < 0.3:  # a stray sync word in the garbage
                junk[int(rng.integers(0, len(junk)))] = 0xA5
                junk += b"\x5a"
            parts.append(bytes(junk))
        parts.append(frame)
    data = b"".join(parts)
    cuts = np.cumsum(rng.integers(1, 200, len(data) // 50))
    p = BinaryParser()
    got = feed_split(p, data, [int(c) for c in cuts if c < len(data)])
    kept = [i for i in range(n) if i not in skip]
    assert p.samples == len(kept) and p.lost == len(skip)
    assert np.array_equal(got.seq, kept)
    assert np.array_equal(got.counts, np.array([truth_counts(i) for i in kept], np.int32))
    assert p.garbage_bytes > 0


@pytest.mark.parametrize("xor", [0x01, 0x80, 0xFF])
def test_single_byte_corruption_loses_exactly_that_frame(xor):
    frames = binary_stream(30)
    for pos in range(28):
        bad = bytearray(frames[10])
        bad[pos] ^= xor
        data = b"".join(frames[:10]) + bytes(bad) + b"".join(frames[11:])
        p = BinaryParser()
        got = feed_split(p, data, [len(data) // 3, 10 * 28 + pos])
        assert (p.samples, p.lost) == (29, 1), pos
        assert p.crc_errors == (1 if pos >= 2 else 0), pos  # a broken sync word is garbage, not a frame
        assert 10 not in got.seq


def test_truncated_frame_is_a_crc_error_and_one_lost_sample():
    frames = binary_stream(20)
    data = b"".join(frames[:5]) + frames[5][:-7] + b"".join(frames[6:])
    p = BinaryParser()
    got = feed_split(p, data, [])
    assert (p.samples, p.lost, p.crc_errors) == (19, 1, 1)
    assert np.array_equal(got.seq, [i for i in range(20) if i != 5])


def test_seq_wrap_and_loss_across_the_wrap():
    p = BinaryParser()
    got = feed_split(p, b"".join(binary_stream(20, seq0=SEQ_MODULO - 6)), [100])
    assert p.lost == 0 and np.array_equal(got.seq, SEQ_MODULO - 6 + np.arange(20))
    p = BinaryParser()
    got = feed_split(p, b"".join(binary_stream(20, seq0=SEQ_MODULO - 6, skip=frozenset({5, 6, 7}))), [])
    assert p.lost == 3 and got.seq[5] - got.seq[4] == 4  # 65535, 0 and 1 missing


def test_t_us_wrap_is_unwrapped():
    t0 = T_US_MODULO - 4500
    p = BinaryParser()
    got = feed_split(p, b"".join(binary_stream(10, t0_us=t0)), [28 * 3 + 5])
    assert np.allclose(np.diff(got.t_device_s), 1e-3) and got.t_device_s[0] == pytest.approx(t0 / 1e6)


def test_gap_longer_than_the_seq_counter_is_counted_from_the_device_clock():
    gap = 70000  # > 65536 samples: seq alone would say 70000 - 65536
    before = binary_stream(50)
    after = [encode_binary_frame(50 + gap + i, 1000 + (50 + gap + i) * 1000, truth_counts(i))
             for i in range(5)]
    p = BinaryParser()
    got = feed_split(p, b"".join(before + after), [28 * 50])
    assert p.lost == gap and got.seq[-1] == 54 + gap


def test_repeated_frame_is_not_a_new_sample():
    frames = binary_stream(6)
    p = BinaryParser()
    got = feed_split(p, b"".join(frames[:3] + frames[2:]), [])
    assert (p.samples, p.lost, p.duplicates) == (6, 0, 1) and np.array_equal(got.seq, np.arange(6))


def ascii_stream(n: int, t0_us: int = 500, period_us: int = 12500, skip=frozenset(), newline=b"\n"):
    return [encode_ascii_line(t0_us + i * period_us, truth_counts(i), newline)
            for i in range(n) if i not in skip]


@pytest.mark.parametrize("with_info", [True, False])
def test_ascii_variant_counts_loss_from_t_us_gaps(with_info):
    skip = frozenset({3, 20, 21, 22})
    banner = b"# hello from a DIY plate\r\n" + info_line(rate_hz=80).replace(b"\n", b"\r\n")
    head = banner if with_info else b""
    lines = ascii_stream(40, t0_us=T_US_MODULO - 100_000, skip=skip, newline=b"\r\n")
    data = b"12,3\n" + head + b"".join(lines[:10]) + b"not,a,sample,at,all\n" + b"".join(lines[10:])
    kept = [i for i in range(40) if i not in skip]
    for cut in range(0, len(data), 7):
        p = AsciiParser()
        got = feed_split(p, data, [cut])
        assert (p.samples, p.lost, p.bad_lines) == (len(kept), len(skip), 2), cut
        assert np.array_equal(got.seq, kept)  # seq counts nominal periods, so gaps look as in binary
        assert np.array_equal(got.counts, np.array([truth_counts(i) for i in kept], np.int32))
        assert np.allclose(np.diff(got.t_device_s), 0.0125 * np.diff(kept))  # across the t_us wrap
    assert p.rate_hz == pytest.approx(80.0)


def test_ascii_without_rate_waits_for_an_estimate_and_flush_releases():
    p = AsciiParser()
    assert len(p.feed(b"".join(ascii_stream(5)), 0)) == 0  # too few intervals to know the rate yet
    assert len(p.flush()) == 5 and p.lost == 0


def test_detect_variant_from_first_bytes():
    frames = b"".join(binary_stream(3))
    assert detect_variant(b"\x00\x13garbage" + info_line() + frames[5:]) == "binary"
    assert detect_variant(b"t_us,c0\n# plate\n" + b"".join(ascii_stream(2))) == "ascii"
    assert detect_variant(frames[:27]) is None  # half a frame: not yet decided
    assert detect_variant(b"hello world\r\nAT+OK\r\n" * 20) is None
