"""The /live namespace: who may connect, which rooms each role hears, acks and catch-up."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import sign_in
from flask import g
from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.alerts.services import raise_alert
from telejt.audit.models import AuditEvent
from telejt.extensions import db, socketio
from telejt.live import NAMESPACE


def login(client: Any, user: Any) -> None:
    """Log a staff member in (a server-side session, as the login page makes)."""
    sign_in(client, user)


def forget_loaded_user() -> None:
    """Drop Flask-Login's cached user.

    The test's app context outlives each Socket.IO event (in production every
    event gets its own), so ``g`` would carry the previous client's user along.
    """
    g.pop("_login_user", None)


def live_client(app: Any, user: Any | None) -> Any:
    """A Socket.IO test client on /live carrying this user's session cookie."""
    http = app.test_client()
    if user is not None:
        login(http, user)
    forget_loaded_user()
    return socketio.test_client(app, namespace=NAMESPACE, flask_test_client=http)


def call(client: Any, event: str, data: Any) -> Any:
    """Emit an event as this client's user and return the server's answer."""
    forget_loaded_user()
    return client.emit(event, data, namespace=NAMESPACE, callback=True)


def events(client: Any, name: str) -> list[dict[str, Any]]:
    """Payloads of the events of this name the client received since the last call."""
    return [e["args"][0] for e in client.get_received(NAMESPACE) if e["name"] == name]


@pytest.fixture
def courts(app_ctx, make_court, make_staff, make_participant):
    """Two courts, staff of every role, and a participant in each court."""
    court_a, court_b = make_court(), make_court()
    therapist_a = make_staff("therapist", courts=[court_a])
    return {
        "court_a": court_a,
        "judge_a": make_staff("court", courts=[court_a], court_position="judge"),
        "judge_b": make_staff("court", courts=[court_b], court_position="judge"),
        "coordinator_a": make_staff("coordinator", courts=[court_a]),
        "therapist_a": therapist_a,
        "other_therapist_a": make_staff("therapist", courts=[court_a]),
        "admin": make_staff("admin"),
        "participant_a": make_participant(court=court_a, therapist=therapist_a),
        "participant_b": make_participant(court=court_b),
    }


def alert_for(participant: Any, kind: str = "missed_contact", audience: str = "court") -> Alert:
    """Raise and commit an alert (published on commit)."""
    alert = raise_alert(
        participant=participant,
        kind=kind,
        severity="urgent" if kind == "crisis" else "warning",
        attribution="system" if kind == "missed_contact" else None,
        audience=audience,
        dedupe_key=f"test:{kind}:{participant.id}:{audience}",
        reason="sms_undelivered:30006" if kind == "missed_contact" else None,
    )
    db.session.commit()
    return alert


def test_anonymous_connection_is_refused(app_ctx):
    client = live_client(app_ctx, None)
    assert not client.is_connected(NAMESPACE)


def test_court_alert_reaches_its_court_and_team_only(app_ctx, courts):
    clients = {
        role: live_client(app_ctx, courts[role])
        for role in ("judge_a", "judge_b", "coordinator_a", "therapist_a", "admin")
    }
    assert all(c.is_connected(NAMESPACE) for c in clients.values())

    alert = alert_for(courts["participant_a"])

    received = {role: events(c, "alert.created") for role, c in clients.items()}
    assert [a["id"] for a in received["judge_a"]] == [alert.id]
    assert received["judge_a"][0]["attribution"] == "system"
    assert [a["id"] for a in received["coordinator_a"]] == [alert.id]
    assert [a["id"] for a in received["therapist_a"]] == [alert.id]  # his participant
    assert received["judge_b"] == []
    assert received["admin"] == []


def test_crisis_alert_never_reaches_court_users(app_ctx, courts):
    judge = live_client(app_ctx, courts["judge_a"])
    coordinator = live_client(app_ctx, courts["coordinator_a"])
    therapist = live_client(app_ctx, courts["therapist_a"])
    other_therapist = live_client(app_ctx, courts["other_therapist_a"])

    crisis = alert_for(courts["participant_a"], kind="crisis", audience="team")

    assert events(judge, "alert.created") == []
    assert [a["id"] for a in events(coordinator, "alert.created")] == [crisis.id]
    assert [a["id"] for a in events(therapist, "alert.created")] == [crisis.id]
    assert events(other_therapist, "alert.created") == []
    # nor through catch-up after a reconnection
    missed = call(judge, "catch_up", {"since_id": 0})
    assert missed == {"created": [], "acknowledged": [], "verified": []}


