"""Emulated plate to PlateChunk through a real pty and pyserial, checked against the truth sent."""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from calibration.clocks import ClockMapper
from drivers.forceplate import ForcePlate
from drivers.samples import PlateChunk
from drivers.sim.plate_emulator import PlateEmulator, quiet_standing_loads


def read_for(plate: ForcePlate, seconds: float) -> list[PlateChunk]:
    chunks = []
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        chunks += plate.read(timeout_s=0.05)
    return chunks


@contextmanager
def started_plate(emu: PlateEmulator, **plate_kwargs: object) -> Iterator[ForcePlate]:
    """A started ForcePlate on the emulator's pty; plate and emulator are stopped afterwards, always."""
    plate = ForcePlate(emu.start(), **plate_kwargs)
    try:
        plate.start()
        yield plate
    finally:
        plate.stop()
        emu.stop()


def assert_counts_match_truth(emu: PlateEmulator, got: PlateChunk, seq0: int = 0) -> None:
    """Each sample's counts are the noise-free truth at its sample time, within 6 sigma of the noise."""
    t_true_s = (got.seq - seq0) / emu.truth()["host_rate_hz"]
    err = got.counts - emu.expected_counts(t_true_s)
    assert np.abs(err).max() < 6 * emu.noise_counts


@pytest.mark.slow
def test_20_s_at_1_khz_through_pyserial_loses_nothing():
    """20 s is 20,000 samples through the real pty and pyserial; the minute-long figure in the README is
    bench/plate.py's (pty_1khz_long), and the soak runs for an hour."""
    emu = PlateEmulator(quiet_standing_loads(), rate_hz=1000, drift_ppm=40, seed=1)
    with started_plate(emu) as plate:
        chunks = read_for(plate, 20.0)
        sent_before = emu.truth()["samples_sent"]
        chunks += read_for(plate, 0.3)  # everything sent until then has had time to arrive
        stats = plate.stats()
    got = PlateChunk.concat(chunks)
    counters = ("lost", "crc_errors", "overflow_samples", "disconnects")
    assert [stats[c] for c in counters] == [0, 0, 0, 0]
    assert np.all(np.diff(got.seq) == 1) and got.seq[-1] >= sent_before - 1
    assert len(got) >= 19_800  # pyserial flushes what the pty held before it opened: a few ms at most
    assert np.allclose(np.diff(got.t_device_s), 1e-3, atol=1e-9)
    assert np.all(np.diff(got.t_host_ns) >= 0)
    # samples per host second, from the station's own clock mapping (calibration.clocks: the lower envelope
    # of each 0.5 s's least-delayed arrival): a fit over all arrivals was pulled 0.25 % off in a loaded run,
    # when a burst arrived late (a sample never arrives early)
    mapper = ClockMapper()
    mapper.update(got.t_device_s, got.t_host_ns)
    host_rate = 1000.0 / (1.0 + mapper.state()["drift_ppm"] * 1e-6)
    assert host_rate == pytest.approx(1000 * (1 + 40e-6), rel=1e-3)
    assert_counts_match_truth(emu, got)


def test_drops_and_corrupted_bytes_are_counted_exactly():
    emu = PlateEmulator(quiet_standing_loads(), rate_hz=2000, drop_every=97, corrupt_prob=0.01, seed=3,
                        seq0=65536 - 3000)  # the seq counter wraps during the run
    with started_plate(emu) as plate:
        got = PlateChunk.concat(read_for(plate, 3.0))
        stats = plate.stats()
    assert got.seq[0] < 65536 < got.seq[-1]  # first sample before the wrap: parser seq == emulator seq
    missing = [s for s in emu.missing_seqs if got.seq[0] < s < got.seq[-1]]
    assert stats["lost"] == len(missing) > 20
    assert set(got.seq.tolist()).isdisjoint(missing)
    corrupted = sum(1 for s in missing if (s - emu.seq0 + 1) % 97)
    assert 0.8 * corrupted <= stats["crc_errors"] <= corrupted  # a broken sync word is not a CRC error
    assert_counts_match_truth(emu, got, seq0=emu.seq0)


def test_unplugged_cable_is_reported_and_the_gap_counted_after_reconnect():
    emu = PlateEmulator(quiet_standing_loads(), rate_hz=1000, seed=2)
    with started_plate(emu) as plate:
        before = PlateChunk.concat(read_for(plate, 1.0))
        emu.unplug()
        before = PlateChunk.concat([before, *read_for(plate, 0.6)])
        assert plate.stats()["disconnects"] == 1 and not plate.stats()["connected"]
        assert any(f"disconnected after {len(before)} samples" in e for e in plate.events)
        emu.replug()
        after = PlateChunk.concat(read_for(plate, 1.5))
        stats = plate.stats()
    assert stats["reconnects"] == 1 and len(after) > 1000
    gap = after.seq[0] - before.seq[-1] - 1
    assert stats["lost"] == gap  # nothing else lost
    # the gap holds every sample made while the cable was out, plus at most the reconnect poll and flush
    unplugged = emu.truth()["lost_unplugged"]
    assert unplugged <= gap <= unplugged + 400
    assert any(f"{gap} samples lost while disconnected" in e for e in plate.events)
    assert np.all(np.diff(after.seq) == 1)


