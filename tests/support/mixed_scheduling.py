"""pytest-xdist's whole-file scheduling (--dist loadfile), choosing each file by what the other workers run.

Handed out in collection order alone (longest first), the long files that wait on real-time sources ran
side by side and left the 2 cores idle; alternating busy and waiting files in that order still let three
workers sit on waiting files at once when busy files of different lengths ended out of step. So when a
worker asks for its next file, this scheduler counts the files that wait among those handed out and not
finished: fewer than half of the workers on them, it hands out the next waiting file; else the next busy
one (each in collection order: longest first); the other kind when one runs out. Files and tests are
otherwise handed out as xdist's LoadFileScheduling does (tests/support/file_order.py: the costs).
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadFileScheduling

from tests.support.file_order import FileCost


class MixedLoadFileScheduling(LoadFileScheduling):
    def __init__(self, config: Any, log: Any, costs: dict[str, FileCost]) -> None:
        super().__init__(config, log)
        self._waits = {name for name, cost in costs.items() if cost.waits}

    def _waiting_in_progress(self) -> int:
        """Files that wait, handed out to any worker and with tests still to run."""
        return sum(scope in self._waits and not all(done.values())
                   for work in self.assigned_work.values() for scope, done in work.items())

    def _assign_work_unit(self, node: Any) -> None:
        want_waiting = self._waiting_in_progress() < max(1, len(self.nodes) // 2)
        chosen = next((scope for scope in self.workqueue if (scope in self._waits) == want_waiting), None)
        if chosen is not None:
            self.workqueue.move_to_end(chosen, last=False)  # the base class takes the queue's first
        super()._assign_work_unit(node)
