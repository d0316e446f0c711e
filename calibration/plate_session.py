"""A plate calibration run against a live Source: tare, placements found in the stream, fit, file.

Non-interactive (`run_from_steps`): the station reads the plate until it has seen the empty plate
(first stable stretch: the tare) and one stable loaded stretch per listed placement, in order.
Interactive (`run_interactive`): the user is prompted for each step and types mass and position.
Both end in `finish`, which fits the gains, prints the residuals and writes the calibration file.
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from calibration.plate import PlateCalibration, tare
from calibration.plate_fit import (
    GainFit,
    Placement,
    TooFewPlateaus,
    fit_gains,
    placement_xy,
    placements_from_plateaus,
)
from calibration.plateaus import detect_plateaus
from calibration.store import save_calibration
from drivers.samples import PlateChunk
from station.config import GRAVITY_M_S2, StationConfig
from station.documents import read_document
from station.errors import StationError


def load_steps(path: str | Path) -> dict:
    """Steps file (JSON or TOML): ``placements = [{mass_kg, position}, ...]``, optional ``timeout_s``."""
    p = Path(path)
    data = read_document(p, "steps file", parse=tomllib.loads if p.suffix.lower() == ".toml" else json.loads,
                         invalid="not a valid steps file ({error})")
    placements = data.get("placements") if isinstance(data, dict) else None
    if not isinstance(placements, list) or not placements:
        raise StationError(f"{p}: field 'placements' must be a non-empty list")
    for i, step in enumerate(placements, start=1):
        mass = step.get("mass_kg") if isinstance(step, dict) else None
        if not isinstance(mass, (int, float)) or isinstance(mass, bool) or mass <= 0:
            raise StationError(f"{p}: field 'placements[{i}].mass_kg' must be a positive number")
    timeout = data.get("timeout_s", 180.0)
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise StationError(f"{p}: field 'timeout_s' must be a positive number of seconds")
    return {"placements": placements, "timeout_s": float(timeout)}


def plate_device_id(source) -> str:
    """The plate's id from its `# plate ... id=/serial=` info line, else its port or spec."""
    info = getattr(getattr(source, "parser", None), "info", None) or {}
    for key in ("id", "serial", "sn"):
        if info.get(key):
            return f"plate-{info[key]}"
    return str(getattr(source, "name", None) or getattr(source, "port", "plate"))


class PlateRecorder:
    """Drains a Source into one growing PlateChunk."""

    def __init__(self, source) -> None:
        self.source = source
        self.chunks: list[PlateChunk] = []

    def pump(self, seconds: float) -> PlateChunk:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.chunks.extend(c for c in self.source.read(timeout_s=0.05) if len(c))
        return self.all()

    def all(self) -> PlateChunk:
        if len(self.chunks) > 1:
            self.chunks = [PlateChunk.concat(self.chunks)]
        return self.chunks[0] if self.chunks else PlateChunk.concat([])


Offsets = np.ndarray


def run_from_steps(source, steps: dict, reference: PlateCalibration, config: StationConfig, *,
                   say: Callable[[str], None] = print,
                   min_hold_s: float = 1.0) -> tuple[Offsets, list[Placement]]:
    """Read until the tare and every listed placement were seen; returns (offsets, placements)."""
    rec = PlateRecorder(source)
    want = steps["placements"]
    timeout_s = steps["timeout_s"]
    deadline = time.monotonic() + timeout_s
    seen = 0
    while True:
        data = rec.pump(0.5)
        late = time.monotonic() > deadline
        plateaus = []
        if len(data) >= 10:
            plateaus = detect_plateaus(data.t_device_s, data.counts, reference.gains_n_per_count,
                                       min_duration_s=min_hold_s)
        if not plateaus:
            if late:
                raise StationError(f"plate {plate_device_id(source)}: no stable empty plate to tare on "
                                   f"within {timeout_s:g} s")
            continue
        if len(plateaus) > seen:
            seen = len(plateaus)
            say(f"stable stretches so far: {seen} (tare + placements and the empty plate between them)")
        first = plateaus[0]
        offsets = tare(data.counts[first.start:first.stop], reference)
        try:
            return offsets, placements_from_plateaus(plateaus[1:], want, offsets,
                                                     reference.gains_n_per_count, config)
        except TooFewPlateaus as exc:
            if late:
                raise StationError(f"plate {plate_device_id(source)}: after {timeout_s:g} s {exc}") from None


