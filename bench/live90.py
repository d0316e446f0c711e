"""Live at 90 fps on 2 cores with everything on: a 90 fps 848x480 depth+IR recording played at the pace
of its own timestamps through rs.pipeline (drivers/db3_pacing.py), markers, virtual dowel, core, trial
file with depth+IR frames kept (--frames, default h5-lz4), LSL outlets, and a plate at 1 kHz through
pyserial (the emulator in a child process: the device's cost is not the station's).

The recording is rendered once (the renderer is not the station's cost either) and played in a loop:
each pass opens the .db3 again and continues the frame numbers and device clock where the last pass
ended (a 2-minute recording would be 13 GB uncompressed). Measured in the station's process:

* frames processed / delivered (runner's delivery figures) and the camera's drops by reason;
* plate samples lost (sequence-number gaps);
* latency frame arrival (its paced hand-on) -> the live state updated with it (runner._poll_core);
* rep verdict after rep end: the rep's first RepResult reaching the consumers minus the rep's end on the
  host clock (its lockout follows in a second RepResult, 0.5-1 s after the end, reported apart);
* time per stage of the worker thread (markers, dowel, core, each consumer), process CPU, load average.

    .venv/bin/python bench/live90.py [--seconds 120] [--frames h5-lz4]   -> bench/results/live90.json

Goals (issue 22): >= 99.5% of frames over 10 minutes, 0 plate samples lost, p95 latency <= 15 ms,
verdict <= 60 ms after the rep's end.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import machine_fields, write_results  # noqa: E402
from drivers.forceplate import ForcePlate  # noqa: E402
from drivers.registry import open_camera  # noqa: E402
from station.config import StationConfig  # noqa: E402

FPS, W, H = 90, 848, 480
GOALS = {"frames_processed_pct": 99.5, "plate_samples_lost": 0, "latency_p95_ms": 15.0,
         "verdict_after_rep_end_ms": 60.0}


def render_recording(path: Path, seconds: float) -> dict:
    from drivers.sim.softcam import record_db3
    from drivers.sim.subject import VirtualSubject

    subject = VirtualSubject("hinge", reps=2, standing_s=1.0)
    return record_db3(subject, path, fps=FPS, width=W, height=H, seconds=seconds, seed=1)


class LoopedRecording:
    """A paced .db3 played again and again as one stream (frame numbers and device time continue)."""

    def __init__(self, path: Path, config: StationConfig) -> None:
        self.path, self.config = path, config
        self.name = f"loop:{path.name}"
        self.fps = FPS
        self._cam = None
        self._number_offset = 0
        self._t_offset_ms = 0.0
        self._last: tuple[int, float] | None = None  # (frame number, t_device_ms) handed on last
        self.passes = 0
        self._totals: dict[str, int] = {"late": 0, "decode": 0, "queue_full": 0}
        self._frames_total = 0

    def __getattr__(self, name: str):
        if name.startswith("_") or self._cam is None:
            raise AttributeError(name)
        return getattr(self._cam, name)

    def _open(self) -> None:
        self._cam = open_camera(str(self.path), self.config)  # drivers.db3_pacing.TimestampPaced
        self._cam.start()
        self.passes += 1

    def start(self) -> None:
        self._open()

    def read(self, timeout_s: float = 0.1) -> list:
        out = []
        for f in self._cam.read(timeout_s):
            g = replace(f, frame_number=f.frame_number + self._number_offset,
                        t_device_ms=f.t_device_ms + self._t_offset_ms)
            self._last = (g.frame_number, g.t_device_ms)
            out.append(g)
        if not out and self._cam.stats()["finished"]:
            self._close_pass()
            # the next pass goes on from here: device time as long as the host took to reopen
            t_reopen0 = time.monotonic()
            self._open()
            if self._last is not None:
                self._number_offset = self._last[0]
                self._t_offset_ms = self._last[1] + (time.monotonic() - t_reopen0) * 1000.0 \
                    + 1000.0 / FPS - self._first_ms()
        return out

    def _first_ms(self) -> float:
        from drivers.sim.softcam import DEVICE_CLOCK_START_MS

        return DEVICE_CLOCK_START_MS

    def _close_pass(self) -> None:
        stats = self._cam.stats()
        for k, v in stats["drops"].items():
            self._totals[k] += int(v)
        self._frames_total += int(stats["frames"])
        self._cam.stop()

    def stop(self) -> None:
        if self._cam is not None:
            self._close_pass()
            self._cam = None

    def stats(self) -> dict:
        live = self._cam.stats() if self._cam is not None else {"drops": {}, "frames": 0}
        drops = {k: v + int(live["drops"].get(k, 0)) for k, v in self._totals.items()}
        return {"frames": self._frames_total + int(live["frames"]), "overflows": drops["queue_full"],
                "drops": drops, "passes": self.passes, "finished": False}


def _plate_process(conn, seconds: float) -> None:
    """The plate emulator (a pty speaking protocol v1 at 1 kHz) in its own process: the device."""
    from drivers.sim.plate_emulator import emulator_for_pattern

    emulator = emulator_for_pattern("hinge", rate_hz=1000.0)
    conn.send(emulator.start())
    conn.poll(seconds + 120)
    emulator.stop()
    # the device's own losses: its outbox overflows when the pty is not read for 1 s, or when this
    # process itself was not run for 1 s on an overloaded host
    conn.send({"generated": emulator.samples_generated, "sent": emulator.samples_sent,
               "lost_in_device_backlog": emulator.lost_backlog})


class Stages:
    """Wall time per call of the worker thread's stages (wrapped methods), per frame where it applies."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def wrap(self, owner: object, method: str, stage: str) -> None:
        fn = getattr(owner, method)
        times = self.times.setdefault(stage, [])

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times.append(time.perf_counter() - t0)

        setattr(owner, method, timed)

    def summary(self) -> dict:
        out = {}
        for stage, t in self.times.items():
            if t:
                a = np.asarray(t) * 1000
                out[stage] = {"calls": len(a), "median_ms": round(float(np.median(a)), 3),
                              "p95_ms": round(float(np.percentile(a, 95)), 3),
                              "total_s": round(float(a.sum() / 1000), 2)}
        return out


