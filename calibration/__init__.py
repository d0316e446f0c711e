"""Calibration: plate (tare, gains), camera extrinsics, feet, clocks, sync check."""
