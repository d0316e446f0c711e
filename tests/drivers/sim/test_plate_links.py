"""The simulated plate's port link lives in a temp folder named for its process; a killed emulator cannot
remove it, so the next one removes those of processes that have gone (and only those)."""

import os
import subprocess
import sys
import tempfile

from drivers.sim.plate_emulator import LINK_PREFIX, PlateEmulator, quiet_standing_loads, remove_stale_links


def _gone_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _link_folder(tmp_path, pid: int) -> str:
    folder = tmp_path / f"{LINK_PREFIX}{pid}-abc123"
    folder.mkdir()
    os.symlink("/dev/pts/999", folder / "plate")
    return str(folder)


def test_only_the_folders_of_gone_processes_are_removed(tmp_path):
    gone = _link_folder(tmp_path, _gone_pid())
    alive = _link_folder(tmp_path, os.getpid())
    old_style = tmp_path / f"{LINK_PREFIX}k3j_x9q"  # no pid in the name: nobody's to judge
    old_style.mkdir()
    other = tmp_path / "hinge-plates-notes"
    other.mkdir()
    assert remove_stale_links(str(tmp_path)) == [gone]
    assert not os.path.exists(gone)
    assert os.path.isdir(alive) and old_style.is_dir() and other.is_dir()


def test_an_emulator_clears_the_gone_ones_names_its_own_and_removes_it_when_stopped():
    stale = tempfile.mkdtemp(prefix=f"{LINK_PREFIX}{_gone_pid()}-")  # as a killed emulator left it
    with PlateEmulator(quiet_standing_loads(), rate_hz=80) as emu:
        assert not os.path.exists(stale)
        folder = os.path.dirname(emu.port)
        assert os.path.basename(folder).startswith(f"{LINK_PREFIX}{os.getpid()}-")
        assert os.path.islink(emu.port)
    assert not os.path.exists(folder)
