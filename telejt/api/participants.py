"""API calls about participants: enrollment, changes, contacts, messages and compliance.

Every read of a participant's record writes an audit event (channel ``api``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from telejt.api.auth import api_user
from telejt.api.errors import ApiError
from telejt.api.jsonschema import format_instant
from telejt.api.pages import PAGE_QUERY, paged
from telejt.api.payloads import (
    contact_payload,
    inbound_payload,
    outbound_payload,
    participant_payload,
)
from telejt.api.routing import QueryParameter, operation
from telejt.api.schemas import (
    COMPLIANCE,
    CONTACT,
    MAX_ID,
    MESSAGE,
    PARTICIPANT,
    PARTICIPANT_CREATE,
    PARTICIPANT_UPDATE,
)
from telejt.audit.services import record_access
from telejt.auth.access import visible_participants
from telejt.clock import now
from telejt.courts.models import Court
from telejt.courts.services import sees_unverified_misses
from telejt.errors import NotFound
from telejt.extensions import db
from telejt.participants.models import PARTICIPANT_STATUSES, Participant
from telejt.participants.services import enroll_participant, update_participant
from telejt.planning.models import Contact
from telejt.reports.compliance import compliance_for
from telejt.sms.models import InboundMessage, OutboundMessage

#: the longest period one call may ask for
MAX_RANGE = timedelta(days=400)
#: who may read participants' records (DESIGN: admins keep courts, staff and tokens)
PARTICIPANT_READERS = ("coordinator", "therapist", "court")
RANGE = (
    QueryParameter(
        "from", {"type": "string", "format": "date-time"}, "start (inclusive), with offset"
    ),
    QueryParameter("to", {"type": "string", "format": "date-time"}, "end (exclusive), with offset"),
)


def visible_participant(participant_id: int) -> Participant:
    """A participant the caller may see; 404 otherwise (outside his courts he does not exist)."""
    participant = db.session.scalar(
        visible_participants(api_user()).where(Participant.id == participant_id)
    )
    if participant is None:
        raise NotFound(_("No encontrado."))
    return participant


def audit_read(participant: Participant, what: str, detail: dict[str, Any] | None = None) -> None:
    """Write that the caller read part of this participant's record."""
    record_access(
        api_user().id,
        "read",
        what,
        participant.id,
        participant_id=participant.id,
        channel="api",
        detail=detail,
    )


def period(query: dict[str, Any], back: timedelta, ahead: timedelta) -> tuple[datetime, datetime]:
    """The asked [from, to) period, defaulting around now; 422 when empty or too long."""
    start = query["from"] or now() - back
    end = query["to"] or (start + back + ahead if query["from"] else now() + ahead)
    if end <= start:
        raise ApiError(422, _("Datos no válidos."), {"to": _("Debe ser posterior a «from».")})
    if end - start > MAX_RANGE:
        raise ApiError(422, _("Datos no válidos."), {"to": _("El periodo es demasiado largo.")})
    return start, end


@operation(
    "POST",
    "/participants",
    summary="Enroll a participant",
    description="Coordinators only, in one of their courts (a court outside them: 404). "
    "Validates everything before writing; queues the welcome SMS and plans his contacts. "
    "A case number already enrolled in that court: 409.",
    roles=("coordinator",),
    body=PARTICIPANT_CREATE,
    response=PARTICIPANT,
    status=201,
    conflicts=True,
)
def enroll(body: dict[str, Any]) -> dict[str, Any]:
    """Enroll a participant."""
    user = api_user()
    court = db.session.get(Court, body["court_id"])
    if court is None or court.id not in user.court_ids:
        raise NotFound(_("No encontrado."), {"court_id": _("Juzgado desconocido.")})
    case_number = body["case_number"].strip()
    if db.session.scalar(
        select(Participant.id).where(
            Participant.court_id == court.id, Participant.case_number == case_number
        )
    ):
        raise ApiError(
            409,
            _("Conflicto con el estado actual."),
            {"case_number": _("Ya hay un participante con esa causa en este juzgado.")},
        )
    participant = enroll_participant(
        court_id=court.id,
        case_number=case_number,
        name=body["name"],
        phone=body["phone"],
        is_phone_shared=body.get("phone_shared", False),
        therapist_id=body["therapist_id"],
        protocol_id=body["protocol_id"],
        phase_id=body["phase_id"],
        session_slots=body["session_slots"],
        consents=body["consents"],
        locale=body.get("locale"),
        timezone=body.get("timezone"),
        by=user,
    )
    record_access(
        user.id, "enroll", "participant", participant.id, participant_id=participant.id,
        channel="api",
    )  # fmt: skip
    return participant_payload(participant)