def test_ascii_plate_at_80_hz_over_pty():
    emu = PlateEmulator(quiet_standing_loads(), rate_hz=80, variant="ascii", drop_every=10, drift_ppm=-300,
                        seed=4)
    with started_plate(emu) as plate:
        got = PlateChunk.concat(read_for(plate, 3.0))
        stats = plate.stats()
    assert stats["variant"] == "ascii"
    k = np.rint((got.t_device_s * 1e6 - emu.t0_us) / 12500).astype(int)  # sample index from the device clock
    expected_lost = sum(1 for i in range(k[0], k[-1] + 1) if (i + 1) % 10 == 0)
    assert stats["lost"] == expected_lost > 10
    assert np.array_equal(got.seq - got.seq[0], k - k[0])
    assert_counts_match_truth(emu, got, seq0=int(got.seq[0] - k[0]))


def test_a_reader_that_falls_behind_counts_the_overflow():
    emu = PlateEmulator(quiet_standing_loads(), rate_hz=1000, seed=5)
    with started_plate(emu, buffer_samples=200) as plate:
        time.sleep(1.0)  # nobody reads
        kept = PlateChunk.concat(plate.read(timeout_s=0.1))
        stats = plate.stats()
    assert stats["lost"] == 0 and stats["overflow_samples"] >= 600
    assert len(kept) <= 200 + 50 and any("overflow" in e for e in plate.events)


def test_open_plate_sim_spec_streams_through_a_pty_and_stops_its_emulator():
    from drivers.registry import open_plate

    plate = open_plate("sim:stand")
    plate.start()
    try:
        port = plate.port
        assert os.path.islink(port) and os.readlink(port).startswith("/dev/pts/")  # real pty, via pyserial
        got = PlateChunk.concat(read_for(plate, 0.5))
    finally:
        plate.stop()
    assert len(got) > 300 and plate.stats()["lost"] == 0 and plate.stats()["variant"] == "binary"
    assert not os.path.lexists(port)  # the emulator went with the source


class _LoggedEmulator(PlateEmulator):
    """The emulator, noting around each write to the pty the host time before and after it and how many
    samples had gone by then (the thread may be paused between the write and the clock read)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[tuple[int, int, int]] = []  # (ns before, ns after, samples sent)

    def _flush_outbox(self) -> None:
        before, t_before = self.samples_sent, time.monotonic_ns()
        super()._flush_outbox()
        if self.samples_sent != before:
            self.writes.append((t_before, time.monotonic_ns(), self.samples_sent))


def test_a_plate_sending_every_millisecond_is_read_in_blocks_stamped_on_arrival():
    """A USB CDC plate at 1 kHz hands over a sample or two per 1 ms USB frame. The reader takes them in
    blocks of about _READ_PERIOD_S (each tiny read cost more than its samples), losing nothing, and stamps
    each block when it reads it, not after it waits for the next."""
    from drivers.forceplate import _READ_PERIOD_S

    emu = _LoggedEmulator(quiet_standing_loads(), rate_hz=1000, seed=3, batch_s=0.001)
    seconds = 2.0
    with started_plate(emu) as plate:
        chunks = read_for(plate, seconds)
        stats = plate.stats()
    got = PlateChunk.concat(chunks)
    assert stats["lost"] == 0 and stats["overflow_samples"] == 0 and np.all(np.diff(got.seq) == 1)
    assert len(emu.writes) > 0.25 * seconds / 0.001  # tiny writes, every 1-4 ms even on a busy host
    assert len(chunks) <= 1.3 * seconds / _READ_PERIOD_S + 5
    # each sample's arrival stamp against when the emulator finished writing it (samples_sent counts them
    # from seq 0): a block waits at most one read period in the port, so half of them wait less than that
    before_ns, after_ns, sent = (np.array(column) for column in zip(*emu.writes, strict=True))
    at = np.searchsorted(sent, got.seq - emu.seq0 + 1)  # the first write after which the sample had gone
    ok = at < len(sent)
    delay_ms = (got.t_host_ns[ok] - after_ns[at[ok]]) / 1e6
    assert np.median(delay_ms) <= 1000 * _READ_PERIOD_S, np.percentile(delay_ms, [5, 50, 95])
    assert np.all(got.t_host_ns[ok] >= before_ns[at[ok]])  # never stamped before its write began
