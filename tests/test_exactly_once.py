"""Property: whatever sequence of changes and ticks, every message exists once and is sent
at most once, no cancelled contact keeps a pending reminder, and every contact still to
come has all its reminders."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from sqlalchemy import func, select, update

from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.participants.services import update_participant
from telejt.planning.models import Contact
from telejt.planning.services import cancel_contact, plan_participant, reschedule_contact
from telejt.planning.watcher import watch_deadlines
from telejt.protocols.current import protocol_for
from telejt.sms.dispatch import dispatch_due_messages
from telejt.sms.models import OutboundMessage

START = datetime(2026, 3, 2, 12, tzinfo=UTC)
SLOT_CHOICES = [
    [{"weekday": "tue", "time": "10:00"}],
    [{"weekday": "mon", "time": "08:30"}],
    [{"weekday": "fri", "time": "20:30"}],
    [{"weekday": "sun", "time": "12:00"}],
]
ZONES = ["America/Tijuana", "America/Mexico_City", "America/Cancun", "America/Hermosillo"]

operations = st.one_of(
    st.tuples(st.just("tick"), st.integers(min_value=1, max_value=60 * 30)),
    st.tuples(st.just("replan"), st.none()),
    st.tuples(st.just("slots"), st.sampled_from(range(len(SLOT_CHOICES)))),
    st.tuples(st.just("timezone"), st.sampled_from(ZONES)),
    st.tuples(st.just("phase"), st.sampled_from(["1", "2", "3", "4"])),
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("reschedule"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("status"), st.sampled_from(["active", "withdrawn", "active"])),
)


def _slots_for_phase(phase_id: str, participant) -> list[dict[str, str]]:
    phase = protocol_for(participant.protocol_id, participant.protocol_version).phase(phase_id)
    needed = sum(rule.per_week for rule in phase.sessions)
    days = ["mon", "wed", "fri", "tue", "thu", "sat", "sun"]
    return [{"weekday": days[i], "time": "11:00"} for i in range(needed)]


def _future(participant) -> list[Contact]:
    return list(
        db.session.scalars(
            select(Contact)
            .where(
                Contact.participant_id == participant.id,
                Contact.status.in_(("scheduled", "confirmed")),
            )
            .order_by(Contact.starts_at)
        )
    )


def _apply(op: str, arg, participant, frozen_clock) -> None:
    if op == "tick":
        frozen_clock.advance(minutes=arg)
        watch_deadlines()
        dispatch_due_messages()
    elif op == "replan":
        plan_participant(participant)
    elif op == "slots":
        phase = protocol_for(participant.protocol_id, participant.protocol_version).phase(
            participant.phase_id
        )
        if sum(rule.per_week for rule in phase.sessions) == 1:
            update_participant(participant, {"session_slots": SLOT_CHOICES[arg]})
    elif op == "timezone":
        update_participant(participant, {"timezone": arg})
    elif op == "phase":
        update_participant(
            participant, {"phase_id": arg, "session_slots": _slots_for_phase(arg, participant)}
        )
    elif op in ("cancel", "reschedule"):
        future = [c for c in _future(participant) if c.starts_at > frozen_clock.now()]
        if future:
            contact = future[arg % len(future)]
            if op == "cancel":
                cancel_contact(contact, "staff")
            elif contact.kind == "session":
                reschedule_contact(contact, contact.starts_at + timedelta(days=1, hours=1))
    elif op == "status":
        update_participant(participant, {"status": arg})
    db.session.commit()


def _check_invariants(participant, sms, frozen_clock) -> None:
    messages = list(
        db.session.scalars(
            select(OutboundMessage).where(OutboundMessage.participant_id == participant.id)
        )
    )
    keys = Counter(m.idempotency_key for m in messages)
    assert all(n == 1 for n in keys.values()), keys.most_common(3)
    mine_sent = [m for m in sms.sent if m["to"] == participant.phone]
    assert all(n == 1 for n in Counter(m["sid"] for m in mine_sent).values())
    assert len(mine_sent) == sum(1 for m in messages if m.provider_sid), "a send went unrecorded"
    contacts = list(
        db.session.scalars(select(Contact).where(Contact.participant_id == participant.id))
    )
    by_contact: dict[int, list[OutboundMessage]] = {}
    for message in messages:
        if message.contact_id is not None:
            by_contact.setdefault(message.contact_id, []).append(message)
    for contact in contacts:
        mine = by_contact.get(contact.id, [])
        if contact.status == "cancelled":
            pending = [m for m in mine if m.status == "pending" and m.purpose != "change_notice"]
            assert not pending, f"cancelled contact {contact.plan_key} still has {pending}"
        if contact.status in ("scheduled", "confirmed") and contact.starts_at > frozen_clock.now():
            if contact.kind == "session":
                protocol = protocol_for(contact.protocol_id, contact.protocol_version)
                phase = protocol.phase(contact.phase_id)
                wanted = {
                    int(r.before.total_seconds() // 60)
                    for rule in phase.sessions
                    for r in rule.reminders
                }
                have = {
                    m.idempotency_key.rsplit(":", 1)[1] for m in mine if m.purpose == "reminder"
                }
                assert {f"{n}m" for n in wanted} <= have, (contact.plan_key, have)
            else:
                assert any(m.purpose == "checkin_start" for m in mine), contact.plan_key


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operations, min_size=1, max_size=12))
def test_plan_changes_and_ticks_keep_every_message_once(
    steps, frozen_clock, make_participant, sms
) -> None:
    frozen_clock.set(START)
    sms.sent.clear()
    participant = make_participant(phase_id="2", session_slots=SLOT_CHOICES[0])
    try:
        for op, arg in steps:
            _apply(op, arg, participant, frozen_clock)
            _check_invariants(participant, sms, frozen_clock)
    finally:
        # examples share the test's transaction: retire this one's plan before the next
        db.session.rollback()
        db.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.status == "pending")
            .values(status="cancelled")
        )
        db.session.execute(
            update(Contact)
            .where(Contact.status.in_(("scheduled", "confirmed", "declined")))
            .values(status="cancelled")
        )
        db.session.execute(update(Participant).values(status="withdrawn"))
        db.session.commit()


def test_planner_job_plans_groups_once_and_refreshes_statistics(
    frozen_clock, make_court, make_staff, make_participant, monkeypatch
):
    """Groups of participants per transaction; a second pass changes nothing; after a
    bulk of new contacts PostgreSQL's statistics are refreshed (ANALYZE) mid-job."""
    from telejt.planning import services

    frozen_clock.set(datetime(2026, 3, 1, 18, 0, tzinfo=UTC))
    court = make_court()
    therapist = make_staff("therapist", courts=[court])
    for _ in range(5):
        make_participant(court=court, therapist=therapist)
    db.session.execute(update(OutboundMessage).values(status="cancelled"))
    db.session.execute(Contact.__table__.delete())  # type: ignore[attr-defined]  # a Table
    monkeypatch.setattr(services, "PLAN_GROUP", 2)
    monkeypatch.setattr(services, "ANALYZE_AFTER", 1)
    analyzed: list[bool] = []
    refresh = services._analyze_planned_tables
    monkeypatch.setattr(services, "_analyze_planned_tables", lambda: analyzed.append(refresh()))

    assert services.plan_all() == 5
    contacts = db.session.scalar(select(func.count()).select_from(Contact))
    messages = db.session.scalar(select(func.count()).select_from(OutboundMessage))
    assert contacts and analyzed == [None] * 3  # three groups, each with new contacts
    assert services.plan_all() == 5
    assert db.session.scalar(select(func.count()).select_from(Contact)) == contacts
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == messages
    keys = db.session.scalars(select(OutboundMessage.idempotency_key)).all()
    assert len(keys) == len(set(keys))
