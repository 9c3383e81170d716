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

import functools
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, Update, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from telejt.clock import now
from telejt.conversation.crisis import escalation_skip_reason
from telejt.conversation.prompts import (
    checkin_conversation_until,
    open_prompt_for_sent,
    prepare_checkin_start,
)
from telejt.extensions import db
from telejt.participants.models import Consent, Participant
from telejt.planning.models import Contact
from telejt.planning.reminders import quiet_period_end, quiet_period_start
from telejt.protocols.current import protocol_for
from telejt.scheduler.models import SchedulerHeartbeat
from telejt.sms.backends import SendResult, SmsSendError, sender_for
from telejt.sms.models import OutboundMessage
from telejt.sms.outbox import skip_message
from telejt.sms.purposes import ON_CALL, purpose
from telejt.sms.render import render_message

log = logging.getLogger(__name__)

BATCH_SIZE = 200
#: a claimed batch is sent on what it was loaded with for this long, then re-read
#: message by message (a slow provider: 200 Twilio calls take most of a minute)
FRESH_FOR = timedelta(seconds=1)
MAX_ATTEMPTS = 5
#: a confirm reminder waits this long at a time while a check-in conversation goes on,
#: and never later than this before its session
CHECKIN_DEFER_STEP = timedelta(minutes=3)
CHECKIN_DEFER_MARGIN = timedelta(hours=1)
#: waits after the 1st, 2nd, … transient failure
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))


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


def _skip_reason(message: OutboundMessage, moment: datetime) -> str | None:
    participant = message.participant
    rules = purpose(message.purpose)
    if rules.recipient == ON_CALL:
        return escalation_skip_reason(message)
    if participant.status != "active" and not rules.ignores_opt_out:
        return f"participant_{participant.status}"
    if not rules.ignores_opt_out:
        if participant.sms_opted_out_at is not None:
            return "opted_out"
        if not participant.has_consent("sms"):
            return "no_sms_consent"
    contact = message.contact
    if contact is not None and not rules.is_notice:
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
    if not purpose(message.purpose).waits_for_quiet_hours:
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


def _defer_during_checkin(message: OutboundMessage, moment: datetime) -> bool:
    """A reminder asking "1 to confirm" waits while he answers a check-in's "1=Yes 2=No".

    The two prompts would take the same answers: sequenced, his "1" means one thing.
    It waits a few minutes at a time, and never past an hour before the session.
    """
    contact = message.contact
    if message.purpose != "reminder" or not (message.params or {}).get("confirm"):
        return False
    if contact is None or contact.starts_at - CHECKIN_DEFER_MARGIN <= moment:
        return False
    until = checkin_conversation_until(message.participant_id, moment)
    if until is None:
        return False
    message.status = "pending"
    message.due_at = min(
        until, moment + CHECKIN_DEFER_STEP, contact.starts_at - CHECKIN_DEFER_MARGIN
    )
    message.attempts -= 1
    return True


def recipient_phone(message: OutboundMessage) -> str:
    """Where a message goes: the participant's phone, or his court's on-call phone."""
    if purpose(message.purpose).recipient == ON_CALL:
        return message.participant.court.on_call_phone or ""
    return message.participant.phone


def send_one(message: OutboundMessage, report: DispatchReport) -> None:
    """Send one claimed message and record what happened (the caller commits)."""
    from telejt.sms.delivery import record_permanent_failure

    moment = now()
    reason = _skip_reason(message, moment)
    if reason:
        skip_message(message, reason)
        report.skipped += 1
        return
    if _defer_for_quiet_hours(message, moment) or _defer_during_checkin(message, moment):
        report.skipped += 1
        return
    if message.purpose == "checkin_start":
        prepare_checkin_start(message)
    body = render_message(message)
    phone = recipient_phone(message)
    try:
        result = sender_for(current_app).send(to=phone, body=body)
    except SmsSendError as exc:
        message.body = body
        message.to_phone = phone
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
    _record_sent(message, body=body, phone=phone, result=result)
    report.sent += 1
    if purpose(message.purpose).asks:
        open_prompt_for_sent(message)
    if message.purpose == "nudge" and message.contact is not None:
        from telejt.sessions.services import record_nudge

        record_nudge(message.contact)


