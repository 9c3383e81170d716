"""Promises of re-planning and dispatch that nothing else checked: a participant told
about a contact is told again when it changes; nothing goes to a participant no longer
active; a settled future contact is left as it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from telejt.extensions import db
from telejt.participants.services import update_participant
from telejt.planning.models import Contact
from telejt.planning.services import plan_participant
from telejt.sms.dispatch import dispatch_due_messages
from telejt.sms.models import OutboundMessage

# Monday 2 March 2026, 12:00 in Monterrey (UTC-6): his Tuesday 10:00 session is tomorrow,
# so its 24 h reminder is overdue and goes at once; next Tuesday's has not left yet.
MONDAY_NOON = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
TUESDAY_SLOT = [{"weekday": "tue", "time": "10:00"}]


def _sessions(participant) -> list[Contact]:
    return list(
        db.session.scalars(
            select(Contact)
            .where(Contact.participant_id == participant.id, Contact.kind == "session")
            .order_by(Contact.starts_at)
        )
    )


def _messages(contact: Contact, purpose: str) -> list[OutboundMessage]:
    return list(
        db.session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.contact_id == contact.id, OutboundMessage.purpose == purpose
            )
        )
    )


def _told_about_tomorrow(frozen_clock, make_participant, sms):
    frozen_clock.set(MONDAY_NOON)
    participant = make_participant(session_slots=TUESDAY_SLOT)
    dispatch_due_messages()
    db.session.commit()
    tomorrow, next_week = _sessions(participant)[:2]
    assert tomorrow.starts_at == datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
    assert [m.status for m in _messages(tomorrow, "reminder") if m.sent_at] == ["delivered"]
    assert not any(m.sent_at for m in _messages(next_week, "reminder"))
    sms.sent.clear()
    return participant, tomorrow, next_week


def test_a_moved_contact_he_was_reminded_of_is_told_again(
    frozen_clock, make_participant, sms
) -> None:
    participant, tomorrow, next_week = _told_about_tomorrow(frozen_clock, make_participant, sms)
    # the same 10:00 on his clock, in another zone: the contacts stay, their instants move
    update_participant(participant, {"timezone": "America/Tijuana"})
    db.session.commit()
    assert tomorrow.starts_at == datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
    notices = _messages(tomorrow, "change_notice")
    assert [(n.idempotency_key, n.params) for n in notices] == [
        (f"contact:{tomorrow.id}:moved:20260303T1000", {"cancelled": False})
    ]
    # next week's was never announced: moving it tells him nothing
    assert _messages(next_week, "change_notice") == []

    dispatch_due_messages()
    db.session.commit()
    assert notices[0].status == "delivered"
    assert [m["to"] for m in sms.sent if m["sid"] == notices[0].provider_sid] == [participant.phone]


def test_a_cancelled_contact_he_was_reminded_of_is_told_once(
    frozen_clock, make_participant, sms
) -> None:
    participant, tomorrow, next_week = _told_about_tomorrow(frozen_clock, make_participant, sms)
    update_participant(participant, {"session_slots": [{"weekday": "wed", "time": "10:00"}]})
    db.session.commit()
    assert (tomorrow.status, tomorrow.status_reason) == ("cancelled", "replanned")
    assert [n.params for n in _messages(tomorrow, "change_notice")] == [{"cancelled": True}]
    assert _messages(next_week, "change_notice") == []
    plan_participant(participant)  # planning again changes nothing: still one notice
    db.session.commit()
    assert len(_messages(tomorrow, "change_notice")) == 1
    dispatch_due_messages()
    db.session.commit()
    assert [n.status for n in _messages(tomorrow, "change_notice")] == ["delivered"]


def test_nothing_goes_to_a_participant_no_longer_active(
    frozen_clock, make_participant, sms
) -> None:
    frozen_clock.set(MONDAY_NOON)
    leaving = make_participant(session_slots=TUESDAY_SLOT)
    staying = make_participant(session_slots=TUESDAY_SLOT)
    # his graduation is committed after his messages were planned, before the planner ran
    # again: the dispatcher itself must hold back what is still queued for him
    leaving.status = "graduated"
    db.session.commit()
    due = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.participant_id == leaving.id,
            OutboundMessage.status == "pending",
            OutboundMessage.due_at <= frozen_clock.now(),
        )
    ).all()
    assert due, "the test needs a message of his that is due now"

    dispatch_due_messages()
    db.session.commit()
    assert {(m.status, m.status_reason) for m in due} == {("skipped", "participant_graduated")}
    assert leaving.phone not in {m["to"] for m in sms.sent}
    assert staying.phone in {m["to"] for m in sms.sent}  # the pass did send


def test_withdrawing_him_cancels_his_future_contacts_and_their_messages(
    frozen_clock, make_participant, sms
) -> None:
    frozen_clock.set(MONDAY_NOON - timedelta(days=2))  # nothing of his due yet
    participant = make_participant(session_slots=TUESDAY_SLOT)
    update_participant(participant, {"status": "withdrawn"})
    db.session.commit()
    sessions = _sessions(participant)
    assert sessions and {(c.status, c.status_reason) for c in sessions} == {
        ("cancelled", "withdrawn")
    }
    frozen_clock.set(MONDAY_NOON + timedelta(days=1))
    dispatch_due_messages()
    assert participant.phone not in {m["to"] for m in sms.sent}


def test_replanning_leaves_settled_future_contacts_alone(
    frozen_clock, make_participant, sms
) -> None:
    frozen_clock.set(MONDAY_NOON)
    participant = make_participant(session_slots=TUESDAY_SLOT)
    tomorrow, next_week = _sessions(participant)[:2]
    # he said he will not make it tomorrow; next week's was excused ahead by his therapist
    tomorrow.status, tomorrow.declined_at = "declined", frozen_clock.now()
    next_week.status, next_week.attribution = "excused", "excused"
    db.session.commit()
    before = {c.id: (c.status, c.starts_at, c.deadline_at) for c in (tomorrow, next_week)}

    plan_participant(participant)  # the planner's next pass
    update_participant(participant, {"phase_id": "3"})  # a new phase, same slot
    update_participant(participant, {"timezone": "America/Tijuana"})  # same slot, other zone
    update_participant(participant, {"session_slots": [{"weekday": "thu", "time": "09:00"}]})
    db.session.commit()

    after = {c.id: (c.status, c.starts_at, c.deadline_at) for c in (tomorrow, next_week)}
    assert after == before
    assert _messages(tomorrow, "change_notice") == _messages(next_week, "change_notice") == []
    # and nothing was planned over them: one contact per key, as before
    keys = [c.plan_key for c in _sessions(participant)]
    assert len(keys) == len(set(keys))
