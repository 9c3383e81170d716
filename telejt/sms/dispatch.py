"""The dispatcher: claims due messages from the outbox and hands them to the SMS backend.

The outbox table is the queue. A dispatcher claims a batch (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) by marking it ``sending``
with its name and the time, commits, then sends the batch one message at a time
in id order, committing each result before the next send.

A crash (SIGKILL, power) therefore leaves at most one message whose fate is
unknown: the lowest-id ``sending`` message of the dead claim may have reached the
provider before the crash. A claim is dead when it is older than the lease
(``TELEJT_CLAIM_LEASE_SECONDS``) and its worker has not beaten within the lease.
:func:`recover_interrupted_claims` returns every other message of the claim to
``pending`` (they were never handed over) and puts that one in ``needs_review``
with an alert to the coordinators: a person checks the provider's log before it
is sent again. Nothing is lost and nothing is sent twice silently.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from telejt.clock import now
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.reminders import quiet_period_end, quiet_period_start
from telejt.protocols.current import protocol_for
from telejt.scheduler.models import SchedulerHeartbeat
from telejt.sms.backends import SmsSendError, sender_for
from telejt.sms.models import OutboundMessage
from telejt.sms.outbox import skip_message
from telejt.sms.render import render_message

log = logging.getLogger(__name__)

BATCH_SIZE = 200
MAX_ATTEMPTS = 5
#: waits after the 1st, 2nd, … transient failure
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
#: purposes that go out even for a contact that is no longer open
NOTICE_PURPOSES = (
    "change_notice",
    "attendance_confirmation",
    "optout_confirmation",
    "crisis_reply",
    "help_reply",
    "checkin_question",
    "checkin_done",
    "keyword_reply",
)


def worker_name() -> str:
    """host:pid, to know who claimed what."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class DispatchReport:
    """What one dispatch pass did."""

    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        """All messages this pass took care of."""
        return self.sent + self.skipped + self.retried + self.failed


