"""The order in which the test files are handed to pytest's workers (tests/support/file_order.py)."""

import json
import subprocess
import sys

from tests.support.file_order import FileCost, cpu_seconds, longest_first, read_costs

BURN_0_4_S = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass"


def test_files_that_wait_are_told_by_their_cpu_share_and_all_are_collected_longest_first():
    costs = {
        "a_busy_10.py": FileCost(10.0, 8.0),
        "b_wait_30.py": FileCost(30.0, 3.0),      # 0.10 of its wall: waits
        "d_wait_12.py": FileCost(12.0, 4.0),      # 0.33: waits
        "e_unmeasured_5.py": FileCost(5.0),       # no CPU known: taken as busy
        "f_busy_10.py": FileCost(10.0, 3.6),      # 0.36: busy
        "h_wait_0.py": FileCost(0.0, 0.0),        # no wall: nothing to say it waits
    }
    assert {name for name, cost in costs.items() if cost.waits} == {"b_wait_30.py", "d_wait_12.py"}
    assert longest_first(costs) == ["b_wait_30.py", "d_wait_12.py", "a_busy_10.py", "f_busy_10.py",
                                    "e_unmeasured_5.py", "h_wait_0.py"]


def test_costs_read_and_none_from_a_missing_or_unreadable_file(tmp_path):
    path = tmp_path / "file_seconds.json"
    path.write_text(json.dumps({"x.py": {"wall_s": 12.5, "cpu_s": 2.0}, "y.py": {"wall_s": 7.0}}))
    assert read_costs(path) == {"x.py": FileCost(12.5, 2.0), "y.py": FileCost(7.0, None)}
    assert read_costs(tmp_path / "missing.json") == {}
    for text in ("{not json", json.dumps({"x.py": 12.5})):
        path.write_text(text)
        assert read_costs(path) == {}


def test_cpu_seconds_count_a_child_once_it_is_waited_for():
    before = cpu_seconds(None)
    subprocess.run([sys.executable, "-c", BURN_0_4_S], check=True)
    assert cpu_seconds(None) - before >= 0.4


def test_cpu_seconds_count_the_commands_a_server_has_reaped():
    """The warm server's forked commands are its children, not the test's: counted through its /proc entry."""
    server = subprocess.Popen([sys.executable, "-c", "import subprocess, sys\n"
                               f"print('up', flush=True); sys.stdin.readline()\n"
                               f"subprocess.run([sys.executable, '-c', {BURN_0_4_S!r}])\n"
                               "print('reaped', flush=True); sys.stdin.readline()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline() == "up\n"
        before = cpu_seconds(server.pid)
        server.stdin.write("go\n")
        server.stdin.flush()
        assert server.stdout.readline() == "reaped\n"
        assert cpu_seconds(server.pid) - before >= 0.4
    finally:
        server.communicate("end\n", timeout=10)


class _Worker:
    """What the scheduler asks of a pytest-xdist worker here: run these tests (indexes in its collection)."""

    def __init__(self, collection: list[str]) -> None:
        self.collection, self.ran = collection, []

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.ran.append(self.collection[indexes[0]].split("::")[0])


def test_each_file_handed_out_keeps_files_that_wait_on_at_most_half_the_workers():
    from collections import OrderedDict

    from tests.support.mixed_scheduling import MixedLoadFileScheduling

    costs = {"busy1.py": FileCost(50.0, 40.0), "wait1.py": FileCost(40.0, 4.0),
             "busy2.py": FileCost(30.0, 20.0), "wait2.py": FileCost(20.0, 2.0),
             "wait3.py": FileCost(15.0, 1.0), "busy3.py": FileCost(10.0, 9.0)}
    order = longest_first(costs)
    collection = [f"{name}::test_{k}" for name in order for k in range(3)]
    class Scheduler(MixedLoadFileScheduling):
        nodes = property(lambda self: workers)

    sched = Scheduler.__new__(Scheduler)  # (no pytest config: only the choice of file is checked)
    sched._waits = {name for name, cost in costs.items() if cost.waits}
    sched.workqueue = OrderedDict((name, {f"{name}::test_{k}": False for k in range(3)}) for name in order)
    workers = [_Worker(collection) for _ in range(4)]
    sched.assigned_work, sched.registered_collections = {}, {w: collection for w in workers}
    for w in workers:
        sched._assign_work_unit(w)
    # two workers wait, two keep the cores busy, each kind longest first
    assert [w.ran for w in workers] == [["wait1.py"], ["wait2.py"], ["busy1.py"], ["busy2.py"]]
    for nodeid in sched.assigned_work[workers[0]]["wait1.py"]:  # the first ends: another that waits
        sched.assigned_work[workers[0]]["wait1.py"][nodeid] = True
    sched._assign_work_unit(workers[0])
    assert workers[0].ran[-1] == "wait3.py"
    sched._assign_work_unit(workers[2])  # still two waiting in progress: a busy one
    assert workers[2].ran[-1] == "busy3.py" and not sched.workqueue
