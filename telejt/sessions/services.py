"""Remote sessions: the participant's link, presence evidence, admission and the outcome.

Evidence rules. A ``join`` is recorded when the participant's browser connects to the
session's waiting room (Socket.IO ``/room``), never when the page is merely fetched:
SMS apps and carriers fetch links to draw previews, and a preview must not become
evidence that he came. Every later connection is a ``reconnect``; every disconnection
a ``leave``. The contact's status follows: his first join moves it to ``in_progress``;
whether he was late is read from the time of that first join, so nothing is stored
twice. The therapist then marks the outcome with :func:`mark_outcome`.

Links. The token in ``/s/<token>`` is ``Contact.join_token``: 96 random bits,
unique, looked up in the database. It carries no itsdangerous signature on
purpose: a signature would lengthen an SMS already sent as UCS-2 ("sesión") and
add nothing to 96 random bits, while expiry and revocation (cancelled, ended,
window closed) are decided here from the contact itself, so a link stops working
the moment the session does, whatever the token says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import select

from telejt.auth.models import StaffUser
from telejt.clock import now
from telejt.errors import Conflict, InvalidInput
from telejt.extensions import db
from telejt.live import publish, team_room, therapist_room
from telejt.planning.live import publish_contact
from telejt.planning.missed import alert_missed_contact
from telejt.planning.models import Contact
from telejt.planning.outcomes import resolve_outcome_alert
from telejt.planning.rules import session_rule as session_rule  # the views read it here too
from telejt.reports.labels import OUTCOME_LABELS
from telejt.sessions.models import ClinicalNote, PresenceEvent
from telejt.sessions.rooms import ROOM_NAMESPACE, participant_room
from telejt.sms.models import OutboundMessage
from telejt.sms.outbox import queue_message
from telejt.sms.signals import message_sent

#: the page may be opened this much before the join window, to read it calmly
EARLY_READING = timedelta(minutes=5)
#: what new_join_token makes: 16 URL-safe characters (96 random bits)
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16}$")
#: outcome → (status, attribution, attribution reason)
OUTCOMES: dict[str, tuple[str, str | None, str | None]] = {
    "attended": ("attended", None, None),
    "late": ("late", None, None),
    "no_show": ("missed", "participant", "no_show"),
    "excused": ("excused", "excused", "excused_by_staff"),
    "technical_failure": ("missed", "system", "technical_failure"),
}
#: statuses from which a session may no longer be marked
UNMARKABLE_STATUSES = ("cancelled",)


class NotStartedYet(Conflict):
    """Only "excused" may be marked before a session starts."""


#: the first line of the clinical note that records the identity and location check
IDENTITY_CHECK_TAG = "[verificacion-identidad-ubicacion]"
#: he drops (network, a closed tab) and comes back within this time: straight back in,
#: no new admission
RECONNECT_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class LinkCheck:
    """What the participant's link leads to: a contact he may join, or why not."""

    contact: Contact | None
    #: "ok", "unknown", "too_early", "ended", "closed", "cancelled", "phone"
    verdict: str

    @property
    def may_join(self) -> bool:
        """Whether he may enter the waiting room now."""
        return self.verdict == "ok"


def link_opens_at(contact: Contact) -> datetime:
    """When the participant's link starts to work: the join window's opening, a bit earlier."""
    rule = session_rule(contact)
    before = timedelta(minutes=rule.join_window.before_min if rule else 10)
    return contact.starts_at - before - EARLY_READING


def check_link(token: str) -> LinkCheck:
    """Find the session behind a participant's link and say whether he may join now."""
    if not TOKEN_SHAPE.match(token or ""):
        return LinkCheck(None, "unknown")
    contact = db.session.scalar(
        select(Contact).where(Contact.join_token == token, Contact.kind == "session")
    )
    if contact is None:
        return LinkCheck(None, "unknown")
    moment = now()
    if contact.status == "cancelled" or contact.participant.status != "active":
        return LinkCheck(contact, "cancelled")
    if moment < link_opens_at(contact):
        return LinkCheck(contact, "too_early")
    if moment >= contact.ends_at or contact.status in ("attended", "late", "missed", "excused"):
        return LinkCheck(contact, "ended")
    if contact.status != "in_progress" and moment > contact.deadline_at:
        # his join window closed without him; the deadline watcher settles it
        return LinkCheck(contact, "closed")
    if contact.modality == "phone":
        return LinkCheck(contact, "phone")
    return LinkCheck(contact, "ok")


def presence_events(contact: Contact) -> list[PresenceEvent]:
    """The evidence of one session, oldest first."""
    return list(
        db.session.scalars(
            select(PresenceEvent)
            .where(PresenceEvent.contact_id == contact.id)
            .order_by(PresenceEvent.at, PresenceEvent.id)
        )
    )


