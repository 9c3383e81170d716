"""A missed contact says who missed it: the participant, the system, or nobody (excused)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.sms.models import OutboundMessage

MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _first_session(participant) -> Contact:
    return db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    ).first()


def test_missed_after_delivered_reminders_is_the_participants(
    frozen_clock, make_participant, sms, run_until
) -> None:
    frozen_clock.set(MONDAY)
    participant = make_participant()
    session = _first_session(participant)
    run_until(session.deadline_at + timedelta(seconds=1))
    db.session.refresh(session)
    assert session.status == "missed"
    assert session.attribution == "participant"
    assert session.attribution_reason == "reminder_delivered"
    reminders = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.contact_id == session.id, OutboundMessage.purpose == "reminder"
        )
    ).all()
    assert sorted(m.status for m in reminders) == ["delivered", "delivered"]  # 24 h and 1 h
    links = [m for m in sms.sent if f"/s/{session.join_token}" in m["body"]]
    assert len(links) == 3  # both reminders and the nudge at start + 5 min
    alert = db.session.scalar(select(Alert).where(Alert.contact_id == session.id))
    assert alert is not None
    assert (alert.kind, alert.attribution, alert.audience) == (
        "missed_contact",
        "participant",
        "court",
    )


def test_missed_after_undelivered_reminders_is_the_systems(
    frozen_clock, make_participant, sms, run_until
) -> None:
    frozen_clock.set(MONDAY)
    participant = make_participant()
    session = _first_session(participant)
    sms.fail_with = ("30006", True)  # landline or unreachable carrier
    run_until(session.deadline_at + timedelta(seconds=1))
    db.session.refresh(session)
    assert session.status == "missed"
    assert session.attribution == "system"
    assert session.attribution_reason.startswith("sms_undelivered")
    kinds = {
        (a.kind, a.attribution)
        for a in db.session.scalars(select(Alert).where(Alert.participant_id == participant.id))
    }
    assert ("missed_contact", "system") in kinds
    assert ("reachability", "system") in kinds


def test_undelivered_status_from_the_carrier_is_the_systems(
    frozen_clock, make_participant, sms, run_until
) -> None:
    frozen_clock.set(MONDAY)
    participant = make_participant()
    session = _first_session(participant)
    sms.status = "sent"
    run_until(session.starts_at - timedelta(minutes=30))
    for message in db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.contact_id == session.id)
    ):
        if message.status == "sent":  # the carrier's callback came back: undelivered
            message.status = "undelivered"
            message.error_code = "30003"
    db.session.commit()
    run_until(session.deadline_at + timedelta(seconds=1))
    db.session.refresh(session)
    assert (session.status, session.attribution) == ("missed", "system")
    assert session.attribution_reason == "sms_undelivered:30003"


def test_declined_session_is_excused_without_alert(
    frozen_clock, make_participant, sms, run_until
) -> None:
    frozen_clock.set(MONDAY)
    participant = make_participant()
    session = _first_session(participant)
    session.status = "declined"
    session.declined_at = frozen_clock.now()
    db.session.commit()
    run_until(session.deadline_at + timedelta(seconds=1))
    db.session.refresh(session)
    assert (session.status, session.attribution) == ("excused", "excused")
    assert db.session.scalar(select(Alert).where(Alert.contact_id == session.id)) is None


def test_no_sms_consent_is_the_systems(frozen_clock, make_participant, sms, run_until) -> None:
    frozen_clock.set(MONDAY)
    participant = make_participant(consents={"sms": False, "telehealth": True})
    session = _first_session(participant)
    run_until(session.deadline_at + timedelta(seconds=1))
    db.session.refresh(session)
    assert (session.attribution, session.attribution_reason) == ("system", "no_sms_consent")
    assert sms.sent == []
