"""Inbound SMS: who wrote, what it means, and what telejt does and answers.

One entry point, :func:`receive_sms`, used by the Twilio webhook and by the
console backend's dev page alike. In order:

1. A ``MessageSid`` already stored is a retry: nothing is done again.
2. The sender is matched by E.164 number (the old ``+521`` form included); when
   two participants share a phone the active one wins. An unknown sender is not
   stored: his number goes to the log masked, and he gets one neutral line.
3. ``AYUDA``/``HELP``, ``BAJA``/``STOP``… and ``ALTA``/``START`` always act as
   keywords. Otherwise a check-in waiting for his reply takes it as an answer;
   otherwise ``1``/``SI`` and ``2``/``NO`` confirm or decline the session whose
   reminder asked for it; anything else is stored as "unknown".

Every reply goes through the outbox (so opt-outs and consents are respected and
every SMS sits in one table) under a key made from the inbound ``MessageSid``, so
a replayed webhook never answers twice. Replies to idle text ("unknown", or a
``1`` with nothing to confirm) go at most once a day per participant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError

from telejt.alerts.services import raise_alert
from telejt.checkins.services import answer_by_sms, open_sms_checkin
from telejt.clock import now
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.participants.validation import InvalidInput, normalize_phone
from telejt.planning.models import Contact
from telejt.planning.watcher import publish_contact
from telejt.sms import keywords
from telejt.sms.models import InboundMessage, OutboundMessage
from telejt.sms.outbox import queue_message
from telejt.sms.text import to_gsm7

log = logging.getLogger(__name__)

#: session statuses a reply 1/2 may still change
CONFIRMABLE_STATUSES = ("scheduled", "confirmed", "declined")


@dataclass(frozen=True)
class InboundOutcome:
    """What telejt made of one inbound SMS."""

    meaning: str | None
    duplicate: bool = False
    participant_id: int | None = None
    contact_id: int | None = None
    #: a reply to give in the webhook's own answer (only for unknown senders)
    direct_reply: str | None = None


def mask_phone(phone: str) -> str:
    """A phone number for the log: only its last four digits."""
    digits = "".join(char for char in phone or "" if char.isdigit())
    return "…" + digits[-4:] if len(digits) >= 4 else "…"


def unknown_sender_reply() -> str:
    """The one neutral line an unknown number gets."""
    return to_gsm7(_("Este número no tiene mensajes pendientes."))


def find_sender(raw_phone: str) -> Participant | None:
    """The participant who owns a number; the active one when several share it."""
    try:
        phone = normalize_phone(raw_phone)
    except InvalidInput:
        return None
    return db.session.scalar(
        select(Participant)
        .where(Participant.phone == phone, Participant.anonymized_at.is_(None))
        .order_by(case((Participant.status == "active", 0), else_=1), Participant.id.desc())
        .limit(1)
    )


def already_received(provider_sid: str) -> bool:
    """Whether an inbound SMS with this provider id was stored already."""
    found = db.session.scalar(
        select(InboundMessage.id).where(InboundMessage.provider_sid == provider_sid)
    )
    return found is not None


def receive_sms(*, provider_sid: str, from_phone: str, body: str) -> InboundOutcome:
    """Record and act on one inbound SMS exactly once; the caller commits."""
    if already_received(provider_sid):
        return InboundOutcome(meaning=None, duplicate=True)
    participant = find_sender(from_phone)
    if participant is None:
        log.info("SMS %s from unknown number %s", provider_sid, mask_phone(from_phone))
        return InboundOutcome(meaning=None, direct_reply=unknown_sender_reply())
    inbound = InboundMessage(
        provider_sid=provider_sid,
        participant_id=participant.id,
        from_phone=participant.phone,
        body=body,
        received_at=now(),
    )
    try:
        # The unique sid settles a race between two deliveries of the same webhook.
        with db.session.begin_nested():
            db.session.add(inbound)
    except IntegrityError:
        return InboundOutcome(meaning=None, duplicate=True)
    meaning, contact = _act(participant, inbound)
    inbound.meaning = meaning
    inbound.contact_id = contact.id if contact is not None else None
    db.session.flush()
    return InboundOutcome(
        meaning=meaning,
        participant_id=participant.id,
        contact_id=inbound.contact_id,
    )


def _act(participant: Participant, inbound: InboundMessage) -> tuple[str, Contact | None]:
    meaning = keywords.keyword_meaning(inbound.body)
    reply_key = f"inbound:{inbound.provider_sid}"
    if meaning == keywords.STOP:
        opt_out(participant, reply_key)
        return "stop", None
    if meaning == keywords.START:
        opt_in(participant, reply_key)
        return "start", None
    if meaning == keywords.HELP:
        queue_message(participant, purpose="help_reply", key=reply_key)
        return "help", None
    checkin = open_sms_checkin(participant)
    if checkin is not None:
        answer_by_sms(checkin, inbound.body)
        return "answer", checkin
    if meaning in (keywords.CONFIRM, keywords.DECLINE):
        session = session_awaiting_confirmation(participant)
        if session is None:
            _idle_reply(participant, "nothing_to_confirm")
        elif meaning == keywords.CONFIRM:
            confirm_session(session, reply_key)
        else:
            decline_session(session, reply_key)
        return meaning, session
    _idle_reply(participant, "unknown")
    return "unknown", None


def _idle_reply(participant: Participant, kind: str) -> None:
    """Answer text nobody asked for, at most once a day (his local day)."""
    day = now().astimezone(ZoneInfo(participant.timezone)).date().isoformat()
    queue_message(
        participant,
        purpose="keyword_reply",
        key=f"idle:{participant.id}:{day}",
        params={"kind": kind},
    )


def opt_out(participant: Participant, reply_key: str) -> None:
    """BAJA/STOP: no more SMS from now on, one last confirmation, the team told."""
    if participant.sms_opted_out_at is not None:
        return  # already out: he gets no second confirmation
    moment = now()
    participant.sms_opted_out_at = moment
    queue_message(participant, purpose="optout_confirmation", key=reply_key)
    raise_alert(
        participant=participant,
        kind="reachability",
        severity="warning",
        attribution="system",
        audience="team",
        dedupe_key=f"optout:{participant.id}:{moment.isoformat()}",
        reason="sms_opted_out",
    )


def opt_in(participant: Participant, reply_key: str) -> None:
    """ALTA/START: SMS resume; he is told so."""
    participant.sms_opted_out_at = None
    db.session.flush()
    queue_message(participant, purpose="keyword_reply", key=reply_key, params={"kind": "resumed"})


def session_awaiting_confirmation(participant: Participant) -> Contact | None:
    """The session whose latest sent reminder asked him to reply 1 or 2, if not started yet."""
    reminders = db.session.scalars(
        select(OutboundMessage)
        .join(Contact, OutboundMessage.contact_id == Contact.id)
        .where(
            OutboundMessage.participant_id == participant.id,
            OutboundMessage.purpose == "reminder",
            OutboundMessage.sent_at.is_not(None),
            Contact.kind == "session",
            Contact.status.in_(CONFIRMABLE_STATUSES),
            Contact.starts_at > now(),
        )
        .order_by(OutboundMessage.sent_at.desc(), OutboundMessage.id.desc())
    ).all()
    for reminder in reminders:
        if (reminder.params or {}).get("confirm"):
            return reminder.contact
    return None


def confirm_session(contact: Contact, reply_key: str) -> None:
    """1/SI: he will come. The latest answer counts; both times stay as evidence."""
    if contact.status != "confirmed":
        contact.status = "confirmed"
        contact.confirmed_at = now()
        db.session.flush()
        publish_contact(contact, contact.participant)
    queue_message(
        contact.participant,
        purpose="keyword_reply",
        key=reply_key,
        contact=contact,
        params={"kind": "confirmed"},
    )


def decline_session(contact: Contact, reply_key: str) -> None:
    """2/NO: he will not make it; a reschedule request to the team, not a miss."""
    if contact.status != "declined":
        contact.status = "declined"
        contact.declined_at = now()
        db.session.flush()
        publish_contact(contact, contact.participant)
    raise_alert(
        participant=contact.participant,
        contact=contact,
        kind="reschedule_request",
        severity="info",
        audience="team",
        dedupe_key=f"declined:{contact.id}",
        reason="declined_by_sms",
    )
    queue_message(
        contact.participant,
        purpose="keyword_reply",
        key=reply_key,
        contact=contact,
        params={"kind": "declined"},
    )
