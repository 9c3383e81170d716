"""Socket.IO /room: only the session's participant (token) and therapist (login) get in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import PASSWORD
from flask import current_app, g
from test_sessions_services import MONDAY, TUESDAY_SESSION, first_session

from telejt.extensions import db, socketio
from telejt.sessions import services
from telejt.sessions.rooms import ROOM_NAMESPACE as NAMESPACE
from telejt.sessions.signaling import forget_session_peers


@pytest.fixture
def room(frozen_clock, make_participant, app_ctx):
    """A session at its start, and helpers to connect to its room."""
    forget_session_peers()
    frozen_clock.set(MONDAY)
    contact = first_session(make_participant())
    frozen_clock.set(TUESDAY_SESSION)
    clients = []

    def participant(token: str | None = None, **kwargs):
        client = socketio.test_client(
            app_ctx, namespace=NAMESPACE, auth={"token": token or contact.join_token}, **kwargs
        )
        clients.append(client)
        return client

    def staff(user, contact_id: int | None = None):
        # the test's app context outlives each event: forget the user Flask-Login cached
        g.pop("_login_user", None)
        http = app_ctx.test_client()
        if user is not None:
            answer = http.post("/login", data={"email": user.email, "password": PASSWORD})
            assert answer.status_code == 302
        client = socketio.test_client(
            app_ctx,
            namespace=NAMESPACE,
            flask_test_client=http,
            auth={"contact_id": contact_id or contact.id},
        )
        clients.append(client)
        return client

    yield contact, participant, staff
    for client in clients:
        if client.is_connected(NAMESPACE):
            client.disconnect(namespace=NAMESPACE)
    forget_session_peers()


def received(client, name: str) -> list:
    return [m["args"][0] for m in client.get_received(NAMESPACE) if m["name"] == name]


def test_participant_with_his_token_waits_and_is_recorded(room) -> None:
    contact, participant, _ = room
    client = participant()
    assert client.is_connected(NAMESPACE)
    assert received(client, "state") == [{"state": "waiting"}]
    db.session.refresh(contact)
    assert contact.status == "in_progress"
    assert [(e.actor, e.event) for e in services.presence_events(contact)] == [
        ("participant", "join")
    ]


def test_bad_tokens_are_refused_and_record_nothing(room, make_participant, frozen_clock) -> None:
    contact, participant, _ = room
    forged = ("A" if contact.join_token[0] != "A" else "B") + contact.join_token[1:]
    assert not participant(forged).is_connected(NAMESPACE)
    assert not socketio.test_client(current_app, namespace=NAMESPACE).is_connected(NAMESPACE)
    frozen_clock.set(contact.ends_at + timedelta(seconds=1))
    assert not participant().is_connected(NAMESPACE)  # expired
    assert services.presence_events(contact) == []


def test_only_his_therapist_gets_in(room, make_staff) -> None:
    contact, _, staff = room
    court = contact.participant.court
    assert not staff(make_staff("therapist", courts=[court])).is_connected(NAMESPACE)
    assert not staff(make_staff("coordinator", courts=[court])).is_connected(NAMESPACE)
    assert not staff(None).is_connected(NAMESPACE)  # not logged in
    therapist = staff(contact.participant.therapist)
    assert therapist.is_connected(NAMESPACE)
    assert received(therapist, "participant") == [{"state": "absent"}]


def test_therapist_arriving_late_sees_him_waiting_and_cannot_admit_nobody(room) -> None:
    contact, participant, staff = room
    therapist = staff(contact.participant.therapist)
    assert therapist.emit("admit", {}, namespace=NAMESPACE, callback=True) == {
        "ok": False,
        "reason": "not_waiting",
    }
    participant()
    late_console = staff(contact.participant.therapist)
    assert received(late_console, "participant") == [{"state": "waiting"}]


def test_admission_then_signals_reach_only_the_other_side(room, make_participant) -> None:
    contact, participant, staff = room
    therapist = staff(contact.participant.therapist)
    him = participant()
    assert received(therapist, "participant") == [{"state": "absent"}, {"state": "waiting"}]
    # an outsider's session, running at the same time, must hear nothing
    other = first_session(make_participant(court=contact.participant.court))
    other.starts_at, other.ends_at = contact.starts_at, contact.ends_at
    other.deadline_at = contact.deadline_at
    db.session.commit()
    stranger = participant(other.join_token)
    stranger.get_received(NAMESPACE)
    him.emit("signal", {"type": "offer", "sdp": "v=0 too early"}, namespace=NAMESPACE)
    assert received(therapist, "signal") == []  # not admitted yet: nothing relayed
    assert therapist.emit("admit", {}, namespace=NAMESPACE, callback=True) == {"ok": True}
    assert received(him, "state") == [{"state": "waiting"}, {"state": "admitted"}]
    assert stranger.emit("enter", {}, namespace=NAMESPACE, callback=True) == {"ok": False}
    assert him.emit("enter", {}, namespace=NAMESPACE, callback=True) == {"ok": True}
    him.emit("ready", {}, namespace=NAMESPACE)
    assert received(therapist, "ready") == [{}]
    therapist.emit("signal", {"type": "offer", "sdp": "v=0 offer"}, namespace=NAMESPACE)
    him.emit("signal", {"type": "answer", "sdp": "v=0 answer"}, namespace=NAMESPACE)
    him.emit("signal", {"type": "bogus"}, namespace=NAMESPACE)
    assert received(him, "signal") == [{"type": "offer", "sdp": "v=0 offer"}]
    assert received(therapist, "signal") == [{"type": "answer", "sdp": "v=0 answer"}]
    assert received(stranger, "signal") == []
    assert [(e.actor, e.event) for e in services.presence_events(contact)] == [
        ("therapist", "join"),
        ("participant", "join"),
        ("therapist", "admit"),
    ]


def test_leaving_is_recorded_and_shown_to_the_therapist(room) -> None:
    contact, participant, staff = room
    therapist = staff(contact.participant.therapist)
    him = participant()
    therapist.emit("admit", {}, namespace=NAMESPACE, callback=True)
    him.emit("enter", {}, namespace=NAMESPACE, callback=True)
    therapist.get_received(NAMESPACE)
    him.emit("connection_state", {"state": "failed"}, namespace=NAMESPACE)
    assert received(therapist, "peer_connection") == [{"role": "participant", "state": "failed"}]
    him.disconnect(namespace=NAMESPACE)
    assert received(therapist, "participant") == [{"state": "left"}]
    assert services.presence_events(contact)[-1].event == "leave"
    assert services.presence_state(contact) == "left"


def test_phone_switch_tells_the_participant(room) -> None:
    contact, participant, staff = room
    therapist = staff(contact.participant.therapist)
    him = participant()
    answer = therapist.emit(
        "phone_switch", {"reason": "failed"}, namespace=NAMESPACE, callback=True
    )
    assert answer == {"ok": True}
    assert received(him, "state")[-1] == {"state": "phone"}
    db.session.refresh(contact)
    assert contact.modality == "phone"
    # a participant cannot switch or admit
    assert him.emit("phone_switch", {}, namespace=NAMESPACE, callback=True) == {"ok": False}
    assert him.emit("admit", {}, namespace=NAMESPACE, callback=True) == {"ok": False}


def test_a_therapist_cannot_smuggle_a_session_number(room) -> None:
    contact, _, staff = room
    # JSON true is an int to Python: it must not open session number 1
    assert not staff(contact.participant.therapist, contact_id=True).is_connected(NAMESPACE)
