"""`--markers depth` on the commands: it selects the markerless path through the config, keeps the other
meanings of --markers (a mocap source, a label mapping) working, and refuses a mix of both."""

from __future__ import annotations

import argparse

import pytest

from station.commands import dashboard, record
from station.commands.shared import marker_source
from station.config import StationConfig, config_from_dict
from station.errors import StationError
from station.markerless.labels import expected_error_text, method_label


def _args(module, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    module.configure(parser)
    base = ["--subject", "S-1", "--drill", "bw_rdl", "--out", "x.h5"] if module is record else []
    return parser.parse_args([*base, *argv])


@pytest.mark.parametrize("module", [record, dashboard])
def test_markers_depth_selects_markerless(module) -> None:
    config = StationConfig()
    assert marker_source(_args(module, "--markers", "depth"), config) is None
    assert config.camera.markers == "depth"
    assert method_label(config) == "markerless (estimated)"


def test_other_marker_meanings_still_work() -> None:
    config = StationConfig()
    args = _args(record, "--markers", "lsl:Mocap", "--markers", "hip=RGT,knee=RKNE")
    assert marker_source(args, config) == "lsl:Mocap"
    assert config.camera.markers == "ir" and config.lsl_markers.mapping == "hip=RGT,knee=RKNE"
    assert method_label(config) == "retroreflective markers (IR)"


def test_depth_and_a_mocap_source_are_refused() -> None:
    with pytest.raises(StationError, match="--markers depth"):
        marker_source(_args(record, "--markers", "depth", "--markers", "lsl:Mocap"), StationConfig())


def test_config_key_is_checked() -> None:
    assert config_from_dict({"camera": {"markers": "depth"}}).camera.markers == "depth"
    with pytest.raises(StationError, match="camera.markers"):
        config_from_dict({"camera": {"markers": "stickers"}})
    assert expected_error_text() == ("hip +-15 mm, knee +-5 deg, trunk +-3 deg, hip back per rep +-15 mm")


def test_dashboard_status_says_markerless() -> None:
    """The device panel shows where the landmarks come from, with the error, beside the camera line."""
    import numpy as np

    from station.dashboard.status import device_status_text
    from station.trial.live import LiveSnapshot

    label = f"markerless (estimated): {expected_error_text()}"
    snap = LiveSnapshot(elapsed_s=5.0, running=True, force=np.zeros((0, 5)), hip=np.zeros((0, 4)),
                        hip_back_m=np.zeros(0), hip_down_m=np.zeros(0), ir=None, depth=None,
                        frame_number=None, marker_pixels={}, reps=[], calibration_status="calibrated",
                        warnings=[],
                        stats={"camera": {"clock": {}}, "camera_fps": 30.0, "markers_method": label})
    assert f"Landmarks {label}" in device_status_text(snap)
    snap.stats.pop("markers_method")
    assert "Landmarks" not in device_status_text(snap)


def test_record_takes_markerless_with_the_hands_hanging() -> None:
    """A load hanging at arm's length in front of the legs (weighted RDL, deadlift) is measured through
    (test_markerless_hanging); drills whose load is in the legs' own plane or over the back are refused
    before any device opens, saying why."""
    assert record.markerless_refusal("weighted_rdl") is None
    assert record.markerless_refusal("deadlift") is None
    args = _args(record, "--markers", "depth", "--drill", "kb_swing", "--load-kg", "16",
                 "--plate", "sim:swing")
    with pytest.raises(StationError, match="swings between the legs, in their own plane"):
        record.run(args)
    assert "upper back" in record.markerless_refusal("kb_upper_back")