@operation(
    "GET",
    "/participants",
    summary="List the participants I may see",
    description="Within the caller's courts (a therapist: his own participants), by id, a "
    'page at a time (Link: rel="next"); updated_since lists only records changed since then, '
    "for a client that keeps a copy in step. Optionally one court or one status. Court "
    "users get no phone; admins: 403. Each record listed is audited as read.",
    roles=PARTICIPANT_READERS,
    query=(
        QueryParameter(
            "court_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "only this court"
        ),
        QueryParameter(
            "status", {"type": "string", "enum": list(PARTICIPANT_STATUSES)}, "only this status"
        ),
        *PAGE_QUERY,
    ),
    response=PARTICIPANT,
    many=True,
)
def list_participants(query: dict[str, Any]) -> list[dict[str, Any]]:
    """Participants the caller may see, a page at a time."""
    statement = visible_participants(api_user())
    if query["court_id"] is not None:
        statement = statement.where(Participant.court_id == query["court_id"])
    if query["status"] is not None:
        statement = statement.where(Participant.status == query["status"])
    participants = paged(statement, (Participant.id,), query, updated_at=Participant.updated_at)
    for participant in participants:  # each record read, findable by participant
        audit_read(participant, "participant", {"list": True})
    with_phone = api_user().role != "court"
    return [participant_payload(p, with_phone=with_phone) for p in participants]


@operation(
    "GET",
    "/participants/<int:participant_id>",
    summary="Read a participant",
    description="Coordinators, therapists and court users, within the caller's courts (a "
    "therapist: his own participants; admins: 403). Court users get no phone. Audited.",
    roles=PARTICIPANT_READERS,
    response=PARTICIPANT,
)
def get_participant(participant_id: int) -> dict[str, Any]:
    """A participant's record."""
    participant = visible_participant(participant_id)
    audit_read(participant, "participant")
    return participant_payload(participant, with_phone=api_user().role != "court")