def first_join_at(contact: Contact) -> datetime | None:
    """When the participant first entered the waiting room."""
    return db.session.scalar(
        select(PresenceEvent.at)
        .where(
            PresenceEvent.contact_id == contact.id,
            PresenceEvent.actor == "participant",
            PresenceEvent.event == "join",
        )
        .order_by(PresenceEvent.at, PresenceEvent.id)
        .limit(1)
    )


def joined_late(contact: Contact) -> bool:
    """Whether his first join came after start + late_after_min."""
    joined = first_join_at(contact)
    if joined is None:
        return False
    return joined > contact.starts_at + timedelta(minutes=contact.late_after_min or 0)


def default_outcome(contact: Contact) -> str:
    """The outcome the console proposes: late if he joined late, attended if he joined."""
    if first_join_at(contact) is None:
        return "no_show"
    return "late" if joined_late(contact) else "attended"


def presence_state(contact: Contact) -> str:
    """Where the participant is now: "absent", "waiting", "admitted" or "left".

    Admission survives a drop: coming back within :data:`RECONNECT_GRACE` of his
    leave (or connecting again while still connected: a second tab) keeps him
    admitted. Trouble reports are evidence, not presence.
    """
    last_event = None
    admitted = False
    left_at: datetime | None = None
    for item in presence_events(contact):
        if item.actor == "participant":
            if item.event == "trouble":
                continue
            if item.event in ("join", "reconnect"):
                admitted = admitted and (left_at is None or item.at - left_at <= RECONNECT_GRACE)
                left_at = None
            elif item.event == "leave":
                left_at = item.at
            last_event = item.event
        elif item.event == "admit":
            admitted = True
    if last_event is None:
        return "absent"
    if last_event == "leave":
        return "left"
    return "admitted" if admitted else "waiting"


def _record(
    contact: Contact, actor: str, event: str, staff: StaffUser | None = None, detail: str = ""
) -> PresenceEvent:
    item = PresenceEvent(
        contact_id=contact.id,
        actor=actor,
        staff_id=staff.id if staff is not None else None,
        event=event,
        at=now(),
        detail=detail[:300] or None,
    )
    db.session.add(item)
    db.session.flush()
    return item


def publish_presence(contact: Contact, trouble: str | None = None) -> None:
    """Tell the therapist's pages (and the coordinators) where the participant is.

    ``trouble``: what just failed on his side, if that is the news.
    """
    participant = contact.participant
    rooms = [team_room(participant.court_id)]
    if participant.therapist_id is not None:
        rooms.insert(0, therapist_room(participant.therapist_id))
    publish(
        "session.presence",
        {
            "contact_id": contact.id,
            "participant_id": participant.id,
            "state": presence_state(contact),
            "status": contact.status,
            "modality": contact.modality,
            "late": joined_late(contact),
            "trouble": trouble,
        },
        rooms,
    )


def participant_joined(contact: Contact, detail: str = "") -> PresenceEvent:
    """He entered the waiting room: a join the first time, then reconnects (not committed)."""
    event = "reconnect" if first_join_at(contact) is not None else "join"
    item = _record(contact, "participant", event, detail=detail)
    if contact.status in ("scheduled", "confirmed", "declined"):
        contact.status = "in_progress"
        db.session.flush()
        publish_contact(contact, contact.participant)
    publish_presence(contact)
    return item


def participant_left(contact: Contact, detail: str = "") -> PresenceEvent:
    """His page disconnected (closed, lost network)."""
    item = _record(contact, "participant", "leave", detail=detail)
    publish_presence(contact)
    return item


def therapist_joined(contact: Contact, therapist: StaffUser) -> PresenceEvent:
    """The therapist opened the session's video console."""
    return _record(contact, "therapist", "join", therapist)


def therapist_left(contact: Contact, therapist: StaffUser) -> PresenceEvent:
    """The therapist's console disconnected."""
    return _record(contact, "therapist", "leave", therapist)


def admit(contact: Contact, therapist: StaffUser) -> PresenceEvent:
    """The therapist lets the waiting participant in."""
    item = _record(contact, "therapist", "admit", therapist)
    publish_presence(contact)
    return item


def switch_to_phone(contact: Contact, therapist: StaffUser, detail: str = "") -> PresenceEvent:
    """Video failed: the session goes on by phone; the therapist calls him."""
    contact.modality = "phone"
    item = _record(contact, "therapist", "phone_switch", therapist, detail=detail)
    publish_contact(contact, contact.participant)
    publish_presence(contact)
    return item


def record_nudge(contact: Contact) -> PresenceEvent:
    """His link was sent again because he had not joined (on record, and live)."""
    item = _record(contact, "system", "nudge")
    publish_presence(contact)
    return item


