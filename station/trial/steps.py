"""Per-chunk steps of the live path: device clock -> trial clock, counts -> N -> CoP, frames -> markers.

Each step wraps the module that owns it (calibration.plate, calibration.clocks, station.core.cop,
station.markers.tracking) so the runner and the replay use one implementation.

Without a plate calibration the station runs on NOMINAL DEFAULTS: `PlateCalibration.defaults(config)`
(zero offsets, the config's nominal gain). The trial, the live view and `record`'s summary say so
("nominal defaults"); forces are then only as right as the nominal gain.
"""

from __future__ import annotations

import numpy as np

from calibration.plate import PlateCalibration, PlateGains
from drivers.samples import CameraFrame, PlateChunk, PlateSource
from station.config import GRAVITY_M_S2, StationConfig
from station.core.cop import cop_and_foot_pos, force_gate_n
from station.results import RepResult
from station.trial.camera_clock import ContinuousDeviceClock, clock_restarted

NOMINAL = "nominal defaults"
LIVE_TRACK_FRAMES = 1  # frames the live marker tracker keeps for finish() (the live path reads the newest)

__all__ = ["NOMINAL", "ClockStep", "ForceStep", "MarkerStep", "cop_and_foot_pos", "plate_gaps"]


def factory_plate_calibration(plate: PlateSource | None) -> PlateCalibration | None:
    """A plate's factory sheet (offsets, gains) when it ships one (the simulated plate does), else None."""
    sheet = getattr(plate, "factory_calibration", lambda: None)()
    if not sheet:
        return None
    return PlateCalibration(sheet["offsets_counts"], sheet["gains_n_per_count"],
                            device_id=getattr(plate, "name", ""), source=sheet["source"])


class ForceStep:
    """counts (N,4) -> newtons per cell through calibration.plate.PlateCalibration, plus the CoP gate.

    `plate_calibration`: a PlateCalibration, anything with offsets_counts / gains_n_per_count (and
    optionally source, is_default), or None for the nominal defaults (status NOMINAL). describe() is
    what the trial stores and from_description() rebuilds the same step for replay.
    """

    def __init__(self, config: StationConfig, plate_calibration: PlateGains | None = None,
                 body_mass_kg: float | None = None) -> None:
        self.config = config
        if plate_calibration is None:
            cal = PlateCalibration.defaults(config)  # NOMINAL: no calibration file
        elif isinstance(plate_calibration, PlateCalibration):
            cal = plate_calibration
        else:
            is_default = bool(getattr(plate_calibration, "is_default", False))
            source = "defaults" if is_default else str(getattr(plate_calibration, "source", "") or "given")
            cal = PlateCalibration(plate_calibration.offsets_counts, plate_calibration.gains_n_per_count,
                                   source=source)
        self.calibration = cal
        self.status = NOMINAL if cal.is_default else "calibrated"
        self.source = NOMINAL if cal.is_default else cal.source
        # the core's gate (station.core.cop): max(cop_min_force_n, fraction of body weight when known)
        self.min_force_n = force_gate_n(config, body_mass_kg * GRAVITY_M_S2 if body_mass_kg else None)

    @property
    def offsets(self) -> np.ndarray:
        return self.calibration.offsets_counts

    @property
    def gains(self) -> np.ndarray:
        return self.calibration.gains_n_per_count

    def cells_n(self, counts: np.ndarray) -> np.ndarray:
        return self.calibration.cells_n(counts)

    def describe(self) -> dict:
        return {"status": self.status, "offsets_counts": self.offsets.tolist(),
                "gains_n_per_count": self.gains.tolist(), "source": self.source}

    @classmethod
    def from_description(cls, desc: dict, config: StationConfig,
                         body_mass_kg: float | None = None) -> ForceStep:
        """The step a trial was recorded with (its describe()); nominal defaults when it holds none."""
        if desc.get("offsets_counts") is None or desc.get("gains_n_per_count") is None:
            return cls(config, None, body_mass_kg)
        nominal = desc.get("status") == NOMINAL
        source = "defaults" if nominal else str(desc.get("source") or "trial")
        cal = PlateCalibration(desc["offsets_counts"], desc["gains_n_per_count"], source=source)
        return cls(config, cal, body_mass_kg)


