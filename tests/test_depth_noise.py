"""The D455-like stand-in's fast parts (tests/support/depth_noise.py) against the scipy and numpy operations
they replace: the same blobs, the same nearest edge within the edge effects' reach, the same quantile."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from tests.support.depth_noise import D455Depth, _blobs, _nearest_edge, _upper_quantile

SHAPE = (120, 200)


@pytest.mark.parametrize("sigma_px", [1.5, 4.0])
def test_blobs_are_scipys_gaussian_filter(sigma_px):
    got = _blobs(np.random.default_rng(3), SHAPE, sigma_px)
    ref = ndimage.gaussian_filter(np.random.default_rng(3).standard_normal(SHAPE), sigma_px, mode="reflect")
    np.testing.assert_allclose(got, ref / ref.std(), atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_nearest_edge_within_the_edge_window_is_the_exact_transforms(seed):
    """Scattered edge pixels and a body's outline: within edge_window_px every pixel is in the same distance
    class (0, <= fatten_px, <= edge_window_px) as scipy's exact transform says, and takes the disparity
    of an edge pixel exactly as near as the exact transform's nearest."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(20.0, 30.0, SHAPE)
    rows, cols = np.mgrid[:SHAPE[0], :SHAPE[1]]
    body = (rows - 60) ** 2 / 40 ** 2 + (cols - 90) ** 2 / 25 ** 2 < 1
    edge = (body & ~ndimage.binary_erosion(body)) | (rng.random(SHAPE) < 0.01)
    dist, fg = _nearest_edge(edge, d)
    exact, (iv, iu) = ndimage.distance_transform_edt(~edge, return_indices=True)
    m = D455Depth()
    for limit in (0.0, m.fatten_px, m.edge_window_px):
        np.testing.assert_array_equal(dist <= limit, exact <= limit)
    near = exact <= m.edge_window_px
    # the pixel whose disparity was taken is an edge pixel at the exact nearest distance (ties may differ)
    taken = np.isin(fg[near], d[edge])
    assert taken.all()
    same = fg[near] == d[iv, iu][near]
    assert same.mean() > 0.98, same.mean()


def test_no_edge_leaves_every_pixel_beyond_reach():
    d = np.full(SHAPE, 25.0)
    dist, fg = _nearest_edge(np.zeros(SHAPE, bool), d)
    assert np.isinf(dist).all() and fg is d


@pytest.mark.parametrize("q", [0.0, 0.5, 0.985, 1.0])
def test_upper_quantile_is_numpys(q):
    a = np.random.default_rng(1).standard_normal(SHAPE)
    assert _upper_quantile(a, q) == np.quantile(a, q)
