"""Sessions land on the right UTC instant in every Mexican zone, across the DST switches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.sms.dispatch import dispatch_due_messages
from telejt.sms.models import OutboundMessage

# 2026: the US (and Mexico's border cities) switch on Sunday 8 March and Sunday 1 November.
CASES = [
    # zone, monday we plan from, the two Tuesdays 10:00 local in UTC
    (
        "America/Tijuana",
        datetime(2026, 3, 2, 12, tzinfo=UTC),
        ["2026-03-03T18:00", "2026-03-10T17:00"],
    ),
    (
        "America/Tijuana",
        datetime(2026, 10, 26, 12, tzinfo=UTC),
        ["2026-10-27T17:00", "2026-11-03T18:00"],
    ),
    (
        "America/Mexico_City",
        datetime(2026, 3, 2, 12, tzinfo=UTC),
        ["2026-03-03T16:00", "2026-03-10T16:00"],
    ),
    (
        "America/Mexico_City",
        datetime(2026, 10, 26, 12, tzinfo=UTC),
        ["2026-10-27T16:00", "2026-11-03T16:00"],
    ),
    (
        "America/Cancun",
        datetime(2026, 3, 2, 12, tzinfo=UTC),
        ["2026-03-03T15:00", "2026-03-10T15:00"],
    ),
    (
        "America/Cancun",
        datetime(2026, 10, 26, 12, tzinfo=UTC),
        ["2026-10-27T15:00", "2026-11-03T15:00"],
    ),
    (
        "America/Hermosillo",
        datetime(2026, 3, 2, 12, tzinfo=UTC),
        ["2026-03-03T17:00", "2026-03-10T17:00"],
    ),
    (
        "America/Hermosillo",
        datetime(2026, 10, 26, 12, tzinfo=UTC),
        ["2026-10-27T17:00", "2026-11-03T17:00"],
    ),
    (
        "America/Ciudad_Juarez",
        datetime(2026, 3, 2, 12, tzinfo=UTC),
        ["2026-03-03T17:00", "2026-03-10T16:00"],
    ),
    (
        "America/Matamoros",
        datetime(2026, 10, 26, 12, tzinfo=UTC),
        ["2026-10-27T15:00", "2026-11-03T16:00"],
    ),
]


def _sessions(participant) -> list[str]:
    rows = db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    )
    return [c.starts_at.strftime("%Y-%m-%dT%H:%M") for c in rows]


@pytest.mark.parametrize(("zone", "monday", "expected"), CASES)
def test_weekly_slot_lands_on_the_right_instant(
    zone, monday, expected, frozen_clock, make_participant
) -> None:
    frozen_clock.set(monday)
    participant = make_participant(
        timezone=zone, phase_id="2", session_slots=[{"weekday": "tue", "time": "10:00"}]
    )
    assert _sessions(participant) == expected


@pytest.mark.parametrize(
    ("locale", "zone", "shown"),
    [
        ("es_MX", "America/Tijuana", "martes 10 de marzo, 10:00 a.m."),
        ("en", "America/Tijuana", "Tuesday, March 10, 10:00 AM"),
        ("es_MX", "America/Cancun", "martes 10 de marzo, 10:00 a.m."),
    ],
)
def test_reminder_shows_local_time_in_his_language(
    locale, zone, shown, frozen_clock, make_participant
) -> None:
    frozen_clock.set(datetime(2026, 3, 2, 12, tzinfo=UTC))
    participant = make_participant(
        timezone=zone,
        locale=locale,
        phase_id="2",
        session_slots=[{"weekday": "tue", "time": "10:00"}],
    )
    session = db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "session")
        .order_by(Contact.starts_at.desc())
    ).first()
    day_reminder = db.session.scalar(
        select(OutboundMessage).where(
            OutboundMessage.contact_id == session.id,
            OutboundMessage.idempotency_key.like("%:reminder:1440m"),
        )
    )
    frozen_clock.set(day_reminder.due_at)
    dispatch_due_messages()
    db.session.refresh(day_reminder)
    assert day_reminder.status == "delivered"
    assert shown in day_reminder.body
    assert "\u202f" not in day_reminder.body
    assert f"/s/{session.join_token}" in day_reminder.body
