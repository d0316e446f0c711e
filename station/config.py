"""Station configuration: plate geometry, feet, camera pose and the clinician-editable thresholds.

Defaults live here and only here. A station TOML (``--config``, ``$HINGE_STATION_CONFIG`` or
``./station.toml``) overrides any of them by section and key, e.g.::

    [plate]
    channel_xy_m = [[0.25, 0.15], [0.25, -0.15], [-0.25, 0.15], [-0.25, -0.15]]
    [thresholds]
    foot_pos_bottom_max = 0.55
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from station.documents import DocumentValue, read_document
from station.errors import StationError
from station.owner_files import set_group

GRAVITY_M_S2 = 9.80665


@dataclass
class PlateConfig:
    """Reference plate: 0.60 m (x) by 0.40 m (y), one load cell per corner (frames doc)."""

    size_x_m: float = 0.60
    size_y_m: float = 0.40
    # channel i at (x_i, y_i) in the plate frame: 0 front-left, 1 front-right, 2 rear-left, 3 rear-right
    channel_xy_m: list[list[float]] = field(
        default_factory=lambda: [[0.25, 0.15], [0.25, -0.15], [-0.25, 0.15], [-0.25, -0.15]]
    )
    rear_channels: list[int] = field(default_factory=lambda: [2, 3])
    rate_hz: float = 1000.0
    # used until a plate calibration file exists (clearly marked "defaults" wherever shown)
    default_gain_n_per_count: float = 0.001
    full_scale_n: float = 4000.0

    @property
    def channel_xy(self) -> np.ndarray:
        return np.asarray(self.channel_xy_m, dtype=float)


@dataclass
class FeetConfig:
    """Where the heels rest (plate x, m) and the subject's foot length (m): foot_pos = (cop_x-heel_x)/len."""

    heel_x_m: float = -0.13
    foot_length_m: float = 0.26
    # the wall drill's wall, mm behind the heel line (station.core.target; `--wall-mm`); None = no wall
    wall_mm: float | None = None


@dataclass
class CameraConfig:
    """Camera placement until a camera calibration exists: to the subject's right, looking across."""

    width: int = 848
    height: int = 480
    fps: int = 30
    # camera centre in the plate frame (m); subject faces +x which is then image-right
    position_m: list[float] = field(default_factory=lambda: [0.0, -2.2, 0.9])
    side: str = "right"  # which side of the subject the camera stands on: "right" (-y) or "left" (+y)
    # where the five landmarks come from: "ir" (retroreflective markers) or "depth" (markerless, estimated
    # from the silhouette: station.markerless; `--markers depth`)
    markers: str = "ir"

    def T_plate_from_camera(self) -> np.ndarray:
        """4x4 transform, camera axes (x right, y down, z forward) -> plate frame, level camera."""
        z_cam = np.array([0.0, 1.0, 0.0]) if self.side == "right" else np.array([0.0, -1.0, 0.0])
        y_cam = np.array([0.0, 0.0, -1.0])
        x_cam = np.cross(y_cam, z_cam)
        T = np.eye(4)
        T[:3, :3] = np.column_stack([x_cam, y_cam, z_cam])
        T[:3, 3] = self.position_m
        return T


@dataclass
class Thresholds:
    """Defaults from shared/spec/metrics.md; a clinician may change any of them in the station TOML."""

    cop_min_force_n: float = 50.0
    cop_min_body_weight_frac: float = 0.10
    filter_cutoff_hz: float = 6.0
    rep_start_frac: float = 0.15
    rep_min_duration_s: float = 1.0
    rep_min_amplitude_frac_of_median: float = 0.5
    rep_min_amplitude_m: float = 0.03  # below this an excursion is never a rep (quiet-standing sway)
    hinge_ratio_squat_max: float = 1.0
    knee_flexion_squat_deg: float = 45.0
    knee_flexion_change_squat_deg: float = 25.0
    trunk_inclination_min_deg: float = 45.0
    foot_pos_bottom_max: float = 0.60
    foot_pos_shift_max: float = 0.10
    heel_load_min_pct: float = 40.0
    dowel_gap_max_mm: float = 20.0
    dowel_hold_frames: int = 3
    # lockout, neck and bottom hold (issue 19; docs/metrics.md says why these values)
    lockout_window_s: float = 1.0  # the lockout is judged in this long after the rep's end (at most)
    lockout_incomplete_deg: float = 5.0  # trunk still this far forward of the subject's standing trunk
    lockout_lean_back_deg: float = 10.0  # trunk this far behind the subject's standing trunk
    neck_extension_max_deg: float = 20.0  # head extended on the trunk beyond the standing head carriage
    bottom_hold_band_frac: float = 0.05  # "at the bottom": hip within this share of the amplitude of it
    # the kettlebell swing and the step tap-down (issue 19 item 8; docs/metrics.md says why these values)
    swing_rep_min_duration_s: float = 0.4  # a swing's hips-back excursion takes 0.6-0.9 s (not 1 s or more)
    swing_hinge_ratio_squat_max: float = 1.0  # squat_swing: hips back no more than down
    swing_knee_flexion_squat_deg: float = 45.0  # squat_swing: knees bent beyond this at the backswing
    step_hip_knee_ratio_min: float = 1.0  # knee_dominant: hip flexion less than knee flexion (shin ahead)
    tempo_min_s: float = 0.5
    tracking_gap_max_s: float = 0.3
    sync_warn_frames: float = 1.0
    zero_drift_warn_n: float = 5.0