def test_acknowledgement_reaches_everyone_watching_the_court(app_ctx, courts):
    alert = alert_for(courts["participant_a"])
    judge = live_client(app_ctx, courts["judge_a"])
    coordinator = live_client(app_ctx, courts["coordinator_a"])
    judge_b = live_client(app_ctx, courts["judge_b"])

    reply = call(judge, "acknowledge", {"alert_id": alert.id, "note": "Se citará a audiencia."})

    assert reply["alert"]["acknowledged_at"] is not None
    acked = events(coordinator, "alert.acknowledged")
    assert [(a["id"], a["ack_note"]) for a in acked] == [(alert.id, "Se citará a audiencia.")]
    assert [a["id"] for a in events(judge, "alert.acknowledged")] == [alert.id]
    assert events(judge_b, "alert.acknowledged") == []
    stored = db.session.get(Alert, alert.id)
    assert stored is not None and stored.acknowledged_by_id == courts["judge_a"].id
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "alert.acknowledge", AuditEvent.object_id == str(alert.id)
        )
    )


def test_acknowledge_refuses_without_note_or_outside_the_court(app_ctx, courts):
    alert = alert_for(courts["participant_a"])
    judge_a = live_client(app_ctx, courts["judge_a"])
    judge_b = live_client(app_ctx, courts["judge_b"])
    crisis = alert_for(courts["participant_a"], kind="crisis", audience="team")

    def ack(client: Any, alert_id: int, note: str) -> Any:
        return call(client, "acknowledge", {"alert_id": alert_id, "note": note})

    assert ack(judge_a, alert.id, "  ") == {"error": "note_required"}
    assert ack(judge_b, alert.id, "no es mío") == {"error": "not_found"}
    assert ack(judge_a, crisis.id, "tampoco") == {"error": "not_found"}
    assert db.session.get(Alert, alert.id).acknowledged_at is None


def test_catch_up_returns_what_a_reconnecting_client_missed(app_ctx, courts, frozen_clock):
    seen = alert_for(courts["participant_a"])
    since = frozen_clock.now().isoformat()
    frozen_clock.advance(minutes=5)
    # while the judge was away: a new alert, an acknowledgement, a crisis and another court's
    missed = raise_alert(
        participant=courts["participant_a"],
        kind="missed_contact",
        severity="warning",
        attribution="participant",
        dedupe_key="test:missed-while-away",
    )
    alert_for(courts["participant_a"], kind="crisis", audience="team")
    alert_for(courts["participant_b"])
    db.session.commit()
    coordinator = live_client(app_ctx, courts["coordinator_a"])
    call(coordinator, "acknowledge", {"alert_id": seen.id, "note": "Visto"})

    judge = live_client(app_ctx, courts["judge_a"])
    answer = call(judge, "catch_up", {"since_id": seen.id, "since": since})

    assert [a["id"] for a in answer["created"]] == [missed.id]
    assert [a["id"] for a in answer["acknowledged"]] == [seen.id]
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "alerts.catch_up", AuditEvent.staff_id == courts["judge_a"].id
        )
    )


def test_catch_up_ignores_garbage(app_ctx, courts):
    alert_for(courts["participant_a"])
    judge = live_client(app_ctx, courts["judge_a"])
    answer = call(judge, "catch_up", {"since_id": "x", "since": "yesterday"})
    assert len(answer["created"]) == 1 and answer["acknowledged"] == []


def test_catch_up_names_the_shown_participants_whose_contacts_changed(
    app_ctx, courts, make_participant, frozen_clock
):
    from telejt.planning.models import Contact

    quiet = make_participant(court=courts["court_a"])
    since = frozen_clock.now().isoformat()
    frozen_clock.advance(minutes=5)
    # while the judge was away: a contact of participant_a changed, and one in another court
    for participant in (courts["participant_a"], courts["participant_b"]):
        contact = db.session.scalars(
            select(Contact).where(Contact.participant_id == participant.id).limit(1)
        ).one()
        contact.status = "confirmed"
    db.session.commit()
    shown = [courts["participant_a"].id, quiet.id, courts["participant_b"].id]

    judge = live_client(app_ctx, courts["judge_a"])
    answer = call(judge, "catch_up", {"since_id": 0, "since": since, "participant_ids": shown})

    # never another court's participant, even when the page names him
    assert answer["contacts_changed"] == [courts["participant_a"].id]
    garbage = call(judge, "catch_up", {"since": since, "participant_ids": ["x", None, {}]})
    assert garbage["contacts_changed"] == []
    no_since = call(judge, "catch_up", {"participant_ids": shown})
    assert no_since["contacts_changed"] == []
