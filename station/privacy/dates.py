"""Moving dates by a subject's shift (identities.IdentityList.date_shift_days) for de-identified files.

Only the calendar day moves; the time of day stays (a morning session stays a morning session). Dates are
found as ISO days (`2026-11-21`, also inside `2026-11-21T10:05:00+00:00`) and as the station's file
stamps (`20261121-100500`), wherever they stand in a text (titles, notes, file names).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

_ISO_DAY = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_STAMP_DAY = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?=-\d{6}(?!\d))")


def _moved(match: re.Match, days: int, fmt: str) -> str:
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return match[0]  # not a date after all (a number that looks like one)
    return (day + timedelta(days=days)).strftime(fmt)


def shift_dates_in(text: str, days: int) -> str:
    """Every date in `text` moved by `days`."""
    if not days or not text:
        return text
    text = _ISO_DAY.sub(lambda m: _moved(m, days, "%Y-%m-%d"), text)
    return _STAMP_DAY.sub(lambda m: _moved(m, days, "%Y%m%d"), text)
