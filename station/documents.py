"""Reading a small document file (JSON or TOML) with the one-line errors every station input gives."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from station.errors import StationError

# a value as a JSON or TOML document, an HDF5 attribute or a command line gives it: what the station's
# validators take before they know its type
DocumentValue = str | bytes | int | float | bool | list | dict | None


def read_document(path: str | os.PathLike, what: str, *, parse: Callable[[str], Any] = json.loads,
                  invalid: str = "not a valid JSON {what} ({error})") -> Any:
    """The parsed content of `path` (json.loads unless `parse` says otherwise, e.g. tomllib.loads).

    A missing file is `StationError("<path>: <what> not found")`; text that does not parse (or is not
    UTF-8) is `StationError("<path>: " + invalid)` with {what} and {error} (the parser's message) filled in.
    """
    p = Path(path)
    try:
        return parse(p.read_text())
    except FileNotFoundError:
        raise StationError(f"{p}: {what} not found") from None
    except ValueError as exc:  # json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError
        raise StationError(f"{p}: " + invalid.format(what=what, error=exc)) from None
    except RecursionError:  # "[[[[..." thousands deep: both parsers recurse per level
        raise StationError(f"{p}: " + invalid.format(what=what, error="nested too deeply")) from None
