"""A participant's data rights: everything held about him, and anonymization after retention.

NOM-004-SSA3-2012 asks that clinical records be kept at least five years, so
personal data is removed only once the program ended and ``TELEJT_RETENTION_YEARS``
passed since the last thing that happened in his record. Anonymization replaces
what identifies him (name, phone, case number, message and answer texts, notes)
and keeps every row, status and date, so attendance and compliance figures stay true.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, inspect, select

from telejt.alerts.models import Alert
from telejt.audit.models import AuditEvent
from telejt.checkins.models import CheckinAnswer
from telejt.clock import now
from telejt.errors import Conflict
from telejt.extensions import Base, db
from telejt.participants.models import Consent, Participant
from telejt.planning.models import Contact
from telejt.sessions.models import ClinicalNote, PresenceEvent
from telejt.sms.models import InboundMessage, OutboundMessage

PLACEHOLDER = "[anonimizado]"


class RetentionNotOver(Conflict):
    """Anonymization asked for too early; the message says until when."""


def row_dict(row: Base) -> dict[str, Any]:
    """Every column of a row, JSON-ready (datetimes as ISO-8601)."""
    values: dict[str, Any] = {}
    for column in inspect(row).mapper.column_attrs:
        value = getattr(row, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return values


def _contact_ids(participant: Participant) -> Any:
    return select(Contact.id).where(Contact.participant_id == participant.id)


def export_participant(participant: Participant) -> dict[str, Any]:
    """Everything telejt holds about one participant, as one JSON-able document."""

    def rows(query: Any) -> list[dict[str, Any]]:
        return [row_dict(row) for row in db.session.scalars(query)]

    contact_ids = _contact_ids(participant)
    return {
        "exported_at": now().isoformat(),
        "participant": row_dict(participant),
        "consents": rows(
            select(Consent).where(Consent.participant_id == participant.id).order_by(Consent.id)
        ),
        "contacts": rows(
            select(Contact)
            .where(Contact.participant_id == participant.id)
            .order_by(Contact.starts_at)
        ),
        "outbound_messages": rows(
            select(OutboundMessage)
            .where(OutboundMessage.participant_id == participant.id)
            .order_by(OutboundMessage.id)
        ),
        "inbound_messages": rows(
            select(InboundMessage)
            .where(InboundMessage.participant_id == participant.id)
            .order_by(InboundMessage.id)
        ),
        "checkin_answers": rows(
            select(CheckinAnswer)
            .where(CheckinAnswer.contact_id.in_(contact_ids))
            .order_by(CheckinAnswer.id)
        ),
        "alerts": rows(
            select(Alert).where(Alert.participant_id == participant.id).order_by(Alert.id)
        ),
        "presence_events": rows(
            select(PresenceEvent)
            .where(PresenceEvent.contact_id.in_(contact_ids))
            .order_by(PresenceEvent.id)
        ),
        "clinical_notes": rows(
            select(ClinicalNote)
            .where(ClinicalNote.participant_id == participant.id)
            .order_by(ClinicalNote.id)
        ),
        "audit_events": rows(
            select(AuditEvent)
            .where(AuditEvent.participant_id == participant.id)
            .order_by(AuditEvent.id)
        ),
    }


def last_activity_at(participant: Participant) -> datetime:
    """The latest instant anything happened in his record (the retention period runs from it)."""
    contact_ids = _contact_ids(participant)
    candidates = [
        participant.updated_at,
        participant.created_at,
        db.session.scalar(
            select(func.max(Contact.ends_at)).where(Contact.participant_id == participant.id)
        ),
        db.session.scalar(
            select(func.max(OutboundMessage.due_at)).where(
                OutboundMessage.participant_id == participant.id
            )
        ),
        db.session.scalar(
            select(func.max(InboundMessage.received_at)).where(
                InboundMessage.participant_id == participant.id
            )
        ),
        db.session.scalar(
            select(func.max(CheckinAnswer.answered_at)).where(
                CheckinAnswer.contact_id.in_(contact_ids)
            )
        ),
        db.session.scalar(
            select(func.max(ClinicalNote.created_at)).where(
                ClinicalNote.participant_id == participant.id
            )
        ),
        db.session.scalar(
            select(func.max(Alert.created_at)).where(Alert.participant_id == participant.id)
        ),
    ]
    return max(moment for moment in candidates if moment is not None)


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February: the retention ends on 1 March
        return moment.replace(year=moment.year + years, month=3, day=1)


def retention_ends_at(participant: Participant) -> datetime:
    """When his record may be anonymized: retention years after the last activity."""
    return _add_years(last_activity_at(participant), current_app.config["TELEJT_RETENTION_YEARS"])


def anonymize_participant(participant: Participant) -> None:
    """Remove what identifies him, keep every row and status (not committed).

    Refused while he is active, or before the retention period ends.
    """
    if participant.anonymized_at is not None:
        return
    if participant.status == "active":
        raise RetentionNotOver(_("El participante sigue activo en el programa."))
    ends_at = retention_ends_at(participant)
    if now() < ends_at:
        raise RetentionNotOver(
            _(
                "El expediente debe conservarse hasta el %(date)s (NOM-004-SSA3-2012).",
                date=ends_at.date().isoformat(),
            )
        )
    pid = participant.id
    old_phone = participant.phone
    participant.name = f"Participante anonimizado {pid}"
    participant.phone = "+520000000000"
    participant.case_number = f"ANON-{pid}"
    contact_ids = _contact_ids(participant)
    for message in db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.participant_id == pid)
    ):
        message.body = PLACEHOLDER if message.body is not None else None
        message.params = None
        message.to_phone = None
    # and replies from his phone still waiting to be told whose they are (a shared phone)
    for reply in db.session.scalars(
        select(InboundMessage).where(
            (InboundMessage.participant_id == pid)
            | (InboundMessage.participant_id.is_(None) & (InboundMessage.from_phone == old_phone))
        )
    ):
        reply.body = PLACEHOLDER
        reply.from_phone = "+520000000000"
    for answer in db.session.scalars(
        select(CheckinAnswer).where(CheckinAnswer.contact_id.in_(contact_ids))
    ):
        answer.raw_text = PLACEHOLDER
    for note in db.session.scalars(select(ClinicalNote).where(ClinicalNote.participant_id == pid)):
        note.body = PLACEHOLDER
    for contact in db.session.scalars(select(Contact).where(Contact.participant_id == pid)):
        if contact.outcome_note:
            contact.outcome_note = PLACEHOLDER
    for alert in db.session.scalars(select(Alert).where(Alert.participant_id == pid)):
        if alert.ack_note:
            alert.ack_note = PLACEHOLDER
    for presence in db.session.scalars(
        select(PresenceEvent).where(PresenceEvent.contact_id.in_(contact_ids))
    ):
        presence.detail = None
    participant.anonymized_at = now()
    db.session.flush()
