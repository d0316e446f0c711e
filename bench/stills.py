"""Rep stills (recording.stills): bytes per still on disk and the time to write one (gzip-1 IR + depth) on
the trial worker, with rendered virtual-subject frames at the bottom of a rep (848x480).

Run: /work/venv/bin/python bench/stills.py   -> bench/results/stills.json
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._results import machine_fields, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "stills.json"


def main() -> int:
    import h5py

    from drivers.sim.render import Renderer
    from drivers.sim.subject import VirtualSubject
    from station.config import StationConfig
    from station.recording.stills import Still, StillStore

    cfg = StationConfig()
    subject = VirtualSubject("rounding", reps=1, fidget=False, config=cfg, seed=0)
    renderer = Renderer(config=cfg, seed=0)
    t_bottom = subject.truth.reps[0].t_bottom
    stills = []
    for k, t in enumerate(np.linspace(t_bottom - 0.3, t_bottom + 0.3, 8)):  # each render has its own noise
        depth, ir = renderer.render(subject.pose(t))
        stills.append(Still(float(t), k, ir, depth, {"hip": (400.0, 200.0)}, None, k, float(t)))
    h, w = stills[0].ir.shape
    write_ms = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stills.h5"
        with h5py.File(path, "w", libver=("v110", "v110")) as f:
            store = StillStore(h, w)
            store.create(f)
            for s in stills:
                t0 = time.perf_counter()
                store.append(s)
                write_ms.append(1000 * (time.perf_counter() - t0))
            f.flush()
            ir_b = f["stills/ir"].id.get_storage_size() / len(stills)
            depth_b = f["stills/depth"].id.get_storage_size() / len(stills)
    result = {
        "what": "one rep still (IR u8 + depth u16, gzip-1, one chunk each) appended to /stills",
        "resolution": [w, h], "stills": len(stills),
        "raw_bytes_per_still": int(h * w * 3), "ir_bytes_per_still": int(ir_b),
        "depth_bytes_per_still": int(depth_b), "bytes_per_still": int(ir_b + depth_b),
        "write_median_ms": round(float(np.median(write_ms)), 1), "write_max_ms": round(max(write_ms), 1),
        **machine_fields(),
    }
    write_results(RESULTS, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
