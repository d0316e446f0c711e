"""Fuzz the small documents the station reads: calibration files (plate, camera, feet), calibration steps
files, the station TOML and screening session files.

Each starts from a valid document made the way the station writes it, then values are replaced by any
JSON value, keys deleted or added, and the text truncated, flipped or nested absurdly deep; random bytes
too. The loader returns a usable result or one StationError line naming the file.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from calibration.camera import load_camera_T
from calibration.feet import load_feet
from calibration.plate import PlateCalibration
from calibration.plate_session import load_steps
from station.config import StationConfig, load_config
from station.owner_files import set_group
from station.screening.session import load_session
from tests.fuzz import seeds
from tests.fuzz.harness import budget, keep_crasher, run_guarded
from tests.fuzz.mutate import apply_byte_ops, byte_ops

EXAMPLES = {"calibration_plate": 150, "calibration_camera": 150, "calibration_feet": 150, "steps": 100,
            "config": 250, "session": 250}

SPECIAL_TEXT = ["", " ", "0001-01-01", "0001-01-01T00:00:00", "9999-12-31T23:59:59", "2026-02-30",
                "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "root", "nogroup", "+y", "-z", "x",
                "+q", "\x00", "\u2028", "a\nb", "complete", "refused", "yes", "no"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(1 << 70), 1 << 70),
                    st.sampled_from([0, -1, 1, 4, 2**63, -(2**63) - 1]),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(SPECIAL_TEXT),
                    st.text(max_size=12))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=4),
    st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=5),
    st.lists(st.lists(scalars, max_size=3), max_size=5)),
    max_leaves=10)


def _paths(doc, prefix=()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_tree(draw, doc):
    """doc (JSON-able) with 1-3 nodes replaced, deleted, or given a new key."""
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            if draw(st.integers(0, 9)) == 0:
                doc = draw(json_values)
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return doc


def documents(seed: dict, as_text) -> st.SearchStrategy[bytes]:
    """Mutated trees as text, the seed's text damaged byte by byte, deep nesting, and random bytes."""
    text = as_text(seed).encode()
    deep = st.sampled_from(["[", "{\"a\":", "a = [", "[a]\nb = {c = "]).flatmap(
        lambda s: st.integers(100, 100_000).map(lambda n: (s * n).encode()))
    return st.one_of(
        mutated_tree(seed).map(lambda doc: as_text(doc).encode()),
        mutated_tree(seed).map(lambda doc: as_text(doc).encode()),
        byte_ops(len(text)).map(lambda ops: apply_byte_ops(text, ops)),
        deep,
        st.binary(max_size=200),
    )


def _json_text(doc) -> str:
    return json.dumps(doc, allow_nan=True)


def _toml_text(doc) -> str:
    if not isinstance(doc, dict):
        return _json_text(doc)  # not TOML at all
    try:
        return seeds.toml_text(doc)
    except TypeError:
        return _json_text(doc)


def _check_plate(cal: PlateCalibration) -> None:
    cells = cal.cells_n(np.zeros((2, 4)))
    assert cells.shape == (2, 4) and np.all(np.isfinite(cells))


def _check_camera(T: np.ndarray) -> None:
    assert T.shape == (4, 4) and T.dtype == float and np.all(np.isfinite(T))


def _check_feet(feet) -> None:
    assert math.isfinite(float(feet.heel_x_m)) and 0.05 < float(feet.foot_length_m) < 0.5


def _check_config(cfg: StationConfig) -> None:
    """What every command does with a config right away: plate geometry and the camera pose as arrays."""
    assert cfg.plate.channel_xy.shape == (4, 2) and cfg.plate.channel_xy.dtype == float
    T = cfg.camera.T_plate_from_camera()
    assert T.shape == (4, 4) and T.dtype == float


TARGETS = {
    # name: (seed document, serialiser, file suffix, loader, check of a valid result)
    "calibration_plate": (lambda: seeds.calibration_seed("plate"), _json_text, ".json",
                          PlateCalibration.from_file, _check_plate),
    "calibration_camera": (lambda: seeds.calibration_seed("camera"), _json_text, ".json", load_camera_T,
                           _check_camera),
    "calibration_feet": (lambda: seeds.calibration_seed("feet"), _json_text, ".json",
                         lambda p: load_feet("S01", StationConfig(), p), _check_feet),
    "steps": (seeds.steps_seed, _toml_text, ".toml", load_steps, None),
    "config": (seeds.config_seed, _toml_text, ".toml", load_config, _check_config),
    "session": (seeds.session_seed, _json_text, ".json",
                lambda p: (load_session(p), load_session(p, lenient=True)), None),
}


def check_document(target: str, data: bytes, folder: Path) -> None:
    """The property for one input (also what the corpus replay runs)."""
    _, _, suffix, load, check = TARGETS[target]
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    try:
        result = run_guarded(lambda: load(path), path, f"{target} loader")
        if result is not None and check is not None:
            check(result)
    except BaseException:
        kept = keep_crasher(target, data, suffix)
        print(f"input kept as {kept}")
        raise
    finally:
        set_group("")  # load_config applies [privacy] group to this process: back to the default


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-documents")


def _fuzz_test(target: str):
    seed, as_text = TARGETS[target][0](), TARGETS[target][1]

    @budget(EXAMPLES[target])
    @given(data=documents(seed, as_text))
    def test(folder, data):
        check_document(target, data, folder)

    test.__name__ = f"test_{target}_loader_gives_a_result_or_one_line"
    return test


def test_seeds_load(folder):
    """The unmutated seeds are valid (so the mutations start from something the loader accepts)."""
    for target, (seed, as_text, *_rest) in TARGETS.items():
        tomllib.loads(_toml_text(seed())) if as_text is _toml_text else json.loads(_json_text(seed()))
        check_document(target, as_text(seed()).encode(), folder)


test_calibration_plate_loader = _fuzz_test("calibration_plate")
test_calibration_camera_loader = _fuzz_test("calibration_camera")
test_calibration_feet_loader = _fuzz_test("calibration_feet")
test_steps_loader = _fuzz_test("steps")
test_config_loader = _fuzz_test("config")
test_session_loader = _fuzz_test("session")
