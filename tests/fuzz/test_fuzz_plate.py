"""Fuzz the plate byte parsers and the port reader: random bytes, truncated and corrupted frames, resync.

The parsers never raise on any bytes (they count what they skip) and never hang; the binary parser gives
one device's stream the same samples however its bytes are split across feed() calls (see "Known" in
tests/fuzz/__init__.py for streams mixing devices); the port reader (on a pyserial loop:// port holding
the bytes) detects a variant or says in one line, naming the port, why not.
"""

from __future__ import annotations

import queue

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from drivers.forceplate import ForcePlate
from drivers.forceplate_parser import AsciiParser, BinaryParser, detect_variant
from drivers.plate_protocol import (
    COUNTS_MAX,
    COUNTS_MIN,
    FRAME_SIZE_BYTES,
    encode_ascii_line,
    encode_binary_frame,
    info_line,
)
from drivers.samples import PlateChunk
from tests.fuzz.harness import budget, check_station_error, keep_crasher, time_limit

EXAMPLES_BINARY = 120
EXAMPLES_BINARY_SPLIT = 60
EXAMPLES_ASCII = 100
EXAMPLES_PORT = 10

counts4 = st.lists(st.one_of(st.integers(COUNTS_MIN, COUNTS_MAX), st.sampled_from([0, -1, COUNTS_MAX,
                                                                                      COUNTS_MIN])),
                   min_size=4, max_size=4)


@st.composite
def binary_frames(draw) -> bytes:
    """A run of frames with the clock and sequence moving as a device's would, or jumping anywhere."""
    n = draw(st.integers(1, 40))
    seq = draw(st.integers(0, 65535))
    t_us = draw(st.integers(0, (1 << 32) - 1))
    period = draw(st.sampled_from([500, 1000, 12500, 0, 1]))
    out = []
    for _ in range(n):
        step = draw(st.sampled_from([1, 1, 1, 1, 0, 2, 7, 40000, 65535]))
        seq += step
        t_us += period * max(step, 1) + draw(st.sampled_from([0, 0, 0, 3, -3, 1 << 31]))
        flags = draw(st.sampled_from([0, 0, 1, 2, 3, 0xFF]))
        frame_type = draw(st.sampled_from([1, 1, 1, 1, 2, 0]))
        out.append(encode_binary_frame(seq, t_us, draw(counts4), flags=flags, frame_type=frame_type))
    return b"".join(out)


@st.composite
def one_device(draw) -> bytes:
    """One plate streaming (its seq and clock continue, samples lost now and then) through a bad link:
    frames corrupted or cut, noise and half frames in between, its banner at the start."""
    rate = draw(st.sampled_from([80, 1000, 2000]))
    seq, t_us = draw(st.integers(0, 65535)), draw(st.integers(0, (1 << 32) - 1))
    out = [info_line(rate_hz=rate)] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(1, 8))):
        run = []
        for _ in range(draw(st.integers(1, 30))):
            step = draw(st.sampled_from([1, 1, 1, 1, 2, 5]))
            seq, t_us = seq + step, t_us + step * 1_000_000 // rate
            run.append(encode_binary_frame(seq, t_us, draw(counts4), flags=draw(st.sampled_from([0, 1, 2]))))
        out.append(draw(damaged(b"".join(run))) if draw(st.booleans()) else b"".join(run))
        out.append(draw(st.one_of(st.just(b""), st.binary(max_size=40), ascii_line,
                                  st.sampled_from([b"\xa5", b"\xa5\x5a", b"\xa5\x5a\x01"]))))
    return b"".join(out)


