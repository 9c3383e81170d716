"""Provider faults, with the real ``twilio`` client against a Twilio-shaped HTTPS server.

Every answer Twilio gives, and every way it fails to answer, is mapped to what the
dispatcher must do: sent; refused for good; not sent and retried later (without
spending an attempt); or unknown and put to review. Several failures in a row
pause dispatch (one outage, one alert to the coordinators), a probe that sends
nothing finds the provider back, and dispatch resumes by itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fake_twilio import Answer, FakeTwilio
from sqlalchemy import func, select

from telejt.alerts.models import Alert
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.planning.watcher import attribute_miss, watch_deadlines
from telejt.sms import provider
from telejt.sms.dispatch import dispatch_due_messages, dispatch_wake_at
from telejt.sms.models import OutboundMessage
from telejt.sms.provider import SmsProviderOutage
from telejt.sms.twilio_sender import TwilioSmsSender

ACCOUNT = "AC" + "1" * 32
SERVICE = "MG" + "2" * 32
#: Monday 2026-03-02 17:00 UTC: 11:00 in Monterrey, no quiet hours near
MONDAY = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


@pytest.fixture
def twilio(app, tmp_path, monkeypatch) -> Iterator[FakeTwilio]:
    """The fake server, reached by the app's real Twilio backend (short timeouts)."""
    fake = FakeTwilio(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_bundle))
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    sender = TwilioSmsSender(
        ACCOUNT,
        "5" * 32,
        status_callback=app.config["TELEJT_PUBLIC_URL"] + "/twilio/status",
        messaging_service_sid=SERVICE,
        connect_timeout=1,
        read_timeout=1,
        send_timeout=3,
    )
    previous = app.extensions.get("telejt.sms_sender")
    app.extensions["telejt.sms_sender"] = sender
    provider.reset_process_state()
    try:
        with fake.resolve_here(monkeypatch):
            yield fake
    finally:
        sender.close()
        fake.stop()
        provider.reset_process_state()
        if previous is None:
            app.extensions.pop("telejt.sms_sender", None)
        else:
            app.extensions["telejt.sms_sender"] = previous


def welcomes() -> list[OutboundMessage]:
    return list(
        db.session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.purpose == "welcome")
            .order_by(OutboundMessage.id)
        )
    )


def outages() -> list[SmsProviderOutage]:
    return list(db.session.scalars(select(SmsProviderOutage).order_by(SmsProviderOutage.id)))


def one_welcome(frozen_clock, make_participant) -> OutboundMessage:
    frozen_clock.set(MONDAY)
    make_participant()
    (message,) = welcomes()
    return message


def test_201_is_sent_with_the_exact_request(twilio, frozen_clock, make_participant) -> None:
    message = one_welcome(frozen_clock, make_participant)
    dispatch_due_messages()
    db.session.refresh(message)
    assert message.status == "queued" and message.provider_sid.startswith("SM")
    assert twilio.sent_count()[(message.to_phone, message.body)] == 1


@pytest.mark.parametrize(
    ("code", "opted_out"),
    [(21211, False), (21610, True), (21614, False)],
)
def test_400_with_a_permanent_code_fails_for_good_and_alerts_the_team(
    twilio, frozen_clock, make_participant, code, opted_out
) -> None:
    message = one_welcome(frozen_clock, make_participant)
    twilio.behaviour = Answer(status=400, code=code, message="refused")
    report = dispatch_due_messages()
    db.session.refresh(message)
    # the welcome and the reminder of tomorrow's session (skipped once he opted out)
    assert report.failed + report.skipped == 2 and report.failed >= 1
    assert (message.status, message.error_code) == ("failed", str(code))
    assert (message.participant.sms_opted_out_at is not None) is opted_out
    alert = db.session.scalar(select(Alert).where(Alert.participant_id == message.participant_id))
    # 21610: he texted STOP to Twilio, his choice; the others: the system cannot reach him
    attribution = None if opted_out else "system"
    assert (alert.kind, alert.attribution, alert.audience) == ("reachability", attribution, "team")
    assert outages() == []  # Twilio answered: not an outage


def test_429_waits_as_long_as_twilio_asks(twilio, frozen_clock, make_participant) -> None:
    message = one_welcome(frozen_clock, make_participant)
    twilio.behaviour = Answer(status=429, code=20429, headers={"Retry-After": "120"})
    report = dispatch_due_messages()
    db.session.refresh(message)
    assert report.paused and report.retried == 1  # held at once: the reminder is not tried
    assert (message.status, message.attempts) == ("pending", 0)  # no attempt spent
    assert message.due_at == frozen_clock.now() + timedelta(seconds=120)
    assert provider.held()  # this process holds its sends meanwhile
    assert outages() == []  # rate limited is not unreachable


