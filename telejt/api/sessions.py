"""API calls about sessions: one-off sessions, attendance, and justifying a past miss."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from telejt.api.auth import api_user
from telejt.api.errors import ApiError
from telejt.api.jsonschema import parse_instant
from telejt.api.participants import visible_participant
from telejt.api.payloads import contact_payload
from telejt.api.routing import operation
from telejt.api.schemas import (
    ALERT_VERIFICATION,
    ATTENDANCE,
    CONTACT,
    JUSTIFICATION,
    SESSION_CREATE,
)
from telejt.audit.services import record_access
from telejt.auth.access import visible_participants
from telejt.auth.models import StaffUser
from telejt.courts.visibility import may_justify, may_verify, viewer_of
from telejt.errors import NotFound
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.justification import justify_miss
from telejt.planning.models import Contact
from telejt.planning.services import add_session
from telejt.planning.verification import verify_miss
from telejt.sessions.services import mark_outcome


@operation(
    "POST",
    "/sessions",
    summary="Schedule a one-off session",
    description="Coordinators, and therapists for their own participants. A one-off session "
    "with the phase's reminders; starts_at needs an offset and must be in the future; the "
    "participant must be active. A participant outside the caller's courts: 404.",
    roles=("coordinator", "therapist"),
    body=SESSION_CREATE,
    response=CONTACT,
    status=201,
)
def create_session(body: dict[str, Any]) -> dict[str, Any]:
    """Add a one-off session."""
    participant = visible_participant(body["participant_id"])
    starts_at = parse_instant(body["starts_at"])
    contact = add_session(participant, starts_at, body["minutes"], body.get("modality", "video"))
    record_access(
        api_user().id, "add_session", "contact", contact.id, participant_id=participant.id,
        channel="api",
    )  # fmt: skip
    return contact_payload(contact)


@operation(
    "POST",
    "/sessions/<int:session_id>/attendance",
    summary="Mark a session's attendance",
    description="The participant's therapist or a coordinator of his court (court users and "
    "admins: 403). attended/late → that status; no_show → missed attributed to the "
    "participant; excused → excused; technical_failure → missed attributed to the system. "
    "Attended or late queues an attendance confirmation SMS. A later call corrects the "
    "outcome, even after the deadline watcher closed the session, because the therapist saw "
    "what happened; every marking is audited with the previous status. A cancelled session, "
    "or one not started yet (except excused): 409. The note is kept for the team and never "
    "returned by the API.",
    roles=("coordinator", "therapist"),
    body=ATTENDANCE,
    response=CONTACT,
    conflicts=True,
)
def mark_attendance(session_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Mark a session's outcome."""
    user = api_user()
    visible_ids = visible_participants(user).with_only_columns(Participant.id).scalar_subquery()
    contact = db.session.scalar(
        select(Contact).where(
            Contact.id == session_id,
            Contact.kind == "session",
            Contact.participant_id.in_(visible_ids),
        )
    )
    if contact is None:
        raise NotFound(_("No encontrado."))
    outcome = body["outcome"]
    previous = {"status": contact.status, "attribution": contact.attribution}
    mark_outcome(contact, outcome, user, body.get("note"))
    record_access(
        user.id, "mark_attendance", "contact", contact.id, participant_id=contact.participant_id,
        channel="api", detail={"outcome": outcome, "previous": previous},
    )  # fmt: skip
    return contact_payload(contact)


@operation(
    "POST",
    "/contacts/<int:contact_id>/justification",
    summary="Justify a past miss",
    description="Coordinators and court supervision officers (other court users: 403; "
    "admins: 403). A missed session or check-in, whoever it was attributed to, becomes "
    "excused with the reason given, which the court reads in its report; the figures follow. "
    "Audited with the attribution it had. A contact that is not a miss: 409.",
    roles=("coordinator", "court"),
    body=JUSTIFICATION,
    response=CONTACT,
    conflicts=True,
)
def justify_contact(contact_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Justify a past miss."""
    user = api_user()
    if not may_justify(viewer_of(user)):
        raise ApiError(403, _("Su función no permite esta operación."))
    contact = _visible_contact(user, contact_id)
    justify_miss(contact, user, body["reason"], channel="api")
    return contact_payload(contact)


@operation(
    "POST",
    "/contacts/<int:contact_id>/verification",
    summary="Verify a miss",
    description="Coordinators and supervision officers (other court users and admins: 403). "
    "A miss of his is a notice until a person verifies it, whether or not it raised an "
    "alert (below the protocol's threshold it raises none); court positions that see only "
    "verified notices read it in no figure until then. outcome: participant (his own miss), "
    "justified (the contact becomes excused) or system_failure (attributed to the system); "
    "the note is required. Its alert, if any, is verified with it. Audited. A contact that "
    "is not a miss: 422; a miss verified already: 409, the first verification stands.",
    roles=("coordinator", "court"),
    body=ALERT_VERIFICATION,
    response=CONTACT,
    conflicts=True,
)
def verify_contact(contact_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Verify a miss."""
    user = api_user()
    if not may_verify(viewer_of(user)):
        raise ApiError(403, _("Su función no permite esta operación."))
    contact = _visible_contact(user, contact_id)
    verify_miss(contact, user, body["outcome"], body["note"], channel="api")  # 422, 409
    return contact_payload(contact)


def _visible_contact(user: StaffUser, contact_id: int) -> Contact:
    """A contact of a participant the caller may see, or 404."""
    visible_ids = visible_participants(user).with_only_columns(Participant.id).scalar_subquery()
    contact = db.session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.participant_id.in_(visible_ids))
    )
    if contact is None:
        raise NotFound(_("No encontrado."))
    return contact
