"""Fuzz `analyze FILE.c3d` (station.analysis.c3d_input through ezc3d): C3D files from other labs, damaged.

Seeds: markers with a TYPE 2 or TYPE 4 force platform, and markers only (tests/fuzz/seeds.py). Half the
mutations land in the header and parameter blocks (where a reader learns how much to read); the reader
runs in the worker process, so a hang or a native crash in ezc3d is caught and charged to its input.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import seeds
from tests.fuzz.harness import Seeds, budget, fresh_dir, fuzz_file
from tests.fuzz.mutate import apply_byte_ops, byte_ops

EXAMPLES = 400
TIMEOUT_S = 20.0  # one analyze of these files takes ~10 ms


@pytest.fixture(scope="module")
def c3d_seeds(seed_dir) -> dict[str, bytes]:
    return Seeds({name: seeds.c3d_seed(name, seed_dir).read_bytes() for name in seeds.C3D_SEEDS})


def _parameters_end(data: bytes) -> int:
    """Bytes before the data block (header + parameters), from the header's data-start block number."""
    return max(512, (int.from_bytes(data[16:18], "little") - 1) * 512)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return fresh_dir(tmp_path_factory.getbasetemp(), "fuzz-c3d")


def test_c3d_seeds_analyse(fuzz_worker, c3d_seeds, workdir):
    for name, data in c3d_seeds.items():
        (workdir / f"{name}.c3d").write_bytes(data)
        steps = fuzz_worker.run("c3d", workdir / f"{name}.c3d", TIMEOUT_S)
        assert [outcome for _, outcome, _ in steps] == ["ok"], steps


@budget(EXAMPLES)
@given(data=st.data())
def test_c3d_reader_gives_a_result_or_one_line(fuzz_worker, c3d_seeds, workdir, data):
    name = data.draw(st.sampled_from(sorted(c3d_seeds)), label="seed")
    seed = c3d_seeds[name]
    ops = data.draw(byte_ops(len(seed), hot=_parameters_end(seed)), label="ops")
    fuzz_file(fuzz_worker, "c3d", apply_byte_ops(seed, ops), ".c3d", workdir, TIMEOUT_S)
