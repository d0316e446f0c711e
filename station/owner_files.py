"""Every file the station writes is readable by its owner only: files 0600, folders it creates 0700.

With `[privacy] group = "clinic"` in the station TOML (set_group, called by load_config) files become 0640
and new folders 0750 + setgid, all owned by that group, so the clinic's staff can read them. Folders that
already exist are never changed (a home or a shared root is not the station's to re-mode).

Every writer goes through this module: `prepare(path)` before a library writes the file itself (h5py,
ezc3d, matplotlib, SQLite keep the mode of a file that exists), `open_private` / `write_text` /
`write_atomic` for our own writes, `make_dirs` for folders. `cli.main` also narrows the process umask
(`restrict_umask`), so anything a library creates beside (a journal, a temp file) is private too.
A mode or group that cannot be set (a file system without them) is left as it is: never a lost trial.
"""

from __future__ import annotations

import contextlib
import grp
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from station.errors import StationError

PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700
GROUP_FILE, GROUP_DIR = 0o640, 0o2750  # setgid: files made inside later belong to the group too
_policy: dict = {"group": "", "gid": None}


def set_group(name: str) -> None:
    """`[privacy] group`: "" = owner only; else files readable by this group (which must exist and hold
    the user: a typo must not silently leave files private to one login, or expose them)."""
    name = (name or "").strip()
    if not name:
        _policy.update(group="", gid=None)
        return
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        raise StationError(f"[privacy] group = {name!r}: no such group on this machine") from None
    if os.geteuid() != 0 and gid != os.getegid() and gid not in os.getgroups():
        raise StationError(f"[privacy] group = {name!r}: this user is not in it (sudo usermod -aG {name} "
                           "$USER, then log in again)")
    _policy.update(group=name, gid=gid)


def group() -> str:
    return _policy["group"]


def file_mode() -> int:
    return GROUP_FILE if _policy["gid"] is not None else PRIVATE_FILE


def dir_mode() -> int:
    return GROUP_DIR if _policy["gid"] is not None else PRIVATE_DIR


def restrict_umask() -> int:
    """Owner-only defaults for anything created by this process; returns the previous umask."""
    return os.umask(0o077)


def secure(path: str | os.PathLike) -> Path:
    """Give a file (or a folder the station made) the station's mode and group."""
    p = Path(path)
    try:
        is_dir = p.is_dir()
        os.chmod(p, dir_mode() if is_dir else file_mode())
        if _policy["gid"] is not None:
            os.chown(p, -1, _policy["gid"])
    except OSError:
        pass
    return p


def make_dirs(path: str | os.PathLike) -> Path:
    """mkdir -p: the folders made here get the station's folder mode; existing ones stay as they are."""
    p = Path(path)
    missing = []
    q = p
    while not q.exists() and q != q.parent:
        missing.append(q)
        q = q.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # made by another process meanwhile: theirs
        secure(folder)
    return p


def prepare(path: str | os.PathLike) -> Path:
    """Create `path` (empty, if missing) with the station's mode before a library writes it; an existing
    file keeps its content and gets the station's mode."""
    p = Path(path)
    make_dirs(p.parent if str(p.parent) else Path("."))
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, file_mode())
    os.close(fd)
    return secure(p)


@contextlib.contextmanager
def open_private(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """open() whose new file is created with the station's mode (no moment readable by others)."""
    p = Path(path)
    make_dirs(p.parent if str(p.parent) else Path("."))
    with open(p, mode, opener=lambda name, flags: os.open(name, flags, file_mode()), **kwargs) as fh:
        secure(p)  # an existing file keeps its old mode through open(): set it
        yield fh


def write_text(path: str | os.PathLike, text: str) -> Path:
    with open_private(path, "w") as fh:
        fh.write(text)
    return Path(path)


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write beside, then rename: an interrupted write never leaves half a file under the real name."""
    p = Path(path)
    make_dirs(p.parent if str(p.parent) else Path("."))
    fd, tmp = tempfile.mkstemp(prefix=p.name + ".", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        secure(tmp)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def exposed_warning(folder: str | os.PathLike) -> str | None:
    """One line when a recordings folder can be read by others (any user on this machine), else None."""
    p = Path(folder)
    try:
        mode = p.stat().st_mode
    except OSError:
        return None
    if not stat.S_ISDIR(mode) or not mode & stat.S_IROTH:  # not a folder: the command says so itself
        return None
    return (f"recordings folder {p} can be read by every user of this machine (mode {stat.S_IMODE(mode):o}): "
            f"chmod o-rwx {p}")
