"""The one clock: every part of telejt reads the time through :func:`now`.

Tests and ``telejt scheduler tick --at`` set it; stored timestamps are UTC.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_frozen_at: datetime | None = None


def now() -> datetime:
    """The current instant, timezone-aware in UTC (or the frozen instant)."""
    frozen = _frozen_at
    if frozen is not None:
        return frozen
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is refused, never guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC)


def freeze(moment: datetime | None) -> None:
    """Stop the clock at ``moment`` (``None`` lets it run again)."""
    global _frozen_at
    with _lock:
        _frozen_at = None if moment is None else as_utc(moment)


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward by ``delta`` and return the new instant."""
    global _frozen_at
    with _lock:
        if _frozen_at is None:
            raise RuntimeError("the clock is not frozen")
        _frozen_at = _frozen_at + delta
        return _frozen_at


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Freeze the clock at ``moment`` for the duration of a ``with`` block."""
    previous = _frozen_at
    freeze(moment)
    try:
        yield
    finally:
        freeze(previous)