@dataclass
class GateConfig:
    """Progression gate (metrics.md): clean reps/sets needed to unlock the next drill."""

    dowel_consecutive_clean_reps: int = 8
    bodyweight_clean_sets: int = 2
    bodyweight_set_reps: int = 10
    bodyweight_hardest_arms: str = "arms_crossed"
    weighted_clean_sets: int = 2
    weighted_set_min_reps: int = 6  # "2-3 sets of 6-10": a shorter weighted set does not count
    # a set stopped for pain, or a contraindication answered yes, blocks progression for the session
    block_on_pain: bool = True
    # a set felt in the low back ("Where did you feel it?", station.screening.felt) blocks it too
    block_on_low_back: bool = True


@dataclass
class C3DConfig:
    """Other labs' C3D files: their lab axes (used when the file has no heel/toe markers to tell)."""

    lab_up_axis: str = "+z"  # "+z" for most labs, "+y" for Y-up systems
    lab_anterior_axis: str = "+x"  # direction the subject faces in the lab frame


@dataclass
class DashboardConfig:
    """The live dashboard: the coaching drill's "wall" and how much history the plots show."""

    hip_back_target_mm: float = 150.0  # hips this far back = the target line / target cue
    window_s: float = 10.0  # seconds of force and hip history on the live plots
    redraw_ms: int = 30  # GUI redraw period (ARCHITECTURE pattern 9: 30-50 ms; 33 could never reach 30/s)


@dataclass
class CuesConfig:
    """Live cues beyond the target and fault cues (station.dashboard). `breathing`: "inhale" while hinging
    down, "exhale" on the way up, shown in the coach view with a short tone (`--breathing` turns it on)."""

    breathing: bool = False


@dataclass
class ArchiveConfig:
    """Where the subject archive lives (station.archive). Empty = the defaults described there.

    `url`: SQLAlchemy URL (sqlite:///path or postgresql+psycopg://user@host/db); `$HINGE_ARCHIVE_URL` and
    `--db` override it. `data_root`: the folder trial paths are stored relative to (a shared folder for
    several stations; `$HINGE_DATA_ROOT` overrides). `station_id`: written on every row (default: host name).
    """

    url: str = ""
    data_root: str = ""
    station_id: str = ""


@dataclass
class PrivacyConfig:
    """Who may read what the station writes (station.privacy). `group`: "" = the owner only (files 0600,
    folders 0700); a group name = that group may read (0640 / 0750). `identities`: the identity list
    (code -> name) file, default hinge-identities.json in the data root."""

    group: str = ""
    identities: str = ""


@dataclass
class LslPlateConfig:
    """A lab's own plate read over Lab Streaming Layer (`--plate lsl:NAME`, drivers.lsl_plate).

    size_x_m/size_y_m: that plate's top (0: the [plate] size). origin_depth_m: a six-component plate's
    transducer origin below the top surface (C3D type-2 dz, positive down). channel_labels: the stream's
    channels in order when its metadata names none (6: Fx Fy Fz Mx My Mz; 4: the [plate] cells 0..3)."""

    size_x_m: float = 0.0
    size_y_m: float = 0.0
    origin_depth_m: float = 0.0
    channel_labels: list[str] = field(default_factory=list)
    resolve_timeout_s: float = 5.0


@dataclass
class LslMarkersConfig:
    """A lab's motion capture read over Lab Streaming Layer (`--markers lsl:NAME`, drivers.lsl_markers).

    Lab frame -> plate frame by the C3D import's rule ([c3d] lab_up_axis, lab_anterior_axis; heel->toe
    markers win for the anterior axis), with the plate top's centre at plate_origin_m in the lab frame (m).
    channel_labels: the marker labels in stream order (x, y, z channels each) when the stream's metadata
    names none, in `unit` (mm, cm or m). preset/mapping: as C3D import's --preset and --markers
    ("station", "plug-in-gait", "" = guess; "hip=RGT,knee=RKNE"); `--markers hip=...` overrides mapping."""

    channel_labels: list[str] = field(default_factory=list)
    unit: str = "mm"
    preset: str = ""
    mapping: str = ""
    plate_origin_m: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    resolve_timeout_s: float = 5.0


