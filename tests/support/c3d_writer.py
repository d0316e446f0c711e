"""Write test C3D files with ezc3d: markers and a TYPE 2 or TYPE 4 force platform in a lab frame that is
rotated and shifted from the station's plate frame, in millimetres. The platform's channels are made
from first principles (moments about a transducer origin below the surface, plate z pointing down as on
AMTI plates), independently of station.analysis.c3d_input."""

from __future__ import annotations

import numpy as np

G = 9.80665


def _int_param(c3d, group: str, name: str, values, shape) -> None:
    from ezc3d import ezc3d as swig

    c3d.add_parameter(group, name, np.array(list(values), float).reshape(shape, order="F"))
    c3d["parameters"][group][name]["type"] = swig.INT


def lab_axes(heading_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lab directions of the station's +x (anterior), +y (left), +z (up) for a subject facing heading_deg."""
    h = np.radians(heading_deg)
    a = np.array([np.cos(h), np.sin(h), 0.0])
    up = np.array([0.0, 0.0, 1.0])
    return a, np.cross(up, a), up


def write_c3d(path, *, markers: dict[str, np.ndarray] | None, marker_rate: float, fz_n=None, cop_xy_m=None,
              force_rate: float = 1000.0, heading_deg: float = 0.0, centre_lab_mm=(1200.0, 800.0, 0.0),
              plate_type: int = 2, origin_depth_mm: float = 40.0, with_platform: bool = True) -> None:
    """markers: label -> (M, 3) station plate frame metres. fz_n (N,), cop_xy_m (N, 2) station frame."""
    import ezc3d

    a, left, up = lab_axes(heading_deg)
    centre = np.asarray(centre_lab_mm, float)
    rot = np.column_stack([a, left, up])  # station -> lab
    c3d = ezc3d.c3d()
    labels = list(markers or {})
    n_frames = next(iter(markers.values())).shape[0] if markers else int(len(fz_n) * marker_rate / force_rate)
    pts = np.ones((4, len(labels), n_frames))
    for k, label in enumerate(labels):
        pts[:3, k, :] = (markers[label] * 1000.0 @ rot.T + centre).T
    c3d["parameters"]["POINT"]["RATE"]["value"] = [marker_rate]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = labels
    c3d["data"]["points"] = pts
    c3d.add_parameter("POINT", "UNITS", ["mm"])
    ratio = int(round(force_rate / marker_rate))
    if with_platform and abs(ratio * marker_rate - force_rate) > 1e-9:
        # C3D wants an integer number of analog samples per frame: resample (an exporter must too)
        t_old = np.arange(len(fz_n)) / force_rate
        force_rate = ratio * marker_rate
        t_new = np.arange(n_frames * ratio) / force_rate
        fz_n = np.interp(t_new, t_old, fz_n)
        cop_xy_m = np.column_stack([np.interp(t_new, t_old, cop_xy_m[:, k]) for k in range(2)])
    if with_platform:
        # plate local frame: x_p along station -y (lab), y_p along station -x, z_p = x_p cross y_p = down
        xp, yp = -left, -a
        r_lab_from_plate = np.column_stack([xp, yp, np.cross(xp, yp)])
        n = n_frames * ratio
        fz = np.asarray(fz_n)[:n]
        cop = np.asarray(cop_xy_m)[:n]
        p_lab = (np.column_stack([cop, np.zeros(n)]) * 1000.0) @ rot.T  # relative to plate centre, mm
        p_plate = p_lab @ r_lab_from_plate  # plate coordinates (rows)
        f_lab = np.outer(-fz, up) + np.outer(0.02 * fz, a)  # pushes down, a little shear forward
        f_plate = f_lab @ r_lab_from_plate
        o_plate = np.array([0.0, 0.0, origin_depth_mm])  # transducer origin below the surface (z down)
        m_origin = np.cross(p_plate - o_plate, f_plate)
        channels = np.hstack([f_plate, m_origin])
        if plate_type == 4:
            cal = np.diag([1.2, 0.9, 1.1, 1.3, 0.8, 1.05]) + 0.02 * np.ones((6, 6))
            channels = channels @ np.linalg.inv(cal).T
            c3d.add_parameter("FORCE_PLATFORM", "CAL_MATRIX", cal.reshape(6, 6, 1))
        c3d["parameters"]["ANALOG"]["RATE"]["value"] = [force_rate]
        c3d["parameters"]["ANALOG"]["LABELS"]["value"] = ["Fx1", "Fy1", "Fz1", "Mx1", "My1", "Mz1"]
        c3d["data"]["analogs"] = channels.T[None, :, :]
        half = np.array([200.0, 300.0])  # x_p across the subject, y_p along the foot
        corners_plate = np.array([[half[0], half[1], 0], [-half[0], half[1], 0], [-half[0], -half[1], 0],
                                  [half[0], -half[1], 0]])
        corners_lab = corners_plate @ r_lab_from_plate.T + centre
        _int_param(c3d, "FORCE_PLATFORM", "USED", [1], [1])
        _int_param(c3d, "FORCE_PLATFORM", "TYPE", [plate_type], [1])
        _int_param(c3d, "FORCE_PLATFORM", "ZERO", [1, 0], [2])
        c3d.add_parameter("FORCE_PLATFORM", "CORNERS", corners_lab.T.reshape(3, 4, 1))
        c3d.add_parameter("FORCE_PLATFORM", "ORIGIN", np.array([[0.0], [0.0], [-origin_depth_mm]]))
        _int_param(c3d, "FORCE_PLATFORM", "CHANNEL", range(1, 7), [6, 1])
    c3d.write(str(path))
