"""Side-view drawings of the virtual subject (for eyes: tests save them as artifacts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drivers.sim.pose import Pose


def _capsule_outline(p0: np.ndarray, p1: np.ndarray, r0: float, r1: float) -> np.ndarray:
    """Sagittal (x, z) outline of a tapered capsule: hull of its two end circles."""
    from scipy.spatial import ConvexHull

    a = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    circle = np.stack([np.cos(a), np.sin(a)], axis=-1)
    pts = np.vstack([p0[[0, 2]] + r0 * circle, p1[[0, 2]] + r1 * circle])
    return pts[ConvexHull(pts).vertices]


def draw_pose(ax, pose: Pose, *, camera_side_y: float = -1.0, com: np.ndarray | None = None,
              cop_x: float | None = None) -> None:
    """Capsules far from the camera drawn first and lighter; markers in red; COM and CoP if given."""
    caps = sorted(pose.capsules, key=lambda c: -camera_side_y * float(c.p0[1] + c.p1[1]))
    for c in caps:
        near = camera_side_y * float(c.p0[1] + c.p1[1]) > 0.02
        colour = "#8aa8c8" if near else "#c9d6e3"
        if c.name.startswith(("dowel", "weight")):
            colour = "#8b5a2b"
        ax.fill(*_capsule_outline(c.p0, c.p1, c.r0, c.r1).T, color=colour, ec="#33506e", lw=0.5, alpha=0.95)
    for name, p in pose.markers.items():
        ax.plot(p[0], p[2], "o", color="red", ms=3)
        ax.annotate(name, (p[0], p[2]), fontsize=5, color="darkred", xytext=(2, 2),
                    textcoords="offset points")
    if com is not None:
        ax.plot(com[0], com[2], marker="P", color="black", ms=6)
    if cop_x is not None:
        ax.annotate("", xy=(cop_x, 0.0), xytext=(cop_x, -0.12),
                    arrowprops=dict(arrowstyle="->", color="green"))
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_aspect("equal")


def pattern_strip(subjects: list, path: str | Path) -> Path:
    """One column per subject: standing and the first rep's bottom, side view (subject faces +x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(subjects), figsize=(2.6 * len(subjects), 6.4), squeeze=False)
    for col, subj in enumerate(subjects):
        rep = subj.truth.reps[0]
        for row, (label, t) in enumerate((("standing", 1.0), ("bottom", rep.t_bottom))):
            ax = axes[row, col]
            side = -1.0 if subj.side_sign < 0 else 1.0
            tt = np.array([t])
            draw_pose(ax, subj.pose(t), camera_side_y=side, com=subj.com(tt)[0],
                      cop_x=float(subj.forces(tt).cop_xy_m[0, 0]))
            ax.set_xlim(-0.75, 0.65)
            ax.set_ylim(-0.15, 1.9)
            title = f"{subj.pattern} ({subj.arms})\n{label}"
            if row == 1:
                title += (f"\ntrunk {rep.trunk_inclination_deg:.0f} knee {rep.knee_flexion_deg:.0f} deg\n"
                          f"back {rep.hip_back_mm:.0f} drop {rep.hip_drop_mm:.0f} mm"
                          f" fp {rep.foot_pos_bottom:.2f}\n{', '.join(rep.faults) or 'pass'}")
            ax.set_title(title, fontsize=7)
            ax.tick_params(labelsize=6)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