@functools.cache
def _sent_statement() -> Update:
    """UPDATE of a sent message's result, built once (building it is most of its cost)."""
    columns = ("body", "to_phone", "provider_sid", "status", "sent_at", "status_at")
    return (
        update(OutboundMessage)
        .where(OutboundMessage.id == bindparam("message_id"))
        .values({column: bindparam(column) for column in columns})
        .execution_options(synchronize_session=False)
    )


def _record_sent(message: OutboundMessage, *, body: str, phone: str, result: SendResult) -> None:
    """Write a sent message's result with one UPDATE (no unit of work: this is the hot path).

    The loaded object gets the same values as committed ones, so it stays true.
    """
    moment = now()
    values: dict[str, Any] = {
        "body": body,
        "to_phone": phone,
        "provider_sid": result.provider_sid,
        "status": result.status,
        "sent_at": moment,
        "status_at": moment,
    }
    # on the connection: the ORM's bulk-UPDATE path costs more than the statement itself
    db.session.connection().execute(_sent_statement(), {"message_id": message.id, **values})
    for key, value in values.items():
        set_committed_value(message, key, value)


def _message_graph() -> list[Any]:
    """What sending one message reads, loaded with it in one query (not a lazy load each)."""
    return [
        joinedload(OutboundMessage.participant).joinedload(Participant.consents),
        joinedload(OutboundMessage.contact),
    ]


#: what decides whether and what to send: checked afresh right before each send
_WATCHED = (
    OutboundMessage.status,
    OutboundMessage.claimed_by,
    Participant.status,
    Participant.sms_opted_out_at,
    Participant.phone,
    Participant.locale,
    Participant.timezone,
    Participant.protocol_id,
    Participant.protocol_version,
    Contact.status,
    Contact.starts_at,
    Contact.ends_at,
    Contact.deadline_at,
    Contact.modality,
    Contact.delivery,
    Contact.pending_question_id,
)


@functools.cache
def _watched_statement() -> Select[*tuple[Any, ...]]:
    """The watched values of one message and whether SMS consent is on record, built once."""
    sms_consent = (
        select(Consent.id)
        .where(
            Consent.participant_id == Participant.id,
            Consent.kind == "sms",
            Consent.revoked_at.is_(None),
        )
        .exists()
    )
    return (
        select(*_WATCHED, sms_consent)
        .select_from(OutboundMessage)
        .join(Participant, OutboundMessage.participant_id == Participant.id)
        .outerjoin(Contact, OutboundMessage.contact_id == Contact.id)
        .where(OutboundMessage.id == bindparam("message_id"))
    )


def _watched_now(message_id: int) -> tuple[Any, ...] | None:
    """The watched values as committed now."""
    row = db.session.execute(_watched_statement(), {"message_id": message_id}).first()
    return None if row is None else tuple(row)


def _watched_loaded(message: OutboundMessage) -> tuple[Any, ...]:
    """The same values as the loaded objects hold them."""
    objects: dict[Any, Any] = {
        OutboundMessage: message,
        Participant: message.participant,
        Contact: message.contact,
    }
    values = [
        None if objects[column.class_] is None else getattr(objects[column.class_], column.key)
        for column in _WATCHED
    ]
    return (*values, message.participant.has_consent("sms"))


def _fresh(message: OutboundMessage, graph: list[Any]) -> OutboundMessage | None:
    """The message as committed now: reloaded when something it depends on changed."""
    current = _watched_now(message.id)
    if current is None:
        return None
    if current != _watched_loaded(message):
        return db.session.get(OutboundMessage, message.id, options=graph, populate_existing=True)
    return message


