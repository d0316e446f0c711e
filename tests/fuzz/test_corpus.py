"""Every input that once broke a reader, replayed on every run (tests/fuzz/corpus/<target>/<name>).

Files are the inputs themselves; for the .db3 and HDF5 targets, whose seeds are megabytes, a file is the
recipe (JSON: the seed's name and the mutations, tests/fuzz/mutate.py) that rebuilds the input exactly.
Plain parametrized tests: they run forever after, whatever hypothesis generates.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fuzz import seeds
from tests.fuzz.harness import CORPUS, fresh_dir, fuzz_file, fuzz_recipe
from tests.fuzz.test_fuzz_c3d import TIMEOUT_S as C3D_TIMEOUT_S
from tests.fuzz.test_fuzz_db3 import TIMEOUT_S as DB3_TIMEOUT_S
from tests.fuzz.test_fuzz_documents import TARGETS as DOCUMENT_TARGETS
from tests.fuzz.test_fuzz_documents import check_document
from tests.fuzz.test_fuzz_h5 import TIMEOUT_S as H5_TIMEOUT_S
from tests.fuzz.test_fuzz_plate import check_ascii, check_binary

KNOWN = {"plate", "c3d", "h5", "db3", *DOCUMENT_TARGETS}
FILES = sorted(p for p in CORPUS.glob("*/*") if p.is_file() and not p.name.startswith("."))


def test_corpus_folders_are_targets():
    assert {p.parent.name for p in FILES} <= KNOWN, "a corpus folder no replay knows"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return fresh_dir(tmp_path_factory.getbasetemp(), "fuzz-corpus")


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_corpus_input(path: Path, request, workdir):
    target, data = path.parent.name, path.read_bytes()
    if target == "plate":
        check_binary(data, [7, 28, 29, 100], same_split=False)
        check_ascii(data, [7, 28, 29, 100], None)
    elif target in DOCUMENT_TARGETS:
        check_document(target, data, workdir)
    elif target == "c3d":
        fuzz_file(request.getfixturevalue("fuzz_worker"), "c3d", data, ".c3d", workdir, C3D_TIMEOUT_S)
    elif target == "h5":
        recipe = json.loads(data)
        seed = seeds.h5_seed(recipe["seed"], request.getfixturevalue("seed_dir"))
        fuzz_recipe(request.getfixturevalue("fuzz_worker"), "h5", seed, recipe, ".h5", workdir, H5_TIMEOUT_S)
    elif target == "db3":
        recipe = json.loads(data)
        seed = request.getfixturevalue("db3_seeds")[recipe["seed"]]
        fuzz_recipe(request.getfixturevalue("fuzz_worker"), "db3", seed, recipe, ".db3", workdir,
                    DB3_TIMEOUT_S)
