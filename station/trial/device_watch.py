"""Which device went and when it came back, from the sources' own counters (their `stats()`).

The runner polls this on its worker (at most every POLL_PERIOD_S). A source whose `connected` turns False
is "unplugged" when its `disconnects` counter rose (a serial port that vanished, a camera the SDK saw
removed) and "stopped delivering" otherwise (a camera stall); when `connected` is True again it is "back",
with how long it was away and, for the plate, the samples lost meanwhile. Each change is one line, a
TrialEvent (kept in the trial file's `events`, shown in the dashboard's banner), and an `outages` row
(runner.stats()["outages"]: what station.dashboard.status lists). Nothing is filled in for the gap: the
plate's sequence numbers and the camera's frame times show it as a gap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from station.documents import DocumentValue

POLL_PERIOD_S = 0.1


@dataclass
class Outage:
    """One device away: went_s / back_s on the trial clock (back_s None while it is still away)."""

    device: str  # "plate" or "camera"
    name: str  # the source's name and port, as the messages give it
    how: str  # "unplugged" or "stopped delivering"
    went_s: float
    back_s: float | None = None
    lost_samples: int | None = None  # plate only: sequence numbers missing across the gap

    def as_dict(self) -> dict:
        return asdict(self)


class DeviceWatch:
    """Turns each source's `connected` flag into went/back lines and Outage rows."""

    def __init__(self) -> None:
        self.outages: list[Outage] = []
        # device -> (its open outage, lost counter then, samples or frames then)
        self._away: dict[str, tuple[Outage, int, int]] = {}
        self._last_poll_s = -1.0

    def poll(self, sources: dict[str, object], t_s: float, *, t0_host_ns: int | None = None,
             force: bool = False) -> list[tuple[str, str]]:
        """(kind, text) of every change since the last poll; `sources`: device -> source (None skipped).
        With t0_host_ns, a source's own `disconnected_ns` / `reconnected_ns` stamps give the times (the
        worker may poll late on a busy host); else the time of the poll."""
        if not force and t_s - self._last_poll_s < POLL_PERIOD_S:
            return []
        self._last_poll_s = t_s
        lines = []
        for device, src in sources.items():
            if src is None:
                continue
            try:
                stats = dict(src.stats())
            except Exception:  # a source that cannot say: the runner reports it when its read fails
                continue
            connected = stats.get("connected")
            if connected is None:
                continue
            label = _label(src, stats)
            if not connected and device not in self._away:
                how = "unplugged" if stats.get("disconnects", 0) else "stopped delivering"
                stamp_ns = stats.get("disconnected_ns") if how == "unplugged" else None
                went_s = _stamp_s(stamp_ns, t0_host_ns, t_s)
                outage = Outage(device, label, how, round(went_s, 2))
                self.outages.append(outage)
                self._away[device] = (outage, int(stats.get("lost", 0)), _arrived(stats))
                lines.append((device, f"{device} {label}: {how} at t={went_s:.2f} s; recording continues"))
            elif connected and device in self._away and _arrived(stats) > self._away[device][2]:
                # back once data flows again: the plate's parser counts the gap at its first new sample
                outage, lost_then, _ = self._away.pop(device)
                back_s = _stamp_s(stats.get("reconnected_ns"), t0_host_ns, t_s)
                back_s = back_s if outage.went_s <= back_s <= t_s else t_s  # a stall has no stamp of its own
                outage.back_s = round(back_s, 2)
                lost = ""
                if device == "plate" and "lost" in stats:
                    outage.lost_samples = int(stats["lost"]) - lost_then
                    lost = f", {outage.lost_samples} samples lost"
                lines.append((device, f"{device} {label}: back at t={back_s:.2f} s after "
                                      f"{back_s - outage.went_s:.2f} s away{lost}"))
        return lines

    def finish(self, t_s: float) -> list[tuple[str, str]]:
        """Lines for devices still away at the end of the trial."""
        return [(device, f"{device} {outage.name}: still away at the end (t={t_s:.2f} s), {outage.how} at "
                         f"t={outage.went_s:.2f} s") for device, (outage, _, _) in self._away.items()]

    def rows(self) -> list[dict]:
        return [o.as_dict() for o in self.outages]


def _stamp_s(ns: DocumentValue, t0_host_ns: int | None, fallback_s: float) -> float:
    """A source's host monotonic stamp on the trial clock; fallback_s when it has none."""
    if isinstance(ns, int) and t0_host_ns:
        return (ns - t0_host_ns) / 1e9
    return fallback_s


def _arrived(stats: dict) -> int:
    """Samples (plate) or frames (camera) the source has received so far."""
    return int(stats.get("samples", stats.get("frames", 0)) or 0)


def _label(src: object, stats: dict) -> str:
    """The source's name, with its port when that says more (a sim plate's pty path)."""
    name = str(getattr(src, "name", "") or "")
    port = str(stats.get("port") or "")
    return f"{name} ({port})" if port and port != name else name or port or "?"
