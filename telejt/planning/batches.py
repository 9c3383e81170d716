"""Claiming contacts batch by batch, so several scheduler processes share the work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select

from telejt.extensions import db
from telejt.planning.models import Contact


def in_claimed_batches(
    query: Callable[[], Select[Any]], handle: Callable[[list[Contact]], None]
) -> int:
    """Claim batches with ``query()`` (ordered, limited) until it finds nothing; ``handle``
    and commit each.

    The query is built afresh for each batch, so it reads the clock again: what
    fell due during the run is handled in the same run. On PostgreSQL each batch is
    locked ``FOR UPDATE SKIP LOCKED``: another process takes the next batch instead
    of waiting. Each commit publishes that batch's live events at once. Returns how
    many contacts were handled.
    """
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    total = 0
    while True:
        batch = query()
        if postgresql:
            batch = batch.with_for_update(skip_locked=True, of=Contact)
        contacts = list(db.session.scalars(batch).all())
        if not contacts:
            db.session.commit()
            return total
        handle(contacts)
        db.session.commit()
        total += len(contacts)
