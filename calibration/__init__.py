"""Calibration: plate (tare, gains), camera extrinsics, feet, clocks, sync check; each a small, dated,
versioned file with its residuals (calibration.store). Imports from station only its shared base."""
