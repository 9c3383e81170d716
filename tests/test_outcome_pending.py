"""A session he joined and nobody marked: one team alert after the grace period, no invented
outcome, "outcome pending" in every figure, and the marking closes the alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import sign_in
from factories import at_once, enroll_court
from flask import g
from sqlalchemy import func, select

from telejt import clock
from telejt.alerts.models import Alert
from telejt.alerts.services import alert_rooms
from telejt.cli import cli
from telejt.dashboard.queries import ComplianceFilters, compliance_rows, open_alerts
from telejt.extensions import db
from telejt.live import court_room, team_room, therapist_room
from telejt.planning.models import Contact
from telejt.planning.outcomes import alert_unrecorded_outcomes, next_outcome_deadline_at
from telejt.planning.watcher import next_deadline_at, watch_deadlines
from telejt.reports.compliance import compliance_for
from telejt.reports.figures import consecutive_misses
from telejt.reports.report import build_report
from telejt.sessions import services

MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
#: the fixture participant's first session: Tuesday 10:00 in Monterrey (UTC−6), 50 minutes
TUESDAY_SESSION = datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
GRACE = timedelta(minutes=60)  # TELEJT_OUTCOME_GRACE_MINUTES's default


def login(client: Any, user: Any) -> None:
    """Log a staff member in (a server-side session, as the login page makes)."""
    sign_in(client, user)


def first_session(participant: Any) -> Contact:
    return db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    ).first()


def outcome_alerts(contact: Contact) -> list[Alert]:
    return list(
        db.session.scalars(
            select(Alert).where(Alert.contact_id == contact.id, Alert.kind == "outcome_pending")
        )
    )


@pytest.fixture
def world(frozen_clock, sms, make_court, make_staff, make_participant) -> dict[str, Any]:
    """A court, its staff, and a participant who joined his Tuesday session on time."""
    frozen_clock.set(MONDAY)
    court = make_court()
    therapist = make_staff("therapist", courts=[court])
    participant = make_participant(court=court, therapist=therapist)
    session = first_session(participant)
    assert session.starts_at == TUESDAY_SESSION
    frozen_clock.set(TUESDAY_SESSION - timedelta(minutes=2))
    services.participant_joined(session)
    db.session.commit()
    return {
        "court": court,
        "therapist": therapist,
        "coordinator": make_staff("coordinator", courts=[court]),
        "judge": make_staff("court", courts=[court], court_position="judge"),
        "participant": participant,
        "session": session,
    }


def test_alert_once_after_the_grace_period_and_no_outcome_invented(world, run_until) -> None:
    session = world["session"]
    due = session.ends_at + GRACE
    assert session.ends_at == TUESDAY_SESSION + timedelta(minutes=50)

    run_until(due - timedelta(seconds=1))
    assert outcome_alerts(session) == []
    assert session.status == "in_progress"

    run_until(due + timedelta(days=2))
    alerts = outcome_alerts(session)
    assert len(alerts) == 1
    alert = alerts[0]
    # the watcher woke at that very deadline: its next-deadline computation includes it
    assert alert.created_at == due
    assert alert.audience == "team"
    assert alert.attribution is None  # not a miss, nothing attributed to him
    assert alert.reason == "joined_outcome_not_recorded"
    assert alert.acknowledged_at is None
    # nothing was decided for him: still awaiting the therapist, no attribution
    db.session.refresh(session)
    assert (session.status, session.attribution, session.closed_at) == ("in_progress", None, None)
    assert not db.session.scalars(
        select(Alert).where(Alert.contact_id == session.id, Alert.kind == "missed_contact")
    ).all()

    watch_deadlines()
    alert_unrecorded_outcomes()
    assert len(outcome_alerts(session)) == 1


def test_next_deadline_includes_the_outcome_deadline(world, frozen_clock) -> None:
    session = world["session"]
    assert next_outcome_deadline_at() == session.ends_at + GRACE
    frozen_clock.set(session.ends_at + timedelta(minutes=10))
    watch_deadlines()  # earlier deadlines (his check-ins' windows) out of the way
    pending = [
        c.deadline_at
        for c in db.session.scalars(
            select(Contact).where(Contact.status.in_(("scheduled", "confirmed", "declined")))
        )
    ]
    assert next_deadline_at() == min([*pending, session.ends_at + GRACE])
    frozen_clock.set(session.ends_at + GRACE)
    watch_deadlines()
    assert next_outcome_deadline_at() is None  # alerted: nothing more to wake for


def test_a_marked_session_raises_nothing(world, run_until, frozen_clock) -> None:
    session = world["session"]
    frozen_clock.set(session.ends_at - timedelta(minutes=1))
    services.mark_outcome(session, "attended", world["therapist"])
    db.session.commit()
    run_until(session.ends_at + GRACE + timedelta(hours=3))
    assert outcome_alerts(session) == []
    assert session.status == "attended"


def test_the_grace_period_is_a_setting(world, app, frozen_clock) -> None:
    session = world["session"]
    previous = app.config["TELEJT_OUTCOME_GRACE_MINUTES"]
    app.config["TELEJT_OUTCOME_GRACE_MINUTES"] = 15
    try:
        assert next_outcome_deadline_at() == session.ends_at + timedelta(minutes=15)
        frozen_clock.set(session.ends_at + timedelta(minutes=15))
        assert alert_unrecorded_outcomes() == 1
    finally:
        app.config["TELEJT_OUTCOME_GRACE_MINUTES"] = previous


def test_scheduler_tick_at_raises_it(world, runner) -> None:
    session = world["session"]
    before = (session.ends_at + GRACE - timedelta(minutes=1)).isoformat()
    assert runner.invoke(cli, ["scheduler", "tick", "--at", before]).exit_code == 0
    assert outcome_alerts(session) == []
    after = (session.ends_at + GRACE).isoformat()
    for _ in range(2):
        result = runner.invoke(cli, ["scheduler", "tick", "--at", after])
        assert result.exit_code == 0, result.output
    assert len(outcome_alerts(session)) == 1


def test_marking_afterwards_acknowledges_the_alert(world, run_until, frozen_clock) -> None:
    session = world["session"]
    run_until(session.ends_at + GRACE)
    [alert] = outcome_alerts(session)
    frozen_clock.advance(hours=2)
    services.mark_outcome(session, "late", world["therapist"], note="llegó tarde por la red")
    db.session.commit()
    db.session.refresh(alert)
    assert alert.acknowledged_at == frozen_clock.now()
    assert alert.acknowledged_by_id == world["therapist"].id
    assert "Asistió con retraso" in (alert.ack_note or "")
    assert session.status == "late"
    assert open_alerts(world["coordinator"]) == []


def test_only_the_team_and_his_therapist_get_it(world, run_until) -> None:
    session = world["session"]
    run_until(session.ends_at + GRACE)
    [alert] = outcome_alerts(session)
    court_id = world["court"].id
    rooms = alert_rooms(alert, world["participant"])
    assert team_room(court_id) in rooms
    assert therapist_room(world["therapist"].id) in rooms
    assert court_room(court_id) not in rooms
    assert [a.id for a in open_alerts(world["coordinator"])] == [alert.id]
    assert open_alerts(world["judge"]) == []


def test_court_users_see_outcome_pending_not_the_alert(world, run_until, client) -> None:
    session = world["session"]
    run_until(session.ends_at + GRACE)
    login(client, world["judge"])
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Resultado de sesión sin registrar" not in page  # the team alert
    assert 'data-outcome-pending="1"' in page
    page = client.get(f"/dashboard/participants/{world['participant'].id}").get_data(as_text=True)
    assert "Resultado pendiente de registrar" in page
    assert "En curso" not in page


def test_figures_count_it_apart_never_as_kept_or_missed(world, run_until) -> None:
    session = world["session"]
    participant = world["participant"]
    run_until(session.ends_at + GRACE)
    figures = compliance_for(participant, MONDAY, MONDAY + timedelta(days=7))
    assert figures["outcome_pending"] == 1
    assert figures["by_status"]["in_progress"] == 1
    assert figures["by_attribution"] == {
        "participant": 0,
        "participant_unverified": 0,
        "system": 0,
        "unconfirmed": 0,
        "opted_out": 0,
        "excused": 0,
    }
    assert figures["last_contact"] is None or figures["last_contact"].id != session.id

    [row], _ = compliance_rows(
        world["coordinator"], session.ends_at + GRACE, ComplianceFilters(status="")
    )
    assert row.outcome_pending == 1
    assert row.kept_30d == 0 and row.missed_participant_30d == 0

    report = build_report(participant, MONDAY.date(), (MONDAY + timedelta(days=6)).date())
    assert report.by_status["outcome_pending"] == 1
    assert "in_progress" not in report.by_status
    assert [item.contact.id for item in report.outcome_pending] == [session.id]
    assert report.kept == 0 and report.misses == []


def test_report_says_outcome_pending_in_words(world, run_until, client) -> None:
    session = world["session"]
    run_until(session.ends_at + GRACE)
    login(client, world["judge"])
    url = f"/reports/participants/{world['participant'].id}?from=2026-03-02&to=2026-03-08"
    page = client.get(url).get_data(as_text=True)
    assert f'data-contact-id="{session.id}" data-status="outcome_pending"' in page
    assert "no cuentan como asistencia ni como falta" in page
    csv = client.get(url.replace("?", ".csv?")).get_data(as_text=True)
    assert "Resultado pendiente de registrar" in csv
    assert client.get(url.replace("?", ".pdf?")).status_code == 200


def test_a_pending_session_ends_a_run_of_misses(world, run_until) -> None:
    participant = world["participant"]
    session = world["session"]
    earlier = TUESDAY_SESSION - timedelta(days=1)
    db.session.add(  # a session he missed the day before (one-off, settled by the watcher)
        Contact(
            participant_id=participant.id,
            kind="session",
            plan_key="extra:test-earlier-miss",
            starts_at=earlier,
            ends_at=earlier + timedelta(minutes=50),
            deadline_at=earlier + timedelta(minutes=15),
            status="missed",
            attribution="participant",
            attribution_reason="reminder_delivered",
            protocol_id=participant.protocol_id,
            protocol_version=participant.protocol_version,
            phase_id=participant.phase_id,
            join_token="test-earlier-miss",
            modality="video",
        )
    )
    db.session.commit()
    run_until(session.ends_at + timedelta(days=8))  # check-ins and next Tuesday: all missed
    contacts = db.session.scalars(
        select(Contact).where(Contact.participant_id == participant.id)
    ).all()

    def his_misses(after: bool) -> int:
        return sum(
            1
            for c in contacts
            if c.status == "missed"
            and c.attribution == "participant"
            and (c.deadline_at > session.deadline_at) == after
        )

    assert his_misses(after=False) >= 1 and his_misses(after=True) >= 1
    # the session he joined is not presumed a miss: the run starts after it
    assert consecutive_misses(participant.id) == his_misses(after=True)
    [row], _ = compliance_rows(
        world["coordinator"], session.ends_at + timedelta(days=8), ComplianceFilters(status="")
    )
    assert row.consecutive_misses == his_misses(after=True)


def test_therapist_pages_keep_asking_for_the_marking(
    world, run_until, client, frozen_clock
) -> None:
    session = world["session"]
    run_until(session.ends_at + GRACE + timedelta(days=2))  # no longer "today" on his agenda
    login(client, world["therapist"])
    page = client.get("/therapist").get_data(as_text=True)
    assert 'id="outcome-pending"' in page
    assert f'<li data-contact-id="{session.id}">' in page
    console = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert 'id="outcome-pending"' in console

    client.post(f"/sessions/{session.id}/outcome", data={"outcome": "attended"})
    page = client.get("/therapist").get_data(as_text=True)
    assert 'id="outcome-pending"' not in page
    [alert] = outcome_alerts(session)
    db.session.refresh(alert)
    assert alert.acknowledged_at is not None


def test_two_schedulers_raise_it_once(committed_db, frozen_clock) -> None:
    frozen_clock.set(MONDAY)
    _, _, participants = enroll_court(20, tag="Hilos", exchange="81 5800")
    sessions = [first_session(participant) for participant in participants]
    db.session.commit()
    frozen_clock.set(TUESDAY_SESSION)
    for session in sessions:
        services.participant_joined(session)
    db.session.commit()
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=50) + GRACE)

    counts = at_once(committed_db, 3, lambda: alert_unrecorded_outcomes(limit=3), timeout=60)
    assert sum(counts) >= 20
    total = db.session.scalar(
        select(func.count()).select_from(Alert).where(Alert.kind == "outcome_pending")
    )
    assert total == 20
    assert clock.now() == TUESDAY_SESSION + timedelta(minutes=50) + GRACE


def test_live_the_judge_hears_nothing_the_team_hears_it(world, app_ctx, frozen_clock) -> None:
    from flask_socketio import SocketIOTestClient

    from telejt.extensions import socketio
    from telejt.live import NAMESPACE

    def live_client(user: Any) -> SocketIOTestClient:
        http = app_ctx.test_client()
        login(http, user)
        return socketio.test_client(app_ctx, namespace=NAMESPACE, flask_test_client=http)

    def created(client: SocketIOTestClient) -> list[dict[str, Any]]:
        g.pop("_login_user", None)
        return [
            e["args"][0] for e in client.get_received(NAMESPACE) if e["name"] == "alert.created"
        ]

    clients = {role: live_client(world[role]) for role in ("judge", "coordinator", "therapist")}
    session = world["session"]
    frozen_clock.set(session.ends_at + GRACE)
    alert_unrecorded_outcomes()
    [alert] = outcome_alerts(session)
    received = {role: created(client) for role, client in clients.items()}
    assert received["judge"] == []
    assert [a["id"] for a in received["coordinator"]] == [alert.id]
    assert [a["id"] for a in received["therapist"]] == [alert.id]
    assert received["therapist"][0]["kind"] == "outcome_pending"
    assert received["therapist"][0]["attribution"] is None
    # nor after a reconnection: the judge's catch-up leaves it out, the therapist's has it
    g.pop("_login_user", None)
    judge_missed = clients["judge"].emit(
        "catch_up", {"since_id": 0}, namespace=NAMESPACE, callback=True
    )
    assert judge_missed == {"created": [], "acknowledged": [], "verified": []}
    g.pop("_login_user", None)
    mine = clients["therapist"].emit(
        "catch_up", {"since_id": 0}, namespace=NAMESPACE, callback=True
    )
    assert [a["id"] for a in mine["created"]] == [alert.id]


def test_a_phone_session_is_never_a_miss_by_the_clock(
    world, run_until, frozen_clock, client
) -> None:
    """No link to join: its join window closing means nothing; the therapist's marking does."""
    from telejt.planning.services import add_session

    frozen_clock.set(TUESDAY_SESSION + timedelta(hours=2))
    starts = TUESDAY_SESSION + timedelta(days=1)
    phone = add_session(world["participant"], starts, 45, modality="phone")
    db.session.commit()

    run_until(phone.deadline_at + timedelta(minutes=5))  # while the call may be going on
    db.session.refresh(phone)
    assert (phone.status, phone.attribution) == ("scheduled", None)
    assert not db.session.scalars(
        select(Alert).where(Alert.contact_id == phone.id, Alert.kind == "missed_contact")
    ).all()
    assert next_deadline_at() != phone.deadline_at  # the watcher does not spin on it

    due = phone.ends_at + GRACE
    run_until(due - timedelta(seconds=1))
    assert outcome_alerts(phone) == []
    run_until(due + timedelta(hours=1))
    [alert] = outcome_alerts(phone)
    assert (alert.created_at, alert.audience, alert.attribution) == (due, "team", None)
    assert alert.reason == "phone_outcome_not_recorded"
    assert court_room(world["court"].id) not in alert_rooms(alert, world["participant"])
    login(client, world["therapist"])
    page = client.get("/therapist").get_data(as_text=True)
    assert f'<li data-contact-id="{phone.id}">' in page  # his day page asks for the marking

    services.mark_outcome(phone, "no_show", world["therapist"], note="No contestó tres llamadas")
    db.session.commit()
    db.session.refresh(alert)
    assert alert.acknowledged_at is not None
    assert (phone.status, phone.attribution) == ("missed", "participant")
