"""The marker disc finder, fast: bright 8-connected discs in the left IR -> sub-pixel centres, radii, areas.

Same discs and the same centres as the reference in detect.py (`bright_components` + `_disc`: a flood
fill, then per disc an intensity-weighted centroid over its bounding box +- 2 px with the median of that
window's border as background), as two small compiled loops (numba): the reference in numpy spends its
time in per-call overhead on arrays of a few dozen pixels (profiled: ~70 numpy calls a frame even
vectorised; 0.2-0.4 ms against OpenCV's SimpleBlobDetector at ~0.1 ms on a loaded 2-core host).

The whole frame is searched every time: pixels >= threshold are found 8 at a time (a 64-bit word
without a byte's top bit set holds none; the IR background is dark), each seeds a flood fill, each
component's window gives the centroid. ~0.03 ms per 848x480 frame; a region of interest around the last
discs (tried: windows around the previous frame's discs, whole frame when one may be missing) was slower
(~0.045 ms: the windows' bookkeeping in Python costs more than the compiled scan it saves) and found a new
disc away from the others only at the next whole-frame search, so it is not used.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass
class Discs:
    """uv: (K, 2) sub-pixel (u, v) centres; radius_px: (K,) equivalent radius of the disc (rim included);
    area_px: (K,) bright pixels; first_px: (K,) smallest linear pixel index (the reference's order)."""

    uv: np.ndarray
    radius_px: np.ndarray
    area_px: np.ndarray
    first_px: np.ndarray

    def __len__(self) -> int:
        return int(self.uv.shape[0])


# one row per component: first pixel, area, v_min, v_max, u_min, u_max
_FIRST, _AREA, _VMIN, _VMAX, _UMIN, _UMAX = range(6)


@njit(cache=True, nogil=True)
def _fill(ir, threshold, seed, visited, stack, v_lo, v_hi, u_lo, u_hi, out_row):
    """8-connected flood fill from `seed` inside rows [v_lo, v_hi) x cols [u_lo, u_hi); fills out_row
    (first, area, bbox); returns False if the component touches the box's edge where the box is not the
    image's edge (it may go on outside)."""
    H, W = ir.shape
    n, top = 0, 0
    stack[0] = seed
    top = 1
    visited[seed] = True
    first, vmin, vmax, umin, umax = seed, H, -1, W, -1
    whole = True
    while top > 0:
        top -= 1
        p = stack[top]
        y, x = p // W, p % W
        n += 1
        first = min(first, p)
        vmin, vmax, umin, umax = min(vmin, y), max(vmax, y), min(umin, x), max(umax, x)
        if (y == v_lo and v_lo > 0) or (y == v_hi - 1 and v_hi < H) or (x == u_lo and u_lo > 0) \
                or (x == u_hi - 1 and u_hi < W):
            whole = False
        for dy in (-1, 0, 1):
            yy = y + dy
            if yy < v_lo or yy >= v_hi:
                continue
            for dx in (-1, 0, 1):
                xx = x + dx
                if xx < u_lo or xx >= u_hi:
                    continue
                q = yy * W + xx
                if not visited[q] and ir[yy, xx] >= threshold:
                    visited[q] = True
                    stack[top] = q
                    top += 1
    out_row[_FIRST], out_row[_AREA] = first, n
    out_row[_VMIN], out_row[_VMAX], out_row[_UMIN], out_row[_UMAX] = vmin, vmax, umin, umax
    return whole


@njit(cache=True, nogil=True)
def _components_full(ir, threshold, seeds, visited, stack, out):
    """Every component of the frame, from its bright pixels `seeds` (numpy finds them with SIMD, faster
    than a compiled scalar scan), in raster order of first pixel; returns how many (out's rows), -1 if
    more than out holds. Clears its visited flags."""
    H, W = ir.shape
    k = 0
    for p in seeds:
        if not visited[p]:
            if k == out.shape[0]:
                break
            _fill(ir, threshold, p, visited, stack, 0, H, 0, W, out[k])
            k += 1
    _clear_boxes(visited.reshape(H, W), out[:k, _VMIN], out[:k, _VMAX] + 1, out[:k, _UMIN],
                 out[:k, _UMAX] + 1)
    return k if k < out.shape[0] else -1


@njit(cache=True, nogil=True)
def _bright_words(words, threshold, seeds):
    """Linear indices of the pixels >= threshold (>= 128), 8 pixels at a time: a word without a byte's
    top bit set holds none (the IR background is dark: most words are skipped in one test)."""
    n = 0
    for i in range(words.size):
        w = words[i]
        if w & np.uint64(0x8080808080808080):
            for b in range(8):
                if (w >> np.uint64(8 * b)) & np.uint64(0xFF) >= threshold:
                    if n < seeds.size:
                        seeds[n] = 8 * i + b  # little-endian: byte b of word i is pixel 8 i + b
                    n += 1
    return n


@njit(cache=True, nogil=True)
def _centroids(ir, comps, min_area, max_area, uv, radius, area, first):
    """The reference's `_disc` for each component of `min_area`..`max_area` px, in order of first pixel
    (the reference's order); returns how many."""
    H, W = ir.shape
    k = 0
    order = np.argsort(comps[:, _FIRST])
    comps = comps[order]
    border = np.empty(2 * (H + W), dtype=np.float32)
    for i in range(comps.shape[0]):
        n_px = comps[i, _AREA]
        if n_px < min_area or n_px > max_area:
            continue
        v0, v1 = max(comps[i, _VMIN] - 2, 0), min(comps[i, _VMAX] + 3, H)
        u0, u1 = max(comps[i, _UMIN] - 2, 0), min(comps[i, _UMAX] + 3, W)
        nb = 0
        for x in range(u0, u1):  # the window's border, as the reference: top, bottom, left, right
            border[nb] = ir[v0, x]
            border[nb + 1] = ir[v1 - 1, x]
            nb += 2
        for y in range(v0 + 1, v1 - 1):
            border[nb] = ir[y, u0]
            border[nb + 1] = ir[y, u1 - 1]
            nb += 2
        b = np.sort(border[:nb])
        half = 0.5 * (nb - 1)  # Python's round(): halves to even
        kth = int(np.floor(half))
        if half - kth > 0.5 or (half - kth == 0.5 and kth % 2 == 1):
            kth += 1
        bg = b[kth]
        peak = np.float32(0.0)
        total, su, sv = 0.0, 0.0, 0.0
        for y in range(v0, v1):
            for x in range(u0, u1):
                val = np.float32(ir[y, x])
                peak = max(peak, val)
                wgt = val - bg
                if wgt > 0:
                    total += wgt
                    su += wgt * (x - u0)
                    sv += wgt * (y - v0)
        uv[k, 0] = u0 + su / total
        uv[k, 1] = v0 + sv / total
        radius[k] = np.sqrt(total / max(peak - bg, 1.0) / np.pi)
        area[k] = n_px
        first[k] = comps[i, _FIRST]
        k += 1
    return k


@njit(cache=True, nogil=True)
def _clear_boxes(visited, v0s, v1s, u0s, u1s):
    for i in range(v0s.size):
        visited[v0s[i]:v1s[i], u0s[i]:u1s[i]] = False


class _Scratch:
    """Buffers reused frame to frame: visited flags (one per pixel, cleared only where set) and stacks."""

    def __init__(self, shape: tuple[int, int], max_components: int) -> None:
        n = shape[0] * shape[1]
        self.shape = shape
        self.visited = np.zeros(n, dtype=np.bool_)
        self.stack = np.empty(n, dtype=np.int64)
        self.seeds = np.empty(n, dtype=np.int64)
        self.comps = np.empty((max_components, 6), dtype=np.int64)
        self.uv = np.empty((max_components, 2))
        self.radius = np.empty(max_components)
        self.area = np.empty(max_components)
        self.first = np.empty(max_components, dtype=np.int64)


_local = threading.local()
_MAX_COMPONENTS = 4096  # more bright blobs than this in a frame: the rest are not searched


def _discs(ir: np.ndarray, scratch: _Scratch, k: int, min_area_px: int, max_area_px: int) -> Discs:
    comps = scratch.comps[:max(k, 0)]
    m = _centroids(ir, comps, min_area_px, max_area_px, scratch.uv, scratch.radius, scratch.area,
                   scratch.first)
    return Discs(scratch.uv[:m].copy(), scratch.radius[:m].copy(), scratch.area[:m].copy(),
                 scratch.first[:m].copy())


def _full(ir: np.ndarray, scratch: _Scratch, threshold: int, min_area_px: int, max_area_px: int) -> Discs:
    flat = ir.reshape(-1)
    if threshold >= 128 and flat.size % 8 == 0 and sys.byteorder == "little":
        seeds = scratch.seeds[:_bright_words(flat.view(np.uint64), threshold, scratch.seeds)]
    else:
        seeds = np.flatnonzero(flat >= threshold)
    k = _components_full(ir, threshold, seeds, scratch.visited, scratch.stack, scratch.comps)
    if k < 0:  # a frame full of bright blobs: the first _MAX_COMPONENTS of them
        k = scratch.comps.shape[0]
    return _discs(ir, scratch, k, min_area_px, max_area_px)


def find_discs(ir: np.ndarray, threshold: int = 200, min_area_px: int = 2, max_area_px: int = 4000) -> Discs:
    """Every disc in the whole frame (no state kept between calls)."""
    ir = np.ascontiguousarray(ir, dtype=np.uint8)
    if not ir.flags.writeable:  # a read-only frame is another type to numba: compiled again (~20 s)
        ir = ir.copy()
    scratch = getattr(_local, "scratch", None)  # 7 MB of buffers at 848x480: made once per thread
    if scratch is None or scratch.shape != ir.shape:
        scratch = _local.scratch = _Scratch(ir.shape, _MAX_COMPONENTS)
    return _full(ir, scratch, threshold, min_area_px, max_area_px)


def warm_up() -> float:
    """Compile (or load from numba's cache) the finder's loops now; returns the seconds it took.

    Measured on the 2-core host at load ~12: 23 s to compile with no cache (a fresh install, or after
    this file changed), 0.4 s to load the cache (kept in station/markers/__pycache__, or numba's user-wide
    cache where that is not writable). Without this the first frame of a trial pays it."""
    import time

    t0 = time.perf_counter()
    find_discs(np.zeros((8, 16), dtype=np.uint8))
    return time.perf_counter() - t0