def run_interactive(source, reference: PlateCalibration, config: StationConfig, *,
                    ask: Callable[[str], str] = input, say: Callable[[str], None] = print,
                    min_hold_s: float = 1.0,
                    settle_timeout_s: float = 30.0) -> tuple[Offsets, list[Placement]]:
    """Prompted run: tare, then 'MASS POSITION' per placement until 'done'."""
    rec = PlateRecorder(source)
    ask("Remove everything from the plate, then press Enter ")
    rec.chunks.clear()
    empty = rec.pump(2.0)
    offsets = tare(empty.counts, reference)
    say(f"tared on {len(empty)} samples")
    placements: list[Placement] = []
    while True:
        answer = ask(f"[{len(placements)} so far] place a known mass and type MASS_KG POSITION (centre, "
                     "front-left, front-right, rear-left, rear-right, 'x,y' or unknown), or 'done': ").strip()
        if answer.lower() in ("done", "d", "q"):
            return offsets, placements
        parts = answer.split()
        try:
            mass = float(parts[0])
            position = parts[1] if len(parts) > 1 else "unknown"
            xy = placement_xy(position, config)
        except (ValueError, IndexError):
            say(f"not understood: {answer!r}; e.g. `20 centre`")
            continue
        except StationError as exc:
            say(str(exc))
            continue
        rec.chunks.clear()
        deadline = time.monotonic() + settle_timeout_s
        found = None
        while found is None and time.monotonic() < deadline:
            data = rec.pump(0.5)
            if len(data) < 10:
                continue
            for p in detect_plateaus(data.t_device_s, data.counts, reference.gains_n_per_count,
                                     min_duration_s=min_hold_s):
                if float(((p.counts_mean - offsets) * reference.gains_n_per_count).sum()) > 10.0:
                    found = p
        if found is None:
            say(f"no stable load within {settle_timeout_s:g} s; try that placement again")
            continue
        label = f"placement {len(placements) + 1} ({mass:g} kg at {position})"
        placements.append(Placement(label, mass, found.counts_mean, xy))
        say(f"{label}: stable for {found.duration_s:.1f} s; lift it off")


def finish(offsets: np.ndarray, placements: list[Placement], device_id: str, config: StationConfig, *,
           out=None, say: Callable[[str], None] = print) -> tuple[Path, GainFit]:
    """Fit, print the residual at every placement, write the calibration file."""
    fit = fit_gains(offsets, placements, config)
    full_scale = config.plate.full_scale_n
    say(f"{'placement':<36} {'force err N':>12} {'CoP err mm':>11}")
    for r in fit.residuals:
        cop = "n/a" if r.cop_error_mm is None else f"{r.cop_error_mm:.2f}"
        say(f"{r.label:<36} {r.force_error_n:>+12.3f} {cop:>11}")
    report = fit.report_dict()
    report["full_scale_n"] = full_scale
    report["max_force_error_pct_fs"] = 100.0 * report["max_force_error_n"] / full_scale
    say(f"gains N/count: {np.array2string(fit.gains_n_per_count, precision=7)}; "
        f"worst force error {report['max_force_error_pct_fs']:.3f}% of {full_scale:g} N")
    calib = PlateCalibration(offsets, fit.gains_n_per_count, device_id=device_id)
    result = calib.to_result() | {"gravity_m_s2": GRAVITY_M_S2,
                                  "placements": [{"label": p.label, "mass_kg": p.mass_kg,
                                                  "xy_m": None if p.xy_m is None else list(p.xy_m)}
                                                 for p in placements]}
    path = save_calibration("plate", result, device_id=device_id, residuals=report, out=out, config=config)
    say(f"wrote {path}")
    return path, fit
