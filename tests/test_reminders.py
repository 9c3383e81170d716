"""Reminders: quiet hours, overdue reminders, provider errors, interrupted sends."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from factories import enroll_court
from sqlalchemy import select, update

from telejt.alerts.models import Alert
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.sms import claims, dispatch
from telejt.sms.dispatch import (
    claim_due_messages,
    dispatch_due_messages,
    recover_interrupted_claims,
)
from telejt.sms.models import OutboundMessage

# Monday 2 March 2026 08:30 in Mexico City (UTC-6) is 14:30 UTC.
SUNDAY_NOON = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)


def _reminders(participant) -> dict[str, OutboundMessage]:
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
    # a minute, give or take 20 % (jitter: retries of many messages do not land together)
    wait = welcome.due_at - frozen_clock.now()
    assert timedelta(seconds=48) <= wait <= timedelta(seconds=72)
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
    # he chose it: a task for the team to reach him, never shown as the system's failure
    assert (alert.kind, alert.attribution, alert.audience) == ("reachability", None, "team")


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


def test_an_opt_out_committed_mid_batch_is_honoured(
    frozen_clock, make_participant, sms, monkeypatch
):
    """The batch is loaded once; once it is older than FRESH_FOR (at once here: a slow
    provider), what changed since, by another process, is re-read before each send."""
    monkeypatch.setattr(dispatch, "FRESH_FOR", timedelta(0))
    frozen_clock.set(SUNDAY_NOON)
    first, second, third = (make_participant() for _ in range(3))
    send = sms.send

    def opt_out_the_second(*, to: str, body: str):
        if not sms.sent:  # as if an inbound BAJA were handled by the web process now
            db.session.execute(
                update(Participant)
                .where(Participant.id == second.id)
                .values(sms_opted_out_at=SUNDAY_NOON)
                .execution_options(synchronize_session=False)
            )
        return send(to=to, body=body)

    sms.send = opt_out_the_second
    report = dispatch_due_messages()
    assert [m["to"] for m in sms.sent] == [first.phone, third.phone]
    assert report.skipped == 1
    welcome = db.session.scalar(
        select(OutboundMessage).where(
            OutboundMessage.participant_id == second.id, OutboundMessage.purpose == "welcome"
        )
    )
    assert (welcome.status, welcome.status_reason) == ("skipped", "opted_out")


def test_an_error_mid_batch_settles_the_claim_at_once(frozen_clock, make_participant, sms):
    """The message in hand goes to review, the rest back to the queue; nothing is stuck."""
    frozen_clock.set(SUNDAY_NOON)
    for _ in range(3):
        make_participant()
    send = sms.send

    def break_on_the_second(*, to: str, body: str):
        if len(sms.sent) == 1:
            raise ConnectionResetError("the provider hung up mid-request")
        return send(to=to, body=body)

    sms.send = break_on_the_second
    with pytest.raises(ConnectionResetError):
        dispatch_due_messages()
    rows = db.session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.purpose == "welcome")
        .order_by(OutboundMessage.id)
    ).all()
    assert [m.status for m in rows] == ["delivered", "needs_review", "pending"]
    assert rows[2].claimed_by is None
    review = db.session.scalar(select(Alert).where(Alert.reason == "send_interrupted"))
    assert review is not None and review.participant_id == rows[1].participant_id
    sms.send = send
    dispatch_due_messages()
    assert len(sms.sent) == 2
    assert [m.status for m in rows] == ["delivered", "needs_review", "delivered"]


def test_dispatch_threads_send_each_message_once(committed_db, frozen_clock, sms):
    """Four dispatch loops of one process claim disjoint batches (one loop on SQLite)."""
    frozen_clock.set(SUNDAY_NOON)
    enroll_court(60, tag="Hilos", zone="America/Hermosillo", state="Sonora", exchange="662 555")
    db.session.commit()
    send = sms.send

    def like_a_provider(*, to: str, body: str):
        time.sleep(0.02)  # an HTTP answer takes a while: the loops overlap
        return send(to=to, body=body)

    sms.send = like_a_provider
    report = dispatch.dispatch_in_threads(threads=4, limit=7)
    assert report.sent == 60
    assert sorted(m["to"] for m in sms.sent) == sorted({m["to"] for m in sms.sent})
    assert len(sms.sent) == 60
    claimants = db.session.scalars(
        select(OutboundMessage.claimed_by).where(OutboundMessage.status == "delivered").distinct()
    ).all()
    if db.engine.dialect.name == "postgresql":
        assert len(claimants) > 1 and all("/" in name for name in claimants)
    assert recover_interrupted_claims() == 0


def test_a_claim_takes_no_more_than_its_limit(frozen_clock, make_participant):
    """PostgreSQL once claimed every due row when the SELECT was the UPDATE's subquery."""
    frozen_clock.set(SUNDAY_NOON)
    for _ in range(12):
        make_participant()
    first = claim_due_messages(limit=5, worker="host:1")
    second = claim_due_messages(limit=5, worker="host:2")
    assert len(first) == len(second) == 5
    assert not set(first) & set(second)
    assert len(claim_due_messages(limit=5, worker="host:3")) == 2


def test_a_pass_settles_what_a_failed_pass_of_this_process_left_claimed(
    frozen_clock, make_participant, sms, monkeypatch
):
    """The database went away mid-batch: even the claim's release failed, and the
    process lived on (so recovery by lease never takes it). The next pass settles it."""
    frozen_clock.set(SUNDAY_NOON)
    for _ in range(3):
        make_participant()
    send = sms.send

    def hang_up(*, to: str, body: str):
        raise ConnectionResetError("gone")

    sms.send = hang_up
    monkeypatch.setattr(dispatch, "release_claim", lambda message, worker: None)
    with pytest.raises(ConnectionResetError):
        dispatch.dispatch_in_threads(threads=1)
    rows = db.session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.purpose == "welcome")
        .order_by(OutboundMessage.id)
    ).all()
    assert [m.status for m in rows] == ["sending"] * 3
    # another process's claim is not this process's to settle
    for _ in range(2):
        make_participant()
    theirs = claim_due_messages(worker="other-host:1")

    sms.send = send
    report = dispatch.dispatch_in_threads(threads=1)
    db.session.expire_all()
    assert [m.status for m in rows] == ["needs_review", "delivered", "delivered"]
    assert report.sent == 2 and len(sms.sent) == 2
    review = db.session.scalar(select(Alert).where(Alert.reason == "send_interrupted"))
    assert review is not None and review.audience == "team"
    assert {db.session.get(OutboundMessage, i).status for i in theirs} == {"sending"}
    assert not claims.pass_failed.is_set()
