"""DepthMarkerTracker: the five landmarks from the depth image alone, in the IR marker path's shape.

`update(frame)` returns {name: (3,) plate-frame position, NaN = not measured} for hip, knee, ankle,
shoulder and head, like station.markers.tracking.MarkerTracker, so the trial runner, the virtual dowel and
the core take either. Positions lie in the sagittal plane through the plate centre (y = 0): a side view
gives x and z, and the core's angles and travels are sagittal.

The first `STANDING_FRAMES` frames in which the subject stands upright and still (the silhouette's top
steady to 15 mm, its width that of a standing person) give the body's proportions (station.markerless.body)
the standing skull, the trunk's depth profile and the legs' thickness section by section
(station.markerless.limb_profile; a standing leg thicker in a stretch than above it has something held
against it, and no standing pose is taken); until then nothing is reported live (the history that
`finish()` and `block()` return has those frames read too, once the body is known). Each later frame is
read by station.markerless.limbs (shank, thigh: hands or a bar hanging in front of them told apart by the
lateral plane of what is seen) and station.markerless.chain (trunk, head), warm-started from the frame
before. The frame that completes the standing pose costs ~50-100 ms once (every standing frame read twice);
the others ~4-6 ms (bench/markerless.py). A frame that cannot be read honestly (another person or object in
view, something over the legs in their own plane, too little silhouette, the back or head hidden) gives NaN
for what it could not measure and a reason (`last_reason`; every one is kept for the rep notes).

Everything reported is an ESTIMATE: `SOURCE_LABEL` and `EXPECTED_ERROR` travel with it into trials,
reports and the dashboard.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from drivers.samples import CameraFrame, Intrinsics
from station.config import StationConfig
from station.markerless.body import TRAGUS_H, Proportions
from station.markerless.chain import (
    NECK_CUT_FRAC,
    TRUNK_SECTIONS,
    ChainState,
    _normal,
    fit_back,
    head_template,
    match_head,
    point_on_line_at,
    skull_centroid,
    upper_body_axis,
)
from station.markerless.labels import EXPECTED_ERROR, SOURCE_LABEL, expected_error_text
from station.markerless.limb_profile import LimbProfile
from station.markerless.limbs import Legs, held_against_legs, knee_on_thigh, read_legs, standing_limbs
from station.markerless.silhouette import Silhouette, SilhouetteMaker
from station.results import RepResult
from station.streams import MARKER_NAMES, MarkerBlock

STANDING_FRAMES = 12            # ~0.4 s at 30 fps of upright, still standing
STANDING_TOP_STEADY_M = 0.015
STANDING_MAX_WIDTH_FRAC = 0.42  # of stature: crossed arms or hands on hips included, a hinge is wider
# the acromion lies this far (of stature) in front of the back's outline over the shoulder blades: chest
# depth ~0.13 of stature, the acromion a little behind its middle; arms anywhere do not move this
SHOULDER_FRONT_FRAC = 0.06
# the head turns on the neck about the lower cervical spine: at the acromion's level, this far (of stature)
# in front of the back's outline (the vertebral bodies lie ~5 cm in front of the C7 spinous process)
NECK_PIVOT_FRAC = 0.03
# the ear canal lies behind the middle of the head's side outline (the face is in front of it): by this much
# of stature (~1 cm) behind the skull's centroid
TRAGUS_BEHIND_FRAC = 0.006
HEAD_MIN_FIT = 0.8  # share of the standing skull's cells (and of the empty ring around it) matched
HEAD_SEARCH_DEG = 12.0  # warm start: the head turns less than this on the trunk in a frame
# the back's outline is seen within this (of stature) of the mid-sagittal plane (spine, shoulder blades at
# ~0.04-0.05); an upper arm beside the trunk (hands on hips, elbows back) lies beyond ~0.08
BACK_MID_Y_FRAC = 0.06
# a back line this far (deg) from where the frame's fit started is not the back (a frame lasts 33 ms)
TRUNK_MAX_TURN_DEG = 20.0
SKULL_REACH_FRAC = 0.22  # the skull lies within this (of stature) of the acromion (vertex ~0.18)
# a back that is not straight (rounded, arched) puts its line off the neck's base: the skull is searched about
# pivots moved this far (of stature, ~5 cm) across the trunk either way, in these steps (~1 cm)
NECK_SHIFT_FRAC = 0.03
NECK_SHIFT_STEP_FRAC = 0.006


@dataclass
class StandingModel:
    """What the standing pose gives: proportions and the tragus against the skull's centroid (turned with
    it)."""

    body: Proportions
    front_profile: np.ndarray    # per trunk section: the front outline's offset from the back line (m)
    head_from_skull: np.ndarray  # tragus - skull centroid (x, z) in standing
    skull_angle: float           # direction of (skull centroid - acromion) in standing, rad
    limbs: dict[str, LimbProfile | None] = field(default_factory=dict)  # standing shank and thigh
    head: tuple[np.ndarray, np.ndarray] | None = None  # the standing skull about the neck (head_template)
    tragus_from_neck: np.ndarray | None = None  # standing tragus - neck pivot (x, z)
    back_angle: float = 0.0                     # standing back line's direction, rad
    knee_fix: np.ndarray | None = None          # limbs.knee_on_thigh, median over the standing frames


@dataclass
class DepthTrack:
    """Per-frame estimates: t_s (M,), positions name -> (M, 3) NaN = not measured, reasons (M,) str."""

    t_s: np.ndarray
    positions: dict[str, np.ndarray]
    reasons: list[str] = field(default_factory=list)
    frame_numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def to_block(self) -> MarkerBlock:
        """The core's MarkerBlock (gaps stay NaN; the core bridges what it may)."""
        return MarkerBlock(self.t_s.copy(), {k: v.copy() for k, v in self.positions.items()},
                           {k: np.zeros(len(self.t_s), bool) for k in self.positions})


def _angle(v: np.ndarray) -> float:
    return float(np.arctan2(v[0], v[1]))


def _rot(v: np.ndarray, a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]])  # turns by a toward +x (forward)


class DepthMarkerTracker:
    """Incremental: `update(frame)` -> {name: (3,) plate position or NaN}; `finish()` -> DepthTrack."""

    source_label = SOURCE_LABEL

    def __init__(self, T_plate_from_camera: np.ndarray | None = None, *,
                 config: StationConfig | None = None) -> None:
        cfg = config or StationConfig()
        T = cfg.camera.T_plate_from_camera() if T_plate_from_camera is None else T_plate_from_camera
        self.T_plate_from_camera = np.asarray(T, float)
        self.config = cfg
        self.maker = SilhouetteMaker(self.T_plate_from_camera, (cfg.plate.size_x_m, cfg.plate.size_y_m))
        self.model: StandingModel | None = None
        self.state = ChainState.upright()
        self._trunk_fresh = True  # state.trunk is last frame's measured trunk
        self._head_rel_deg: float | None = None  # last frame's head-on-trunk turn (deg), warm start
        self.last_reason = ""
        self.last_silhouette: Silhouette | None = None
        self.last_legs: Legs | None = None  # the last estimate's leg fits (the standing profile's source)
        self._standing: list[Silhouette] = []
        self._held = ""  # why the last standing pose could not be taken (something held against the legs)
        self._t0_ms: float | None = None
        self._t: list[float] = []
        self._frames: list[int] = []
        self._pos: dict[str, list[np.ndarray]] = {n: [] for n in MARKER_NAMES}
        self._reasons: list[str] = []

    # --- per frame ------------------------------------------------------------------------------------
    def update(self, frame: CameraFrame, t_s: float | None = None) -> dict[str, np.ndarray]:
        """The frame's five landmarks (NaN: not measured, `last_reason` says why); t_s: the frame on the
        caller's clock (the trial's), kept for `explain` (default: device seconds from the first frame)."""
        if self._t0_ms is None:
            self._t0_ms = frame.t_device_ms
        nan3 = np.full(3, np.nan)
        out = {n: nan3.copy() for n in MARKER_NAMES}
        if frame.depth is None:
            reason = "no depth image in this frame"
        else:
            sil = self.maker.make(frame)
            self.last_silhouette = sil
            if self.model is None:
                standing = [*self._standing, sil]
                reason = self._calibrate(sil)
                if self.model is not None:  # the standing frames read again, now the body is known:
                    self._backfill(standing[:-1])  # the history (finish, block) has them too
                    out, reason = self._landmarks(sil)
            else:
                out, reason = self._landmarks(sil)
        self.last_reason = reason
        self._t.append((frame.t_device_ms - self._t0_ms) / 1000.0 if t_s is None else float(t_s))
        self._frames.append(frame.frame_number)
        for n in MARKER_NAMES:
            self._pos[n].append(out[n])
        self._reasons.append(reason)
        return out

    def _landmarks(self, sil: Silhouette) -> tuple[dict[str, np.ndarray], str]:
        """estimate() as plate-frame (x, 0, z) landmarks, NaN where not measured."""
        out = {n: np.full(3, np.nan) for n in MARKER_NAMES}
        xz, reason = self.estimate(sil)
        for name, p in xz.items():
            if not name.startswith("_"):  # the fit's own working values are not landmarks
                out[name] = np.array([p[0], 0.0, p[1]])
        return out, reason

    def _backfill(self, earlier: list[Silhouette]) -> None:
        """Landmarks of the standing frames before this one, into the history (live callers had NaN)."""
        k = len(earlier)
        if not k or len(self._t) < k:
            return
        for j, sil in enumerate(earlier):
            out, reason = self._landmarks(sil)
            i = len(self._t) - k + j
            for n in MARKER_NAMES:
                self._pos[n][i] = out[n]
            self._reasons[i] = reason

    def _calibrate(self, sil: Silhouette) -> str:
        """Collect upright, still standing frames; build the StandingModel from them."""
        # what kept the last standing pose from being taken, said until one is (not "waiting" alone)
        waiting = self._held or "markerless: waiting for the subject to stand still, upright, on the plate"
        top = sil.top_z_m()
        if sil.other or not np.isfinite(top) or not 1.2 <= top <= 2.2:
            self._standing.clear()
            return sil.other or waiting
        cols = np.flatnonzero(sil.grid.any(axis=0))
        if (cols[-1] - cols[0] + 1) * sil.cell_m > STANDING_MAX_WIDTH_FRAC * top:
            self._standing.clear()
            return waiting + (" (the silhouette is wider than one person standing: a second person in "
                              "view, a long coat, something held?)")
        if self._standing and abs(self._standing[0].top_z_m() - top) > STANDING_TOP_STEADY_M:
            self._standing.clear()
        self._standing.append(sil)
        if len(self._standing) < STANDING_FRAMES:
            return waiting
        stature = float(np.median([s.top_z_m() for s in self._standing]))
        feet = self.config.feet
        body = Proportions.from_stature(stature, feet.heel_x_m, feet.foot_length_m)
        self.model = StandingModel(body, np.full(TRUNK_SECTIONS[2], np.nan), np.zeros(2), 0.0)
        heads, angles, fronts, legs, why, tragi, backs, template = [], [], [], [], [], [], [], None
        knee_fixes: list[np.ndarray] = []
        for s in self._standing:  # the chain in each standing frame; the tragus from its height
            self.state = ChainState.upright()
            pts, reason = self.estimate(s, standing=True)
            if "shoulder" not in pts:
                why.append(reason)
                continue
            skull = skull_centroid(s, pts["shoulder"], pts["_back_u"], NECK_CUT_FRAC * stature,
                                   SKULL_REACH_FRAC * stature)
            if skull is None:
                continue
            tragus = np.array([skull[0] - TRAGUS_BEHIND_FRAC * stature, TRAGUS_H * stature])
            heads.append(tragus - skull)
            tragi.append(tragus - pts["_neck"])
            backs.append(_angle(pts["_back_u"]))
            template = head_template(s, pts["_neck"], pts["_back_u"], NECK_CUT_FRAC * stature,
                                     SKULL_REACH_FRAC * stature) or template
            fronts.append(pts["_front_rel"])
            if self.last_legs is not None:
                legs.append(self.last_legs.fits)
                if (fix := knee_on_thigh(self.last_legs)) is not None:
                    knee_fixes.append(fix)
            angles.append(_angle(skull - pts["_neck"]))
        self._standing.clear()
        if len(heads) < STANDING_FRAMES // 3:  # hands on hips hide the back in many standing frames
            self.model = None
            return max(set(why), key=why.count) if why else waiting
        with warnings.catch_warnings():  # a section never seen in front stays NaN: unused
            warnings.simplefilter("ignore", RuntimeWarning)
            profile = np.nanmedian(np.array(fronts), axis=0)
        limbs = standing_limbs(legs)
        self._held = held_against_legs(limbs)
        if self._held:  # the legs' own thickness in doubt: nothing to read them by
            self.model = None
            return self._held
        self.model = StandingModel(body, profile, np.median(np.array(heads), axis=0),
                                   float(np.median(angles)), limbs, template,
                                   np.median(np.array(tragi), axis=0), float(np.median(backs)),
                                   np.median(np.array(knee_fixes), axis=0) if knee_fixes else None)
        self.state = ChainState.upright()
        return "markerless: standing pose measured"

    def estimate(self, sil: Silhouette, *, standing: bool = False) -> tuple[dict[str, np.ndarray], str]:
        """(name -> (x, z)) of what could be read, and the reason for what could not ('' = all)."""
        assert self.model is not None
        m, b = self.model, self.model.body
        if sil.other:
            return {}, sil.other
        if sil.area_m2 < 0.05:
            return {}, "markerless: no subject over the plate"
        self.last_legs = legs = read_legs(sil, b, m.limbs, self.state, None if standing else m.knee_fix)
        if legs.reason:
            return {}, legs.reason
        out, hip = dict(legs.points), legs.points["hip"]
        start = self.state.trunk if self._trunk_fresh else upper_body_axis(sil, hip, b.trunk_m)
        if start is None:
            return out, "markerless: trunk not seen"
        back = fit_back(sil, hip, start, b.trunk_m, (0.0, BACK_MID_Y_FRAC * b.stature_m),
                        None if standing else m.front_profile)
        turn_deg = np.degrees(abs(_angle(back.direction) - _angle(start)))
        if not back.ok or turn_deg > TRUNK_MAX_TURN_DEG:
            self._trunk_fresh = False  # the next frame starts from the upper body's own axis
            return out, "markerless: back hidden (arms over it?): shoulder and head not measured"
        self.state.trunk = back.direction
        self._trunk_fresh = True
        front = back.point + SHOULDER_FRONT_FRAC * b.stature_m * _normal(back.direction)
        shoulder = point_on_line_at(hip, b.trunk_m, front, back.direction)
        if shoulder is None:
            return out, "markerless: trunk not measured"
        out["shoulder"] = shoulder
        neck = shoulder - (SHOULDER_FRONT_FRAC - NECK_PIVOT_FRAC) * b.stature_m * _normal(back.direction)
        out["_neck"] = neck
        if standing:
            out["_back_u"], out["_front_rel"] = back.direction, back.front_m
            return out, ""
        skull = skull_centroid(sil, shoulder, back.direction, NECK_CUT_FRAC * b.stature_m,
                               SKULL_REACH_FRAC * b.stature_m)
        if skull is None:
            return out, "markerless: head not seen"
        if m.head is not None and m.tragus_from_neck is not None:  # the standing skull laid on this one
            base = _angle(back.direction) - m.back_angle  # the trunk's turn since standing
            fit = 0.0
            if self._head_rel_deg is not None:  # warm: near last frame's head-on-trunk angle
                lo = self._head_rel_deg - HEAD_SEARCH_DEG
                turn, fit = match_head(sil, neck, m.head, base, (lo, lo + 2 * HEAD_SEARCH_DEG), 2.0)
            if fit < HEAD_MIN_FIT:
                turn, fit = match_head(sil, neck, m.head, base)
            if fit < HEAD_MIN_FIT:  # a back no longer straight: the neck is not where the back line says
                turn, fit, neck = self._match_shifted_neck(sil, neck, back.direction, base, fit, turn)
            self._head_rel_deg = float(np.degrees(turn - base)) if fit >= HEAD_MIN_FIT else None
            if fit < HEAD_MIN_FIT:
                return out, "markerless: head not recognised (covered, or turned out of the side view)"
            out["head"] = neck + _rot(m.tragus_from_neck, turn)
        else:
            turn = _angle(skull - neck) - m.skull_angle  # the head turns about the lower neck
            out["head"] = skull + _rot(m.head_from_skull, turn)
        return out, ""

    def _match_shifted_neck(self, sil: Silhouette, neck: np.ndarray, back_u: np.ndarray, base: float,
                            fit: float, turn: float) -> tuple[float, float, np.ndarray]:
        """The standing skull laid on this one about a neck pivot moved across the trunk (NECK_SHIFT_FRAC of
        stature either way, in steps). The pivot comes from the back's straight line: when the back rounds
        (or arches), the line lies on the bulge of the upper back, not where the neck leaves the trunk, and
        the skull turned about that point fits nowhere. (best turn, its fit, the pivot it used)."""
        assert self.model is not None and self.model.head is not None
        stature = self.model.body.stature_m
        normal = _normal(back_u)
        best = (turn, fit, neck)
        for shift in np.arange(-NECK_SHIFT_FRAC, NECK_SHIFT_FRAC + 1e-9, NECK_SHIFT_STEP_FRAC) * stature:
            if abs(shift) < 1e-9:
                continue
            pivot = neck + shift * normal
            t, f = match_head(sil, pivot, self.model.head, base)
            if f > best[1]:
                best = (t, f, pivot)
        return best

    def pixels(self, positions: dict[str, np.ndarray], intrinsics: Intrinsics) -> dict[str, np.ndarray]:
        """Where the estimated landmarks project in the image (u, v), NaN where not measured."""
        T = self.T_plate_from_camera
        out = {}
        for name, p in positions.items():
            c = (np.asarray(p, float) - T[:3, 3]) @ T[:3, :3]
            ok = bool(np.all(np.isfinite(c)) and c[2] > 0.1)
            out[name] = (np.array([intrinsics.fx * c[0] / c[2] + intrinsics.ppx,
                                   intrinsics.fy * c[1] / c[2] + intrinsics.ppy]) if ok
                         else np.full(2, np.nan))
        return out

    def explain(self, rep: RepResult) -> None:
        """Say in rep.notes["markers"] that its landmarks are estimates, and what was not measured in the
        rep's frames and why (the commonest reason), never leaving a gap unexplained."""
        notes = getattr(rep, "notes", None)
        if notes is None:
            return
        t0, t1 = float(getattr(rep, "t_start", -np.inf)), float(getattr(rep, "t_end", np.inf))
        why = [r for t, r in zip(self._t, self._reasons, strict=True) if t0 <= t <= t1 and r]
        text = f"{SOURCE_LABEL}: expected error {expected_error_text()}"
        if why:
            n_frames = sum(1 for t in self._t if t0 <= t <= t1)
            text += (f"; {len(why)} of {n_frames} frames not (fully) measured: "
                     + max(set(why), key=why.count))
        notes["markers"] = text

    # --- results --------------------------------------------------------------------------------------
    def finish(self) -> DepthTrack:
        t = np.asarray(self._t, float)
        pos = {n: np.asarray(v, float).reshape(-1, 3) for n, v in self._pos.items()}
        return DepthTrack(t, pos, list(self._reasons), np.asarray(self._frames, np.int64))

    def block(self) -> MarkerBlock:
        return self.finish().to_block()


__all__ = ["DepthMarkerTracker", "DepthTrack", "EXPECTED_ERROR", "SOURCE_LABEL", "StandingModel"]
