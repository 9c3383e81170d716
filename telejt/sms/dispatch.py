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
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from telejt.clock import now
from telejt.extensions import db
from telejt.localtime import quiet_period_end, quiet_period_start
from telejt.protocols.current import protocol_for
from telejt.scheduler.workers import worker_name
from telejt.shutdown import stop_requested
from telejt.sms import provider
from telejt.sms.backends import (
    ProviderUnreachable,
    RateLimited,
    SendOutcomeUnknown,
    SmsSendError,
    sender_for,
)
from telejt.sms.claims import (
    BATCH_SIZE,
    claim_due_messages,
    pass_failed,
    recover_interrupted_claims,
    release_claim,
    return_unsent,
    settle_own_leftovers,
)
from telejt.sms.freshness import fresh, message_graph
from telejt.sms.models import OutboundMessage
from telejt.sms.outbox import skip_message
from telejt.sms.purposes import ON_CALL, purpose
from telejt.sms.render import render_message
from telejt.sms.send_results import (
    UNREACHABLE_RETRY,
    record_not_sent,
    record_sent,
    record_unknown_outcome,
)
from telejt.sms.signals import (
    answers,
    conversation_until_wanted,
    message_sending,
    message_sent,
    on_call_skip_wanted,
)

log = logging.getLogger(__name__)

__all__ = [
    "BATCH_SIZE",
    "claim_due_messages",
    "dispatch_due_messages",
    "dispatch_in_threads",
    "recover_interrupted_claims",
]
#: a claimed batch is sent on what it was loaded with for this long, then re-read
#: message by message (a slow provider: 200 Twilio calls take most of a minute)
FRESH_FOR = timedelta(seconds=1)
MAX_ATTEMPTS = 5
#: a confirm reminder waits this long at a time while a check-in conversation goes on,
#: and never later than this before its session
CHECKIN_DEFER_STEP = timedelta(minutes=3)
CHECKIN_DEFER_MARGIN = timedelta(hours=1)
#: waits after the 1st, 2nd, … refusal the provider said was transient (each ± 20 %)
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))


@dataclass
class DispatchReport:
    """What one dispatch pass did."""

    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    #: sends whose outcome is unknown (to review)
    unknown: int = 0
    #: whether the pass stopped because the provider is unreachable or asked to wait
    paused: bool = False

    @property
    def handled(self) -> int:
        """All messages this pass took care of."""
        return self.sent + self.skipped + self.retried + self.failed + self.unknown


class ProviderPaused(Exception):
    """Dispatch must stop for now: the provider is unreachable or asked to wait."""


#: when each running dispatch loop of this process last moved on (monotonic seconds)
_progress: dict[str, float] = {}
_progress_lock = threading.Lock()


def _mark_progress(worker: str) -> None:
    with _progress_lock:
        _progress[worker] = time.monotonic()


def _end_progress(worker: str) -> None:
    with _progress_lock:
        _progress.pop(worker, None)


def stuck_dispatch_loops(longer_than: timedelta) -> list[str]:
    """Dispatch loops of this process that have been on one step longer than that."""
    limit = time.monotonic() - longer_than.total_seconds()
    with _progress_lock:
        return sorted(worker for worker, at in _progress.items() if at < limit)


