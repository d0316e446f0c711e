"""A mocap system on LSL loopback for the `--markers lsl:NAME` tests (tests/drivers/test_lsl_markers*.py):
five markers moving like a hinge, a MoCap outlet with XDF channel meta-data, pushing and reading them."""

from __future__ import annotations

from typing import Any

import numpy as np

from drivers.samples import MarkerChunk
from tests.support.lsl_outlets import collect, open_outlet, push_rows, stream_name

RATE = 200.0
LABELS = ("HIP", "KNEE", "ANKLE", "SHOULDER", "HEAD")


def mocap_name(tag: str) -> str:
    return stream_name("mocap", tag)


def mocap_outlet(name: str, n: int, *, rate: float = RATE, fmt: str = "float32", channels=None,
                 source_id: str | None = None) -> Any:
    """channels: (label, marker, type, unit) per channel as the XDF MoCap meta-data has them."""
    children = [(("label", label), *((("marker", marker),) if marker else ()),
                 *((("type", kind),) if kind else ()), ("unit", unit))
                for label, marker, kind, unit in channels or ()]
    return open_outlet(name, n, kind="MoCap", rate=rate, fmt=fmt, channels=children, source_id=source_id)


def xdf_channels(labels, unit="millimeters"):
    return [(f"{m}_{a}", m, f"Position{a}", unit) for m in labels for a in "XYZ"]


def collect_markers(src: Any, n: int, timeout_s: float = 10.0) -> MarkerChunk:
    return collect(src, n, MarkerChunk.concat, timeout_s)


def mocap_truth(k: int) -> np.ndarray:
    """(k, 5, 3) metres: five markers moving differently (hip goes back and down)."""
    t = np.arange(k) / RATE
    base = np.array([[-0.05, 0.2, 0.95], [0.02, 0.2, 0.5], [-0.02, 0.2, 0.09], [0.0, 0.2, 1.45],
                     [0.02, 0.2, 1.65]])
    move = np.stack([-0.15 * np.sin(np.pi * t / t[-1]), 0 * t, -0.1 * np.sin(np.pi * t / t[-1])], axis=1)
    out = np.repeat(base[None], k, axis=0)
    out[:, 0] += move
    out[:, 3] += 2 * move
    return out


def push_mocap(outlet: Any, rows: np.ndarray, t0: float, k0: int = 0) -> None:
    push_rows(outlet, rows, t0, RATE, k0=k0, per_chunk=20)
