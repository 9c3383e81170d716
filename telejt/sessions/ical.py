"""The therapist's iCalendar feed: his sessions, at a secret and revocable URL.

Only the sha256 of the secret is stored (``StaffUser.calendar_token_hash``), so a
database leak does not hand out feeds. A calendar app copies what it reads to
other companies' servers, so events carry no name and no case number: only
"Sesión telejt", the session's number and a link to its console (which asks for
the therapist's login).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from icalendar import Calendar, Event
from sqlalchemy import Select, select

from telejt.auth.models import StaffUser
from telejt.clock import now
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact

#: how far back and ahead the feed reaches
FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=60)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_calendar_secret(user: StaffUser) -> str:
    """A new feed secret for this therapist (the old URL stops working); shown once."""
    secret = secrets.token_urlsafe(24)
    user.calendar_token_hash = _digest(secret)
    return secret


def revoke_calendar_secret(user: StaffUser) -> None:
    """The feed URL stops working."""
    user.calendar_token_hash = None


def therapist_for_calendar_secret(secret: str) -> StaffUser | None:
    """The active therapist whose feed this secret opens, if any."""
    if not secret or len(secret) > 100:
        return None
    user = db.session.scalar(
        select(StaffUser).where(StaffUser.calendar_token_hash == _digest(secret))
    )
    if user is None or not user.is_active or user.role != "therapist":
        return None
    return user


def own_sessions(user: StaffUser) -> Select[Contact]:
    """Sessions of the therapist's own participants in his courts (add the rest)."""
    return (
        select(Contact)
        .join(Participant, Participant.id == Contact.participant_id)
        .where(
            Participant.therapist_id == user.id,
            Participant.court_id.in_(user.court_ids or [-1]),
            Contact.kind == "session",
        )
    )


def therapist_sessions(user: StaffUser) -> list[Contact]:
    """His participants' sessions in the feed's reach, not cancelled."""
    moment = now()
    return list(
        db.session.scalars(
            own_sessions(user)
            .where(
                Contact.status != "cancelled",
                Contact.starts_at >= moment - FEED_PAST,
                Contact.starts_at <= moment + FEED_AHEAD,
            )
            .order_by(Contact.starts_at, Contact.id)
        )
    )


def calendar_feed(user: StaffUser, title: str, summary: str) -> bytes:
    """The .ics document of a therapist's sessions (no participant names in it)."""
    base = current_app.config["TELEJT_PUBLIC_URL"]
    calendar = Calendar()
    calendar.add("prodid", "-//telejt//sesiones//ES")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", title)
    stamp = now()
    for contact in therapist_sessions(user):
        event = Event()
        event.add("uid", f"session-{contact.id}@telejt")
        event.add("dtstamp", stamp)
        event.add("dtstart", contact.starts_at)
        event.add("dtend", contact.ends_at)
        event.add("summary", f"{summary} #{contact.id}")
        event.add("url", f"{base}/sessions/{contact.id}")
        event.add("status", "CONFIRMED" if contact.status != "declined" else "TENTATIVE")
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical
