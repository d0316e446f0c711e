"""The marker push-out over a subject's fine grid runs as one compiled loop (drivers/sim/hull_reach.py): it
must give the numpy version's reach bit for bit, so that every subject, truth and recording stays the same.
The reference below is that numpy version (a sphere at a time over all instants), kept here as written."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from drivers.sim.subject import _HULL_CELLS, _HULL_STEPS, MARKER_RADIUS_M, _pushed_clear

REPO = Path(__file__).resolve().parents[2]


def _numpy_push_out(origin, direction, p0, p1, r0, r1, min_reach_m):
    direction = np.broadcast_to(direction, origin.shape)
    reach = np.full(origin.shape[0], min_reach_m)
    base = [p0[:, k] - origin[:, k] for k in range(3)]
    axis = [p1[:, k] - p0[:, k] for k in range(3)]
    d = [np.ascontiguousarray(direction[:, k]) for k in range(3)]
    for f in _HULL_STEPS[:, 0]:
        r_sq = (r0 + f * (r1 - r0) + MARKER_RADIUS_M + 0.0003) ** 2
        oc = [base[k] + f * axis[k] for k in range(3)]
        proj = oc[0] * d[0] + oc[1] * d[1] + oc[2] * d[2]
        h = proj ** 2 - (oc[0] * oc[0] + oc[1] * oc[1] + oc[2] * oc[2] - r_sq)
        reach = np.maximum(reach, np.where(h >= 0, proj + np.sqrt(np.maximum(h, 0.0)), 0.0))
    return origin + reach[:, None] * direction


def _capsules(n: int, seed: int):
    """n capsules around the origin points (as a limb around its skin point) and unit push directions."""
    rng = np.random.default_rng(seed)
    origin = rng.normal(0.0, 0.5, (n, 3))
    axis = rng.normal(0.0, 1.0, (n, 3))
    p0 = origin - rng.uniform(0.05, 0.2) * axis / np.linalg.norm(axis, axis=1)[:, None]
    p1 = origin + rng.uniform(0.05, 0.2) * axis / np.linalg.norm(axis, axis=1)[:, None]
    direction = rng.normal(0.0, 1.0, (n, 3))
    return origin, direction / np.linalg.norm(direction, axis=1)[:, None], p0, p1


def test_the_compiled_push_out_is_the_numpy_one_bit_for_bit():
    n = 40_000  # a 20 s trial's grid (2 kHz): far past the few-instants pass
    assert n * _HULL_STEPS.shape[0] > _HULL_CELLS
    for seed, (r0, r1) in enumerate([(0.06, 0.045), (0.03, 0.03), (0.1, 0.02)]):
        origin, direction, p0, p1 = _capsules(n, seed)
        want = _numpy_push_out(origin, direction, p0, p1, r0, r1, 0.01)
        got = _pushed_clear(origin, direction, p0, p1, r0, r1, 0.01)
        assert np.array_equal(got, want)
        pushed = np.linalg.norm(got - origin, axis=1)
        assert (pushed > 0.01).mean() > 0.5  # (most markers were pushed out of their capsule: a real test)
        # a pose's few instants take the numpy pass of all spheres at once: the same numbers as the grid's
        few = _pushed_clear(origin[:100], direction[:100], p0[:100], p1[:100], r0, r1, 0.01)
        assert np.array_equal(few, want[:100])


def test_what_warm_up_compiles_is_what_the_station_calls():
    """setup.sh compiles the loops once (warm_up). Building a subject passed a read-only view of its radii:
    another numba signature, compiled again by every process of a fresh install that built a subject
    before numba's cache held it (0.15 CPU-s each; seen in a fresh clone's cache after its test run). A
    read-only IR frame would do the same to the disc finder (~20 s to compile on a loaded host). Checked in
    a fresh interpreter: the signatures warm_up made are the only ones after a subject is built and a
    read-only IR frame searched."""
    code = textwrap.dedent("""
        import numpy as np
        from drivers.sim import hull_reach
        from station.markers import discs
        hull_reach.warm_up()
        discs.warm_up()
        # the loops called from Python (_fill and _clear_boxes are called inside _components_full)
        loops = [hull_reach._reach, discs._bright_words, discs._components_full, discs._centroids]
        before = [list(f.signatures) for f in loops]
        from drivers.sim.render import Renderer
        from drivers.sim.subject import VirtualSubject
        subject = VirtualSubject("hinge", reps=1, standing_s=1.0)
        _, ir = Renderer(seed=1).render(subject.pose(1.0))
        ir.setflags(write=False)
        assert len(discs.find_discs(ir).uv) >= 4
        after = [list(f.signatures) for f in loops]
        print(min(map(len, before)), sum(map(len, before)), sum(map(len, after)))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    fewest_each, n_before, n_after = map(int, out.stdout.split())
    assert fewest_each == 1 and n_after == n_before
