"""Where the identity list lives (station.privacy.identities) and the rule it guards: a subject is given
by code, never by name.

The list is a file of its own beside the archive: `[privacy] identities` in the station TOML, else
`$HINGE_IDENTITIES`, else `hinge-identities.json` in the data root.
"""

from __future__ import annotations

import os
from pathlib import Path

from station.archive.location import data_root
from station.config import StationConfig
from station.errors import StationError
from station.privacy.identities import DEFAULT_NAME, IdentityList, mentions_name, name_like


def identities_path(config: StationConfig) -> Path:
    given = config.privacy.identities or os.environ.get("HINGE_IDENTITIES")
    return Path(given).expanduser().resolve() if given else data_root(config) / DEFAULT_NAME


def identity_list(config: StationConfig) -> IdentityList:
    return IdentityList(identities_path(config))


def _names(config: StationConfig) -> list[str]:
    try:
        return identity_list(config).names()
    except StationError:
        return []  # a list this login cannot read: the space rule still holds


def check_notes(text: str, config: StationConfig, flag: str = "--notes") -> str:
    """Refuse free text that names a subject of the identity list (it would be kept in the trial)."""
    if text and mentions_name(text, _names(config)):
        raise StationError(f"{flag}: holds a name from the identity list; write the subject's code instead")
    return text


def check_subject(value: str, config: StationConfig, flag: str = "--subject") -> str:
    """Refuse a subject given by name (one line; the value is not repeated, it may be a name)."""
    value = value.strip()
    if not value:
        raise StationError(f"{flag}: give the subject's code")
    if name_like(value, _names(config)):
        raise StationError(f"{flag}: that looks like a name, not a subject code; records carry codes only "
                           "(`hinge-station subject add --name \"...\"` gives one)")
    return value
