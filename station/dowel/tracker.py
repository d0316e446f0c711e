"""The virtual dowel: spine neutrality from the depth image in the sagittal view (metrics.md dowel_gap_mm).

Per frame: the posterior contour of trunk and head (station.dowel.contour), three contact regions along the
trochanter -> tragus axis (sacrum, between the shoulder blades, back of the head), the contact in each =
a point of the local back line at the landmark's level for sacrum and upper back, the skull's most posterior
point for the head. The dowel lies parallel to the sacrum-head chord and rests on the most
posterior contact(s):
- upper back in front of the chord (arched back): the dowel rests on sacrum and head; the upper back's gap
  is its distance from the chord -> `back_arching` when held above the threshold;
- upper back behind the chord (rounded back): the dowel rests on the upper back; sacrum and head stand off
  by that distance -> `back_rounding` (the sacrum gap).
Same definition as the simulator's truth (drivers/sim/truth.py dowel_gaps_m). The lumbar curve is the signed
largest deviation of the contour between sacrum and upper back from their chord (+ bulging out of the back
= flexion/rounding, - = extension/arching).

Nothing is guessed: a frame without hip and head markers, with the camera not across the sagittal plane, a
subject facing the wrong way (camera side set wrong), off the plate, or a region with too little contour or
hidden by something in front of the back (arm, hand, load) gives gap_mm None with a reason. A region is read
from the part of it that shows the back's own outline (station.dowel.regions): an arm over the back beside
the outline (hands on hips) is not the back, and neither hides it. A real dowel held on the back is found,
taken out of the mask and the back read under it (station.dowel.rod); what covers the dowel covers the back.
Where the arm holding it hides the sacrum or the upper back, the dowel itself can place that contact: a
straight dowel pressed on the back rests on two of the three, so when it touches one seen contact and stands
off the other (a rounded back lifts it off the sacrum), the hidden one is the other point it rests on, on the
dowel's back-side edge (`_rests_on`; DowelFrame.on_dowel names it). Touching both seen contacts, it does not
say how far in front of it the hidden one lies: not measured.
"""

from __future__ import annotations

import numpy as np

from drivers.samples import CameraFrame
from station.config import StationConfig
from station.dowel.contour import SLICE_M, Contour, DepthGeometry, Rod, TrunkAxis, median3, posterior_contour
from station.dowel.frame import DowelFrame
from station.dowel.regions import (
    back_slices,
    hidden_reason,
    line_fit,
    region_slices,
    skull_back,
    sorted_quantile,
)
from station.streams import DOWEL_REGIONS

# contact windows as fractions of the trochanter -> tragus distance (typical adult segment proportions:
# the sacrum just above the trochanter, the interscapular point about 60% of the way, the occiput at the
# tragus' height)
# where the contacts lie (typical adult proportions, as fractions of the trochanter -> tragus distance L):
# the sacrum 0.05 L above the trochanter along the pelvis' back line, the point between the shoulder blades
# 0.14 L below the acromion along the upper back's line, the occiput around the tragus' level
SACRUM_FIT = (-0.03, 0.10)          # contour used for the pelvis' back line (axis fractions)
SACRUM_ABOVE_HIP = 0.05
UPPER_FIT = (0.22, 0.06)            # below the acromion: contour used for the upper back's line
UPPER_BELOW_ACROMION = 0.14
HEAD_WINDOW = (0.88, 1.12)
HEAD_CLEAR_M = 0.03         # the skull's contact needs the outline seen this far either side of it
ROD_TOUCH_M = 0.010         # a contact this close to a real dowel's back-side edge touches it ...
ROD_TOUCH_PX = 3            # ... or this many pixels at the back's distance (outline, edge: ~1 px each)
ROD_REACH_M = 0.05          # a real dowel is taken to reach this far past the ends of it that are seen
FACING_EVERY_FRAMES = 15    # the facing direction does not change within a set: check twice a second
FACING_MIN_M = 0.02        # foot centroid ahead of (or behind) the ankle marker by this decides facing