@st.composite
def damaged(draw, data: bytes) -> bytes:
    """data with a frame truncated, bytes flipped, a sync word dropped in or bytes removed."""
    if not data:
        return data
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 3))):
        if not out:
            break
        at = draw(st.integers(0, len(out) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "sync", "drop"]))
        if kind == "flip":
            out[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del out[at:at + draw(st.integers(1, FRAME_SIZE_BYTES))]
        elif kind == "sync":
            out[at:at] = b"\xa5\x5a"
        else:
            del out[at]
    return bytes(out)


ascii_line = st.one_of(
    st.builds(lambda t, c, nl: encode_ascii_line(t, c, nl), st.integers(0, (1 << 33)), counts4,
              st.sampled_from([b"\n", b"\r\n"])),
    st.sampled_from([b"1,2,3\n", b"\n", b"#\n", b"# plate rate=0\n", b"# plate rate=-5\n",
                     b"# plate rate=nan\n",
                     b"# plate rate=inf\n", b"# plate rate=1e-300\n", b"99999999999,1,2,3,4\n",
                     b"1,2,3,4,99999999999\n", b"-1,0,0,0,0\n", b" 5 , 1 ,2, 3,4\n", b"1,,2,3,4\n",
                     b"\xff\xfe,1,2,3,4\n", b"1_000,1,2,3,4\n", b"\x00" * 300]),
    st.binary(max_size=40),
)
banner = st.builds(lambda fw, rate, ch: info_line(fw, rate, ch), st.text(max_size=8).filter(str.isprintable),
                   st.sampled_from([80, 1000, 2000, 0, -1, 7]), st.integers(0, 8))


def stream_of(frames: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    segment = st.one_of(frames, frames.flatmap(damaged), st.binary(max_size=64), banner, ascii_line,
                        st.sampled_from([b"\xa5", b"\xa5\x5a", b"\xa5\x5a\x01", b"\x5a\xa5"]))
    return st.lists(segment, max_size=12).map(b"".join)


streams = stream_of(binary_frames())


def feed(parser, data: bytes, cuts: list[int]) -> PlateChunk:
    edges = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    chunks = [parser.feed(data[a:b], t_host_ns=k) for k, (a, b) in enumerate(zip(edges[:-1], edges[1:],
                                                                                  strict=True))]
    chunks.append(parser.flush())
    out = PlateChunk.concat(chunks)
    n = len(out)
    assert out.t_device_s.shape == (n,) and out.t_host_ns.shape == (n,) and out.counts.shape == (n, 4)
    assert out.flags.shape == (n,) and parser.samples == n, parser.stats()
    assert np.all(np.diff(out.seq) > 0) and parser.lost >= 0, parser.stats()
    return out


def _kept(target: str, data: bytes):
    return keep_crasher(target, data, ".bin")


def check_binary(data: bytes, cuts: list[int], same_split: bool) -> None:
    with time_limit(5.0, f"BinaryParser on {len(data)} bytes"):
        whole = feed(BinaryParser(), data, [])
        split = feed(BinaryParser(), data, cuts)
        one_by_one = feed(BinaryParser(), data, list(range(1, len(data)))) if len(data) < 400 else split
        detect_variant(data[:8192])
    if same_split:
        for got in (split, one_by_one):
            assert np.array_equal(got.counts, whole.counts) and np.array_equal(got.flags, whole.flags)
            assert np.array_equal(got.t_device_s, whole.t_device_s) and np.array_equal(got.seq, whole.seq)


def check_ascii(data: bytes, cuts: list[int], rate: float | None) -> None:
    with time_limit(5.0, f"AsciiParser on {len(data)} bytes"):
        feed(AsciiParser(nominal_rate_hz=rate), data, [])
        feed(AsciiParser(nominal_rate_hz=rate), data, cuts)


@budget(EXAMPLES_BINARY)
@given(data=streams, cuts=st.lists(st.integers(0, 1 << 16), max_size=6))
def test_binary_parser_takes_any_bytes(data, cuts):
    try:
        check_binary(data, cuts, same_split=False)
    except BaseException:
        _kept("plate", data)
        raise


@budget(EXAMPLES_BINARY_SPLIT)
@given(data=one_device(), cuts=st.lists(st.integers(0, 1 << 16), max_size=6))
def test_binary_parser_gives_the_same_samples_however_the_bytes_arrive(data, cuts):
    try:
        check_binary(data, cuts, same_split=True)
    except BaseException:
        _kept("plate", data)
        raise


@budget(EXAMPLES_ASCII)
@given(data=streams, cuts=st.lists(st.integers(0, 1 << 16), max_size=6),
       rate=st.sampled_from([None, 80.0, 1000.0, 1e-9, 1e12]))
def test_ascii_parser_takes_any_bytes(data, cuts, rate):
    try:
        check_ascii(data, cuts, rate)
    except BaseException:
        _kept("plate", data)
        raise


class _Prefilled(ForcePlate):
    """The real port reader on a pyserial loop:// port that already holds `data` when it is opened."""

    def __init__(self, data: bytes) -> None:
        super().__init__("loop://", reconnect=False, silence_timeout_s=0.05)
        self.data = data

    def _open(self):
        port = super()._open()
        # loop:// holds 4096 bytes (queue.Queue(4096)) and write() blocks when it is full: with nobody
        # reading yet, a longer prefill would hang the test, not the reader under test
        port.queue = queue.Queue()
        port.write(self.data)
        return port


def check_port(data: bytes) -> None:
    plate = _Prefilled(data)
    with time_limit(5.0, f"ForcePlate on {len(data)} bytes"):
        try:
            plate.start()
        except BaseException as exc:
            check_station_error(exc, "loop://", "ForcePlate.start")
            return
        try:
            got = PlateChunk.concat(plate.read(0.05) + plate.read(0.02))
        finally:
            plate.stop()
    assert plate.variant in ("binary", "ascii") and len(got) <= plate.parser.samples


@budget(EXAMPLES_PORT)
@given(data=streams)
def test_port_reader_detects_or_names_the_port(data):
    try:
        check_port(data)
    except BaseException:
        _kept("plate", data)
        raise
