"""Report pictures as PNG bytes, drawn to read when printed in black and white.

Line style, hatching and words carry the meaning (clean reps solid, faulty reps dashed and marked "x"),
never colour alone. matplotlib is imported inside the functions (no work at import time).
"""

from __future__ import annotations

import io

import numpy as np

from station.analysis.series import TrialSeries
from station.results import RepResult

DPI = 150
_CHAIN = ("head", "shoulder", "hip", "knee", "ankle")  # the stick figure, top to bottom


def _figure(width_in: float, height_in: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    fig.patch.set_facecolor("white")
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _arr(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _rep_mask(t: np.ndarray, rep: RepResult, pad_s: float = 0.0) -> np.ndarray:
    return (t >= rep.t_start - pad_s) & (t <= rep.t_end + pad_s)


def hip_path_png(series: TrialSeries, reps: list[RepResult], ratio_target: float = 2.0,
                 ratio_squat: float = 1.0) -> bytes:
    """Hip travel back (x) against down (y, plotted downwards) per rep, with the target and squat lines."""
    t, back, drop = _arr(series.t_s), _arr(series.hip_back_mm), _arr(series.hip_drop_mm)
    fig = _figure(5.2, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    finite = np.isfinite(back) & np.isfinite(drop)
    xmax = max(250.0, float(np.nanmax(back[finite])) * 1.1 if finite.any() else 0.0)
    ymax = max(120.0, float(np.nanmax(drop[finite])) * 1.15 if finite.any() else 0.0)
    xs = np.array([0.0, xmax])
    ax.fill_between(xs, 0, xs / ratio_target, facecolor="none", edgecolor="0.6", hatch="///", lw=0)
    ax.plot(xs, xs / ratio_target, color="black", lw=1.2, ls="-.",
            label=f"target: back \u2265 {ratio_target:g}\u00d7 down (hatched = good)")
    ax.plot(xs, xs / ratio_squat, color="0.35", lw=1.2, ls=":", label="squat line: back = down")
    for i, rep in enumerate(reps):
        m = _rep_mask(t, rep, pad_s=0.4) & finite  # the rep starts at 15% travel: show it from standing
        if not m.any():
            continue
        ls = "-" if rep.passed else "--"
        ax.plot(back[m], drop[m], color="black", lw=1.0 if rep.passed else 1.4, ls=ls)
        if not rep.passed:  # only faulty reps are numbered: clean ones overlap and need no name
            k = int(np.argmax(np.where(m, drop, -np.inf)))
            ax.annotate(f"{i + 1} \u2717", (back[k], drop[k]), xytext=(3, 3), textcoords="offset points",
                        fontsize=7, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    if not any(_rep_mask(t, r).any() for r in reps) and finite.any():
        ax.plot(back[finite], drop[finite], color="black", lw=0.8)
    ax.plot([], [], color="black", ls="-", label="clean rep")
    ax.plot([], [], color="black", ls="--", lw=1.4, label="rep with a fault (\u2717 + its number)")
    ax.set_xlim(0, xmax)
    ax.set_ylim(ymax, -0.05 * ymax)  # down is down
    ax.set_xlabel("hip travel backwards (mm)")
    ax.set_ylabel("hip travel down (mm)")
    ax.set_title("Hip path: hips should go back, not down", fontsize=10)
    ax.legend(fontsize=7, loc="lower right", frameon=True)
    ax.grid(True, color="0.85", lw=0.5)
    fig.tight_layout()
    return _png(fig)


def foot_pos_png(series: TrialSeries, reps: list[RepResult], foot_pos_max: float = 0.60) -> bytes:
    """Where the weight sits along the foot (0 heel, 1 toe) over time, reps shaded and numbered."""
    t, foot = _arr(series.t_s), _arr(series.foot_pos)
    fig = _figure(6.8, 2.6)
    ax = fig.add_subplot(1, 1, 1)
    for i, rep in enumerate(reps):
        ax.axvspan(rep.t_start, rep.t_end, facecolor="0.9", edgecolor="none")
        label = f"{i + 1}" if rep.passed else f"{i + 1}\u2717"
        ax.text((rep.t_start + rep.t_end) / 2, 1.02, label, ha="center", va="bottom", fontsize=7,
                transform=ax.get_xaxis_transform())
    ax.axhspan(foot_pos_max, 1.0, facecolor="none", edgecolor="0.6", hatch="\\\\\\", lw=0)
    ax.axhline(foot_pos_max, color="black", ls="--", lw=1.0)
    ax.text(0.995, foot_pos_max + 0.02, f"{foot_pos_max:.2f}: on the toes above this", ha="right",
            va="bottom", fontsize=7, transform=ax.get_yaxis_transform(),
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax.plot(t, foot, color="black", lw=1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0], ["heel 0", "0.25", "mid 0.5", "0.75", "toe 1"])
    if len(t):
        ax.set_xlim(float(t[0]), float(t[-1]))
    ax.set_xlabel("time (s); shaded = rep, number above (\u2717 = fault)")
    ax.set_ylabel("weight along foot")
    ax.set_title("Foot position of the weight (centre of pressure)", fontsize=10, pad=14)
    fig.tight_layout()
    return _png(fig)


def still_png(still: dict, heel_x_m: float | None, foot_length_m: float | None) -> bytes:
    """Side view stick figure of the markers at the bottom of the deepest rep (plate frame x, z)."""
    markers = {k: np.asarray(v, dtype=float) for k, v in still.get("markers", {}).items()}
    fig = _figure(3.4, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    chain = [markers[n] for n in _CHAIN if n in markers]
    if len(chain) >= 2:
        xz = np.array([[p[0], p[2]] for p in chain])
        ax.plot(xz[:, 0], xz[:, 1], color="black", lw=2.0)
    for name, p in markers.items():
        ax.plot(p[0], p[2], "o", ms=7, mfc="white", mec="black", mew=1.5)
        ax.annotate(name, (p[0], p[2]), xytext=(6, -2), textcoords="offset points", fontsize=7)
    if heel_x_m is not None and foot_length_m is not None:
        ax.plot([heel_x_m, heel_x_m + foot_length_m], [0.0, 0.0], color="black", lw=4, solid_capstyle="butt")
        ax.annotate("heel", (heel_x_m, 0.0), xytext=(-4, -10), textcoords="offset points", fontsize=7,
                    ha="right")
        ax.annotate("toe", (heel_x_m + foot_length_m, 0.0), xytext=(4, -10), textcoords="offset points",
                    fontsize=7)
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_aspect("equal")
    pts = np.array([[p[0], p[2]] for p in markers.values()] + [[0.0, 0.0]])
    ax.set_xlim(pts[:, 0].min() - 0.25, pts[:, 0].max() + 0.25)
    ax.set_ylim(-0.08, max(pts[:, 1].max() + 0.12, 0.5))
    ax.set_xlabel("forward (m)")
    ax.set_ylabel("height (m)")
    ax.set_title(f"Bottom of the deepest rep (rep {still.get('rep', '?')})", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def _grey(ax, image: np.ndarray) -> None:
    """The frame in grey, 2-98 percentile stretch, lifted so black lines stay visible on it."""
    img = np.asarray(image, dtype=float)
    valid = img > 0
    lo, hi = (np.percentile(img[valid], [2, 98]) if valid.any() else (0.0, 1.0))
    shade = np.where(valid, np.clip((img - lo) / max(hi - lo, 1e-9), 0, 1), 1.0)
    ax.imshow(0.25 + 0.75 * shade, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_dowel(ax, overlay: dict, dashed: bool) -> list[tuple[float, float]]:
    """The virtual dowel line, each contact as a ring joined to the dowel by its gap, labelled in mm; the
    pixels drawn (for cropping). Nothing when the overlay has no line."""
    from matplotlib import patheffects

    line = overlay.get("line")
    if not line:
        return []
    halo = [patheffects.withStroke(linewidth=5, foreground="white")]
    (u0, v0), (u1, v1) = line
    ax.plot([u0, u1], [v0, v1], "--" if dashed else "-", color="black", lw=2.2 if dashed else 3,
            solid_capstyle="round", path_effects=halo, label=None if dashed else "virtual dowel")
    du, dv = overlay.get("dorsal") or (0.0, -1.0)
    for k, (region, (u, v)) in enumerate(overlay.get("contacts", {}).items()):
        gap = overlay.get("gaps_mm", {}).get(region)
        out = 28 + 18 * (k % 2)  # neighbouring contacts' labels at two distances: they do not overlap
        fu, fv = overlay.get("feet", {}).get(region, (u, v))
        ax.plot([u, fu], [v, fv], "-", color="black", lw=1.2, path_effects=halo)
        ax.plot(u, v, "o", mfc="white", mec="black", ms=5)
        text = region.replace("_", " ") + ("" if gap is None else f"\n{gap:.0f} mm")
        ax.annotate(text, (fu, fv), textcoords="offset points", xytext=(out * du, -out * dv), ha="center",
                    va="center", fontsize=7, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6},
                    arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.4"})
    return [(u0, v0), (u1, v1), *overlay.get("contacts", {}).values()]


def _crop(ax, pts: list, shape: tuple[int, ...], margin_px: int, min_aspect: float = 0.0) -> None:
    """Zoom to the drawn points plus a margin; widen to at least min_aspect (width / height) so labels
    beside a tall body are not cut."""
    if not pts:
        return
    p = np.asarray(pts, dtype=float)
    u0, u1 = p[:, 0].min() - margin_px, p[:, 0].max() + margin_px
    v0, v1 = p[:, 1].min() - margin_px, p[:, 1].max() + margin_px
    widen = max(min_aspect * (v1 - v0) - (u1 - u0), 0.0) / 2
    ax.set_xlim(max(u0 - widen, 0), min(u1 + widen, shape[1]))
    ax.set_ylim(min(v1, shape[0]), max(v0, 0))


def dowel_png(image: np.ndarray, overlay: dict, crop_margin_px: int = 60) -> bytes:
    """A depth or IR frame (H, W) in grey with the virtual dowel (station.dowel.tracker.DowelFrame.overlay()):
    the dowel as a thick line, each contact as a ring joined to the dowel by its gap, labelled in mm."""
    fig = _figure(4.0, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    _grey(ax, image)
    pts = _draw_dowel(ax, overlay, dashed=False)
    if not pts:
        ax.set_title(f"no dowel: {overlay.get('reason') or 'not measured'}", fontsize=7)
        return _png(fig)
    _crop(ax, pts, np.shape(image), crop_margin_px)
    ax.legend(loc="lower right", fontsize=6, frameon=True)
    fig.tight_layout()
    return _png(fig)


def camera_still_png(ir: np.ndarray, marker_pixels: dict[str, tuple[float, float]], overlay: dict | None,
                     title: str, crop_margin_px: int = 70) -> bytes:
    """The IR frame at a rep's bottom with its markers (outlined circles, named) and the virtual dowel
    (dashed, gaps in mm), cropped to the body; reads in black and white."""
    from matplotlib import patheffects

    fig = _figure(4.6, 3.6)
    ax = fig.add_subplot(1, 1, 1)
    _grey(ax, ir)
    pts = _draw_dowel(ax, overlay or {}, dashed=True)
    halo = [patheffects.withStroke(linewidth=3, foreground="white")]
    for k, (name, (u, v)) in enumerate(marker_pixels.items()):
        if not (np.isfinite(u) and np.isfinite(v)):
            continue
        ax.plot(u, v, "o", ms=9, mfc="none", mec="black", mew=1.8, path_effects=halo)
        # labels to the right (the dowel's gap labels sit on the back's side), alternately up and down
        ax.annotate(name, (u, v), xytext=(9, 7 if k % 2 == 0 else -13), textcoords="offset points",
                    fontsize=7,
                    bbox={"facecolor": "white", "edgecolor": "black", "lw": 0.5, "pad": 0.8})
        pts.append((u, v))
    ax.plot([], [], "o", ms=7, mfc="none", mec="black", mew=1.5, label="marker")
    if overlay and overlay.get("line"):
        ax.plot([], [], "--", color="black", lw=2, label="virtual dowel (gap in mm)")
    note = "" if overlay and overlay.get("line") else \
        f"\nvirtual dowel: {(overlay or {}).get('reason') or 'not measured on this frame'}"
    ax.set_title(title + note, fontsize=8)
    _crop(ax, pts, np.shape(ir), crop_margin_px, min_aspect=1.0)
    ax.legend(loc="lower right", fontsize=6, frameon=True)
    fig.tight_layout()
    return _png(fig)