def dowel_gaps(sacrum: np.ndarray, upper: np.ndarray, head: np.ndarray, dorsal: np.ndarray
               ) -> tuple[dict[str, float], float, np.ndarray, np.ndarray]:
    """Gaps (m) of three sagittal (x, z) contacts; also the signed upper-back offset (+ behind the chord =
    rounded) and the dowel line's two ends (x, z) at the sacrum's and head's level."""
    chord = head - sacrum
    chord = chord / np.linalg.norm(chord)
    normal = np.array([-chord[1], chord[0]])
    if normal @ dorsal < 0:
        normal = -normal
    behind = float((upper - sacrum) @ normal)
    shift = max(behind, 0.0) * normal  # a rounded back lifts the dowel onto the upper back
    gaps = {"sacrum": max(behind, 0.0), "upper_back": max(-behind, 0.0), "head": max(behind, 0.0)}
    return gaps, behind, sacrum + shift, head + shift


class DowelTracker:
    """Feed frames in order: `update(frame, markers, t_s) -> DowelFrame`."""

    def __init__(self, config: StationConfig | None = None, T_plate_from_camera: np.ndarray | None = None,
                 *, holding_dowel: bool = False) -> None:
        """holding_dowel: the drill has a real dowel on the back (dowel hinge). The dowel is found as the
        straight dorsal edge of the silhouette with free spans (station.dowel.rod), taken out of the mask,
        and the back read under it; told it is there, fewer free-span pixels confirm it (hands cover its
        ends). A dowel expected but not found, or seen only on a free span, gives None with the reason."""
        self.holding_dowel = holding_dowel
        self.config = config or StationConfig()
        self.T = np.asarray(self.config.camera.T_plate_from_camera() if T_plate_from_camera is None
                            else T_plate_from_camera, float)
        self._geom: DepthGeometry | None = None
        self.last_contour: Contour | None = None
        self._facing: float | None = None  # +1 faces +x; re-checked every FACING_EVERY_FRAMES frames
        self._facing_age = 0
        self.last_axis: TrunkAxis | None = None

    def _geometry(self, frame: CameraFrame) -> DepthGeometry:
        if self._geom is None or self._geom.intrinsics != frame.intrinsics:
            self._geom = DepthGeometry(frame.intrinsics, self.T)
        return self._geom

    def update(self, frame: CameraFrame, markers: dict[str, np.ndarray], t_s: float | None = None
               ) -> DowelFrame:
        t = float(frame.t_device_ms / 1000.0 if t_s is None else t_s)
        geom = self._geometry(frame)
        self.last_contour = self.last_axis = None
        if geom.across < 0.7:
            return DowelFrame(t, None, "camera does not look across the sagittal plane (back not in profile)")
        hip, head = _marker(markers, "hip"), _marker(markers, "head")
        if hip is None or head is None:
            return DowelFrame(t, None, "hip or head marker not tracked in this frame")
        plate = self.config.plate
        if abs(hip[0]) > plate.size_x_m / 2 + 0.3 or abs(hip[1]) > plate.size_y_m / 2 + 0.2:
            return DowelFrame(t, None, "subject off the plate (hip marker outside the plate area)")
        if self._facing is None or self._facing_age >= FACING_EVERY_FRAMES:
            self._facing, self._facing_age = _facing(geom, frame, markers), 0
        self._facing_age += 1
        if self._facing is not None and self._facing < 0:
            return DowelFrame(t, None, "subject faces -x (toes behind the ankle): camera side in the config "
                                       "is wrong or the subject stands reversed")
        axis = TrunkAxis.from_markers(hip, head)
        if axis is None:
            return DowelFrame(t, None, "hip and head markers too close to define the trunk")
        L = axis.length_m
        lo_hi = (-0.08 * L, 1.12 * L)
        corners = [axis.to_xz(s, w) for s in lo_hi for w in (-0.25 * L, 0.35 * L)]
        box = np.array([[c[0], hip[1], c[1]] for c in corners])
        win = geom.window(box, margin_m=0.02)
        if win is None:
            return DowelFrame(t, None, "trunk outside the camera image")
        far_m = _plate_far_edge(plate.size_x_m, plate.size_y_m, geom.view_h) + 0.02
        hip_depth_m = float((hip - geom.t) @ geom.R[:, 2])
        contour, n_subject, rod = posterior_contour(geom, frame.depth, frame.depth_scale_m, axis, win, far_m,
                                                    lo_hi, hip_depth_m, self.holding_dowel)
        self.last_contour, self.last_axis = contour, axis
        if n_subject < 200 or np.count_nonzero(np.isfinite(contour.w_m)) < 10:
            return DowelFrame(t, None, "no subject seen over the plate at the markers' place")
        if rod is not None and rod.read_around:
            out = self._measure(t, geom, axis, contour, _marker(markers, "shoulder"), rod)
            out.real_dowel = True
            if out.reason is not None and out.reason.startswith("head: hidden"):
                # the grip's upper hand sits behind the neck: on the camera's side it covers the skull
                out.reason += "; swap the hands or the camera side"
            return out
        if rod is not None or self.holding_dowel:
            # a dowel seen only on a free span, or expected and not found: where it touches, its outline
            # would be read as the back and its 25 mm turned into gaps
            found = ("found along the back but its outer edge not on the outline" if rod is not None
                     else "expected (dowel drill) but not found along the back")
            return DowelFrame(t, None, f"real dowel {found}: not measured", real_dowel=True)
        return self._measure(t, geom, axis, contour, _marker(markers, "shoulder"))

    def _measure(self, t: float, geom: DepthGeometry, axis: TrunkAxis, contour: Contour,
                 shoulder: np.ndarray | None, rod: Rod | None = None) -> DowelFrame:
        L = axis.length_m
        w_all = median3(contour.w_m)
        trunk = (contour.s_m > 0) & (contour.s_m < 0.8 * L) & np.isfinite(w_all) & np.isfinite(contour.view_m)
        depth_m = sorted_quantile((contour.xyz[trunk] - geom.t) @ geom.R[:, 2], 0.5) if trunk.any() else 2.0
        pixel_m = depth_m / geom.intrinsics.fx
        back = back_slices(contour.s_m, w_all, contour.view_m, trunk, SLICE_M, pixel_m,
                           contour.rod_cover_view_m, contour.rod_outer_w_m, contour.detached)
        pts = np.stack([contour.s_m, back.w_m], axis=1)
        s_acromion = 0.76 * L if shoulder is None else float(axis.to_axis(shoulder[0], shoulder[2])[0])
        windows = {"sacrum": (SACRUM_FIT[0] * L, SACRUM_FIT[1] * L),
                   "upper_back": (s_acromion - UPPER_FIT[0] * L, s_acromion - UPPER_FIT[1] * L),
                   "head": (HEAD_WINDOW[0] * L, HEAD_WINDOW[1] * L)}
        levels = {"sacrum": SACRUM_ABOVE_HIP * L, "upper_back": s_acromion - UPPER_BELOW_ACROMION * L,
                  "head": None}
        sel, why = {}, {}
        for region, window in windows.items():
            sel[region], why[region] = region_slices(contour.s_m, w_all, back, window, levels[region])
        unseen = [r for r in windows if why[r] is not None]
        rod_edge = _rod_back_edge(rod)
        # one contact hidden under the arm along a real dowel: the dowel may tell where it is (below)
        on_rod = unseen[0] if (len(unseen) == 1 and unseen[0] != "head" and rod_edge is not None) else None
        if unseen and on_rod is None:
            return DowelFrame(t, None, f"{unseen[0]}: {why[unseen[0]]}")
        # sacrum and upper back: on the local back line, at their level from the trochanter / acromion
        anchors = {"sacrum": (np.zeros(2), SACRUM_ABOVE_HIP * L),
                   "upper_back": (np.array([s_acromion, 0.0]), -UPPER_BELOW_ACROMION * L)}
        sw, d_u = {}, None
        for region, (anchor, offset) in anchors.items():
            if region != on_rod:
                p0, d = line_fit(pts[sel[region]])
                sw[region] = _foot(p0, d, anchor) + offset * d
                d_u = d if region == "upper_back" else d_u
        # head: the point of the skull furthest out of the back, seen square to the upper back; with the upper
        # back hidden, square to the sacrum -> head chord (the dowel's direction in dowel_gaps)
        if d_u is not None:
            sw["head"] = skull_back(pts[sel["head"]], d_u)
        else:
            sw["head"] = skull_back(pts[sel["head"]], rod_edge[1])
            for _ in range(2):
                chord = sw["head"] - sw["sacrum"]
                sw["head"] = skull_back(pts[sel["head"]], chord / np.linalg.norm(chord))
        # the skull's furthest point must be seen with the back's outline on both sides of it, not at the
        # edge of something covering the rest of the head (a hand behind the neck)
        beside = np.abs(contour.s_m - sw["head"][0]) <= HEAD_CLEAR_M
        if back.occluded[beside].any():
            return DowelFrame(t, None, "head: " + hidden_reason(back.nearer_m[beside],
                                                                "next to its most posterior point"))
        if on_rod is not None:
            anchor, offset = anchors[on_rod]
            touch_m = max(ROD_TOUCH_M, ROD_TOUCH_PX * pixel_m)
            placed, why_not = _rests_on(rod_edge, sw, anchor, offset, touch_m)
            if placed is None:
                return DowelFrame(t, None, f"{on_rod}: {why[on_rod]}; {why_not}")
            sw[on_rod] = placed
        sacrum, upper = sw["sacrum"], sw["upper_back"]
        xz = {r: axis.to_xz(*v) for r, v in sw.items()}
        gaps_m, behind, end_a, end_b = dowel_gaps(xz["sacrum"], xz["upper_back"], xz["head"], axis.dorsal)
        gap_mm = {r: 1000.0 * g for r, g in gaps_m.items()}
        worst = "sacrum" if behind > 0 else "upper_back"
        y_back = sorted_quantile(contour.xyz[trunk, 1], 0.5) if trunk.any() else 0.0
        contacts = {r: np.array([v[0], y_back, v[1]]) for r, v in xz.items()}
        dowel = np.array([[end_a[0], y_back, end_a[1]], [end_b[0], y_back, end_b[1]]])
        curve = _lumbar_curve_mm(pts, sacrum, upper)
        out = DowelFrame(t, gap_mm, None, worst, gap_mm[worst], curve, contacts, dowel_xyz=dowel,
                         on_dowel=on_rod)
        out.pixels = _pixels(geom, contour, contacts, dowel, axis.dorsal)
        return out


