"""The virtual dowel's fast primitives against their plain definitions (random and edge-case inputs)."""

import numpy as np

from station.dowel.regions import sorted_quantile
from station.dowel.rod import largest_per_bin, mask_pixels


def _largest_per_bin_plainly(bins: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = []
    for b in sorted(set(bins.tolist())):
        idx = np.flatnonzero(bins == b)
        top = values[idx].max()
        out.append(idx[values[idx] == top][-1])  # the last among equal values
    return np.array(out, dtype=np.intp)


def test_largest_per_bin_matches_its_definition_with_ties():
    rng = np.random.default_rng(7)
    for size in (1, 2, 50, 3000):
        bins = rng.integers(-20, 200, size)
        values = np.round(rng.normal(0, 30, size))  # rounded: many equal values within a bin
        assert np.array_equal(largest_per_bin(bins, values), _largest_per_bin_plainly(bins, values))
    assert largest_per_bin(np.zeros(0, np.intp), np.zeros(0)).size == 0


def test_mask_pixels_is_nonzero_in_raster_order():
    rng = np.random.default_rng(3)
    mask = (rng.random((37, 53)) < 0.2).astype(np.uint8)
    rows, cols = mask_pixels(mask)
    expected = np.nonzero(mask)
    assert np.array_equal(rows, expected[0]) and np.array_equal(cols, expected[1])
    assert mask_pixels(np.zeros((4, 4), np.uint8))[0].size == 0


def test_sorted_quantile_is_numpys_percentile():
    rng = np.random.default_rng(5)
    for size in (1, 2, 7, 300):
        x = rng.normal(size=size)
        for q in (0.0, 0.25, 0.5, 0.75, 1.0):
            assert abs(sorted_quantile(x, q) - np.percentile(x, 100 * q)) < 1e-12
