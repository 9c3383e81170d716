"""Claims on the outbox: who is sending what, and settling what an interrupted sender held.

A dispatcher claims a batch (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite) by marking it ``sending`` with its name and the time,
commits, then sends it one message at a time. When a claim is interrupted (a
crash, an error, a send that outlived its deadline) the first unsettled message of
the claim may have reached the provider: it goes to ``needs_review`` with an alert
to the coordinators; the rest were never handed over and go back to the queue.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from telejt.clock import now
from telejt.extensions import db
from telejt.scheduler.models import SchedulerHeartbeat
from telejt.scheduler.workers import worker_name
from telejt.sms.models import OutboundMessage

log = logging.getLogger(__name__)

BATCH_SIZE = 200


def claim_due_messages(limit: int = BATCH_SIZE, worker: str | None = None) -> list[int]:
    """Mark up to ``limit`` due messages as being sent by this worker; commit; return their ids.

    One transaction: a SELECT of the due ids, locking them (on PostgreSQL it skips
    rows another dispatcher has locked; on SQLite the transaction holds the
    database's write lock from its start), then one UPDATE of those ids. Either
    way a message is claimed by one dispatcher only. (Not one UPDATE with the
    SELECT as its subquery: PostgreSQL may run such a subquery more than once
    and claim far more than ``limit``.)
    """
    moment = now()
    due = (
        select(OutboundMessage.id)
        .where(OutboundMessage.status == "pending", OutboundMessage.due_at <= moment)
        .order_by(OutboundMessage.due_at, OutboundMessage.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = db.session.scalars(due).all()
    if not ids:
        db.session.commit()
        return []
    claimed = db.session.scalars(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(ids), OutboundMessage.status == "pending")
        .values(
            status="sending",
            claimed_by=worker or worker_name(),
            claimed_at=moment,
            attempts=OutboundMessage.attempts + 1,
        )
        .returning(OutboundMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return sorted(claimed)


def return_unsent(ids: list[int], worker: str) -> int:
    """Give back messages of a claim that were never handed to the provider; how many."""
    if not ids:
        return 0
    returned = db.session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.id.in_(ids),
            OutboundMessage.status == "sending",
            OutboundMessage.claimed_by == worker,
        )
        .values(
            status="pending",
            attempts=func.max(OutboundMessage.attempts - 1, 0)
            if db.session.get_bind().dialect.name == "sqlite"
            else func.greatest(OutboundMessage.attempts - 1, 0),
            claimed_by=None,
            claimed_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return int(returned.rowcount)  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult


#: a dispatch pass of this process ended in an error: the next one first settles
#: what it may have left claimed (looked for only then: there is no index for it)
pass_failed = threading.Event()


def settle_own_leftovers() -> int:
    """Settle what an earlier pass of this process left claimed; returns how many.

    A loop that fails and cannot settle its claim (the database went away) leaves
    it in ``sending``; the process lives on and beats, so recovery by lease never
    takes it. The scheduler runs one dispatch pass at a time, so before a pass
    starts nothing of this process is legitimately in flight: its leftovers are
    settled as after a crash (the first of each claim to review, the rest back).
    """
    process = worker_name()
    leftovers = db.session.scalars(
        select(OutboundMessage)
        .where(
            OutboundMessage.status == "sending",
            or_(
                OutboundMessage.claimed_by == process,
                OutboundMessage.claimed_by.startswith(f"{process}/", autoescape=True),
            ),
        )
        .order_by(OutboundMessage.claimed_by, OutboundMessage.claimed_at, OutboundMessage.id)
    ).all()
    if leftovers:
        log.warning("settling %d messages an earlier dispatch pass left claimed", len(leftovers))
        _settle_claim(list(leftovers))
    db.session.commit()
    return len(leftovers)


def release_claim(failed: OutboundMessage, worker: str) -> None:
    """After an error mid-batch, settle this worker's claim at once (best effort).

    The message being sent may have reached the provider: it goes to review with a
    team alert, as after a crash. The rest of the claim was never handed over and
    goes back to the queue. If even that fails (database gone), the claim stays for
    :func:`recover_interrupted_claims` once this worker stops.
    """
    log.exception("sending a message failed; its claim is settled")
    try:
        message_id, claimed_at = failed.id, failed.claimed_at
        stuck = db.session.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.status == "sending",
                OutboundMessage.claimed_by == worker,
                OutboundMessage.claimed_at == claimed_at,
            )
            .order_by(OutboundMessage.id)
        ).all()
        _settle_claim([m for m in stuck if m.id >= message_id])
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not release the claim of %s; recovery will", worker)


def recover_interrupted_claims(lease: timedelta | None = None) -> int:
    """Settle the claims of dispatchers that died mid-batch; returns messages touched."""
    if lease is None:
        lease = timedelta(seconds=current_app.config["TELEJT_CLAIM_LEASE_SECONDS"])
    cutoff = now() - lease
    # a worker that still beats is alive, only slow (say, waiting for SQLite's lock)
    alive = set(
        db.session.scalars(
            select(SchedulerHeartbeat.worker).where(SchedulerHeartbeat.beat_at >= cutoff)
        )
    )
    stale = [
        message
        for message in db.session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.status == "sending", OutboundMessage.claimed_at < cutoff)
            .order_by(OutboundMessage.claimed_by, OutboundMessage.claimed_at, OutboundMessage.id)
            .with_for_update(skip_locked=True)
        )
        if _process_of(message.claimed_by) not in alive
    ]
    _settle_claim(stale)
    db.session.commit()
    return len(stale)


def _process_of(claimed_by: str | None) -> str | None:
    """The process (as its heartbeat names it) of a dispatch loop ``host:pid/n``."""
    return None if claimed_by is None else claimed_by.split("/", 1)[0]


def _settle_claim(messages: list[OutboundMessage]) -> None:
    """Interrupted claims, in claim then id order: the first of each to review, the rest back.

    The first unsettled message of a claim may have left before the interruption:
    a person checks the provider's log. The others were never handed over.
    """
    from telejt.sms.send_results import send_to_review

    seen_claims: set[tuple[str | None, datetime | None]] = set()
    for message in messages:
        claim = (message.claimed_by, message.claimed_at)
        if claim not in seen_claims:
            seen_claims.add(claim)
            send_to_review(message, "send interrupted; check the provider log before resending")
        else:
            message.status = "pending"
            message.attempts = max(message.attempts - 1, 0)
            message.claimed_by = None
            message.claimed_at = None