@message_sent.connect
def _nudge_sent(message: OutboundMessage, **_: object) -> None:
    if message.purpose == "nudge" and message.contact is not None:
        record_nudge(message.contact)


def confirm_identity_and_location(
    contact: Contact,
    therapist: StaffUser,
    *,
    identity_confirmed: bool,
    location: str,
    private_place: bool,
    callback_confirmed: bool,
) -> ClinicalNote:
    """Record the telehealth check at the session's start as a clinical note.

    A clinical note, not presence evidence: where he is is health-care information,
    and notes are never shown to court users while presence events may be.
    """
    location = (location or "").strip()
    errors = {}
    if not identity_confirmed:
        errors["identity_confirmed"] = "identity must be confirmed"
    if not location:
        errors["location"] = "the participant's current location is required"
    elif len(location) > 300:
        errors["location"] = "at most 300 characters"
    if errors:
        raise InvalidInput(errors)
    lines = [
        IDENTITY_CHECK_TAG,
        f"identidad confirmada: sí · lugar privado: {'sí' if private_place else 'no'}"
        f" · número de respaldo confirmado: {'sí' if callback_confirmed else 'no'}",
        f"ubicación: {location}",
    ]
    note = ClinicalNote(
        participant_id=contact.participant_id,
        contact_id=contact.id,
        author_id=therapist.id,
        body="\n".join(lines),
        created_at=now(),
    )
    db.session.add(note)
    db.session.flush()
    return note


def identity_checks(contact: Contact) -> list[ClinicalNote]:
    """The identity and location confirmations recorded for a session, oldest first."""
    return list(
        db.session.scalars(
            select(ClinicalNote)
            .where(
                ClinicalNote.contact_id == contact.id,
                ClinicalNote.body.startswith(IDENTITY_CHECK_TAG),
            )
            .order_by(ClinicalNote.created_at, ClinicalNote.id)
        )
    )


def mark_outcome(contact: Contact, outcome: str, by: StaffUser, note: str | None = None) -> Contact:
    """Settle a session as the therapist saw it; confirm attendance to him by SMS (not committed).

    attended/late → that status; no_show → missed (participant); excused → excused;
    technical_failure → missed attributed to the system, so no court reads it as his.
    A later correction replaces the outcome; a confirmation SMS not yet sent is withdrawn.
    The "outcome not recorded" alert the watcher may have raised is acknowledged by the
    marking, which is what it asked for.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput({"outcome": f"one of {', '.join(OUTCOMES)}"})
    if contact.kind != "session":
        raise InvalidInput({"contact": "not a session"})
    if contact.status in UNMARKABLE_STATUSES:
        cancelled = gettext("La sesión fue cancelada.")
        raise Conflict(cancelled, {"outcome": cancelled})
    if outcome != "excused" and now() < contact.starts_at:
        too_early = gettext("La sesión aún no empieza.")
        raise NotStartedYet(too_early, {"outcome": too_early})
    if note is not None and len(note) > 2000:
        raise InvalidInput({"note": "at most 2000 characters"})
    participant = contact.participant
    status, attribution, reason = OUTCOMES[outcome]
    contact.status = status
    contact.attribution = attribution
    contact.attribution_reason = reason
    contact.outcome_note = (note or "").strip() or None
    contact.outcome_by_id = by.id
    contact.closed_at = now()
    db.session.flush()
    key = f"contact:{contact.id}:attendance"
    if status in ("attended", "late"):
        queue_message(participant, purpose="attendance_confirmation", key=key, contact=contact)
    else:
        _withdraw_unsent(key)
    publish_contact(contact, participant)
    # his page, waiting or in the call, learns the session is over without a reload
    publish(
        "state",
        {"state": "ended", "outcome": outcome},
        [participant_room(contact.id)],
        namespace=ROOM_NAMESPACE,
    )
    resolve_outcome_alert(
        contact, by, gettext("Resultado registrado: %(label)s.", label=OUTCOME_LABELS[outcome])
    )
    if status == "missed":
        alert_missed_contact(contact, participant, attribution or "participant", reason or outcome)
    return contact


def _withdraw_unsent(key: str) -> None:
    message = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.idempotency_key == key)
    )
    if message is not None and message.status == "pending":
        message.status = "cancelled"
        message.status_reason = "outcome_changed"
        message.status_at = now()


def may_run_session(user: StaffUser, contact: Contact) -> bool:
    """Only the participant's own therapist takes part in the video."""
    return (
        user.is_active
        and user.role == "therapist"
        and contact.kind == "session"
        and contact.participant.therapist_id == user.id
    )


def may_open_console(user: StaffUser, contact: Contact) -> bool:
    """The participant's therapist, or a coordinator of his court."""
    if contact.kind != "session" or not user.is_active:
        return False
    if user.role == "coordinator":
        return contact.participant.court_id in user.court_ids
    return may_run_session(user, contact)
