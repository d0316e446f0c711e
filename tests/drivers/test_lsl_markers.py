"""`--markers lsl:NAME`, the driver: LSL MoCap outlets on loopback -> LslMarkers chunks (labels, units and
channel order from the stream's meta-data or the TOML, shapes refused by name, a stream that vanishes and
returns). What the station makes of them (the plate frame, the trial file, `record`):
tests/drivers/test_lsl_markers_recording.py."""

from __future__ import annotations

import time

import numpy as np
import pytest

pylsl = pytest.importorskip("pylsl")

from drivers.lsl_markers import LslMarkers  # noqa: E402
from drivers.registry import open_markers, resolve  # noqa: E402
from drivers.samples import MarkerSource  # noqa: E402
from station.config import config_from_dict  # noqa: E402
from station.errors import StationError  # noqa: E402
from tests.support.lsl_mocap import (  # noqa: E402
    LABELS,
    RATE,
    collect_markers,
    mocap_name,
    mocap_outlet,
    mocap_truth,
    push_mocap,
    xdf_channels,
)
from tests.support.lsl_outlets import (  # noqa: E402
    assert_reported_gap,
    read_across_an_unplug,
    start_refused,
    wait_consumer,
    wrong_shapes,
)


def test_registry_names_lsl_markers():
    assert resolve("markers", "lsl:Qualisys") == ("lsl", "Qualisys")
    src = open_markers("lsl:Qualisys")
    assert isinstance(src, LslMarkers) and isinstance(src, MarkerSource)
    with pytest.raises(StationError, match="lsl:NAME"):
        resolve("markers", "qualisys")


def test_metadata_labels_units_and_order():
    """Channels shuffled, in mm, named by marker + type: the chunk holds metres per marker, x y z."""
    name = mocap_name("meta")
    k = 300
    truth = mocap_truth(k)
    channels = xdf_channels(LABELS)
    order = np.random.default_rng(3).permutation(len(channels))
    flat = truth.reshape(k, -1) * 1000.0  # mm, marker-major x y z
    outlet = mocap_outlet(name, 15, channels=[channels[i] for i in order])
    with LslMarkers(name, resolve_timeout_s=5.0) as src:
        wait_consumer(outlet)
        t0 = pylsl.local_clock()
        push_mocap(outlet, flat[:, order], t0)
        chunk = collect_markers(src, k)
    assert len(chunk) == k and sorted(chunk.labels) == sorted(LABELS)  # in the stream's order of first use
    for i, label in enumerate(LABELS):
        np.testing.assert_allclose(chunk.positions_m[:, chunk.labels.index(label)], truth[:, i], atol=1e-6)
    np.testing.assert_allclose(chunk.t_device_s, t0 + np.arange(k) / RATE, atol=1e-6)
    stats = src.stats()
    assert stats["labels_from"] == "stream metadata" and stats["lost"] == 0 and stats["rate_hz"] == RATE
    assert stats["clock"]["mapping"] == "lsl time_correction" and stats["clock"]["correction_s"] is not None
    assert abs(int(chunk.t_host_ns[-1]) - time.monotonic_ns()) < 5e9


def test_stream_without_metadata_is_read_by_the_tomls_order_and_unit():
    name = mocap_name("order")
    config = config_from_dict({"lsl_markers": {"channel_labels": list(LABELS), "unit": "cm"}})
    k = 100
    truth = mocap_truth(k)
    truth[5:9, 2] = 0.0  # the head occluded: 0, 0, 0 as mocap systems send it
    outlet = mocap_outlet(name, 15)
    with LslMarkers(name, config) as src:
        wait_consumer(outlet)
        push_mocap(outlet, truth.reshape(k, -1) * 100.0, pylsl.local_clock())
        chunk = collect_markers(src, k)
    assert chunk.labels == LABELS and src.stats()["labels_from"] == "[lsl_markers] channel_labels"
    assert np.isnan(chunk.positions_m[5:9, 2]).all()
    np.testing.assert_allclose(chunk.positions_m[9:], truth[9:], atol=1e-5)


@pytest.mark.parametrize(("n", "rate", "fmt", "said"),
                         wrong_shapes(RATE, channels=7, irregular=15, string=15))
def test_wrong_shape_is_refused_naming_the_stream(n, rate, fmt, said):
    name = mocap_name("bad")
    text = start_refused(mocap_outlet(name, n, rate=rate, fmt=fmt), LslMarkers(name, resolve_timeout_s=5.0))
    assert name in text and said in text and "\n" not in text


def test_no_labels_anywhere_is_refused_naming_the_setting():
    name = mocap_name("nolabels")
    text = start_refused(mocap_outlet(name, 15), LslMarkers(name, resolve_timeout_s=5.0))
    assert name in text and "[lsl_markers] channel_labels" in text


def test_stream_vanishing_then_returning_is_a_reported_gap():
    name = mocap_name("gone")
    k1, gap, k2 = 100, 60, 100
    rows = mocap_truth(k1 + gap + k2).reshape(k1 + gap + k2, -1) * 1000.0
    src = LslMarkers(name)
    first, second = read_across_an_unplug(  # the mocap system switched off, then on again
        src, lambda tag: mocap_outlet(name, 15, channels=xdf_channels(LABELS), source_id=f"{name}-{tag}"),
        push_mocap, lambda n: collect_markers(src, n), rows, k1, gap)
    assert_reported_gap(src, first, second, k1, k2, gap)