def test_503_is_not_sent_and_retried_without_spending_an_attempt(
    twilio, frozen_clock, make_participant
) -> None:
    message = one_welcome(frozen_clock, make_participant)
    twilio.behaviour = Answer(status=503, message="Service Unavailable")
    dispatch_due_messages()
    db.session.refresh(message)
    assert (message.status, message.attempts) == ("pending", 0)
    assert "provider unreachable" in message.status_reason
    assert timedelta(seconds=24) <= message.due_at - frozen_clock.now() <= timedelta(seconds=36)
    twilio.behaviour = Answer()
    frozen_clock.set(message.due_at)
    dispatch_due_messages()
    db.session.refresh(message)
    assert message.status == "queued" and twilio.sent_count()[(message.to_phone, message.body)] == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_5xx_that_may_have_gone_is_put_to_review(
    twilio, frozen_clock, make_participant, status
) -> None:
    message = one_welcome(frozen_clock, make_participant)
    twilio.behaviour = Answer(status=status, message="Internal error")
    report = dispatch_due_messages()
    db.session.refresh(message)
    assert report.unknown == 2  # the welcome and the reminder of tomorrow's session
    assert message.status == "needs_review"
    review = db.session.scalar(select(Alert).where(Alert.dedupe_key == f"review:{message.id}"))
    assert review is not None and review.audience == "team"


def test_connection_refused_is_not_sent(twilio, frozen_clock, make_participant) -> None:
    message = one_welcome(frozen_clock, make_participant)
    twilio.stop()
    dispatch_due_messages()
    db.session.refresh(message)
    assert (message.status, message.attempts) == ("pending", 0)
    assert message.status_reason == "retry: provider unreachable: connection refused or failed"


def test_dns_failure_is_not_sent(twilio, frozen_clock, make_participant, monkeypatch) -> None:
    message = one_welcome(frozen_clock, make_participant)
    with twilio.resolve_here(monkeypatch, fail=True):
        dispatch_due_messages()
    db.session.refresh(message)
    assert (message.status, message.attempts) == ("pending", 0)
    assert (
        message.status_reason
        == "retry: provider unreachable: DNS: the provider's name did not resolve"
    )


def test_read_timeout_may_have_gone_and_is_put_to_review(
    twilio, frozen_clock, make_participant
) -> None:
    """A slow answer past the read timeout: Twilio may have created the message."""
    message = one_welcome(frozen_clock, make_participant)
    twilio.behaviour = Answer(delay=2.5)  # read timeout 1 s
    report = dispatch_due_messages()
    db.session.refresh(message)
    assert report.unknown >= 1 and message.status == "needs_review"


def test_a_hang_holds_nothing_past_the_deadline(
    app, twilio, frozen_clock, make_participant
) -> None:
    """Bytes that never come: the read timeout or the hard deadline ends the wait."""
    message = one_welcome(frozen_clock, make_participant)
    twilio.behaviour = Answer(hang=True)
    started = time.monotonic()
    report = dispatch_due_messages()
    elapsed = time.monotonic() - started
    db.session.refresh(message)
    assert report.unknown == 2 and message.status == "needs_review"
    assert message.claimed_by is not None  # the claim that held it is on record
    assert elapsed < 2 * (app.extensions["telejt.sms_sender"].send_timeout + 2)


def test_twilio_down_ten_minutes_loses_nothing_sends_once_alerts_once(
    twilio, frozen_clock, make_court, make_staff, make_participant
) -> None:
    """Connection refused for a simulated ten minutes, with six participants' welcomes due.

    Three failures open one outage (one alert to the coordinators, whatever the
    number of messages); nothing is claimed meanwhile; the probe finds Twilio back
    and every message goes exactly once.
    """
    frozen_clock.set(MONDAY)
    court = make_court()
    therapist = make_staff("therapist", courts=[court])
    for _ in range(6):
        make_participant(court=court, therapist=therapist)
    twilio.stop()
    down_until = MONDAY + timedelta(minutes=10)

    report = dispatch_due_messages()
    assert report.paused and report.retried == 3  # the breaker opened at the third
    (outage,) = outages()
    assert outage.ended_at is None and outage.failures == 3

    due = list(
        db.session.scalars(select(OutboundMessage).where(OutboundMessage.due_at <= down_until))
    )
    assert len(due) == 12  # each: a welcome and the reminder of tomorrow's session
    while frozen_clock.now() < down_until:
        frozen_clock.advance(seconds=20)
        report = dispatch_due_messages()
        assert report.sent == report.retried == 0  # paused: nothing claimed, nothing spent
    db.session.expire_all()
    assert {m.status for m in due} == {"pending"}
    assert all(m.attempts == 0 for m in due)
    assert twilio.requests == 0

    twilio.start()
    # the dispatcher wakes at the next probe, not every 100 ms
    wake = dispatch_wake_at()
    assert wake is not None and wake > frozen_clock.now() - timedelta(minutes=6)
    for _ in range(60):
        frozen_clock.advance(seconds=30)
        dispatch_due_messages()
        db.session.expire_all()
        if all(m.status == "queued" for m in due):
            break
    sent = twilio.sent_count()
    assert {m.status for m in due} == {"queued"}  # 0 lost
    assert len(sent) == 12 and max(sent.values()) == 1  # 0 duplicated
    assert set(sent) == {(m.to_phone, m.body) for m in due}
    (outage,) = outages()  # exactly one outage, closed by itself
    assert outage.ended_at is not None and outage.open_marker is None
    assert db.session.scalar(select(func.count(Alert.id)).where(Alert.kind == "reachability")) == 0


