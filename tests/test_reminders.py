"""Reminders: quiet hours, overdue reminders, provider errors, interrupted sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.sms.dispatch import (
    claim_due_messages,
    dispatch_due_messages,
    recover_interrupted_claims,
)
from telejt.sms.models import OutboundMessage

# Monday 2 March 2026 08:30 in Mexico City (UTC-6) is 14:30 UTC.
SUNDAY_NOON = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)


def _reminders(participant) -> dict[str, OutboundMessage]:  # type: ignore[no-untyped-def]
    session = db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    ).first()
    rows = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.contact_id == session.id, OutboundMessage.purpose == "reminder"
        )
    )
    return {m.idempotency_key.rsplit(":", 1)[1]: m for m in rows}


def test_reminder_in_quiet_hours_moves_to_the_evening_before(frozen_clock, make_participant):
    frozen_clock.set(SUNDAY_NOON - timedelta(days=1))
    participant = make_participant(
        timezone="America/Mexico_City", session_slots=[{"weekday": "mon", "time": "08:30"}]
    )
    reminders = _reminders(participant)
    # the 1 h reminder would be 07:30, inside 21:00–08:00: it goes at 20:59 on Sunday
    assert reminders["60m"].due_at == datetime(2026, 3, 2, 2, 59, tzinfo=UTC)
    assert reminders["60m"].status == "pending"
    assert reminders["1440m"].due_at == datetime(2026, 3, 1, 14, 30, tzinfo=UTC)


def test_reminder_whose_evening_slot_passed_is_skipped_and_recorded(frozen_clock, make_participant):
    frozen_clock.set(datetime(2026, 3, 2, 4, 0, tzinfo=UTC))  # Sunday 22:00 in Mexico City
    participant = make_participant(
        timezone="America/Mexico_City", session_slots=[{"weekday": "mon", "time": "08:30"}]
    )
    reminders = _reminders(participant)
    assert reminders["60m"].status == "skipped"
    assert reminders["60m"].status_reason == "quiet_hours"
    assert reminders["1440m"].status == "skipped"  # overdue, and it is night now
    assert reminders["1440m"].status_reason == "overdue"


def test_overdue_reminder_goes_at_once_when_it_can_still_help(frozen_clock, make_participant):
    frozen_clock.set(datetime(2026, 3, 3, 14, 0, tzinfo=UTC))  # Tue 08:00 Monterrey
    participant = make_participant(session_slots=[{"weekday": "tue", "time": "10:00"}])
    reminders = _reminders(participant)
    assert reminders["1440m"].status == "pending"
    assert reminders["1440m"].due_at == frozen_clock.now()  # sent now, 2 h ahead
    assert reminders["60m"].due_at == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


def test_transient_errors_retry_with_backoff_then_fail(frozen_clock, make_participant, sms):
    frozen_clock.set(SUNDAY_NOON)
    participant = make_participant(consents={"sms": True, "telehealth": True})
    welcome = db.session.scalar(
        select(OutboundMessage).where(
            OutboundMessage.participant_id == participant.id, OutboundMessage.purpose == "welcome"
        )
    )
    sms.fail_with = ("30003", False)  # unreachable handset: try again later
    dispatch_due_messages()
    db.session.refresh(welcome)
    assert (welcome.status, welcome.attempts) == ("pending", 1)
    assert welcome.due_at == frozen_clock.now() + timedelta(minutes=1)
    for _ in range(4):
        frozen_clock.set(welcome.due_at)
        dispatch_due_messages()
        db.session.refresh(welcome)
    assert (welcome.status, welcome.attempts, welcome.error_code) == ("failed", 5, "30003")
    assert sms.sent == []


def test_permanent_error_stops_and_alerts_the_team(frozen_clock, make_participant, sms):
    frozen_clock.set(SUNDAY_NOON)
    participant = make_participant()
    sms.fail_with = ("21610", True)  # the recipient said STOP to the carrier
    dispatch_due_messages()
    db.session.refresh(participant)
    assert participant.sms_opted_out_at is not None
    alert = db.session.scalar(select(Alert).where(Alert.participant_id == participant.id))
    assert (alert.kind, alert.attribution, alert.audience) == ("reachability", "system", "team")


def test_interrupted_claim_sends_nothing_twice(frozen_clock, make_participant, sms):
    frozen_clock.set(SUNDAY_NOON)
    for _ in range(3):
        make_participant()
    claimed = claim_due_messages(worker="dead-host:1")
    assert len(claimed) == 3
    frozen_clock.advance(minutes=1)
    assert recover_interrupted_claims() == 0  # within the lease: maybe just slow
    frozen_clock.advance(minutes=5)
    assert recover_interrupted_claims() == 3
    statuses = [db.session.get(OutboundMessage, i).status for i in claimed]
    assert statuses == ["needs_review", "pending", "pending"]
    review = db.session.scalar(select(Alert).where(Alert.reason == "send_interrupted"))
    assert review is not None and review.audience == "team"
    dispatch_due_messages()
    assert len(sms.sent) == 2