def _skip_reason(message: OutboundMessage, moment: datetime) -> str | None:
    participant = message.participant
    rules = purpose(message.purpose)
    if rules.recipient == ON_CALL:
        reasons = answers(on_call_skip_wanted, message)
        return str(reasons[0]) if reasons else None
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
    ends = answers(conversation_until_wanted, message, moment=moment)
    if not ends:
        return False
    until: datetime = min(ends)
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
    message_sending.send(message)
    body = render_message(message)
    phone = recipient_phone(message)
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite has one writer: do not hold its lock (taken by this transaction's first
        # read) while waiting for the provider, or the web and other schedulers wait too
        db.session.commit()
    try:
        result = sender_for(current_app).send(to=phone, body=body)
    except SendOutcomeUnknown as exc:
        record_unknown_outcome(message, body=body, phone=phone, error=exc)
        report.unknown += 1
        if provider.record_transport_failure(
            str(exc), current_app.config["TELEJT_SMS_BREAKER_FAILURES"]
        ):
            raise ProviderPaused(str(exc)) from exc
        return
    except ProviderUnreachable as exc:
        record_not_sent(message, exc)
        report.retried += 1
        if isinstance(exc, RateLimited):
            provider.hold_for(exc.retry_after or UNREACHABLE_RETRY.total_seconds())
            raise ProviderPaused(str(exc)) from exc
        if provider.record_transport_failure(
            str(exc), current_app.config["TELEJT_SMS_BREAKER_FAILURES"]
        ):
            raise ProviderPaused(str(exc)) from exc
        return
    except SmsSendError as exc:
        provider.record_success()  # it answered: the provider is there
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
            wait = BACKOFF[min(message.attempts, len(BACKOFF)) - 1]
            message.due_at = now() + provider.backoff(1, wait, wait)
            message.status_reason = f"retry: {exc}"[:200]
            report.retried += 1
        return
    provider.record_success()
    if not record_sent(message, body=body, phone=phone, result=result):
        return  # settled meanwhile by recovery: the late result is on record
    report.sent += 1
    message_sent.send(message)


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
    graph = message_graph()
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        while not stop_requested():
            _mark_progress(worker)
            if not provider_ready():
                report.paused = True
                return report
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
            for position, loaded in enumerate(list(batch)):
                if stop_requested():  # SIGTERM: what was not handed over goes back
                    return_unsent(ids[position:], worker)
                    return report
                _mark_progress(worker)
                stale = time.monotonic() - loaded_at > FRESH_FOR.total_seconds()
                message = fresh(loaded, graph) if stale else loaded
                if message is None or message.status != "sending" or message.claimed_by != worker:
                    continue
                try:
                    send_one(message, report)
                    db.session.commit()
                except ProviderPaused:
                    db.session.commit()  # this message's own outcome, and the outage
                    return_unsent(ids[position + 1 :], worker)
                    report.paused = True
                    return report
                except Exception:
                    db.session.rollback()
                    release_claim(message, worker)
                    raise
        return report
    finally:
        _end_progress(worker)
        session.expire_on_commit = expire_on_commit
        session.expire_all()


def provider_ready() -> bool:
    """Whether dispatch may send now: no 429 hold, and no outage (or a probe just ended it).

    In an outage one scheduler at a time asks the provider, with a request that sends
    nothing, whether it is back; when it is, the outage ends and dispatch resumes.
    """
    if provider.held():
        return False
    if provider.current_outage() is None:
        return True
    outage = provider.claim_probe()
    if outage is None:
        db.session.commit()
        return False
    sender = sender_for(current_app)
    check = getattr(sender, "check", None)
    try:
        if check is not None:
            check()
    except Exception as exc:  # still down: the outage goes on, no message was touched
        provider.probe_failed(outage, f"{exc.__class__.__name__}: {exc}")
        db.session.commit()
        log.info("SMS provider still unreachable: %s", exc)
        return False
    provider.close_outage(outage)
    db.session.commit()
    return True


def dispatch_in_threads(threads: int | None = None, limit: int = BATCH_SIZE) -> DispatchReport:
    """Several dispatch loops at once in this process, each claiming its own batches.

    What a message costs is mostly waiting: for the provider's HTTP answer (a few
    hundred milliseconds with Twilio) and for the database's durable commit; the
    loops' waits overlap. Each loop is a worker of its own (``host:pid/n``) with its
    own database session; liveness is the process's heartbeat. SQLite has one
    writer at a time, so there it is one loop.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is typed as the app, not its proxy
    if threads is None:
        threads = app.config["TELEJT_DISPATCH_THREADS"]
    if pass_failed.is_set():
        settle_own_leftovers()
        pass_failed.clear()
    if threads <= 1 or db.engine.dialect.name == "sqlite":
        try:
            return dispatch_due_messages(limit)
        except BaseException:
            pass_failed.set()
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
            db.session.registry.set(loop_session)  # type: ignore[arg-type]  # plain, as said
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
        pass_failed.set()
        raise errors[0]
    total = DispatchReport()
    for report in reports:
        total.sent += report.sent
        total.skipped += report.skipped
        total.retried += report.retried
        total.failed += report.failed
        total.unknown += report.unknown
        total.paused = total.paused or report.paused
    return total


def next_due_at() -> datetime | None:
    """When the next pending message is due (for the dispatcher to sleep until then)."""
    return db.session.scalar(
        select(func.min(OutboundMessage.due_at)).where(OutboundMessage.status == "pending")
    )


def dispatch_wake_at() -> datetime | None:
    """When the dispatcher should look again: the next due message, or in an outage the
    next probe (not every 100 ms for messages that cannot go)."""
    return provider.wake_at(next_due_at())
