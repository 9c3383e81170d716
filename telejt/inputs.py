"""Numbers and dates typed into URLs and forms, refused when no record could match them.

Python's ``int`` and ``date`` take values the rest of the stack cannot: an id of
twenty digits overflows PostgreSQL's bigint (a DataError) and SQLite's integer (an
OverflowError); 0001-01-01 and 9999-12-31 are valid dates until a time zone or a
day is added to them. Each of those was a 500. These helpers give a ValueError
instead, which the views answer with 400 or ignore as a filter.
"""

from __future__ import annotations

import re
from datetime import date

#: ids and page numbers stop here (PostgreSQL's bigint; SQLite's integer)
MAX_INT = 2**63 - 1
#: dates outside these years are typing mistakes or attacks, not program dates
FIRST_YEAR = 1900
LAST_YEAR = 2200


def bounded_int(text: str | None, *, low: int = 0, high: int = MAX_INT) -> int:
    """A whole number from ``low`` to ``high``; ValueError for anything else."""
    value = (text or "").strip()
    if not re.fullmatch(r"-?\d{1,19}", value):
        raise ValueError(f"not a whole number: {value[:30]!r}")
    number = int(value)
    if not low <= number <= high:
        raise ValueError(f"{number} is not from {low} to {high}")
    return number


def iso_day(text: str | None) -> date:
    """A calendar day written YYYY-MM-DD, in a plausible year; ValueError otherwise."""
    day = date.fromisoformat((text or "").strip())
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"year {day.year} is out of range")
    return day
