"""Fuzz `analyze rec.db3`: RealSense recordings (rosbag2 SQLite) damaged, played through pyrealsense2.

Seeds: `hinge-station sim camera --pattern hinge` recordings (7 frames 640x480, raw and PNG-compressed;
tests/fuzz/seeds.py), made once per run in the worker. Mutations: the file cut or bytes flipped (half in
the first 64 kB: SQLite header, schema, topics, the small messages), and SQL-level damage of a copy
(a topic's messages deleted, a message's payload cut or overwritten, a topic renamed, a timestamp moved, a
table dropped). Each analyze takes ~0.4 s, so the budget is small; the reader runs in the worker process,
where a hang or a native crash in librealsense is caught and charged to its input.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import Seeds, budget, fresh_dir, fuzz_recipe
from tests.fuzz.mutate import byte_ops, sqlite_layout, sqlite_ops

EXAMPLES = 40
TIMEOUT_S = 30.0  # a recording that stops delivering frames ends after db3_input._FRAME_TIMEOUT_S (10 s)
HOT_BYTES = 65536


@pytest.fixture(scope="module")
def seeds_db3(db3_seeds) -> Seeds:
    return Seeds({name: (path, sqlite_layout(path), path.stat().st_size) for name, path in db3_seeds.items()})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return fresh_dir(tmp_path_factory.getbasetemp(), "fuzz-db3")


@st.composite
def recipes(draw, seeds_db3: Seeds) -> dict:
    name = draw(st.sampled_from(sorted(seeds_db3)))
    _, layout, size = seeds_db3[name]
    recipe: dict = {"seed": name}
    if draw(st.booleans()):
        recipe["ops"] = draw(sqlite_ops(layout))
    else:
        recipe["bytes"] = draw(byte_ops(size, hot=HOT_BYTES, max_ops=2))
    return recipe


def test_db3_seeds_analyse(fuzz_worker, seeds_db3, workdir):
    for name in seeds_db3:
        fuzz_recipe(fuzz_worker, "db3", seeds_db3[name][0], {"seed": name}, ".db3", workdir, TIMEOUT_S)


@budget(EXAMPLES)
@given(data=st.data())
def test_db3_reader_gives_a_result_or_one_line(fuzz_worker, seeds_db3, workdir, data):
    recipe = data.draw(recipes(seeds_db3), label="recipe")
    fuzz_recipe(fuzz_worker, "db3", seeds_db3[recipe["seed"]][0], recipe, ".db3", workdir, TIMEOUT_S)
