"""Who sees what: every role and court position × every alert kind and message purpose.

The table (telejt.courts.visibility) is checked against the rules written out here
independently, then through what users get: the API, the dashboard, the timeline
and the live rooms.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from test_api_access import call
from test_dashboard_views import login

from telejt.alerts import services as alert_services
from telejt.alerts.models import ALERT_KINDS
from telejt.alerts.services import acknowledge_alert, mark_verified, raise_alert
from telejt.auth.models import COURT_POSITIONS
from telejt.auth.services import create_api_token
from telejt.clock import now
from telejt.courts.models import Court
from telejt.courts.services import set_unverified_positions
from telejt.courts.visibility import (
    ALL_VIEWERS,
    Viewer,
    may_acknowledge,
    may_read_ack_note,
    may_read_message_text,
    may_see_alert,
    may_see_message,
)
from telejt.extensions import db
from telejt.live import court_position_room, court_room, team_room, therapist_room
from telejt.participants.timeline import participant_timeline
from telejt.sms.models import OutboundMessage
from telejt.sms.purposes import PURPOSES

#: the audience each kind is raised with in telejt (see raise_alert's callers)
AUDIENCE = {
    "missed_contact": "court",
    "technical_failure": "court",
    "reachability": "team",
    "crisis": "team",
    "reschedule_request": "team",
    "outcome_pending": "team",
    "phase_review": "team",
}
CRISIS_PURPOSES = {"crisis_reply", "crisis_escalation"}
COURT_PURPOSES = {
    "welcome",
    "reminder",
    "nudge",
    "change_notice",
    "attendance_confirmation",
    "checkin_start",
    "optout_confirmation",
}


#: the state each kind is raised in: a miss asserts a breach and starts unverified
RAISED_VERIFICATION = {
    kind: "unverified" if kind == "missed_contact" else None for kind in ALERT_KINDS
}
#: the positions that see unverified notices where a court chose nothing else
DEFAULT_UNVERIFIED = {"judge", "supervision_officer"}


def expected_alert(
    viewer: Viewer,
    kind: str,
    verification: str | None = None,
    unverified_positions: set[str] = DEFAULT_UNVERIFIED,
) -> bool:
    """The rule in words: coordinators everything; therapists all but reschedule requests
    (and technical failures, not his queue); court users misses and technical failures,
    an unverified miss only in the positions his court lets see them (a court user
    without a position as a judge)."""
    if viewer.role == "coordinator":
        return True
    if viewer.role == "therapist":
        return kind in ("crisis", "reachability", "missed_contact", "outcome_pending")
    if viewer.role == "court":
        if (
            verification == "unverified"
            and (viewer.position or "judge") not in unverified_positions
        ):
            return False
        return kind in ("missed_contact", "technical_failure")
    return False


def test_every_role_and_position_is_in_the_matrix() -> None:
    roles = {(v.role, v.position) for v in ALL_VIEWERS}
    assert {("court", p) for p in COURT_POSITIONS} <= roles
    assert {("admin", None), ("coordinator", None), ("therapist", None)} <= roles


@pytest.mark.parametrize("viewer", ALL_VIEWERS, ids=lambda v: f"{v.role}-{v.position}")
@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_alert_matrix(viewer: Viewer, kind: str) -> None:
    expected = expected_alert(viewer, kind)
    assert may_see_alert(viewer, kind, AUDIENCE[kind]) is expected
    assert may_acknowledge(viewer, kind, AUDIENCE[kind]) is (expected and viewer.role != "admin")
    if viewer.role == "court":
        # crisis anything never reaches the court, whatever audience an alert was raised with
        assert not may_see_alert(viewer, "crisis", "court")
        assert not may_see_alert(viewer, kind, "team")


@pytest.mark.parametrize("viewer", ALL_VIEWERS, ids=lambda v: f"{v.role}-{v.position}")
@pytest.mark.parametrize("kind", ALERT_KINDS)
@pytest.mark.parametrize("verification", [None, "unverified", "verified"])
@pytest.mark.parametrize(
    "unverified_positions",
    [DEFAULT_UNVERIFIED, set(), set(COURT_POSITIONS), {"prosecutor"}],
    ids=["default", "none", "all", "prosecutor"],
)
def test_alert_matrix_with_verification(
    viewer: Viewer, kind: str, verification: str | None, unverified_positions: set[str]
) -> None:
    expected = expected_alert(viewer, kind, verification, unverified_positions)
    seen = may_see_alert(viewer, kind, AUDIENCE[kind], verification, unverified_positions)
    assert seen is expected
    if verification != "unverified":  # verified: the court's setting changes nothing
        assert seen is expected_alert(viewer, kind)


def test_by_default_only_judge_and_supervision_officer_see_unverified_misses() -> None:
    seeing = {
        v.position
        for v in ALL_VIEWERS
        if v.role == "court" and may_see_alert(v, "missed_contact", "court", "unverified")
    }
    assert seeing == {"judge", "supervision_officer", None}


@pytest.mark.parametrize("viewer", ALL_VIEWERS, ids=lambda v: f"{v.role}-{v.position}")
@pytest.mark.parametrize("purpose", list(PURPOSES))
def test_message_matrix(viewer: Viewer, purpose: str) -> None:
    if viewer.role in ("coordinator", "therapist"):
        assert may_see_message(viewer, purpose)
        assert may_read_message_text(viewer)
    elif viewer.role == "court":
        assert may_see_message(viewer, purpose) is (purpose in COURT_PURPOSES)
        assert not may_read_message_text(viewer)
        if purpose in CRISIS_PURPOSES:
            assert not may_see_message(viewer, purpose)
    else:
        assert not may_see_message(viewer, purpose)


@pytest.mark.parametrize("viewer", ALL_VIEWERS, ids=lambda v: f"{v.role}-{v.position}")
@pytest.mark.parametrize("author", ["coordinator", "therapist", "court"])
def test_ack_note_matrix(viewer: Viewer, author: str) -> None:
    expected = viewer.role in ("coordinator", "therapist") or (
        viewer.role == "court" and author == "court"
    )
    assert may_read_ack_note(viewer, author) is expected


# ---- through what users get -----------------------------------------------------------------


@pytest.fixture
def court_world(app_ctx, frozen_clock, make_court, make_staff, make_participant):
    """A court with every role and position, one alert of each kind, crisis messages."""
    court = make_court()
    users = {
        "coordinator": make_staff("coordinator", courts=[court], password=None),
        "therapist": make_staff("therapist", courts=[court], password=None),
        **{
            position: make_staff("court", courts=[court], court_position=position, password=None)
            for position in COURT_POSITIONS
        },
    }
    person = make_participant(court=court, therapist=users["therapist"])
    alerts = {
        kind: raise_alert(
            participant=person,
            kind=kind,
            severity="urgent" if kind == "crisis" else "warning",
            audience=AUDIENCE[kind],
            dedupe_key=f"test:{kind}",
        )
        for kind in ALERT_KINDS
    }
    # a crisis alert raised by mistake for the court: the kind keeps it from the court
    alerts["crisis_misfiled"] = raise_alert(
        participant=person, kind="crisis", severity="urgent", audience="court",
        dedupe_key="test:crisis-court",
    )  # fmt: skip
    for purpose in PURPOSES:
        db.session.add(
            OutboundMessage(
                participant_id=person.id,
                purpose=purpose,
                idempotency_key=f"test:{purpose}",
                due_at=now() - timedelta(hours=1),
                body=f"texto {purpose}",
                status="delivered",
            )
        )
    db.session.commit()
    tokens = {name: create_api_token(user)[1] for name, user in users.items()}
    db.session.commit()
    return {"users": users, "person": person, "alerts": alerts, "tokens": tokens}


def kinds_listed(client: Any, token: str) -> set[str]:
    """The alert kinds the API lists to a token."""
    response = call(client, token, "GET", "/alerts")
    assert response.status_code == 200
    return {alert["kind"] for alert in response.get_json()}


def test_the_api_lists_each_viewer_its_row_of_the_table(client, court_world):
    for name, user in court_world["users"].items():
        viewer = Viewer(user.role, user.court_position)
        expected = {
            kind for kind in ALERT_KINDS if expected_alert(viewer, kind, RAISED_VERIFICATION[kind])
        }
        assert kinds_listed(client, court_world["tokens"][name]) == expected, name


def test_a_court_setting_decides_who_sees_unverified_misses(client, court_world):
    court = db.session.get(Court, court_world["person"].court_id)
    for chosen in (set(), set(COURT_POSITIONS), {"prosecutor", "defender"}):
        set_unverified_positions(court, chosen)
        db.session.commit()
        for name in COURT_POSITIONS:
            listed = "missed_contact" in kinds_listed(client, court_world["tokens"][name])
            assert listed is (name in chosen), (chosen, name)
    # once verified, every position sees it, whatever the setting
    set_unverified_positions(court, set())
    mark_verified(court_world["alerts"]["missed_contact"], court_world["users"]["coordinator"],
                  "participant", "Confirmado con el supervisor")  # fmt: skip
    db.session.commit()
    for name in COURT_POSITIONS:
        assert "missed_contact" in kinds_listed(client, court_world["tokens"][name])


def test_a_therapist_cannot_acknowledge_a_reschedule_request(client, court_world):
    alert = court_world["alerts"]["reschedule_request"]
    token = court_world["tokens"]["therapist"]
    response = call(client, token, "POST", f"/alerts/{alert.id}/ack", {"note": "visto"})
    assert response.status_code == 404
    db.session.refresh(alert)
    assert alert.acknowledged_at is None
    coordinator = court_world["tokens"]["coordinator"]
    response = call(client, coordinator, "POST", f"/alerts/{alert.id}/ack", {"note": "la llamo"})
    assert response.status_code == 200


def test_court_users_never_read_a_clinical_note_on_an_alert(client, court_world):
    users, alerts = court_world["users"], court_world["alerts"]
    # verified, so that every position sees the miss (the note is what is tested here)
    mark_verified(alerts["missed_contact"], users["coordinator"], "participant", "Confirmada")
    acknowledge_alert(alerts["missed_contact"], users["coordinator"], "Recayó; ver nota clínica")
    acknowledge_alert(alerts["technical_failure"], users["judge"], "Visto en audiencia")
    db.session.commit()
    for name in COURT_POSITIONS:
        listed = {
            a["kind"]: a["ack_note"]
            for a in call(client, court_world["tokens"][name], "GET", "/alerts").get_json()
        }
        assert listed["missed_contact"] is None
        assert listed["technical_failure"] == "Visto en audiencia"
    listed = {
        a["kind"]: a["ack_note"]
        for a in call(client, court_world["tokens"]["coordinator"], "GET", "/alerts").get_json()
    }
    assert listed["missed_contact"] == "Recayó; ver nota clínica"

    login(client, users["judge"])
    person = court_world["person"]
    assert "Recayó" not in client.get("/dashboard").get_data(True)
    for path in (f"/dashboard/participants/{person.id}", f"/participants/{person.id}"):
        page = client.get(path).get_data(True)
        assert "Recayó" not in page, path
        assert "Visto en audiencia" in page, path
    row = client.get(f"/dashboard/alerts/{alerts['missed_contact'].id}/row").get_data(True)
    assert "Recayó" not in row


def test_court_timelines_show_no_crisis_anything(court_world):
    person = court_world["person"]
    for name in COURT_POSITIONS:
        entries = participant_timeline(person, court_world["users"][name])
        purposes = {e.fields["message"].purpose for e in entries if e.kind == "outbound"}
        kinds = {e.fields["alert"].kind for e in entries if e.kind == "alert"}
        assert purposes == COURT_PURPOSES
        # the miss is unverified: only the positions that see unverified notices
        sees_miss = name in DEFAULT_UNVERIFIED
        assert kinds == {"technical_failure"} | ({"missed_contact"} if sees_miss else set())
        assert all(e.fields.get("body") is None for e in entries if e.kind == "outbound")
    team = participant_timeline(person, court_world["users"]["coordinator"])
    assert {e.fields["message"].purpose for e in team if e.kind == "outbound"} == set(PURPOSES)


def test_the_court_room_hears_only_what_court_users_may_read(court_world, monkeypatch):
    heard: list[tuple[str, dict[str, Any], list[str]]] = []
    monkeypatch.setattr(
        alert_services, "publish", lambda name, payload, rooms: heard.append((name, payload, rooms))
    )
    users, person = court_world["users"], court_world["person"]
    court_id = person.court_id
    for kind in ALERT_KINDS:
        alert = raise_alert(
            participant=person, kind=kind, severity="warning", audience=AUDIENCE[kind],
            dedupe_key=f"live:{kind}",
        )  # fmt: skip
        acknowledge_alert(alert, users["therapist"], "nota de la terapeuta")
    to_court = [(n, p) for n, p, rooms in heard if court_room(court_id) in rooms]
    assert {p["kind"] for _n, p in to_court} == {"technical_failure"}
    # the unverified miss reaches only the positions that see unverified notices
    for position in COURT_POSITIONS:
        kinds = {
            p["kind"] for _n, p, rooms in heard if court_position_room(court_id, position) in rooms
        }
        expected = {"missed_contact"} if position in DEFAULT_UNVERIFIED else set()
        assert kinds == expected, position
    assert all(p["ack_note"] is None for _n, p, rooms in heard if team_room(court_id) not in rooms)
    own_room = therapist_room(users["therapist"].id)
    to_therapist = {p["kind"] for _n, p, rooms in heard if own_room in rooms}
    assert to_therapist == {"crisis", "reachability", "missed_contact", "outcome_pending"}
    to_team = [(n, p) for n, p, rooms in heard if team_room(court_id) in rooms]
    assert {p["kind"] for _n, p in to_team} == set(ALERT_KINDS)
    assert all(p["ack_note"] for n, p in to_team if n == "alert.acknowledged")


def test_live_rooms_and_catch_up_follow_the_table(court_world) -> None:
    from telejt.dashboard.live import missed_alerts, rooms_for

    users, person, alerts = court_world["users"], court_world["person"], court_world["alerts"]
    court_id = person.court_id
    assert rooms_for(users["coordinator"]) == [team_room(court_id)]
    assert rooms_for(users["therapist"]) == [therapist_room(users["therapist"].id)]
    for position in COURT_POSITIONS:
        assert rooms_for(users[position]) == [
            court_room(court_id),
            court_position_room(court_id, position),
        ]
    acknowledge_alert(alerts["missed_contact"], users["therapist"], "Recayó; ver nota clínica")
    db.session.commit()
    for name, user in users.items():
        caught = missed_alerts(user, 0, now() - timedelta(days=1))["created"]
        viewer = Viewer(user.role, user.court_position)
        expected = {
            kind for kind in ALERT_KINDS if expected_alert(viewer, kind, RAISED_VERIFICATION[kind])
        }
        assert {a["kind"] for a in caught} == expected, name
        notes = {a["kind"]: a["ack_note"] for a in caught}
        if user.role == "court":
            assert notes.get("missed_contact") is None
        else:
            assert notes["missed_contact"] == "Recayó; ver nota clínica"