@operation(
    "PATCH",
    "/participants/<int:participant_id>",
    summary="Change a participant (re-plans)",
    description="Coordinators only. Phase, slots, time zone or status changes re-plan his "
    "future contacts without duplicating or losing any.",
    roles=("coordinator",),
    body=PARTICIPANT_UPDATE,
    response=PARTICIPANT,
)
def patch_participant(participant_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Change a participant and re-plan."""
    participant = visible_participant(participant_id)
    changes = {("is_phone_shared" if k == "phone_shared" else k): v for k, v in body.items()}
    update_participant(participant, changes, by=api_user())
    record_access(
        api_user().id, "update", "participant", participant.id, participant_id=participant.id,
        channel="api", detail={"fields": sorted(body)},
    )  # fmt: skip
    return participant_payload(participant)


@operation(
    "GET",
    "/participants/<int:participant_id>/contacts",
    summary="List a participant's sessions and check-ins",
    description="Contacts starting in [from, to); by default from 30 days ago to 30 days "
    'ahead. Times need an offset, a page at a time (Link: rel="next"). A miss of his not '
    'verified yet has verification "unverified"; for a court position that sees only '
    "verified notices its attribution and reason are null (not yet a breach). Admins: 403. "
    "Audited.",
    roles=PARTICIPANT_READERS,
    query=RANGE + PAGE_QUERY,
    response=CONTACT,
    many=True,
)
def list_contacts(participant_id: int, query: dict[str, Any]) -> list[dict[str, Any]]:
    """A participant's contacts in a period, a page at a time."""
    participant = visible_participant(participant_id)
    start, end = period(query, timedelta(days=30), timedelta(days=30))
    contacts = paged(
        select(Contact).where(
            Contact.participant_id == participant.id,
            Contact.starts_at >= start,
            Contact.starts_at < end,
        ),
        (Contact.starts_at, Contact.id),
        query,
        updated_at=Contact.updated_at,
    )
    audit_read(participant, "contacts", {"from": format_instant(start), "to": format_instant(end)})
    sees = sees_unverified_misses(api_user(), participant.court_id)
    return [contact_payload(contact, sees) for contact in contacts]


@operation(
    "GET",
    "/participants/<int:participant_id>/messages",
    summary="List a participant's SMS",
    description="Treatment team only (therapist, coordinator): bodies hold check-in answers, "
    "so court users and admins get 403. Outbound and inbound, oldest first. Audited.",
    roles=("coordinator", "therapist"),
    response=MESSAGE,
    many=True,
)
def list_messages(participant_id: int) -> list[dict[str, Any]]:
    """A participant's SMS conversation."""
    participant = visible_participant(participant_id)
    outbound = db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.participant_id == participant.id)
    )
    inbound = db.session.scalars(
        select(InboundMessage).where(InboundMessage.participant_id == participant.id)
    )
    rows: list[tuple[datetime, int, dict[str, Any]]] = [
        (m.sent_at or m.due_at, 0, outbound_payload(m)) for m in outbound
    ]
    rows += [(m.received_at, 1, inbound_payload(m)) for m in inbound]
    rows.sort(key=lambda row: (row[0], row[1], row[2]["id"]))
    audit_read(participant, "messages")
    return [payload for _at, _order, payload in rows]


@operation(
    "GET",
    "/participants/<int:participant_id>/compliance",
    summary="A participant's compliance",
    description="Counts by status and attribution for contacts starting in [from, to) (by "
    "default the last 30 days), and figures with sessions and check-ins apart, defined once "
    "for the dashboard, this API and the status-hearing report: kept (attended, late, "
    "completed), missed by whom (participant, system, unconfirmed: no delivery receipt for "
    "any reminder), excused, outcome_pending (a session over, joined or by phone, whose "
    "outcome the therapist has not recorded: neither kept nor missed); attendance rate = "
    "kept over kept plus misses attributed to him. Consecutive misses are his latest run "
    "and last_kept_at his last kept contact, whatever the period. A miss of his no person "
    "verified yet is counted in missed_unverified (a part of missed_participant) and "
    "consecutive_unverified; for a court position that sees only verified notices they are "
    "left out of every figure (his misses, his rate, his run). Progress counts verified "
    "misses only. Admins: 403. Audited.",
    roles=PARTICIPANT_READERS,
    query=RANGE,
    response=COMPLIANCE,
)
def get_compliance(participant_id: int, query: dict[str, Any]) -> dict[str, Any]:
    """A participant's compliance over a period."""
    participant = visible_participant(participant_id)
    start, end = period(query, timedelta(days=30), timedelta(0))
    result = compliance_for(
        participant, start, end, sees_unverified_misses(api_user(), participant.court_id)
    )
    audit_read(
        participant, "compliance", {"from": format_instant(start), "to": format_instant(end)}
    )
    last = result["last_contact"]
    return {
        **result,
        "from": format_instant(start),
        "to": format_instant(end),
        "last_contact": (
            contact_payload(last, sees_unverified_misses(api_user(), participant.court_id))
            if last is not None
            else None
        ),
        "last_kept_at": format_instant(result["last_kept_at"]),
    }
