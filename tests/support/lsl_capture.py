"""A tiny LabRecorder: subscribe to LSL streams by source_id, keep every sample with its stamp and the
clock offsets, and write them as an XDF file (tests/support/xdf_writer.py) when a stop file appears.

    python -m tests.support.lsl_capture OUT.xdf --source-ids a,b,c --stop-file STOP [--timeout 60]

Run it in its own process with LSLAPICFG naming a config with a private `[lab] SessionID`, like the
recording it captures, so streams of other tests running at the same time are never picked up.
Prints `subscribed <source_id> <lsl clock>` per stream as soon as its inlet is open.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from tests.support.xdf_writer import XdfStream, write_xdf

FORMATS = {1: "float32", 2: "double64", 3: "string", 4: "int32", 5: "int16", 6: "int8", 7: "int64"}


def main(argv: list[str] | None = None) -> int:
    import pylsl

    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--source-ids", required=True)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    wanted = args.source_ids.split(",")
    stop = Path(args.stop_file)
    end = time.monotonic() + args.timeout
    inlets: dict[str, pylsl.StreamInlet] = {}
    while len(inlets) < len(wanted) and time.monotonic() < end and not stop.exists():
        for sid in wanted:
            if sid not in inlets:
                found = pylsl.resolve_byprop("source_id", sid, timeout=0.05)
                if found:
                    inlet = pylsl.StreamInlet(found[0], max_buflen=360, processing_flags=0)
                    inlet.open_stream(timeout=10.0)
                    inlets[sid] = inlet
                    print(f"subscribed {sid} {pylsl.local_clock():.6f}", flush=True)
    data: dict[str, list] = {sid: [] for sid in inlets}
    stamps: dict[str, list] = {sid: [] for sid in inlets}
    offsets: dict[str, list] = {sid: [] for sid in inlets}
    infos = {sid: inlet.info(timeout=5.0) for sid, inlet in inlets.items()}
    next_offset = 0.0
    quiet_since = None
    while time.monotonic() < end:
        got = 0
        for sid, inlet in inlets.items():
            samples, ts = inlet.pull_chunk(timeout=0.0, max_samples=4096)
            data[sid].extend(samples)
            stamps[sid].extend(ts)
            got += len(ts)
        now = time.monotonic()
        if now >= next_offset:  # LabRecorder measures each stream's clock offset every few seconds
            for sid, inlet in inlets.items():
                try:
                    offsets[sid].append((pylsl.local_clock(), inlet.time_correction(timeout=1.0)))
                except Exception:  # the outlet is gone (recording ended)
                    pass
            next_offset = now + 2.0
        if stop.exists():
            quiet_since = quiet_since or now
            if got == 0 and now - quiet_since > 0.5:
                break
        time.sleep(0.01 if got else 0.02)
    streams = []
    for sid in inlets:
        info = infos[sid]
        fmt = FORMATS[info.channel_format()]
        n = info.channel_count()
        rows = data[sid] if fmt == "string" else np.asarray(data[sid], float).reshape(-1, n)
        streams.append(XdfStream(info.as_xml(), fmt, rows, np.asarray(stamps[sid], float), offsets[sid]))
        print(f"captured {sid} {len(stamps[sid])}", flush=True)
    write_xdf(args.out, streams)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