def claim_due_messages(limit: int = BATCH_SIZE, worker: str | None = None) -> list[int]:
    """Mark up to ``limit`` due messages as being sent by this worker; commit; return their ids.

    One UPDATE does the claim: on PostgreSQL its subquery skips rows another
    dispatcher has locked; on SQLite the statement holds the database's write lock.
    Either way a message is claimed by one dispatcher only.
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
    claimed = db.session.scalars(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(due.scalar_subquery()), OutboundMessage.status == "pending")
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


def _skip_reason(message: OutboundMessage, moment: datetime) -> str | None:
    participant = message.participant
    if participant.status != "active" and message.purpose not in ("optout_confirmation",):
        return f"participant_{participant.status}"
    if message.purpose != "optout_confirmation":
        if participant.sms_opted_out_at is not None:
            return "opted_out"
        if not participant.has_consent("sms"):
            return "no_sms_consent"
    contact = message.contact
    if contact is not None and message.purpose not in NOTICE_PURPOSES:
        if not contact.is_open or (contact.starts_at <= moment and message.purpose == "reminder"):
            return "contact_closed"
        if message.purpose == "checkin_start" and contact.deadline_at <= moment:
            return "contact_closed"
        if message.purpose == "nudge" and (
            contact.status == "in_progress" or contact.modality != "video"
        ):
            return "already_joined" if contact.status == "in_progress" else "not_video"
        if message.purpose == "nudge" and contact.deadline_at <= moment:
            return "contact_closed"
    return None


def _defer_for_quiet_hours(message: OutboundMessage, moment: datetime) -> bool:
    """A message found due inside quiet hours (say, after an outage) waits for morning."""
    if message.purpose in (
        "crisis_reply",
        "help_reply",
        "optout_confirmation",
        "checkin_question",
        "checkin_done",
        "keyword_reply",
    ):
        return False  # answers to what he just wrote go at once
    participant = message.participant
    quiet = protocol_for(participant.protocol_id, participant.protocol_version).quiet_hours
    zone = ZoneInfo(participant.timezone)
    if quiet_period_start(moment, zone, quiet) is None:
        return False
    morning = quiet_period_end(moment, zone, quiet)
    contact = message.contact
    if message.purpose == "reminder" and contact is not None and contact.starts_at <= morning:
        skip_message(message, "quiet_hours")
    else:
        message.status = "pending"
        message.due_at = morning
        message.attempts -= 1
    return True


def send_one(message: OutboundMessage, report: DispatchReport) -> None:
    """Send one claimed message and record what happened (the caller commits)."""
    from telejt.sms.delivery import record_permanent_failure

    moment = now()
    reason = _skip_reason(message, moment)
    if reason:
        skip_message(message, reason)
        report.skipped += 1
        return
    if _defer_for_quiet_hours(message, moment):
        report.skipped += 1
        return
    if message.purpose == "checkin_start" and message.contact is not None:
        contact = message.contact
        if (
            contact.pending_question_id is None
            and contact.question_ids
            and contact.delivery != "link"
        ):
            contact.pending_question_id = contact.question_ids[0]
    body = render_message(message)
    message.body = body
    message.to_phone = message.participant.phone
    try:
        result = sender_for(current_app).send(to=message.participant.phone, body=body)
    except SmsSendError as exc:
        message.error_code = exc.code
        message.status_at = now()
        if exc.permanent or message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            message.status_reason = str(exc)[:200]
            record_permanent_failure(message)
            report.failed += 1
        else:
            message.status = "pending"
            message.due_at = now() + BACKOFF[min(message.attempts, len(BACKOFF)) - 1]
            message.status_reason = f"retry: {exc}"[:200]
            report.retried += 1
        return
    message.provider_sid = result.provider_sid
    message.status = result.status
    message.sent_at = message.status_at = now()
    report.sent += 1
    if message.purpose == "nudge" and message.contact is not None:
        from telejt.sessions.services import record_nudge

        record_nudge(message.contact)


def _message_graph() -> list[Any]:
    """What sending one message reads, loaded with it in one query (not a lazy load each)."""
    return [
        joinedload(OutboundMessage.participant).joinedload(Participant.consents),
        joinedload(OutboundMessage.contact),
    ]


def dispatch_due_messages(limit: int = BATCH_SIZE, worker: str | None = None) -> DispatchReport:
    """Send everything due now, batch after batch, until nothing is due.

    Each message is read afresh, with its participant, consents and contact, in one
    query right before it is sent (the previous commit expired what the session held),
    so an opt-out or a cancellation committed meanwhile is honoured.
    """
    report = DispatchReport()
    worker = worker or worker_name()
    graph = _message_graph()
    while True:
        ids = claim_due_messages(limit, worker)
        if not ids:
            return report
        for message_id in sorted(ids):
            message = db.session.get(OutboundMessage, message_id, options=graph)
            if message is None or message.status != "sending" or message.claimed_by != worker:
                continue
            try:
                send_one(message, report)
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("sending message %s failed; it stays claimed for review", message_id)
                raise


def recover_interrupted_claims(lease: timedelta | None = None) -> int:
    """Settle the claims of dispatchers that died mid-batch; returns messages touched."""
    from telejt.alerts.services import raise_alert

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
        if message.claimed_by not in alive
    ]
    seen_claims: set[tuple[str | None, datetime | None]] = set()
    for message in stale:
        claim = (message.claimed_by, message.claimed_at)
        if claim not in seen_claims:
            # the first of the claim may have left before the crash: a person decides
            seen_claims.add(claim)
            message.status = "needs_review"
            message.status_reason = "send interrupted; check the provider log before resending"
            message.status_at = now()
            raise_alert(
                participant=message.participant,
                contact=message.contact,
                kind="reachability",
                severity="warning",
                attribution="system",
                audience="team",
                dedupe_key=f"review:{message.id}",
                reason="send_interrupted",
            )
        else:
            message.status = "pending"
            message.attempts = max(message.attempts - 1, 0)
            message.claimed_by = None
            message.claimed_at = None
    db.session.commit()
    return len(stale)


def next_due_at() -> datetime | None:
    """When the next pending message is due (for the dispatcher to sleep until then)."""
    return db.session.scalar(
        select(func.min(OutboundMessage.due_at)).where(OutboundMessage.status == "pending")
    )