def dispatch_due_messages(limit: int = BATCH_SIZE, worker: str | None = None) -> DispatchReport:
    """Send everything due now, batch after batch, until nothing is due.

    A claimed batch is loaded with its participants, consents and contacts in one
    query. A message is sent on what was committed at most ``FRESH_FOR`` before:
    once the batch is older than that (a slow provider), one light query right
    before each send re-reads what the decision depends on (statuses, opt-out,
    consent, phone, language, zone, the contact's times) and the message is
    reloaded if any of it changed, so an opt-out or a cancellation committed
    meanwhile is honoured. Each result is committed before the next send; the
    session keeps the batch loaded across those commits.
    """
    report = DispatchReport()
    worker = worker or worker_name()
    graph = _message_graph()
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        while True:
            ids = claim_due_messages(limit, worker)
            if not ids:
                return report
            loaded_at = time.monotonic()
            batch = db.session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.id.in_(ids))
                .options(*graph)
                .order_by(OutboundMessage.id)
                .execution_options(populate_existing=True)
            ).unique()
            for loaded in list(batch):
                stale = time.monotonic() - loaded_at > FRESH_FOR.total_seconds()
                message = _fresh(loaded, graph) if stale else loaded
                if message is None or message.status != "sending" or message.claimed_by != worker:
                    continue
                try:
                    send_one(message, report)
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    _release_claim(message, worker)
                    raise
    finally:
        session.expire_on_commit = expire_on_commit
        session.expire_all()


def dispatch_in_threads(threads: int | None = None, limit: int = BATCH_SIZE) -> DispatchReport:
    """Several dispatch loops at once in this process, each claiming its own batches.

    What a message costs is mostly waiting: for the provider's HTTP answer (a few
    hundred milliseconds with Twilio) and for the database's durable commit; the
    loops' waits overlap. Each loop is a worker of its own (``host:pid/n``) with its
    own database session; liveness is the process's heartbeat. SQLite has one
    writer at a time, so there it is one loop.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if threads is None:
        threads = app.config["TELEJT_DISPATCH_THREADS"]
    if _pass_failed.is_set():
        settle_own_leftovers()
        _pass_failed.clear()
    if threads <= 1 or db.engine.dialect.name == "sqlite":
        try:
            return dispatch_due_messages(limit)
        except BaseException:
            _pass_failed.set()
            raise
    reports: list[DispatchReport] = []
    errors: list[BaseException] = []
    process = worker_name()

    def loop(number: int) -> None:
        with app.app_context():
            # one connection for the loop's life: through the pool, each per-message
            # commit gave it back and the next statement paid a liveness ping
            connection = db.engine.connect()
            loop_session = Session(bind=connection)  # plain: Flask-SQLAlchemy's binds the engine
            db.session.registry.set(loop_session)  # type: ignore[arg-type]
            try:
                reports.append(dispatch_due_messages(limit, worker=f"{process}/{number}"))
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)
            finally:
                db.session.remove()
                connection.close()

    workers = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if errors:
        _pass_failed.set()
        raise errors[0]
    total = DispatchReport()
    for report in reports:
        total.sent += report.sent
        total.skipped += report.skipped
        total.retried += report.retried
        total.failed += report.failed
    return total


#: a dispatch pass of this process ended in an error: the next one first settles
#: what it may have left claimed (looked for only then: there is no index for it)
_pass_failed = threading.Event()


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


def _release_claim(failed: OutboundMessage, worker: str) -> None:
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
    from telejt.alerts.services import raise_alert

    seen_claims: set[tuple[str | None, datetime | None]] = set()
    for message in messages:
        claim = (message.claimed_by, message.claimed_at)
        if claim not in seen_claims:
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


def next_due_at() -> datetime | None:
    """When the next pending message is due (for the dispatcher to sleep until then)."""
    return db.session.scalar(
        select(func.min(OutboundMessage.due_at)).where(OutboundMessage.status == "pending")
    )
