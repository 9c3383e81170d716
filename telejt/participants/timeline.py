"""A participant's history as one list, cut to what the viewer may see.

Court users (and admins, who keep the system, not the treatment) get attendance
and compliance facts: contacts, delivery of the messages the court may see (no
crisis or conversation replies) without their text, alerts meant for the court
without the notes clinical staff wrote on them, and check-in answers only where
the protocol shares the question with the court and the participant consented.
Never clinical notes, never the participant's own replies, never crisis alerts.
Each rule is telejt.courts.visibility's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from telejt.alerts.models import Alert
from telejt.alerts.services import shown_ack_note
from telejt.auth.models import StaffUser
from telejt.checkins.models import CheckinAnswer
from telejt.courts import visibility
from telejt.courts.services import sees_unverified_misses
from telejt.courts.visibility import viewer_of
from telejt.extensions import db
from telejt.participants.models import Participant, consent_in_force
from telejt.planning.models import Contact
from telejt.reports.answers import answer_line
from telejt.reports.formatting import viewer_locale
from telejt.sessions.models import ClinicalNote
from telejt.sms.models import InboundMessage, OutboundMessage

#: how many of each kind of entry a page shows (newest first)
PAGE_LIMIT = 200


@dataclass(order=True)
class TimelineEntry:
    """One dated fact in a participant's history."""

    at: datetime
    kind: str = field(compare=False)
    fields: dict[str, Any] = field(compare=False, default_factory=dict)


def may_see_team_detail(viewer: StaffUser) -> bool:
    """Whether the viewer treats the participant (and so reads replies, notes, team alerts)."""
    return visibility.may_read_message_text(viewer_of(viewer))


def visible_answers(participant: Participant, viewer: StaffUser) -> list[CheckinAnswer]:
    """The check-in answers the viewer may read."""
    query = (
        select(CheckinAnswer)
        .join(Contact, Contact.id == CheckinAnswer.contact_id)
        .where(Contact.participant_id == participant.id)
        .order_by(CheckinAnswer.answered_at.desc())
        .limit(PAGE_LIMIT)
    )
    if not may_see_team_detail(viewer):
        query = query.where(
            CheckinAnswer.is_shared_with_court.is_(True),
            consent_in_force(participant.id, "share_with_court", CheckinAnswer.answered_at),
        )
    return list(db.session.scalars(query))


def participant_timeline(participant: Participant, viewer: StaffUser) -> list[TimelineEntry]:
    """Contacts, messages, answers, alerts and (for the treatment team) notes, newest first."""
    team = may_see_team_detail(viewer)
    seen_by = viewer_of(viewer)
    sees_unverified = sees_unverified_misses(viewer, participant.court_id)
    entries: list[TimelineEntry] = []
    contacts = db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id)
        .order_by(Contact.starts_at.desc())
        .limit(PAGE_LIMIT)
    )
    for contact in contacts:
        entries.append(
            TimelineEntry(
                contact.starts_at,
                "contact",
                {
                    "contact": contact,
                    "note": contact.outcome_note if team else None,
                    # a miss of his not verified yet: for a position that sees only
                    # verified notices, not yet his (no attribution shown)
                    "withheld": not sees_unverified and contact.is_unverified_miss,
                },
            )
        )
    outbound = select(OutboundMessage).where(OutboundMessage.participant_id == participant.id)
    if not team:
        outbound = outbound.where(OutboundMessage.purpose.in_(visibility.visible_purposes(seen_by)))
    for message in db.session.scalars(
        outbound.order_by(OutboundMessage.due_at.desc()).limit(PAGE_LIMIT)
    ):
        entries.append(
            TimelineEntry(
                message.sent_at or message.due_at,
                "outbound",
                {
                    "message": message,
                    "body": message.body if team else None,
                },
            )
        )
    if team:
        inbound = db.session.scalars(
            select(InboundMessage)
            .where(InboundMessage.participant_id == participant.id)
            .order_by(InboundMessage.received_at.desc())
            .limit(PAGE_LIMIT)
        )
        for reply in inbound:
            entries.append(TimelineEntry(reply.received_at, "inbound", {"message": reply}))
        notes = db.session.scalars(
            select(ClinicalNote)
            .where(ClinicalNote.participant_id == participant.id)
            .order_by(ClinicalNote.created_at.desc())
            .limit(PAGE_LIMIT)
        )
        for note in notes:
            entries.append(TimelineEntry(note.created_at, "note", {"note": note}))
    locale = viewer_locale()
    for answer in visible_answers(participant, viewer):
        question, value = answer_line(participant, answer, locale)
        entries.append(
            TimelineEntry(
                answer.answered_at,
                "answer",
                {"answer": answer, "question": question, "value": value},
            )
        )
    alerts = select(Alert).where(
        Alert.participant_id == participant.id,
        Alert.audience.in_(visibility.alert_audiences(seen_by)),
        Alert.kind.in_(visibility.visible_alert_kinds(seen_by)),
    )
    if not sees_unverified:
        alerts = alerts.where(or_(Alert.verification.is_(None), Alert.verification != "unverified"))
    for alert in db.session.scalars(alerts.order_by(Alert.created_at.desc()).limit(PAGE_LIMIT)):
        entries.append(
            TimelineEntry(
                alert.created_at,
                "alert",
                {"alert": alert, "ack_note": shown_ack_note(alert, seen_by)},
            )
        )
    return sorted(entries, reverse=True)