def _rod_back_edge(rod: Rod | None) -> tuple[np.ndarray, np.ndarray, tuple[float, float]] | None:
    """A real dowel's edge on the back's side, (s, w) on the TrunkAxis: a point on it, its unit direction
    (towards +s) and the span of s it was seen over; None without a dowel read around."""
    if rod is None or not rod.read_around or rod.centre_sw is None:
        return None
    a, b = rod.centre_sw
    d = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
    return a - 0.5 * rod.diameter_m * np.array([-d[1], d[0]]), d, (float(a[0]), float(b[0]))


def _rests_on(edge: tuple[np.ndarray, np.ndarray, tuple[float, float]], seen: dict[str, np.ndarray],
              anchor: np.ndarray, offset_m: float, touch_m: float) -> tuple[np.ndarray | None, str | None]:
    """The (s, w) of a contact hidden under the arm, read on a real dowel's back-side edge, or None and why.

    A straight dowel pressed on the back rests on two of its three contacts. When it touches one of the two
    seen (within touch_m) and stands off the other, the second point it rests on is the hidden one: that
    contact lies on the dowel, at its usual level (anchor's foot on the line + offset_m along it). When it
    touches both, the hidden one lies somewhere in front of it (not seen how far); touching neither, it is
    not pressed on the back. Only where the dowel reaches (its seen span, ROD_REACH_M beyond)."""
    p0, d, (s_lo, s_hi) = edge
    placed = _foot(p0, d, anchor) + offset_m * d
    levels = [float(q[0]) for q in (*seen.values(), placed)]
    if min(levels) < s_lo - ROD_REACH_M or max(levels) > s_hi + ROD_REACH_M:
        return None, "the dowel is not seen along all of the back"
    out_of_back = np.array([-d[1], d[0]])
    stand_off = {r: float((p0 - q) @ out_of_back) for r, q in seen.items()}  # + the contact lies inside it
    if min(stand_off.values()) < -touch_m:
        return None, "the back's outline lies outside the dowel"
    touching = [r for r, g in stand_off.items() if g <= touch_m]
    if len(touching) == len(stand_off):
        return None, f"the dowel lies on {' and '.join(touching)}"
    if not touching:
        return None, f"the dowel touches neither {' nor '.join(stand_off)}"
    return placed, None


