"""`hinge-station` commands for the tests, each a real process forked from a warm one.

A fresh interpreter pays ~1.5-2 CPU-s of imports (scipy.signal, numba's compiled disc finder, SQLAlchemy,
h5py, ...) before a command does anything; the suite starts ~150 commands on 2 cores. So each pytest
process keeps one server that has imported the station once (no thread running: it is safe to fork) and
forks one child per command. The child is a separate process with its own pid, stdin/stdout/stderr, working
folder and environment; it runs the same `station.cli.main(argv)` as `python -m station`, then ends as the
interpreter's shutdown ends it (non-daemon threads joined, atexit handlers run, output flushed), so its exit
code, files and output are the command's own. Tests that must start a fresh interpreter (kill, fuzz, the
plain install in .ci/run) still do. HINGE_TEST_COLD_CLI=1 runs every command as `python -m station`
instead, to compare.
"""

from __future__ import annotations

import atexit
import gc
import io
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

REPO = Path(__file__).resolve().parents[2]
# imported once in the server: every command's heavy imports (each command module imports more lazily)
PRELOAD = ("numpy", "scipy.signal", "scipy.interpolate", "scipy.ndimage", "scipy.optimize", "h5py", "serial",
           "sqlalchemy", "station.cli", "station.trial.runner", "station.trial.consumers",
           "station.markers.tracking", "station.recording.writer", "station.recording.reader",
           "station.archive.station_archive", "station.archive.index", "station.analysis.analyze",
           "drivers.registry", "drivers.sim.simplate", "drivers.sim.simcamera", "drivers.sim.render_process",
           "calibration.plate",
           # and what the commands import when they first need it (each ~0.1-0.6 CPU-s a command): the
           # report's figures and PDF (matplotlib, fontTools), an archive's migrations (alembic), the camera
           # (pyrealsense2, cv2) and the virtual dowel, exports, the screening's sets
           "alembic.command", "alembic.config", "alembic.runtime.migration", "cv2", "pyrealsense2",
           "sqlalchemy.dialects.postgresql", "zoneinfo", "statistics", "multiprocessing.popen_spawn_posix",
           "multiprocessing.queues", "multiprocessing.synchronize", "matplotlib.figure",
           "matplotlib.backends.backend_agg", "matplotlib.backends.backend_pdf", "fontTools.subset",
           "station.report.write", "station.report.pdf", "station.report.html", "station.report.figures",
           "station.report.history", "station.report.progress", "station.export.csv_files",
           "station.archive.audit", "station.archive.queries", "station.archive.decisions",
           "station.screening.sets", "station.analysis.h5_input", "station.dowel.tracker",
           "station.dowel.step", "calibration.sync", "drivers.sim.timeline", "station.archive.identity_list",
           "station.privacy.dates", "station.privacy.identities", "station.export.trial_info", "PIL.Image",
           "PIL.PngImagePlugin")


def _preload() -> None:
    import importlib

    from drivers.sim.hull_reach import warm_up as warm_subject_loop
    from station.cli import COMMANDS
    from station.markers.discs import warm_up

    for name in (*PRELOAD, *(module for module, _ in COMMANDS.values())):
        importlib.import_module(name)
    warm_up()  # numba's compiled loops loaded (or compiled) once, not in every recording
    warm_subject_loop()  # (the simulated subject's, for every sim source a command opens)
    gc.freeze()  # what is loaded stays out of the children's collections: their pages stay shared


def _threads() -> int:
    """Threads of this process as the kernel sees them (native ones included)."""
    return len(os.listdir("/proc/self/task"))


