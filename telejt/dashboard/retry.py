"""Run a read-and-audit request again when SQLite refuses its write.

On SQLite (the embedded default) a transaction that has read cannot start writing
once another connection, such as the scheduler's, has committed in between:
SQLite answers "database is locked" at once instead of waiting. The dashboard's
pages read, then write an audit row, so they hit this when an alert lands while a
page loads. Nothing was written (the transaction rolls back whole), so running
the request again is safe. PostgreSQL never takes this path.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

from telejt.extensions import db

F = TypeVar("F", bound=Callable[..., Any])
ATTEMPTS = 3


def is_sqlite_lock(error: OperationalError) -> bool:
    """Whether SQLite refused a write because another connection wrote first."""
    return db.session.get_bind().dialect.name == "sqlite" and "locked" in str(error.orig)


def retry_when_sqlite_locked(view: F) -> F:
    """Roll back and run the request again (a few times) when SQLite refused its write."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return view(*args, **kwargs)
            except OperationalError as error:
                if attempt == ATTEMPTS or not is_sqlite_lock(error):
                    raise
                db.session.rollback()
        raise AssertionError("unreachable")  # the loop returns or raises

    return wrapped  # type: ignore[return-value]