class ClockStep:
    """Device clock -> host monotonic ns, via calibration.clocks.ClockMapper when it exists.

    Without it (or before it has enough points) the host arrival stamp is used as is: a few ms of
    USB latency, never a wrong ordering.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.restarts = 0  # device clocks that started again (a replugged device): a new mapping each
        self._last: tuple[float, int] | None = None  # (t_device_s, t_host_ns) of the last sample
        try:
            from calibration.clocks import ClockMapper

            self.mapper = ClockMapper()
        except ImportError:
            self.mapper = None

    def host_ns(self, t_device_s: np.ndarray, t_host_ns: np.ndarray) -> np.ndarray:
        m = self.mapper
        if m is None:
            return np.asarray(t_host_ns, np.int64)
        if len(t_device_s) and clock_restarted(self._last, float(t_device_s[0]), int(t_host_ns[0])):
            self.mapper = m = type(m)()  # the old line does not hold for the new clock
            self.restarts += 1
        if len(t_device_s):
            self._last = (float(t_device_s[-1]), int(t_host_ns[-1]))
        m.update(np.asarray(t_device_s, float), np.asarray(t_host_ns, np.int64))
        return np.round(np.asarray(m.map(np.asarray(t_device_s, float))) * 1e9).astype(np.int64)

    def stats(self) -> dict:
        m = self.mapper
        if m is None:
            return {"mapping": "arrival stamps"}
        state = dict(m.state())
        state.pop("envelope_points", None)  # long; the trial stores the summary
        return state | ({"restarts": self.restarts} if self.restarts else {})


def plate_gaps(chunk: PlateChunk, last_seq: int | None) -> tuple[list[tuple[int, int, int]], int | None]:
    """(t_host_ns, seq_before, n_lost) for every jump in seq, including across chunk boundaries."""
    if len(chunk) == 0:
        return [], last_seq
    seq = chunk.seq.astype(np.int64)
    prev = np.concatenate([[seq[0] - 1 if last_seq is None else last_seq], seq[:-1]])
    jump = seq - prev - 1
    idx = np.nonzero(jump > 0)[0]
    gaps = [(int(chunk.t_host_ns[i]), int(prev[i]), int(jump[i])) for i in idx]
    return gaps, int(seq[-1])


class MarkerStep:
    """CameraFrame -> marker pixels and plate-frame positions, through markers.tracking.MarkerTracker."""

    def __init__(self, config: StationConfig, camera_T: np.ndarray | None) -> None:
        self.T = np.asarray(camera_T if camera_T is not None else config.camera.T_plate_from_camera(), float)
        self.depth = getattr(config.camera, "markers", "ir") == "depth"  # `--markers depth`: markerless
        if self.depth:
            from station.markerless.tracker import DepthMarkerTracker

            self.tracker = DepthMarkerTracker(self.T, config=config)
        else:
            from station.markers.tracking import MarkerTracker  # the camera helper's tracker

            # live, the newest frame's answer is all that is read: no per-frame history (a trial's grew)
            self.tracker = MarkerTracker(self.T, config=config, history_frames=LIVE_TRACK_FRAMES)
        self.clock = ContinuousDeviceClock()  # a replugged camera's clock starts again: not for the tracker

    def update(self, frame: CameraFrame, t_s: float | None = None) -> tuple[dict, dict, dict]:
        """positions name -> (3,) m plate frame, pixels name -> (2,) px, bridged name -> bool; t_s: the
        frame on the trial clock (markerless keeps it with any reason it could not measure the frame).

        Live positions are the tracker's raw per-frame answer (gaps NaN); the core bridges.
        """
        frame = self.clock.frame(frame)
        positions = self.tracker.update(frame, t_s) if self.depth else self.tracker.update(frame)
        if self.depth:  # estimated landmarks have no disc in the image: their projection is drawn
            pixels = self.tracker.pixels(positions, frame.intrinsics)
        else:
            pixels = {k: np.asarray(v, float) for k, v in self.tracker.last_pixels.items()}
        return ({k: np.asarray(v, float).reshape(3) for k, v in positions.items()}, pixels, {})

    def explain(self, rep: RepResult) -> None:
        """Markerless: a rep with frames not measured says what and why (notes["markers"])."""
        if self.depth:
            self.tracker.explain(rep)


def warm_marker_finder() -> None:
    """Load the IR marker disc finder's compiled loops (numba's cache: ~0.4 s + 0.7 s of import; a first
    compile 15-23 s) so that no frame waits for them; a failure here is the first frame's to report."""
    try:
        from station.markers.discs import warm_up

        warm_up()
    except Exception:  # noqa: BLE001 - the first frame meets it again and says what it is
        pass


def warm_marker_step(config: StationConfig, camera_T: np.ndarray | None) -> MarkerStep:
    """A MarkerStep whose disc finder has loaded its compiled loops (see warm_marker_finder)."""
    step = MarkerStep(config, camera_T)
    if not step.depth:
        warm_marker_finder()
    return step


class ZeroCheckStep:
    """The pre-trial zero check (calibration.plate.zero_check) on the first `window_s` of plate data.

    Chunks are held back until the window is full, then checked against the calibration in force:
    'ok', 'retared' (drift beyond thresholds.zero_drift_warn_n: the trial uses the new offsets from its
    first sample on) or 'skipped' (plate not empty or not still; nominal defaults have no zero to check).
    The held chunks are then processed like any other, so live, file and replay all use one calibration.
    """

    def __init__(self, window_s: float | None) -> None:
        self.window_s = float(window_s or 0.0)
        self.done = self.window_s <= 0
        self.result: dict | None = None
        self._held: list[PlateChunk] = []

    def feed(self, chunk: PlateChunk) -> list[PlateChunk]:
        """Chunks to process now (none while the window fills)."""
        if self.done:
            return [chunk]
        self._held.append(chunk)
        t = self._held[0].t_device_s[0] if len(self._held[0]) else chunk.t_device_s[0]
        if len(chunk) and chunk.t_device_s[-1] - t >= self.window_s:
            self.done = True
        return self.release() if self.done else []

    def release(self) -> list[PlateChunk]:
        held, self._held = self._held, []
        self.done = True
        return held

    def decide(self, calibration: PlateCalibration, config: StationConfig,
               chunks: list[PlateChunk]) -> PlateCalibration | None:
        """Run the check on the held chunks; the re-tared calibration when it re-tared, else None."""
        from calibration.plate import zero_check

        if calibration.is_default:
            self.result = {"status": "skipped", "message": "zero check skipped: nominal defaults have no "
                           "calibrated zero to check (run `hinge-station calibrate plate`)"}
            return None
        counts = PlateChunk.concat(chunks).counts
        zc = zero_check(counts, calibration, config)
        self.result = {"status": zc.status, "message": zc.message,
                       "drift_n": [round(float(v), 3) for v in zc.drift_n], "window_s": self.window_s}
        return zc.calibration if zc.status == "retared" else None
