"""Putting messages in the outbox (the dispatcher's queue)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from telejt.clock import now
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.sms.models import OutboundMessage


def queue_message(
    participant: Participant,
    *,
    purpose: str,
    key: str,
    due_at: datetime | None = None,
    contact: Contact | None = None,
    params: dict[str, Any] | None = None,
    body: str | None = None,
    new_contact: bool = False,
) -> OutboundMessage:
    """Plan one SMS; a key already planned returns the existing message unchanged.

    ``new_contact``: the message belongs to a contact created in this transaction,
    so no message can have its key yet: no lookup, and the message is returned
    unsaved, for the caller to insert with others (the planner writes a
    participant's new messages in one batch).
    """
    if not new_contact:
        existing = db.session.scalar(
            select(OutboundMessage).where(OutboundMessage.idempotency_key == key)
        )
        if existing is not None:
            return existing
    message = OutboundMessage(
        participant_id=participant.id,
        contact_id=contact.id if contact is not None else None,
        purpose=purpose,
        idempotency_key=key,
        due_at=due_at or now(),
        params=params or {},
        body=body,
        status="pending",
        attempts=0,
    )
    if new_contact:
        return message
    db.session.add(message)
    db.session.flush()
    return message


def skip_message(message: OutboundMessage, reason: str) -> None:
    """Record that a planned message will not be sent, and why."""
    message.status = "skipped"
    message.status_reason = reason
    message.status_at = now()