def _foot(p0: np.ndarray, d: np.ndarray, q: np.ndarray) -> np.ndarray:
    return p0 + ((q - p0) @ d) * d


def _marker(markers: dict[str, np.ndarray], name: str) -> np.ndarray | None:
    p = markers.get(name)
    if p is None:
        return None
    p = np.asarray(p, float).reshape(-1)[:3]
    return p if np.all(np.isfinite(p)) else None


def _plate_far_edge(size_x: float, size_y: float, view_h: np.ndarray) -> float:
    """Largest distance of a plate corner along the viewing direction from the plate centre."""
    return 0.5 * (abs(view_h[0]) * size_x + abs(view_h[1]) * size_y)


def _facing(geom: DepthGeometry, frame: CameraFrame, markers: dict[str, np.ndarray]) -> float | None:
    """+1 when the foot lies ahead (+x) of the ankle marker, -1 behind, None when it cannot tell."""
    ankle = _marker(markers, "ankle")
    if ankle is None:
        return None
    box = np.array([[ankle[0] + dx, ankle[1], z] for dx in (-0.25, 0.25) for z in (0.0, 0.08)])
    win = geom.window(box, margin_m=0.02)
    if win is None:
        return None
    depth_m = frame.depth[win].astype(np.float32) * np.float32(frame.depth_scale_m)
    x, z, view = geom.plate_points(depth_m, win)
    ankle_view = float(ankle @ geom.view_h)
    foot = (depth_m > 0) & (z > 0.02) & (z < 0.045) & (np.abs(view - ankle_view) < 0.2) \
        & (np.abs(x - ankle[0]) < 0.25)
    if np.count_nonzero(foot) < 30:
        return None
    dx = float(np.mean(x[foot])) - ankle[0]
    return 1.0 if dx > FACING_MIN_M else (-1.0 if dx < -FACING_MIN_M else None)