def serve(listen_fd: int) -> None:
    """The server's loop: per connection one request (argv, cwd, env; stdin/stdout/stderr as passed fds),
    answered "PID n FORK_NS" at the fork (its monotonic time) and "EXIT code" when the child ends (code as
    subprocess gives it)."""
    _preload()
    if _threads() != 1:
        raise SystemExit(f"warm_cli: {_threads()} threads after the imports: forking would not be safe")
    listener = socket.socket(fileno=listen_fd)
    waiting: dict[int, socket.socket] = {}  # child pid -> the connection that asked for it
    parent = os.getppid()
    while os.getppid() == parent:  # a pytest process that died without a word leaves no server behind
        readable, _, _ = select.select([listener], [], [], 0.02 if waiting else 1.0)
        for pid, conn in list(waiting.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                try:
                    conn.sendall(f"EXIT {os.waitstatus_to_exitcode(status)}\n".encode())
                except OSError:  # the asker gave up on it (a timeout) and has gone
                    pass
                conn.close()
                del waiting[pid]
        if not readable:
            continue
        conn, _ = listener.accept()
        message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
        if not message:  # the pytest process asks the server to end
            return
        request = json.loads(message)
        sys.stdout.flush()
        sys.stderr.flush()
        fork_ns = time.monotonic_ns()
        pid = os.fork()
        if pid == 0:
            listener.close()
            conn.close()
            for child_conn in waiting.values():
                child_conn.close()
            _become_command(request, fds)  # does not return
        for fd in fds:
            os.close(fd)
        conn.sendall(f"PID {pid} {fork_ns}\n".encode())
        waiting[pid] = conn


def _become_command(request: dict, fds: list[int]) -> None:
    """In the forked child: the command's stdio, folder and environment, then `hinge-station ARGV`."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [str(REPO / "station" / "__main__.py"), *request["argv"]]
    sys.path[0] = request["cwd"]  # as `python -m` puts it
    from station.cli import main

    _end_as_the_interpreter(lambda: main(request["argv"]))


def _end_as_the_interpreter(command: Callable[[], object]) -> NoReturn:
    """Run `command` and end the process as the interpreter would end `python -m station` for it: the same
    exit code and message, an uncaught exception's traceback, the non-daemon threads joined, the atexit
    handlers run (logging, multiprocessing's children, weakref finalizers, temporary folders), stdout and
    stderr flushed; the steps and their order of CPython's Py_FinalizeEx. Not its last step, tearing down
    every module: the child shares the server's imported heap copy-on-write, and that teardown wrote to
    every object in it, copying it page by page (~80 ms of CPU per command, most of it the kernel's)."""
    interrupted = False
    try:
        status = command()
    except SystemExit as end:
        status = end.code
    except BaseException as error:  # as the interpreter reports an uncaught exception
        sys.excepthook(type(error), error, error.__traceback__)
        status, interrupted = 1, isinstance(error, KeyboardInterrupt)
    if status is None:
        code = 0
    elif isinstance(status, int):
        code = status & 0xFF
    else:  # sys.exit("message"): the message on stderr, exit code 1
        print(status, file=sys.stderr)
        code = 1
    threading._shutdown()  # what Py_FinalizeEx does first: wait for the non-daemon threads
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if interrupted:  # the interpreter ends an uncaught KeyboardInterrupt by SIGINT, as the shell expects
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


class WarmProcess:
    """A command forked by the server: pid, fork_ns (monotonic), wait(timeout) -> exit code, kill(),
    kill_at(ns)."""

    def __init__(self, conn: socket.socket, argv: list[str]) -> None:
        self.conn, self.args = conn, argv
        self.returncode: int | None = None
        self._reply = conn.makefile("rb", buffering=0)  # unbuffered: select() on the socket tells the truth
        pid, fork_ns = self._expect("PID", 2)
        self.pid, self.fork_ns = int(pid), int(fork_ns)

    def _expect(self, word: str, fields: int = 1) -> list[str]:
        try:
            line = self._reply.readline().decode().split()
        except ConnectionResetError:
            line = []
        if len(line) != fields + 1 or line[0] != word:
            raise RuntimeError(f"warm_cli: the server ended ({word} expected for {self.args}): see stderr")
        return line[1:]

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self.conn], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout)
            self.returncode = int(self._expect("EXIT")[0])
            self.conn.close()
        return self.returncode

    def kill_at(self, at_ns: int) -> tuple[int, str]:
        """SIGKILL at the monotonic instant at_ns unless the command ended first: (that instant or its end,
        "killed" or "exited:N")."""
        try:
            self.wait(max(0.0, (at_ns - time.monotonic_ns()) / 1e9))
            return time.monotonic_ns(), f"exited:{self.returncode}"
        except subprocess.TimeoutExpired:
            kill_ns = time.monotonic_ns()
            self.kill()
            self.wait(60)
            return kill_ns, "killed"

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class WarmServer:
    """One per pytest process, started on first use, ended at exit."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="hinge-warm-cli-")
        self.path = os.path.join(self.folder, "s")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(16)
        # no BLAS/OpenMP/OpenCV thread pool may exist when it forks (scripts/test.sh asks for one thread too)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENCV_FOR_THREADS_NUM="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", f"from tests.support.warm_cli import serve; serve({listener.fileno()})"],
            cwd=REPO, env=env, pass_fds=[listener.fileno()], stdin=subprocess.DEVNULL)
        listener.close()

    def start(self, argv: list[str], *, cwd: Path | str, env: dict[str, str], stdout: int, stderr: int,
              stdin: int) -> WarmProcess:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self.path)
        request = {"argv": list(argv), "cwd": str(Path(cwd).resolve()), "env": dict(env)}
        socket.send_fds(conn, [json.dumps(request).encode()], [stdin, stdout, stderr])
        return WarmProcess(conn, argv)

    def close(self) -> None:
        if self.proc.poll() is None:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(self.path)
            socket.send_fds(conn, [b""], [])
            conn.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


_server: WarmServer | None = None
_server_lock = threading.Lock()


def running_server_pid() -> int | None:
    """The pid of this process's warm server, None before its first command (its CPU is measured per test
    file: tests/support/file_order.py)."""
    server = _server
    return server.proc.pid if server is not None else None


def the_server() -> WarmServer:
    global _server
    with _server_lock:
        if _server is None or _server.proc.poll() is not None:
            import atexit

            _server = WarmServer()
            atexit.register(_server.close)
        return _server


def run_commands(commands: list[list[str]], *, timeout: float, cwd: Path | str, env: dict[str, str] | None
                 ) -> list[subprocess.CompletedProcess]:
    """Run `hinge-station ARGS` for each of commands at once; their CompletedProcess (text output) in order.
    On a timeout every one is killed and subprocess.TimeoutExpired raised, as subprocess.run does."""
    env = dict(os.environ if env is None else env)
    if os.environ.get("HINGE_TEST_COLD_CLI"):
        return _run_cold(commands, timeout=timeout, cwd=cwd, env=env)
    server = the_server()
    outputs = [(tempfile.TemporaryFile(), tempfile.TemporaryFile()) for _ in commands]
    with open(os.devnull, "rb") as devnull:
        procs = [server.start(args, cwd=cwd, env=env, stdin=devnull.fileno(), stdout=out.fileno(),
                              stderr=err.fileno())
                 for args, (out, err) in zip(commands, outputs, strict=True)]
    deadline = time.monotonic() + timeout
    try:
        for proc in procs:
            proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        for proc in procs:
            proc.kill()
        raise
    done = []
    for args, proc, (out, err) in zip(commands, procs, outputs, strict=True):
        texts = []
        for f in (out, err):
            f.seek(0)
            texts.append(f.read().decode())
            f.close()
        done.append(subprocess.CompletedProcess([sys.executable, "-m", "station", *args], proc.returncode,
                                                *texts))
    return done


class StartedCommand:
    """A warm command left running, with the part of subprocess.Popen's interface the tests use: pid,
    poll(), wait(timeout), terminate(), kill(), communicate(timeout), returncode; stdout a text pipe read
    while it runs, stderr a file read once it has ended (a pipe nobody reads could fill and stall it)."""

    def __init__(self, server: WarmServer, argv: list[str], *, cwd: Path | str, env: dict[str, str]) -> None:
        self.args = [sys.executable, "-m", "station", *argv]
        read_end, write_end = os.pipe()
        self._err = tempfile.TemporaryFile()
        self._lock = threading.Lock()  # poll() from a watching thread while the test waits
        try:
            with open(os.devnull, "rb") as devnull:
                self._proc = server.start(argv, cwd=cwd, env=env, stdin=devnull.fileno(), stdout=write_end,
                                          stderr=self._err.fileno())
        finally:
            os.close(write_end)  # the command holds the only write end: its exit is the pipe's end
        self.stdout = open(read_end, encoding="utf-8", errors="replace")  # noqa: SIM115 (closed at the end)
        self.pid = self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self._proc.returncode is None:
            try:  # the blocking part outside the lock, so that a poll() meanwhile is not held up
                select.select([self._proc.conn], [], [], timeout)
            except (OSError, ValueError):  # a poll() has just read the end and closed the connection
                pass
        try:
            with self._lock:
                return self._proc.wait(0)
        except subprocess.TimeoutExpired:
            raise subprocess.TimeoutExpired(self.args, timeout) from None

    def poll(self) -> int | None:
        try:
            with self._lock:
                return self._proc.wait(0)
        except subprocess.TimeoutExpired:
            return None

    def terminate(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGTERM)

    def kill(self) -> None:
        with self._lock:
            self._proc.kill()

    @property
    def stderr(self) -> io.StringIO:
        """What the command wrote to stderr so far, as a text file to read()."""
        self._err.seek(0)
        return io.StringIO(self._err.read().decode(errors="replace"))

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        out = self.stdout.read()
        self.stdout.close()
        return out, self.stderr.read()


def start_command(argv: list[str], *, cwd: Path | str, env: dict[str, str] | None
                  ) -> StartedCommand | subprocess.Popen:
    """`hinge-station ARGV` started, not waited for: a StartedCommand (forked warm), or under
    HINGE_TEST_COLD_CLI a subprocess.Popen of a fresh interpreter (text pipes)."""
    env = dict(os.environ if env is None else env)
    if os.environ.get("HINGE_TEST_COLD_CLI"):
        return subprocess.Popen([sys.executable, "-m", "station", *argv], cwd=cwd, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    return StartedCommand(the_server(), argv, cwd=cwd, env=env)


def _run_cold(commands: list[list[str]], *, timeout: float, cwd: Path | str, env: dict[str, str]
              ) -> list[subprocess.CompletedProcess]:
    procs = [subprocess.Popen([sys.executable, "-m", "station", *args], cwd=cwd, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
             for args in commands]
    done = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done
