"""The JSON shapes of API answers (see ``telejt.api.schemas`` for their schemas)."""

from __future__ import annotations

from typing import Any

# the live events and the API give an alert the same shape
from telejt.alerts.services import alert_payload as alert_payload
from telejt.api.jsonschema import format_instant
from telejt.auth.models import StaffUser
from telejt.courts.models import Court
from telejt.participants.models import CONSENT_KINDS, Participant
from telejt.planning.models import Contact
from telejt.protocols.model import Protocol
from telejt.sms.models import InboundMessage, OutboundMessage


def court_payload(court: Court) -> dict[str, Any]:
    """A court."""
    return {
        "id": court.id,
        "name": court.name,
        "state": court.state,
        "timezone": court.timezone,
        "team_phone": court.team_phone,
        "on_call_phone": court.on_call_phone,
        "unverified_positions": sorted(court.unverified_position_set),
        "created_at": format_instant(court.created_at),
    }


def staff_payload(user: StaffUser) -> dict[str, Any]:
    """A staff member, without anything about his credentials."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "court_ids": user.court_ids,
    }


def protocol_payload(protocol: Protocol, locale: str) -> dict[str, Any]:
    """A protocol's identity and phases, named in the caller's language."""
    return {
        "id": protocol.id,
        "version": protocol.version,
        "name": protocol.name.for_locale(locale),
        "phases": [
            {"id": phase.id, "name": phase.name.for_locale(locale)} for phase in protocol.phases
        ],
    }


def participant_payload(participant: Participant, *, with_phone: bool = True) -> dict[str, Any]:
    """A participant as the API shows him: identity, plan, consents and status.

    Court users get no phone (``with_phone=False``): the court supervises through the
    program, it does not call the participant.
    """
    payload = {
        "id": participant.id,
        "court_id": participant.court_id,
        "case_number": participant.case_number,
        "name": participant.name,
        "phone": participant.phone,
        "phone_shared": participant.is_phone_shared,
        "locale": participant.locale,
        "timezone": participant.timezone,
        "therapist_id": participant.therapist_id,
        "protocol_id": participant.protocol_id,
        "protocol_version": participant.protocol_version,
        "phase_id": participant.phase_id,
        "session_slots": list(participant.session_slots or []),
        "consents": {kind: participant.has_consent(kind) for kind in CONSENT_KINDS},
        "sms_opted_out_at": format_instant(participant.sms_opted_out_at),
        "status": participant.status,
        "created_at": format_instant(participant.created_at),
    }
    if not with_phone:
        del payload["phone"]
    return payload


def contact_verification(contact: Contact) -> str | None:
    """ "verified" once a person verified the miss; "unverified" for a miss of his nobody
    verified yet (a notice, not yet a breach); None otherwise."""
    if contact.verified_at is not None:
        return "verified"
    return "unverified" if contact.is_unverified_miss else None


def contact_payload(contact: Contact, sees_unverified: bool = True) -> dict[str, Any]:
    """A session or check-in and what became of it; never the outcome note. For a reader
    who sees only verified notices, a miss of his not verified yet says only that: no
    attribution, no reason (not yet a breach)."""
    if not sees_unverified and contact.is_unverified_miss:
        return {
            **contact_payload(contact),
            "attribution": None,
            "attribution_reason": None,
        }
    return {
        "id": contact.id,
        "participant_id": contact.participant_id,
        "kind": contact.kind,
        "starts_at": format_instant(contact.starts_at),
        "ends_at": format_instant(contact.ends_at),
        "status": contact.status,
        "attribution": contact.attribution,
        "attribution_reason": contact.attribution_reason,
        "justification": contact.justification,
        "justified_at": format_instant(contact.justified_at),
        "verification": contact_verification(contact),
        "verified_at": format_instant(contact.verified_at),
        "modality": contact.modality,
        "closed_at": format_instant(contact.closed_at),
    }


def outbound_payload(message: OutboundMessage) -> dict[str, Any]:
    """An SMS telejt sent or planned."""
    return {
        "id": message.id,
        "direction": "out",
        "purpose": message.purpose,
        "body": message.body,
        "status": message.status,
        "due_at": format_instant(message.due_at),
        "sent_at": format_instant(message.sent_at),
        "error_code": message.error_code,
    }


def inbound_payload(message: InboundMessage) -> dict[str, Any]:
    """An SMS the participant sent; ``purpose`` is what telejt understood."""
    return {
        "id": message.id,
        "direction": "in",
        "purpose": message.meaning,
        "body": message.body,
        "status": "received",
        "due_at": None,
        "sent_at": format_instant(message.received_at),
        "error_code": None,
    }
