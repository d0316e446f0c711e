"""The identity list: subject code -> name, date of birth and a date shift, kept apart from all data.

Trial files, sessions, the archive and exports carry the code only. The list is one JSON file of its own
(default `hinge-identities.json` in the data root, `[privacy] identities` to move it), 0600 like every
station file: apart from the archive so a lab's shared PostgreSQL or a copy of the recordings for a
study never holds a name, and so deleting this one file leaves the data anonymous. The clinic's report
reads it when asked (`report --identify`, audited); `subject add` writes it.

    {"identity_list_version": 1,
     "subjects": {"HK7Q2M9X": {"name": "...", "born": "1971-03-04", "date_shift_days": -213,
                               "added_at": "2026-11-21T10:00:00+00:00"}}}

Codes are random (`secrets`), never derived from the name. `date_shift_days` is random per subject and
the same for all of that subject's files: `export --deidentify` and `report --deidentify` move every date
by it, so intervals between visits survive and calendar dates do not. A code that has no entry (made
before the list, or by hand) gets one with only its shift the first time a de-identified file needs it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from station.errors import StationError
from station.owner_files import make_dirs, write_atomic

DEFAULT_NAME = "hinge-identities.json"
VERSION = 1
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: read aloud and typed without doubt
CODE_LENGTH = 7  # after the "H": 30**7 = 2.2e10 codes
SHIFT_MIN_DAYS, SHIFT_MAX_DAYS = 60, 365  # |shift|: never a near miss of the real date
_NAME_LIKE = re.compile(r"\s")


@dataclass
class Identity:
    code: str
    name: str | None
    born: str | None
    date_shift_days: int
    added_at: str

    def to_json(self) -> dict:
        return {"name": self.name, "born": self.born, "date_shift_days": self.date_shift_days,
                "added_at": self.added_at}


def new_code(taken: set[str] = frozenset()) -> str:
    while True:
        code = "H" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code


def new_shift_days() -> int:
    days = SHIFT_MIN_DAYS + secrets.randbelow(SHIFT_MAX_DAYS - SHIFT_MIN_DAYS + 1)
    return days if secrets.randbelow(2) else -days


def check_born(text: str) -> str:
    try:
        born = date.fromisoformat(text)
    except ValueError:
        raise StationError(f"--born {text!r}: give the date of birth as YYYY-MM-DD") from None
    if born > date.today() or born.year < 1900:
        raise StationError(f"--born {text}: not a plausible date of birth")
    return born.isoformat()


class IdentityList:
    """The list at `path`. Reads are lenient about a missing file (an empty list); writes are locked and
    atomic, so two `subject add` at once both land."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, Identity]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StationError(f"identity list {self.path}: cannot read ({exc.strerror})") from None
        try:
            data = json.loads(text)
            if data.get("identity_list_version") != VERSION:
                raise StationError(f"identity list {self.path}: identity_list_version "
                                   f"{data.get('identity_list_version')!r} is not {VERSION}")
            return {code: Identity(code, e.get("name"), e.get("born"), int(e["date_shift_days"]),
                                   str(e.get("added_at", "")))
                    for code, e in data["subjects"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StationError(f"identity list {self.path}: not a hinge-station identity list "
                               f"({exc})") from None

    def lookup(self, code: str) -> Identity | None:
        return self.read().get(code)

    def add(self, name: str, born: str | None = None) -> Identity:
        """A new subject with a fresh random code and date shift."""
        name = " ".join(name.split())
        if not name:
            raise StationError("--name: give the subject's name (it stays in the identity list only)")
        born = check_born(born) if born else None
        with self._locked() as entries:
            ident = Identity(new_code(set(entries)), name, born, new_shift_days(),
                             datetime.now(UTC).isoformat(timespec="seconds"))
            entries[ident.code] = ident
        return ident

    def date_shift_days(self, code: str) -> int:
        """The subject's shift; a code without an entry gets one (no name), kept for its next files."""
        known = self.read().get(code)
        if known is not None:
            return known.date_shift_days
        try:
            with self._locked() as entries:
                if code not in entries:
                    entries[code] = Identity(code, None, None, new_shift_days(),
                                             datetime.now(UTC).isoformat(timespec="seconds"))
                return entries[code].date_shift_days
        except OSError as exc:
            raise StationError(f"identity list {self.path}: cannot keep a date shift for {code} "
                               f"({exc.strerror}); de-identified files need one") from None

    def names(self) -> list[str]:
        return [e.name for e in self.read().values() if e.name]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Identity]]:
        """Read, let the caller change, write back; the folder's lock keeps writers in turn (the file
        itself is replaced on each write, so it cannot hold the lock)."""
        make_dirs(self.path.parent)
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            entries = self.read()
            yield entries
            doc = {"identity_list_version": VERSION,
                   "subjects": {code: e.to_json() for code, e in sorted(entries.items())}}
            write_atomic(self.path, json.dumps(doc, indent=1) + "\n")
        finally:
            os.close(fd)  # releases the lock


def name_like(value: str, names: list[str]) -> bool:
    """A subject value that is (part of) a person's name rather than a code: it has a space, or it is a
    name, or a word of a name, in the identity list (case-insensitive)."""
    if _NAME_LIKE.search(value):
        return True
    v = value.casefold()
    for name in names:
        folded = name.casefold()
        if v == folded or v in [w for w in re.split(r"[\s,]+", folded) if len(w) >= 2]:
            return True
    return False


def mentions_name(text: str, names: list[str]) -> bool:
    """Free text (an operator's notes) holding a whole name from the identity list (case-insensitive)."""
    folded = " ".join(text.casefold().split())
    return any(" ".join(name.casefold().split()) in folded for name in names if name.strip())
