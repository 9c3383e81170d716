"""Writing what the provider said about a message: sent, not sent, or unknown."""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Update, bindparam, update
from sqlalchemy.orm.attributes import set_committed_value

from telejt.clock import now
from telejt.extensions import db
from telejt.sms import provider
from telejt.sms.backends import ProviderUnreachable, SendOutcomeUnknown, SendResult
from telejt.sms.models import OutboundMessage

log = logging.getLogger(__name__)

#: a message the provider could not be reached for waits this long (± 20 %) before the
#: next try; after a few such failures the circuit breaker pauses dispatch altogether
UNREACHABLE_RETRY = timedelta(seconds=30)


def record_not_sent(message: OutboundMessage, exc: ProviderUnreachable) -> None:
    """The request never reached the provider: the message waits and is tried again.

    Not counted as an attempt: an outage is not the message's fault, and a reminder
    that is still worth sending after it must not have run out of tries.
    """
    message.status = "pending"
    message.attempts = max(message.attempts - 1, 0)
    message.claimed_by = None
    message.claimed_at = None
    wait = (
        timedelta(seconds=exc.retry_after)
        if exc.retry_after is not None
        else provider.backoff(1, UNREACHABLE_RETRY, UNREACHABLE_RETRY)
    )
    message.due_at = now() + wait
    message.status_reason = f"retry: provider unreachable: {exc}"[:200]
    message.status_at = now()


def send_to_review(message: OutboundMessage, reason: str) -> None:
    """A message that may or may not have left: to review by the team, never resent silently."""
    from telejt.alerts.services import raise_alert

    message.status = "needs_review"
    message.status_reason = reason[:200]
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


def record_unknown_outcome(
    message: OutboundMessage, *, body: str, phone: str, error: SendOutcomeUnknown
) -> None:
    """The request may have reached the provider: to review, never resent silently.

    If the call finishes after all (its deadline passed, its thread lives on), the
    provider's id it returns is written on the message, so the delivery callback that
    follows settles the review by itself.
    """
    message.body = body
    message.to_phone = phone
    send_to_review(message, f"provider outcome unknown ({error}); check its log before resending")
    if error.late is not None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is typed as the app, not its proxy
        message_id = message.id

        def record_late(result: Any, failure: BaseException | None) -> None:
            if failure is None and result is not None:  # the call returned after all
                with app.app_context():
                    record_late_result(message_id, str(result.sid), str(result.status or "queued"))

        error.late.when_done(record_late)


def record_late_result(message_id: int, provider_sid: str, status: str) -> bool:
    """A send settled as interrupted or unknown turned out to have reached the provider.

    The provider's id goes on the message (still to review), so its delivery
    callback moves it forward; whether anything was written.
    """
    try:
        changed = db.session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.status == "needs_review",
                OutboundMessage.provider_sid.is_(None),
            )
            .values(
                provider_sid=provider_sid,
                sent_at=now(),
                status_reason=f"sent after its deadline (provider: {status}); not to resend",
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if changed.rowcount:  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
            log.warning("message %s reached the provider after its deadline", message_id)
        return bool(changed.rowcount)  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
    except Exception:
        db.session.rollback()
        log.exception("could not record the late result of message %s", message_id)
        return False
    finally:
        db.session.remove()


@functools.cache
def _sent_statement() -> Update:
    """UPDATE of a sent message's result, built once (building it is most of its cost)."""
    columns = ("body", "to_phone", "provider_sid", "status", "sent_at", "status_at")
    return (
        update(OutboundMessage)
        .where(
            OutboundMessage.id == bindparam("message_id"),
            # still this worker's claim: recovery may have settled it while the call hung
            OutboundMessage.status == "sending",
            OutboundMessage.claimed_by == bindparam("worker"),
        )
        .values({column: bindparam(column) for column in columns})
        .execution_options(synchronize_session=False)
    )


def record_sent(message: OutboundMessage, *, body: str, phone: str, result: SendResult) -> bool:
    """Write a sent message's result with one UPDATE (no unit of work: this is the hot path).

    The loaded object gets the same values as committed ones, so it stays true. If
    the claim was settled meanwhile (the call outlived the lease and recovery put
    the message to review), the provider's id is recorded on it instead; False then.
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
    written = db.session.connection().execute(
        _sent_statement(), {"message_id": message.id, "worker": message.claimed_by, **values}
    )
    if written.rowcount != 1:
        db.session.commit()
        record_late_result(message.id, result.provider_sid, result.status)
        return False
    for key, value in values.items():
        set_committed_value(message, key, value)
    return True
