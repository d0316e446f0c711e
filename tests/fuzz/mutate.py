"""Mutations of real files, written as plain JSON-able recipes ("ops") so a crasher made from a large seed
(a .db3 of megabytes, an HDF5 trial) is kept in the corpus as its recipe and replays exactly.

Byte ops work on any file: {"op": "truncate", "at": N}, {"op": "flip", "at": N, "xor": X},
{"op": "write", "at": N, "hex": "..."}, {"op": "delete", "at": N, "n": K}, {"op": "insert", ...}.
HDF5 ops (h5py): delete an object or attribute, set an attribute, replace a dataset with another dtype,
shape or fill. SQLite ops (a .db3 is a rosbag2 SQLite file): delete a topic's messages, damage a message
blob, rename a topic or type, move a timestamp, drop a table. Positions are taken modulo the file size.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

INTERESTING_BYTES = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\x01", b"\x50", b"\xa5\x5a"]
INTERESTING_WORDS = [0, 1, 2, 0x7FFF, 0x8000, 0xFFFF, 0xFFFE, 255, 256, 512, 1000]
INTERESTING_FLOATS = [float("nan"), float("inf"), -float("inf"), 0.0, -1.0, 1e30, 1e-30, 3.4e38]


# --- byte ops ---------------------------------------------------------------------------------------

def apply_byte_ops(data: bytes, ops: list[dict]) -> bytes:
    out = bytearray(data)
    for op in ops:
        if not out:
            break
        at = op.get("at", 0) % len(out)
        kind = op["op"]
        if kind == "truncate":
            del out[at:]
        elif kind == "flip":
            out[at] ^= op["xor"] or 1
        elif kind == "write":
            patch = bytes.fromhex(op["hex"])[: len(out) - at]
            out[at:at + len(patch)] = patch
        elif kind == "delete":
            del out[at:at + op["n"]]
        elif kind == "insert":
            out[at:at] = bytes.fromhex(op["hex"])
        elif kind == "duplicate":
            out[at:at] = out[at:at + op["n"]]
    return bytes(out)


def _interesting_patch() -> st.SearchStrategy[str]:
    words = st.sampled_from(INTERESTING_WORDS).flatmap(
        lambda w: st.sampled_from([w.to_bytes(2, "little"), w.to_bytes(2, "big")]))
    floats = st.sampled_from(INTERESTING_FLOATS).map(lambda f: np.float32(f).tobytes())
    ints = st.integers(-(1 << 31), (1 << 31) - 1).map(lambda i: i.to_bytes(4, "little", signed=True))
    return st.one_of(st.sampled_from(INTERESTING_BYTES), words, floats, ints,
                     st.binary(min_size=1, max_size=16)).map(bytes.hex)


def byte_ops(size: int, hot: int | None = None, max_ops: int = 4) -> st.SearchStrategy[list[dict]]:
    """A few byte mutations of a `size`-byte file; half of the positions fall in its first `hot` bytes
    (headers, parameters, schema: where a reader decides how to read the rest)."""
    hot = min(hot or size, size)
    at = st.one_of(st.integers(0, max(hot - 1, 0)), st.integers(0, size - 1))
    op = st.one_of(
        st.fixed_dictionaries({"op": st.just("truncate"), "at": at}),
        st.fixed_dictionaries({"op": st.just("flip"), "at": at, "xor": st.integers(1, 255)}),
        st.fixed_dictionaries({"op": st.just("write"), "at": at, "hex": _interesting_patch()}),
        st.fixed_dictionaries({"op": st.just("delete"), "at": at, "n": st.integers(1, 64)}),
        st.fixed_dictionaries({"op": st.just("insert"), "at": at, "hex": _interesting_patch()}),
        st.fixed_dictionaries({"op": st.just("duplicate"), "at": at, "n": st.integers(1, 512)}),
    )
    return st.lists(op, min_size=1, max_size=max_ops)


# --- HDF5 ops ---------------------------------------------------------------------------------------

FILLS = ("zero", "nan", "inf", "big", "neg", "ramp", "reverse")


def _filled(shape: tuple[int, ...], dtype: np.dtype, fill: str) -> np.ndarray:
    n = int(np.prod(shape)) if shape else 1
    if dtype.kind == "S":
        texts = {"zero": b"", "nan": b"NaN", "inf": b"{\"t_s\": 1e999}", "big": b"[" * 64,
                 "neg": b"{\"index\": \"x\"}", "ramp": b"{}", "reverse": b"\xff\xfe"}
        return np.full(shape, texts[fill], dtype=dtype)
    if dtype.kind == "V":
        return np.zeros(shape, dtype)
    base = {"zero": np.zeros(n), "nan": np.full(n, np.nan), "inf": np.full(n, np.inf),
            "big": np.full(n, 1e300), "neg": -np.arange(n, dtype=float) - 1,
            "ramp": np.arange(n, dtype=float), "reverse": np.arange(n, dtype=float)[::-1].copy()}[fill]
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        base = np.nan_to_num(base, nan=0, posinf=info.max, neginf=info.min).clip(info.min, info.max)
    if dtype.kind == "b":
        base = np.nan_to_num(base) > 0
    with np.errstate(invalid="ignore", over="ignore"):  # 1e300 into float32: inf, as intended
        return base.astype(dtype).reshape(shape)


def apply_h5_ops(path: Path, ops: list[dict]) -> None:
    """Structural damage with h5py, in place."""
    import h5py

    with h5py.File(path, "r+") as f:
        for op in ops:
            kind, name = op["op"], op.get("name", "/")
            if name != "/" and name not in f:
                continue
            if kind == "h5_delete" and name != "/":
                del f[name]
            elif kind == "h5_delete_attr":
                f[name].attrs.pop(op["attr"], None)
            elif kind == "h5_set_attr":
                value = op["value"]
                if isinstance(value, dict):  # {"array": [...]} or {"bytes": hex}
                    value = np.asarray(value["array"]) if "array" in value else bytes.fromhex(value["bytes"])
                try:
                    f[name].attrs[op["attr"]] = value
                except (TypeError, ValueError):
                    pass
            elif kind == "h5_replace" and isinstance(f[name], h5py.Dataset):
                old = f[name]
                dtype = np.dtype(op["dtype"]) if op.get("dtype") else old.dtype
                rows = op["rows"] if op.get("rows") is not None else (old.shape[0] if old.shape else 1)
                shape = tuple(op["shape"]) if op.get("shape") is not None else (rows, *old.shape[1:])
                if int(np.prod(shape)) * dtype.itemsize > 4_000_000:  # 480x848 images of S4096: keep it small
                    shape = (min(rows, 3),)
                attrs = dict(old.attrs)
                del f[name]
                new = f.create_dataset(name, data=_filled(shape, dtype, op.get("fill", "zero")),
                                       maxshape=(None, *shape[1:]) if shape else None)
                for k, v in attrs.items():
                    new.attrs[k] = v
            elif kind == "h5_fill" and isinstance(f[name], h5py.Dataset) and f[name].shape:
                ds = f[name]
                if ds.shape[0]:
                    ds[...] = _filled(ds.shape, ds.dtype, op["fill"])


def h5_names(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """(every object path, every (object, attribute) pair) of a file, sorted: what ops may name."""
    import h5py

    names: list[str] = []
    attrs: list[tuple[str, str]] = []
    with h5py.File(path, "r") as f:
        attrs += [("/", k) for k in f.attrs]
        f.visit(names.append)
        for n in names:
            attrs += [(n, k) for k in f[n].attrs]
    return sorted(names), sorted(attrs)


_JSON_TEXTS = ["", "{", "[]", "null", "1", "\"x\"", "{\"a\": 1}", "[1, 2]", "{\"subject_id\": 3}",
               "{\"plate\": []}", "NaN", "1e999", "{\"thresholds\": {\"filter_cutoff_hz\": \"x\"}}",
               "{\"plate\": {\"channel_xy_m\": [1, 2, 3, 4]}}", "{\"camera\": {\"side\": 5}}"]


def _attr_values() -> st.SearchStrategy:
    return st.one_of(
        st.sampled_from(_JSON_TEXTS),
        st.integers(-(1 << 62), 1 << 62), st.floats(allow_nan=True), st.booleans(),
        st.text(max_size=20), st.binary(max_size=20).map(lambda b: {"bytes": b.hex()}),
        st.lists(st.floats(-1e6, 1e6), max_size=20).map(lambda v: {"array": v}),
        st.just({"array": [[1.0, 0, 0, 0]] * 3}),  # a 3x4 "4x4" matrix
    )


def h5_ops(names: list[str], attrs: list[tuple[str, str]], max_ops: int = 3) -> st.SearchStrategy:
    name = st.sampled_from(names)
    attr = st.sampled_from(attrs)
    dtypes = st.sampled_from(["<f8", "<i8", "<i4", "u1", "<f4", "|b1", "S8", "S4096", None])
    op = st.one_of(
        st.fixed_dictionaries({"op": st.just("h5_delete"), "name": name}),
        attr.map(lambda a: {"op": "h5_delete_attr", "name": a[0], "attr": a[1]}),
        st.tuples(attr, _attr_values()).map(
            lambda a: {"op": "h5_set_attr", "name": a[0][0], "attr": a[0][1], "value": a[1]}),
        st.fixed_dictionaries({"op": st.just("h5_replace"), "name": name, "dtype": dtypes,
                               "rows": st.one_of(st.none(), st.integers(0, 40)),
                               "shape": st.one_of(st.none(), st.lists(st.integers(0, 5), max_size=3)),
                               "fill": st.sampled_from(FILLS)}),
        st.fixed_dictionaries({"op": st.just("h5_fill"), "name": name, "fill": st.sampled_from(FILLS)}),
    )
    return st.lists(op, min_size=1, max_size=max_ops)


# --- SQLite (.db3) ops ------------------------------------------------------------------------------

def apply_sqlite_ops(path: Path, ops: list[dict]) -> None:
    con = sqlite3.connect(path)
    try:
        for op in ops:
            kind = op["op"]
            try:
                if kind == "sql_delete_topic":
                    con.execute("DELETE FROM messages WHERE topic_id = ?", (op["topic"],))
                elif kind == "sql_delete_message":
                    con.execute("DELETE FROM messages WHERE id = ?", (op["id"],))
                elif kind == "sql_blob":  # damage one message's payload
                    row = con.execute("SELECT data FROM messages WHERE id = ?", (op["id"],)).fetchone()
                    if row is not None:
                        blob = apply_byte_ops(bytes(row[0]), op["ops"])
                        con.execute("UPDATE messages SET data = ? WHERE id = ?", (blob, op["id"]))
                elif kind == "sql_timestamp":
                    con.execute("UPDATE messages SET timestamp = ? WHERE id = ?", (op["value"], op["id"]))
                elif kind == "sql_topic":
                    con.execute(f"UPDATE topics SET {op['column']} = ? WHERE id = ?",
                                (op["value"], op["topic"]))
                elif kind == "sql_drop":
                    con.execute(f"DROP {op['what']}")
            except sqlite3.Error:
                pass
        con.commit()
    finally:
        con.close()


def sqlite_layout(path: Path) -> dict:
    """Topic ids and message ids (with topic and size) of a seed recording: what ops may name."""
    con = sqlite3.connect(path)
    try:
        topics = [r[0] for r in con.execute("SELECT id FROM topics ORDER BY id")]
        messages = [tuple(r) for r in con.execute(
            "SELECT id, topic_id, length(data) FROM messages ORDER BY id")]
    finally:
        con.close()
    return {"topics": topics, "messages": messages}


def sqlite_ops(layout: dict, max_ops: int = 2) -> st.SearchStrategy:
    topic = st.sampled_from(layout["topics"])
    message = st.sampled_from(layout["messages"])
    blob = message.flatmap(lambda m: byte_ops(m[2], hot=256, max_ops=3).map(
        lambda ops: {"op": "sql_blob", "id": m[0], "ops": ops}))
    op = st.one_of(
        st.fixed_dictionaries({"op": st.just("sql_delete_topic"), "topic": topic}),
        message.map(lambda m: {"op": "sql_delete_message", "id": m[0]}),
        blob, blob,
        st.fixed_dictionaries({"op": st.just("sql_timestamp"), "id": message.map(lambda m: m[0]),
                               "value": st.sampled_from([0, -1, 1 << 62, -(1 << 62), 1, 10**18])}),
        st.fixed_dictionaries({"op": st.just("sql_topic"), "topic": topic,
                               "column": st.sampled_from(["name", "type", "serialization_format"]),
                               "value": st.sampled_from(["", "x", "/device_0/sensor_0/Depth_0/info",
                                                         "std_msgs/msg/UInt32", "sensor_msgs/msg/Image",
                                                         "cdr", "json"])}),
        st.fixed_dictionaries({"op": st.just("sql_drop"),
                               "what": st.sampled_from(["TABLE topics", "TABLE messages",
                                                        "INDEX timestamp_idx"])}),
    )
    return st.lists(op, min_size=1, max_size=max_ops)


def materialise(seed: Path, recipe: dict, out: Path) -> Path:
    """Copy the seed to `out` and apply the recipe's structural ops, then its byte ops."""
    shutil.copyfile(seed, out)
    structural = recipe.get("ops", [])
    if any(op["op"].startswith("h5_") for op in structural):
        apply_h5_ops(out, [op for op in structural if op["op"].startswith("h5_")])
    if any(op["op"].startswith("sql_") for op in structural):
        apply_sqlite_ops(out, [op for op in structural if op["op"].startswith("sql_")])
    if recipe.get("bytes"):
        out.write_bytes(apply_byte_ops(out.read_bytes(), recipe["bytes"]))
    return out


def recipe_text(recipe: dict) -> str:
    return json.dumps(recipe, indent=1, sort_keys=True) + "\n"