@dataclass
class StationConfig:
    plate: PlateConfig = field(default_factory=PlateConfig)
    feet: FeetConfig = field(default_factory=FeetConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    thresholds: Thresholds = field(default_factory=Thresholds)
    gate: GateConfig = field(default_factory=GateConfig)
    c3d: C3DConfig = field(default_factory=C3DConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    cues: CuesConfig = field(default_factory=CuesConfig)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    lsl_plate: LslPlateConfig = field(default_factory=LslPlateConfig)
    lsl_markers: LslMarkersConfig = field(default_factory=LslMarkersConfig)
    calibration_dir: str = "calibration-data"
    source_path: str | None = None  # the TOML this came from, if any

    def to_dict(self) -> dict:
        """Everything that shapes a measurement (stored in each trial). Not [archive]: where the index
        lives is not part of a trial, and its URL may hold a password; nor [privacy]."""
        out = dataclasses.asdict(self)
        out.pop("archive")
        out.pop("privacy")
        return out


def _like(value: DocumentValue, default: DocumentValue) -> bool:
    """value has the default's type: a number for a number (integral for an int), and for a list a list
    whose items are each like the default's first item (so [[x, y], ...] holds pairs of numbers)."""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        try:
            as_float = float(value)
        except OverflowError:  # 10**400 (JSON has no limit): too big for any setting
            return False
        return not isinstance(default, int) or as_float.is_integer()
    if isinstance(default, list):
        return isinstance(value, list) and (not default or all(_like(v, default[0]) for v in value))
    return isinstance(value, type(default))


def _as(value, default):
    """A value _like the default, with its numbers made the default's int or float."""
    if isinstance(default, list):
        return [_as(v, default[0]) for v in value] if default else value
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        return type(default)(value)
    return value


def _apply(section_obj: object, values: dict, where: str) -> None:
    known = {f.name: f for f in dataclasses.fields(section_obj)}
    for key, value in values.items():
        if key not in known:
            raise StationError(f"{where}.{key if key.isprintable() else repr(key)}: unknown setting")
        current = getattr(section_obj, key)
        if isinstance(current, bool) or current is None:
            ok = True
        else:
            ok = _like(value, current)
            value = _as(value, current) if ok else value
        if not ok:
            raise StationError(f"{where}.{key}: expected {type(current).__name__}, got {value!r}")
        setattr(section_obj, key, value)


def config_from_dict(data: dict, where: str = "config") -> StationConfig:
    cfg = StationConfig()
    sections = {f.name for f in dataclasses.fields(cfg) if dataclasses.is_dataclass(getattr(cfg, f.name))}
    for key, value in data.items():
        if key in sections:
            if not isinstance(value, dict):
                raise StationError(f"{where}: [{key}] must be a table")
            _apply(getattr(cfg, key), value, f"{where}: {key}")
        elif key == "calibration_dir":
            cfg.calibration_dir = str(value)
        else:
            raise StationError(f"{where}: unknown section {key!r}")
    if len(cfg.plate.channel_xy_m) != 4 or any(len(p) != 2 for p in cfg.plate.channel_xy_m):
        raise StationError(f"{where}: plate.channel_xy_m must be 4 pairs [x, y]")
    if len(cfg.lsl_markers.plate_origin_m) != 3:
        raise StationError(f"{where}: lsl_markers.plate_origin_m must be [x, y, z]")
    if len(cfg.camera.position_m) != 3:
        raise StationError(f"{where}: camera.position_m must be [x, y, z]")
    if cfg.camera.markers not in ("ir", "depth"):
        raise StationError(f"{where}: camera.markers must be \"ir\" or \"depth\", got {cfg.camera.markers!r}")
    if any(not 0 <= ch < 4 for ch in cfg.plate.rear_channels):
        raise StationError(f"{where}: plate.rear_channels must be channel numbers 0-3")
    if cfg.feet.foot_length_m <= 0.05:
        raise StationError(f"{where}: feet.foot_length_m must be > 0.05 m")
    wall = cfg.feet.wall_mm  # None skips _apply's type check: a wall is a number of mm or absent
    if wall is not None:
        if isinstance(wall, bool) or not isinstance(wall, (int, float)) or not 1.0 <= wall <= 2000.0:
            raise StationError(f"{where}: feet.wall_mm must be 1-2000 mm behind the heel line, got {wall!r}")
        cfg.feet.wall_mm = float(wall)
    return cfg


def load_config(path: str | os.PathLike | None = None) -> StationConfig:
    """Keyword argument, then $HINGE_STATION_CONFIG, then ./station.toml, else defaults."""
    candidate = path or os.environ.get("HINGE_STATION_CONFIG")
    if candidate is None and Path("station.toml").is_file():
        candidate = "station.toml"
    if candidate is None:
        set_group("")
        return StationConfig()
    p = Path(candidate)
    data = read_document(p, "config file", parse=tomllib.loads, invalid="not valid TOML ({error})")
    cfg = config_from_dict(data, where=str(p))
    cfg.source_path = str(p)
    try:
        set_group(cfg.privacy.group)
    except StationError as exc:  # "[privacy] group = 'x': no such group ...": say which file
        raise StationError(f"{p}: {exc}") from None
    return cfg
