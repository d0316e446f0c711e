"""The test files' measured costs, by which pytest-xdist's workers are handed them, and how they are measured.

scripts/test.sh runs 4 workers on 2 cores with whole files per worker (--dist loadfile). Files are of two
kinds: most keep a core busy (in-process analysis, rendering), ~1/3 of the suite's test-seconds mostly wait
on real-time sources (recordings, plate streams, kill loops). Handed out longest first alone, the long
waiting files ran side by side in the first 100 s of a run: for ~20 s the 2 cores were 35-60 % idle (~50
idle core-s over the run). So the files are collected longest first and tests/support/mixed_scheduling.py
hands out a waiting file only while fewer than half the workers are on one (16.7 idle core-s).

The costs are the last bench/suite.py run's (tests/file_seconds.json): per file its tests' wall seconds and
CPU seconds, the CPU of the pytest process, of the processes it started and waited for, and of the commands
its warm server forked (`cpu_seconds`).
"""

from __future__ import annotations

import json
import os
import resource
from dataclasses import dataclass
from pathlib import Path

# a file whose CPU is under this share of its wall time mostly waits (measured with 4 workers on 2 cores:
# busy files 0.45-0.9, recordings and streams 0.05-0.3)
WAITING_SHARE = 0.35


@dataclass(frozen=True)
class FileCost:
    """One test file's summed test time: wall seconds and CPU seconds (None: not measured, taken as busy)."""

    wall_s: float
    cpu_s: float | None = None

    @property
    def waits(self) -> bool:
        return self.cpu_s is not None and self.wall_s > 0 and self.cpu_s < WAITING_SHARE * self.wall_s


def read_costs(path: Path) -> dict[str, FileCost]:
    """tests/file_seconds.json: {file: {"wall_s", "cpu_s"}}; {} when it is missing or unreadable (then
    collection order stays as pytest found it)."""
    try:
        raw = json.loads(path.read_text())
        return {name: FileCost(float(v["wall_s"]), v.get("cpu_s")) for name, v in raw.items()}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def longest_first(costs: dict[str, FileCost]) -> list[str]:
    """The files in collection order: the longest first (ties by name)."""
    return sorted(costs, key=lambda name: (-costs[name].wall_s, name))


def cpu_seconds(server_pid: int | None) -> float:
    """CPU seconds so far of this process, of its children it has waited for (and theirs), and of the warm
    command server `server_pid` with the commands it has reaped (0 for it when there is none)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    if server_pid is not None:
        try:
            with open(f"/proc/{server_pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # utime, stime, cutime, cstime: its own and its reaped commands' (with their reaped children)
            total += sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass  # it has just ended: its commands were counted up to the last reading
    return total
