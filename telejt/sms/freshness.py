"""Sending on fresh facts: what a message depends on, re-read right before it goes.

A claimed batch is loaded once with its participants, consents and contacts. A
slow provider makes a batch old (200 Twilio calls take most of a minute), so once
it is older than ``FRESH_FOR`` each message's deciding values (statuses, opt-out,
consent, phone, language, zone, the contact's times) are read again with one light
query before it is sent, and the message is reloaded when any of them changed.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from telejt.extensions import db
from telejt.participants.models import Consent, Participant
from telejt.planning.models import Contact
from telejt.sms.models import OutboundMessage


def message_graph() -> list[Any]:
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


def fresh(message: OutboundMessage, graph: list[Any]) -> OutboundMessage | None:
    """The message as committed now: reloaded when something it depends on changed."""
    current = _watched_now(message.id)
    if current is None:
        return None
    if current != _watched_loaded(message):
        return db.session.get(OutboundMessage, message.id, options=graph, populate_existing=True)
    return message
