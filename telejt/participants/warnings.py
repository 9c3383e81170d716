"""What a coordinator must know right after enrolling: contacts too close to be reminded.

Enrolled eight minutes before his first session, he gets neither its 24-hour nor its
one-hour reminder (the planner skips a reminder whose time has passed, and sends a
late one only while the contact is still far enough away). The coordinator is told
at once, so he warns him another way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext, ngettext
from sqlalchemy import select

from telejt.clock import now
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import OPEN_STATUSES, Contact
from telejt.sms.models import OutboundMessage

#: how far ahead the first contacts are looked at
LOOK_AHEAD = timedelta(days=7)
#: why a reminder was not planned: its time had passed, or fell in his quiet hours
LATE_REASONS = ("overdue", "quiet_hours")


@dataclass(frozen=True)
class UnremindedContact:
    """A coming contact some of whose reminders will not go out."""

    contact: Contact
    #: minutes before the contact of each reminder that will not be sent
    missing_min: tuple[int, ...]
    #: whether no reminder at all will reach him
    is_unreminded: bool


def unreminded_contacts(
    participant: Participant, at: datetime | None = None
) -> list[UnremindedContact]:
    """His coming contacts (a week ahead) whose reminders cannot all be sent in time."""
    moment = at or now()
    contacts = db.session.scalars(
        select(Contact)
        .where(
            Contact.participant_id == participant.id,
            Contact.status.in_(OPEN_STATUSES),
            Contact.starts_at > moment,
            Contact.starts_at <= moment + LOOK_AHEAD,
        )
        .order_by(Contact.starts_at)
    ).all()
    if not contacts:
        return []
    reminders: dict[int, list[OutboundMessage]] = {}
    for message in db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.contact_id.in_([c.id for c in contacts]),
            OutboundMessage.purpose == "reminder",
        )
    ):
        assert message.contact_id is not None
        reminders.setdefault(message.contact_id, []).append(message)
    found = []
    for contact in contacts:
        messages = reminders.get(contact.id, [])
        missing = sorted(
            (
                _before_min(m)
                for m in messages
                if m.status == "skipped" and m.status_reason in LATE_REASONS
            ),
            reverse=True,
        )
        if missing:
            kept = [m for m in messages if m.status not in ("skipped", "cancelled")]
            found.append(UnremindedContact(contact, tuple(missing), is_unreminded=not kept))
    return found


def _before_min(message: OutboundMessage) -> int:
    params = message.params or {}
    value = params.get("before_min", 0)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0


def lead_words(minutes: int) -> str:
    """A reminder's lead in words: "24 h", "1 h", "30 min"."""
    if minutes and minutes % 60 == 0:
        return ngettext("%(num)d hora", "%(num)d horas", minutes // 60)
    return gettext("%(minutes)d min", minutes=minutes)
