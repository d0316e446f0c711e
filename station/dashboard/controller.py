"""What the dashboard drives: a live TrialRunner (preview or recording) or a replayed trial file.

Everything slow (opening devices, building the simulator, creating or reading a file, stopping a
runner) happens on a background thread; the GUI thread only calls `feed()` / `snapshot()` and
reads `busy`, `error` and `last_summary`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from drivers.registry import open_markers
from drivers.samples import CameraSource, PlateSource
from station.config import StationConfig
from station.errors import StationError
from station.owner_files import make_dirs
from station.trial.camera_process import open_trial_sources
from station.trial.live import LiveSnapshot

if TYPE_CHECKING:
    import numpy as np

    from calibration.plate import PlateGains

# (plate_spec, camera_spec, config) -> (plate, camera); default: camera_process.open_trial_sources
SourceOpener = Callable[[str | None, str | None, StationConfig],
                        tuple[PlateSource | None, CameraSource | None]]


def recording_path(out_dir: str | Path, subject_id: str, drill_id: str,
                   now: _dt.datetime | None = None) -> Path:
    """recordings/<subject>_<drill>_<YYYYmmdd-HHMMSS>.h5 (unsafe characters replaced)."""
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")

    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9.-]+", "-", text.strip()) or "unknown"

    return Path(out_dir) / f"{safe(subject_id)}_{safe(drill_id)}_{stamp}.h5"


class LiveController:
    """Owns the current TrialRunner. Switching (preview <-> recording) runs on a helper thread."""

    def __init__(self, plate_spec: str | None, camera_spec: str | None, config: StationConfig, *,
                 out_dir: str | Path = "recordings", plate_calibration: PlateGains | None = None,
                 camera_T: np.ndarray | None = None, opener: SourceOpener | None = None,
                 subject: dict | None = None, archive_db: str | None = None,
                 markers_spec: str | None = None, holding_dowel: bool = False) -> None:
        """subject: what a simulated subject does (registry.open_sources), e.g. the drill's dowel;
        holding_dowel: the drill has a real dowel on the back (a camera process's dowel must know it).
        archive_db: the archive each finished recording is indexed in (None: the station's default).
        markers_spec: a mocap source (`lsl:NAME`) whose markers replace the camera's (station.trial.mocap)."""
        if not plate_spec and not camera_spec and not markers_spec:
            raise StationError("the dashboard needs --plate and/or --camera")
        self.markers_spec = markers_spec
        self.plate_spec, self.camera_spec, self.config = plate_spec, camera_spec, config
        self.out_dir = Path(out_dir)
        self.plate_calibration, self.camera_T = plate_calibration, camera_T
        # from 60 fps the camera, its markers and dowel in a process of their own (trial.camera_process)
        self.opener = opener or functools.partial(open_trial_sources, subject=subject, camera_T=camera_T,
                                                  analyse=markers_spec is None, holding_dowel=holding_dowel)
        self.runner = None
        self.recording_path: Path | None = None
        self.archive_db = archive_db
        self.archive_note: str | None = None  # the last recording's "indexed" / "not indexed" line
        self.last_summary: dict | None = None
        self.error: str | None = None
        self.faces_consent: dict = {}  # with --keep-faces: {faces_kept, faces_consent_operator} per recording
        self._lock = threading.Lock()
        self._switch: threading.Thread | None = None

    # ---- what the GUI reads ---------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._switch is not None and self._switch.is_alive()

    @property
    def recording(self) -> bool:
        return self.runner is not None and self.recording_path is not None

    @property
    def expect_plate(self) -> bool:
        return bool(self.plate_spec)

    @property
    def expect_camera(self) -> bool:
        return bool(self.camera_spec)

    @property
    def calibrated(self) -> bool:
        return self.plate_calibration is not None

    def snapshot(self) -> LiveSnapshot | None:
        runner = self.runner
        return runner.snapshot() if runner is not None else None

    # ---- commands (return at once) --------------------------------------------------------------
    def start_preview(self) -> None:
        self._in_background(lambda: self._restart(None, {}))

    def start_recording(self, subject_id: str, drill_id: str, **meta: object) -> Path:
        from station.archive.identity_list import check_subject

        check_subject(subject_id, self.config, "subject")  # the panel's field: a code, never a name
        path = recording_path(self.out_dir, subject_id, drill_id)
        metadata = {"subject_id": subject_id, "drill": drill_id, "plate_source": self.plate_spec or "",
                    "camera_source": self.camera_spec or "", "side": self.config.camera.side,
                    "notes": "recorded from the dashboard", **self.faces_consent, **meta}
        self._in_background(lambda: self._restart(path, metadata))
        return path

    def stop_recording(self) -> None:
        self._in_background(lambda: self._restart(None, {}))

    def shutdown(self, timeout_s: float = 15.0) -> dict | None:
        """Stop everything (blocks: call on closing the window)."""
        if self._switch is not None:
            self._switch.join(timeout_s)
        return self._stop_current("window closed")

    # ---- background -----------------------------------------------------------------------------
    def _in_background(self, job: Callable[[], None]) -> None:
        if self.busy:
            raise StationError("the dashboard is still switching sources; try again in a moment")
        self.error = None

        def run() -> None:
            try:
                job()
            except StationError as exc:
                self.error = str(exc)
            except Exception as exc:  # shown in the banner; the window must go on
                self.error = f"{type(exc).__name__}: {exc}"

        self._switch = threading.Thread(target=run, name="dashboard-switch", daemon=True)
        self._switch.start()

    def _stop_current(self, reason: str) -> dict | None:
        with self._lock:
            runner, self.runner = self.runner, None
            self.recording_path = None
        if runner is None:
            return None
        summary = runner.stop(reason)
        self.last_summary = summary
        if summary.get("file"):
            from station.archive.station_archive import index_new_file

            self.archive_note = index_new_file(summary["file"], self.config, self.archive_db)
            summary["archive"] = self.archive_note
            from station.archive.audit import audit

            meta = runner.metadata
            what = f"{meta.get('drill', '')} from the dashboard: {Path(summary['file']).name}"
            if note := audit("record", meta.get("subject_id"), what, config=self.config, db=self.archive_db):
                summary["audit"] = note
        return summary

    def _restart(self, path: Path | None, metadata: dict) -> None:
        from station.core.filtering import preload
        from station.trial.runner import TrialRunner

        preload()  # before the sources start (a sim playback starts in the opener): never mid-trial
        self._stop_current("stopped from the dashboard")
        consumers = []
        if path is not None:
            from station.recording.writer import TrialWriter
            from station.trial.consumers import TrialFileConsumer

            make_dirs(path.parent)  # owner-only folder (station.privacy)
            consumers.append(TrialFileConsumer(TrialWriter(path, config=self.config, metadata=metadata)))
        plate, camera = self.opener(self.plate_spec, self.camera_spec, self.config)
        markers = open_markers(self.markers_spec, self.config) if self.markers_spec else None
        runner = TrialRunner(plate, camera, self.config, consumers=consumers,
                             plate_calibration=self.plate_calibration, camera_T=self.camera_T,
                             metadata=metadata, window_s=self.config.dashboard.window_s, markers=markers)
        runner.start()
        with self._lock:
            self.runner = runner
            self.recording_path = path