def test_an_outage_is_one_alert_published_to_every_courts_coordinators(
    twilio, frozen_clock, make_court, make_participant, monkeypatch
) -> None:
    published: list[tuple[str, dict[str, Any], list[str]]] = []
    monkeypatch.setattr(
        "telejt.live._emit_now",
        lambda event, payload, rooms: published.append((event, payload, rooms)),
    )
    frozen_clock.set(MONDAY)
    courts = [make_court(), make_court()]
    for court in courts:
        for _ in range(2):
            make_participant(court=court)
    twilio.stop()
    dispatch_due_messages()
    db.session.commit()
    alerts = [p for p in published if p[0] == "system.alert"]
    assert len(alerts) == 1
    assert {f"team:{c.id}" for c in courts} <= set(alerts[0][2])
    assert alerts[0][1]["kind"] == "sms_provider_unreachable"


def test_a_miss_during_an_outage_is_the_systems(twilio, frozen_clock, make_participant) -> None:
    """His session's join window closed while the provider was down: not his miss."""
    frozen_clock.set(MONDAY)
    participant = make_participant()
    session = db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    ).first()
    # every reminder was delivered; then the provider went down before his window closed
    for message in db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.contact_id == session.id)
    ):
        message.status = "delivered"
    db.session.commit()
    frozen_clock.set(session.starts_at)
    provider.open_outage("refused", 3)
    db.session.commit()
    frozen_clock.set(session.deadline_at + timedelta(seconds=1))
    watch_deadlines()
    db.session.refresh(session)
    assert (session.status, session.attribution) == ("missed", "system")
    assert session.attribution_reason == "provider_outage"


def test_a_reminder_never_sent_before_the_deadline_makes_the_miss_the_systems(
    app_ctx, frozen_clock, make_participant
) -> None:
    frozen_clock.set(MONDAY)
    participant = make_participant()
    session = db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    ).first()
    messages = list(
        db.session.scalars(select(OutboundMessage).where(OutboundMessage.contact_id == session.id))
    )
    messages[0].status = "delivered"  # the day before: he knew
    for message in messages[1:]:
        message.due_at = session.starts_at - timedelta(hours=1)  # stuck: never sent
    db.session.commit()
    assert attribute_miss(session, participant) == ("system", "reminder_not_sent")


def test_scheduler_tick_with_twilio_unreachable_exits_cleanly(
    twilio, frozen_clock, make_participant, runner
) -> None:
    """It used to exit 1 with requests' ConnectionError in a traceback."""
    from telejt.cli import cli

    one_welcome(frozen_clock, make_participant)
    twilio.stop()
    result = runner.invoke(cli, ["scheduler", "tick", "--at", MONDAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "retried=2" in result.output and "sent=0" in result.output


def test_a_stuck_dispatch_loop_stops_the_heartbeat(app_ctx, frozen_clock, monkeypatch) -> None:
    """A loop stuck on one step (a database that stopped answering, say) must not look
    alive: its process stops beating, so readiness says so and recovery takes its claim."""
    from telejt.scheduler.models import SchedulerHeartbeat
    from telejt.scheduler.runner import beat
    from telejt.sms import dispatch

    frozen_clock.set(MONDAY)
    beat()
    (row,) = db.session.scalars(select(SchedulerHeartbeat)).all()
    first = row.beat_at
    monkeypatch.setitem(dispatch._progress, "host:1/0", time.monotonic() - 3600)
    frozen_clock.advance(seconds=30)
    beat()
    db.session.refresh(row)
    assert row.beat_at == first  # not refreshed while the loop is stuck
    dispatch._end_progress("host:1/0")
    beat()
    db.session.refresh(row)
    assert row.beat_at == frozen_clock.now()