class Probe:
    """The last consumer: when each frame reached every consumer, and each rep's verdict."""

    name = "bench-probe"

    def __init__(self) -> None:
        self.pending: list[int] = []  # arrival host ns of frames handed on since the last live-state update
        self.latency_ms: list[float] = []
        self.in_camera_process_ms: list[float] = []
        self.verdict_ms: list[float] = []  # each rep's first verdict (at its end, the lockout to come)
        self.lockout_ms: list[float] = []  # the same rep again, its lockout judged
        self._seen: set[int] = set()
        self.t0_host_ns = 0

    def receive(self, doc) -> None:
        from station.results import RepResult
        from station.trial.documents import FrameData, TrialStart

        if isinstance(doc, TrialStart):
            self.t0_host_ns = doc.t0_host_ns
        elif isinstance(doc, FrameData):
            self.pending.append(doc.frame.t_host_ns)
            sent = getattr(doc.frame, "t_sent_ns", 0)  # the camera process's part: arrival -> sent
            if sent:
                self.in_camera_process_ms.append((sent - doc.frame.t_host_ns) / 1e6)
        elif isinstance(doc, RepResult):
            after_end_ms = (time.monotonic_ns() - (self.t0_host_ns + doc.t_end * 1e9)) / 1e6
            (self.lockout_ms if doc.index in self._seen else self.verdict_ms).append(after_end_ms)
            self._seen.add(doc.index)

    def live_state_updated(self) -> None:
        now = time.monotonic_ns()
        self.latency_ms.extend((now - t) / 1e6 for t in self.pending)
        self.pending.clear()


def _frames_in(h5: Path) -> int | None:
    """Camera rows the trial file holds (each processed frame must be there)."""
    from station.recording.reader import read_trial

    try:
        return len(read_trial(h5).camera_index["frame_number"])
    except Exception as exc:  # the figure is a check, not the bench's point
        print(f"cannot read {h5}: {exc}", file=sys.stderr)
        return None


