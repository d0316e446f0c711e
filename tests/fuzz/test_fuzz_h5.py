"""Fuzz the HDF5 trial reader: `analyze trial.h5` (read_trial + the core) and read_trial_summary (what
`archive scan` reads), on trial files damaged the ways they get damaged: cut short, bytes flipped, and
structurally with h5py (datasets and attributes deleted, replaced with other dtypes, shapes or values).

Seeds: a synthetic trial with streams (tests/support/trial_fixtures.write_synthetic_trial, 2 s) and an
archive-style trial without streams (tests/support/archive_files.write_trial). A crasher is kept as its
recipe (tests/fuzz/mutate.py), which replays on the same seed.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import seeds
from tests.fuzz.harness import Seeds, budget, fresh_dir, fuzz_recipe
from tests.fuzz.mutate import byte_ops, h5_names, h5_ops

EXAMPLES = 300
TIMEOUT_S = 10.0  # one analyze of the synthetic trial takes ~50 ms
HOT_BYTES = 8192  # superblock and the first object headers


@pytest.fixture(scope="module")
def h5_seeds(seed_dir) -> Seeds:
    out = Seeds()
    for name in seeds.H5_SEEDS:
        path = seeds.h5_seed(name, seed_dir)
        out[name] = (path, *h5_names(path), path.stat().st_size)
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return fresh_dir(tmp_path_factory.getbasetemp(), "fuzz-h5")


@st.composite
def recipes(draw, h5_seeds: Seeds) -> dict:
    name = draw(st.sampled_from(sorted(h5_seeds)))
    _, names, attrs, size = h5_seeds[name]
    recipe: dict = {"seed": name}
    kind = draw(st.sampled_from(["structure", "structure", "bytes", "both"]))
    if kind != "bytes":
        recipe["ops"] = draw(h5_ops(names, attrs))
    if kind != "structure":
        recipe["bytes"] = draw(byte_ops(size, hot=HOT_BYTES, max_ops=2))
    return recipe


def test_h5_seeds_read(fuzz_worker, h5_seeds, workdir):
    for name in h5_seeds:
        fuzz_recipe(fuzz_worker, "h5", h5_seeds[name][0], {"seed": name}, ".h5", workdir, TIMEOUT_S)


@budget(EXAMPLES)
@given(data=st.data())
def test_h5_reader_gives_a_result_or_one_line(fuzz_worker, h5_seeds, workdir, data):
    recipe = data.draw(recipes(h5_seeds), label="recipe")
    fuzz_recipe(fuzz_worker, "h5", h5_seeds[recipe["seed"]][0], recipe, ".h5", workdir, TIMEOUT_S)
