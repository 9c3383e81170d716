"""The nudge: at start + nudge_after_min a participant who has not joined gets his link again."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from test_sessions_services import MONDAY, TUESDAY_SESSION, first_session

from telejt.extensions import db
from telejt.planning.services import plan_participant
from telejt.sessions import services
from telejt.sms.models import OutboundMessage


def nudge_of(contact) -> OutboundMessage:
    return db.session.scalar(
        select(OutboundMessage).where(
            OutboundMessage.idempotency_key == f"contact:{contact.id}:nudge"
        )
    )


def test_planned_with_the_session_at_start_plus_nudge_after_min(
    frozen_clock, make_participant
) -> None:
    frozen_clock.set(MONDAY)
    participant = make_participant()
    session = first_session(participant)
    message = nudge_of(session)
    assert (message.purpose, message.status) == ("nudge", "pending")
    assert message.due_at == TUESDAY_SESSION + timedelta(minutes=5)
    plan_participant(participant)  # planning again changes nothing
    assert db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.purpose == "nudge", OutboundMessage.contact_id == session.id
        )
    ).all() == [message]


def test_sent_to_who_has_not_joined_and_recorded(
    frozen_clock, make_participant, sms, run_until
) -> None:
    frozen_clock.set(MONDAY)
    session = first_session(make_participant())
    run_until(TUESDAY_SESSION + timedelta(minutes=6))
    nudges = [m for m in sms.sent if "Ya es hora de tu cita" in m["body"]]
    assert len(nudges) == 1
    assert f"/s/{session.join_token}" in nudges[0]["body"]
    event = services.presence_events(session)[-1]
    assert (event.actor, event.event, event.at) == (
        "system",
        "nudge",
        TUESDAY_SESSION + timedelta(minutes=5),
    )


def test_skipped_for_who_has_joined(frozen_clock, make_participant, sms, run_until) -> None:
    frozen_clock.set(MONDAY)
    session = first_session(make_participant())
    frozen_clock.set(TUESDAY_SESSION - timedelta(minutes=2))
    services.participant_joined(session)
    db.session.commit()
    run_until(TUESDAY_SESSION + timedelta(minutes=6))
    assert not [m for m in sms.sent if "Ya es hora de tu cita" in m["body"]]
    assert (nudge_of(session).status, nudge_of(session).status_reason) == (
        "skipped",
        "already_joined",
    )
    assert [e.event for e in services.presence_events(session)] == ["join"]


def test_skipped_for_a_phone_session(frozen_clock, make_participant, sms, run_until) -> None:
    frozen_clock.set(MONDAY)
    session = first_session(make_participant())
    session.modality = "phone"
    db.session.commit()
    run_until(TUESDAY_SESSION + timedelta(minutes=6))
    assert nudge_of(session).status_reason == "not_video"


def test_cancelled_with_its_session(frozen_clock, make_participant) -> None:
    from telejt.planning.services import cancel_contact

    frozen_clock.set(MONDAY)
    session = first_session(make_participant())
    cancel_contact(session, "rescheduled")
    assert nudge_of(session).status == "cancelled"