def _ms(a: list[float]) -> dict:
    if not a:
        return {}
    x = np.asarray(a)
    return {"n": len(x), "median_ms": round(float(np.median(x)), 2),
            "p95_ms": round(float(np.percentile(x, 95)), 2), "max_ms": round(float(x.max()), 2)}


def _profiled(fn, into: list):
    """fn run under cProfile (the worker thread only); its top functions by own time appended to into."""
    import cProfile
    import io
    import pstats

    def wrapped() -> None:
        prof = cProfile.Profile()
        try:
            prof.runcall(fn)
        finally:
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
            into.append(out.getvalue())

    return wrapped


def run(seconds: float, frames: str, render_s: float, folder: Path, profile: bool = False,
        threaded_writer: bool = True, camera_process: bool = True) -> dict:
    from station.export.lsl import LslOutlets
    from station.recording.writer import TrialWriter
    from station.trial.consumers import LslConsumer, TrialFileConsumer
    from station.trial.runner import TrialRunner
    from station.trial.threaded import ThreadedConsumer

    db3 = folder / "live90.db3"
    t0 = time.monotonic()
    render_recording(db3, render_s)
    render_wall_s = time.monotonic() - t0
    cfg = StationConfig()
    cfg.camera.width, cfg.camera.height, cfg.camera.fps = W, H, FPS
    cfg.plate.rate_hz = 1000
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    plate_proc = ctx.Process(target=_plate_process, args=(child, seconds), daemon=True)
    plate_proc.start()
    port = parent.recv()
    plate = ForcePlate(port, name="plate-emulator (child process)")
    if camera_process:  # camera, markers and dowel in a process of their own (station/trial/camera_process)
        import functools

        from station.trial.camera_process import CameraProcess

        camera = CameraProcess(functools.partial(LoopedRecording, db3, cfg), cfg, name=f"loop:{db3.name}")
    else:
        camera = LoopedRecording(db3, cfg)
    writer = TrialWriter(folder / "live90.h5", config=cfg, metadata={"subject_id": "bench", "drill": "hinge"},
                         frames=frames, stills=True)
    probe = Probe()
    stages = Stages()
    file_consumer = TrialFileConsumer(writer)
    if threaded_writer:  # the trial file on a thread of its own (station/trial/threaded.py)
        stages.wrap(file_consumer, "receive", "trial file (on its own thread)")
        file_consumer = ThreadedConsumer(file_consumer)
    consumers = [file_consumer, LslConsumer(LslOutlets(1000.0, float(FPS))), probe]
    runner = TrialRunner(plate, camera, cfg, consumers=consumers, metadata={"subject_id": "bench",
                                                                             "drill": "hinge"},
                         duration_s=seconds, zero_check_s=0)
    for c in runner.consumers:  # ours and the runner's own (the live view)
        if c is not probe:
            stages.wrap(c, "receive", f"consumer {getattr(c, 'name', type(c).__name__)}")
    stages.wrap(runner, "_on_frame", "frame (markers + dowel + consumers)")
    stages.wrap(runner, "_on_plate", "plate chunk (force + consumers)")
    poll = runner._poll_core

    def poll_and_mark() -> None:
        poll()
        probe.live_state_updated()

    runner._poll_core = poll_and_mark
    profile_text: list[str] = []
    if profile:  # the per-stage timers stay on: cProfile's overhead inflates every stage alike
        runner._run = _profiled(runner._run, profile_text)
    stages.wrap(runner, "_poll_core", "core poll + live state")
    load0 = os.getloadavg()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.monotonic()
    runner.start()
    # the steps exist once the worker has seen a frame: time them from then on
    deadline = time.monotonic() + (0 if camera_process else 30)  # (in the camera process: timed there)
    while runner.marker_step is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if runner.marker_step is not None:
        stages.wrap(runner.marker_step, "update", "markers (detect + track)")
    if runner.dowel_step is not None:
        stages.wrap(runner.dowel_step, "update", "virtual dowel")
    for m in ("push_markers", "push_force", "push_dowel", "poll"):
        if hasattr(runner.core, m):
            stages.wrap(runner.core, m, f"core.{m}")
    while not runner.wait(0.5):
        pass
    summary = runner.stop("duration reached")
    wall = time.monotonic() - wall0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    load1 = os.getloadavg()
    parent.send("stop")
    device = parent.recv() if parent.poll(10) else {}
    plate_proc.join(5)
    plate_driver = {k: v for k, v in plate.stats().items() if isinstance(v, int | float)}
    cpu_s = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    delivery = summary["delivery"]
    cam_stats = camera.stats()
    lat = _ms(probe.latency_ms)
    verdict = _ms(probe.verdict_ms)
    h5 = folder / "live90.h5"
    return {
        **machine_fields(),
        "what": "90 fps 848x480 depth+IR .db3 played at its timestamps' pace through rs.pipeline (looped), "
                "markers, virtual dowel, core, trial file with frames, LSL outlets, plate 1 kHz over a pty "
                "(emulator in a child process); " + ("the camera, markers and dowel in a camera process"
                                                     if camera_process else "one station process"),
        "camera_process": cam_stats.get("camera_process") if camera_process else None,
        "camera_slot_copy_ms": _ms(camera.copy_ms) if camera_process else None,
        "seconds": seconds, "frames_storage": frames, "trial_file_on_its_own_thread": threaded_writer,
        "trial_file_max_backlog_documents": getattr(file_consumer, "max_backlog", None),
        "trial_file_frames_rows": _frames_in(h5), "recording_render_s": round(render_wall_s, 1),
        "recording_seconds_per_pass": render_s, "passes": cam_stats["passes"],
        "load_avg_1_5_15_before": [round(x, 2) for x in load0],
        "load_avg_1_5_15_after": [round(x, 2) for x in load1],
        "process_cpu_pct_of_one_core": round(100 * cpu_s / wall, 1),
        "frames_delivered": delivery["camera_frames_delivered"],
        "frames_expected": delivery["camera_frames_expected"],
        "frames_processed": delivery["camera_frames_processed"],
        "frames_processed_pct_of_delivered": round(100 * delivery["camera_frames_processed"]
                                                   / max(delivery["camera_frames_delivered"], 1), 2),
        "camera_received_pct": round(delivery["camera_received_pct"], 2),
        "camera_drops_by_reason": cam_stats["drops"],
        "camera_fps_delivered": round(delivery["camera_fps_delivered"], 2),
        "plate_samples": delivery["plate_samples"], "plate_samples_lost": delivery["plate_samples_lost"],
        "plate_device_emulator": device, "plate_driver": plate_driver,
        "latency_frame_arrival_to_live_state": lat,
        "latency_part_in_camera_process": _ms(probe.in_camera_process_ms),
        "verdict_after_rep_end": verdict | {"note": "the rep's first verdict, given at its end without the "
                                                    "lockout (station/core/hinge_core.py live_verdicts)"},
        "lockout_after_rep_end": _ms(probe.lockout_ms) | {
            "note": "the same rep again, its lockout judged (0.5-1 s after its end, station/core/form.py)"},
        "reps": len(summary["reps"]),
        "trial_file_mb_per_min": round(h5.stat().st_size / 1e6 / seconds * 60, 1) if h5.exists() else None,
        "stages_worker_thread": stages.summary(),
        "frame_budget_ms": round(1000 / FPS, 2),
        "warnings": summary["warnings"][:10],
        **({"worker_profile_top25_by_own_time": profile_text[0].splitlines()} if profile_text else {}),
        "goals": GOALS,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=120.0, help="length of the live run (issue: 600)")
    ap.add_argument("--frames", default="h5-lz4", help="depth+IR storage in the trial (record --frames)")
    ap.add_argument("--render-seconds", type=float, default=8.0, help="recording length per pass")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "live90.json"))
    ap.add_argument("--inline-writer", action="store_true", help="the trial file on the worker thread")
    ap.add_argument("--profile", action="store_true", help="cProfile the worker thread (slower)")
    ap.add_argument("--in-process-camera", action="store_true",
                    help="camera, markers and dowel on the station worker (before issue 22)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="live90-") as tmp:
        result = run(args.seconds, args.frames, args.render_seconds, Path(tmp), args.profile,
                     not args.inline_writer, not args.in_process_camera)
    write_results(Path(args.out), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
