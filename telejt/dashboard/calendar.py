"""The attendance calendar: one square per day, coloured by that day's outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact

#: a day shows its most serious outcome; the participant's own miss comes first
OUTCOME_ORDER = (
    "missed_participant",
    "missed_unverified",
    "missed_system",
    "missed_unconfirmed",
    "missed_opted_out",
    "excused",
    "kept",
    "open",
    "none",
)
#: a miss's attribution → its calendar class (an unknown one reads as his: never hide it)
MISSED_CLASSES = {
    "participant": "missed_participant",
    "system": "missed_system",
    "unconfirmed": "missed_unconfirmed",
    "opted_out": "missed_opted_out",
}
KEPT = ("attended", "late", "completed")
OPEN = ("scheduled", "confirmed", "declined", "in_progress")


@dataclass(frozen=True)
class CalendarDay:
    """One day of the grid and what happened on it."""

    day: date
    outcome: str
    contacts: tuple[Contact, ...]


def contact_outcome(contact: Contact, sees_unverified: bool = True) -> str:
    """The calendar class of one contact (a miss of his not verified yet reads as being
    verified, not as his, for a position that sees only verified notices)."""
    if not sees_unverified and contact.is_unverified_miss:
        return "missed_unverified"
    if contact.status == "missed":
        return MISSED_CLASSES.get(contact.attribution or "", "missed_participant")
    if contact.status == "excused":
        return "excused"
    if contact.status in KEPT:
        return "kept"
    if contact.status in OPEN:
        return "open"
    return "none"  # cancelled: neither kept nor missed


def attendance_calendar(
    participant: Participant, today: date, weeks: int = 6, sees_unverified: bool = True
) -> list[list[CalendarDay]]:
    """Weeks (Monday first) ending with the week of ``today``, in his time zone."""
    zone = ZoneInfo(participant.timezone)
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    last = first + timedelta(days=7 * weeks)
    contacts = db.session.scalars(
        select(Contact)
        .where(
            Contact.participant_id == participant.id,
            Contact.starts_at >= datetime.combine(first, time(0), zone),
            Contact.starts_at < datetime.combine(last, time(0), zone),
        )
        .order_by(Contact.starts_at)
    )
    by_day: dict[date, list[Contact]] = {}
    for contact in contacts:
        by_day.setdefault(contact.starts_at.astimezone(zone).date(), []).append(contact)
    grid: list[list[CalendarDay]] = []
    for week in range(weeks):
        row = []
        for weekday in range(7):
            day = first + timedelta(days=7 * week + weekday)
            day_contacts = tuple(by_day.get(day, ()))
            outcomes = [contact_outcome(c, sees_unverified) for c in day_contacts] or ["none"]
            worst = min(outcomes, key=OUTCOME_ORDER.index)
            row.append(CalendarDay(day, worst, day_contacts))
        grid.append(row)
    return grid