def _lumbar_curve_mm(pts: np.ndarray, a: np.ndarray, b: np.ndarray) -> float | None:
    """Signed largest deviation of the contour between sacrum a and upper back b from their chord (mm)."""
    between = np.flatnonzero((pts[:, 0] > a[0]) & (pts[:, 0] < b[0]) & np.isfinite(pts[:, 1]))
    if between.size < 3:
        return None
    d = (b - a) / np.linalg.norm(b - a)
    n = np.array([-d[1], d[0]])
    n = n if n[1] > 0 else -n
    dev = (pts[between] - a) @ n
    return float(1000.0 * dev[np.argmax(np.abs(dev))])


def _pixels(geom: DepthGeometry, contour: Contour, contacts: dict[str, np.ndarray], dowel: np.ndarray,
            dorsal_xz: np.ndarray) -> dict:
    u = (dowel[1] - dowel[0]) / np.linalg.norm(dowel[1] - dowel[0])
    feet = [dowel[0] + ((contacts[r] - dowel[0]) @ u) * u for r in DOWEL_REGIONS]
    mid = dowel.mean(axis=0)
    out = mid + 0.05 * np.array([dorsal_xz[0], 0.0, dorsal_xz[1]])
    uv = geom.project(np.stack([*dowel, *(contacts[r] for r in DOWEL_REGIONS), *feet, mid, out])).tolist()
    d = np.subtract(uv[-1], uv[-2])
    return {"line": (tuple(uv[0]), tuple(uv[1])),
            "contacts": {r: tuple(uv[2 + k]) for k, r in enumerate(DOWEL_REGIONS)},
            "feet": {r: tuple(uv[5 + k]) for k, r in enumerate(DOWEL_REGIONS)},
            "dorsal": tuple((d / max(float(np.linalg.norm(d)), 1e-9)).tolist()),
            "contour_uv": contour.uv[np.isfinite(contour.w_m)]}
