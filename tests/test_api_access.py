"""JSON API: bearer tokens, roles, court scoping, privacy of court users, audit of reads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import sign_in
from sqlalchemy import func, select

from telejt.alerts.services import raise_alert
from telejt.audit.models import AuditEvent
from telejt.auth.models import ApiToken
from telejt.auth.services import create_api_token, deactivate_staff_user, revoke_api_token
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.sessions.models import ClinicalNote
from telejt.sms.models import InboundMessage

MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
NOTE_BODY = "NOTA-CLINICA-CONFIDENCIAL: recaída el fin de semana"
ANSWER_BODY = "RESPUESTA-NO-COMPARTIDA 9"


@dataclass
class World:
    """Two courts, one staff member of each role, participants and their tokens."""

    court_a: Any
    court_b: Any
    users: dict[str, Any]
    tokens: dict[str, str]
    participants: dict[str, Any]
    alerts: dict[str, Any] = field(default_factory=dict)


def build_world(make_court, make_staff, make_participant) -> World:
    """Court A with every role, court B with a coordinator; alerts, a note and an answer."""
    court_a = make_court(name="Juzgado A")
    court_b = make_court(name="Juzgado B", timezone="America/Tijuana")
    # no passwords: tokens are the credential here, and argon2 hashing is slow on purpose
    users = {
        "admin": make_staff("admin", password=None),
        "coordinator": make_staff("coordinator", courts=[court_a], password=None),
        "therapist": make_staff("therapist", courts=[court_a], password=None),
        "other_therapist": make_staff("therapist", courts=[court_a], password=None),
        "court": make_staff("court", courts=[court_a], password=None),
        "coordinator_b": make_staff("coordinator", courts=[court_b], password=None),
        "therapist_b": make_staff("therapist", courts=[court_b], password=None),
    }
    participants = {
        "mine": make_participant(court=court_a, therapist=users["therapist"]),
        "colleague": make_participant(court=court_a, therapist=users["other_therapist"]),
        "other_court": make_participant(court=court_b, therapist=users["therapist_b"]),
    }
    mine = participants["mine"]
    alerts = {
        "court": raise_alert(
            participant=mine, kind="missed_contact", severity="warning",
            attribution="participant", audience="court", dedupe_key="t:court",
        ),
        "crisis": raise_alert(
            participant=mine, kind="crisis", severity="urgent", audience="team",
            dedupe_key="t:crisis",
        ),
    }  # fmt: skip
    db.session.add(
        ClinicalNote(participant_id=mine.id, author_id=users["therapist"].id, body=NOTE_BODY)
    )
    db.session.add(
        InboundMessage(
            provider_sid="SMtestanswer", participant_id=mine.id, from_phone=mine.phone,
            body=ANSWER_BODY, meaning="answer",
        )
    )  # fmt: skip
    tokens = {role: create_api_token(user)[1] for role, user in users.items()}
    db.session.commit()
    return World(court_a, court_b, users, tokens, participants, alerts)


def call(client, token: str | None, method: str, path: str, body: Any = None):
    """One API request with a bearer token and a JSON body."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None if body is None else json.dumps(body)
    return client.open(
        f"/api/v1{path}", method=method, headers=headers, data=data,
        content_type="application/json",
    )  # fmt: skip


@pytest.fixture
def world(frozen_clock, make_court, make_staff, make_participant) -> World:
    """The shared world at Monday noon UTC."""
    frozen_clock.set(MONDAY)
    return build_world(make_court, make_staff, make_participant)


def assert_error(response, status: int, code: str) -> dict[str, Any]:
    """The answer is a JSON error of this status and code."""
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    return error


# ---- tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc", "tjt_abc"])
def test_missing_or_invalid_token_is_401_with_challenge(client, world, header) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/courts", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_and_inactive_staff_are_refused(client, world) -> None:
    token = world.tokens["coordinator"]
    assert call(client, token, "GET", "/courts").status_code == 200
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.staff_id == world.users["coordinator"].id)
    )
    assert row.last_used_at == MONDAY
    revoke_api_token(row)
    db.session.commit()
    assert_error(call(client, token, "GET", "/courts"), 401, "unauthorized")

    deactivate_staff_user(world.users["therapist"])
    db.session.commit()
    assert_error(call(client, world.tokens["therapist"], "GET", "/courts"), 401, "unauthorized")


def test_a_login_session_is_not_an_api_credential(client, world) -> None:
    sign_in(client, world.users["coordinator"])
    assert client.get("/participants").status_code == 200  # a working login session…
    assert_error(client.get("/api/v1/courts"), 401, "unauthorized")


def test_openapi_document_is_public(client, world) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["openapi"].startswith("3.1")


# ---- roles × resources ---------------------------------------------------------------------

#: (method, path template, body template or None, roles allowed)
READS = [
    # admins keep courts, staff and tokens (DESIGN): no participant's record
    ("GET", "/participants/{mine}", ("coordinator", "therapist", "court")),
    ("GET", "/participants/{mine}/contacts", ("coordinator", "therapist", "court")),
    ("GET", "/participants/{mine}/compliance", ("coordinator", "therapist", "court")),
    ("GET", "/participants/{mine}/messages", ("coordinator", "therapist")),
]


@pytest.mark.parametrize("method,template,allowed", READS)
@pytest.mark.parametrize("role", ["admin", "coordinator", "therapist", "court"])
def test_participant_reads_by_role_and_court(
    client, world, method, template, allowed, role
) -> None:
    token = world.tokens[role]
    ids = {name: p.id for name, p in world.participants.items()}
    response = call(client, token, method, template.format(**ids))
    if role not in allowed:
        assert_error(response, 403, "forbidden")
        return
    assert response.status_code == 200, response.get_data(as_text=True)
    # outside his courts (and, for a therapist, outside his caseload) a participant does not exist
    other = template.format(mine=ids["other_court"])
    assert_error(call(client, token, method, other), 404, "not_found")
    if role == "therapist":
        colleague = template.format(mine=ids["colleague"])
        assert_error(call(client, token, method, colleague), 404, "not_found")
    assert_error(call(client, token, method, template.format(mine=999_999)), 404, "not_found")


def test_court_and_staff_listings_are_scoped(client, world) -> None:
    court_ids = {c["id"] for c in call(client, world.tokens["court"], "GET", "/courts").get_json()}
    assert court_ids == {world.court_a.id}
    admin_ids = {c["id"] for c in call(client, world.tokens["admin"], "GET", "/courts").get_json()}
    assert {world.court_a.id, world.court_b.id} <= admin_ids

    staff = call(client, world.tokens["coordinator"], "GET", "/staff?role=therapist").get_json()
    assert {s["id"] for s in staff} == {
        world.users["therapist"].id, world.users["other_therapist"].id
    }  # fmt: skip
    assert all("password" not in json.dumps(s) for s in staff)
    assert_error(
        call(client, world.tokens["court"], "GET", "/staff?role=boss"), 422, "invalid_input"
    )


@pytest.mark.parametrize("role", ["coordinator", "therapist", "court"])
def test_only_admins_create_courts(client, world, role) -> None:
    body = {"name": "Juzgado Nuevo", "state": "Jalisco", "timezone": "America/Mexico_City"}
    assert_error(call(client, world.tokens[role], "POST", "/courts", body), 403, "forbidden")
    response = call(client, world.tokens["admin"], "POST", "/courts", body)
    assert response.status_code == 201
    assert response.get_json()["created_at"] == "2026-03-02T12:00:00+00:00"


@pytest.mark.parametrize("role", ["admin", "therapist", "court"])
def test_only_coordinators_enroll_and_change_participants(client, world, role) -> None:
    mine = world.participants["mine"]
    patch = call(client, world.tokens[role], "PATCH", f"/participants/{mine.id}", {"locale": "en"})
    assert_error(patch, 403, "forbidden")
    enroll = call(client, world.tokens[role], "POST", "/participants", {"court_id": 1})
    assert_error(enroll, 403, "forbidden")
    coordinator = world.tokens["coordinator"]
    assert (
        call(client, coordinator, "PATCH", f"/participants/{mine.id}", {"locale": "en"}).status_code
        == 200
    )
    other = world.participants["other_court"]
    assert_error(
        call(client, coordinator, "PATCH", f"/participants/{other.id}", {"locale": "en"}),
        404,
        "not_found",
    )


# ---- alerts and what a court user may never see --------------------------------------------


def test_court_users_never_see_team_alerts(client, world) -> None:
    def kinds(role: str) -> set[str]:
        response = call(client, world.tokens[role], "GET", "/alerts")
        assert response.status_code == 200
        return {a["kind"] for a in response.get_json()}

    assert kinds("court") == {"missed_contact"}
    assert kinds("coordinator") == {"missed_contact", "crisis"}
    assert kinds("therapist") == {"missed_contact", "crisis"}
    assert kinds("other_therapist") == set()
    assert kinds("coordinator_b") == set()
    crisis = world.alerts["crisis"].id
    assert_error(
        call(client, world.tokens["court"], "POST", f"/alerts/{crisis}/ack", {"note": "x"}),
        404,
        "not_found",
    )
    assert_error(
        call(client, world.tokens["court"], "GET", f"/alerts?court_id={world.court_b.id}"),
        404,
        "not_found",
    )


def test_acknowledging_alerts_by_role(client, world) -> None:
    alert = world.alerts["court"].id
    assert_error(
        call(client, world.tokens["admin"], "POST", f"/alerts/{alert}/ack", {"note": "visto"}),
        403,
        "forbidden",
    )
    assert_error(
        call(
            client, world.tokens["coordinator_b"], "POST", f"/alerts/{alert}/ack", {"note": "visto"}
        ),
        404,
        "not_found",
    )
    response = call(
        client,
        world.tokens["court"],
        "POST",
        f"/alerts/{alert}/ack",
        {"note": "Visto en audiencia"},
    )
    assert response.status_code == 200
    assert response.get_json()["acknowledged_at"] == "2026-03-02T12:00:00+00:00"
    assert response.get_json()["ack_note"] == "Visto en audiencia"
    again = call(
        client, world.tokens["coordinator"], "POST", f"/alerts/{alert}/ack", {"note": "otra"}
    )
    assert_error(again, 409, "conflict")
    listed = call(client, world.tokens["court"], "GET", "/alerts?status=open").get_json()
    assert alert not in {a["id"] for a in listed}


def test_a_court_user_never_receives_notes_or_unshared_answers(client, world) -> None:
    mine = world.participants["mine"].id
    token = world.tokens["court"]
    seen = []
    for path in (
        "/courts", "/staff", "/protocols", "/alerts", f"/participants/{mine}",
        f"/participants/{mine}/contacts", f"/participants/{mine}/compliance",
        f"/participants/{mine}/messages", "/openapi.json",
    ):  # fmt: skip
        seen.append(call(client, token, "GET", path).get_data(as_text=True))
    everything = "\n".join(seen)
    assert NOTE_BODY not in everything and ANSWER_BODY not in everything
    # the team does get the conversation; notes have no API at all
    team = call(client, world.tokens["therapist"], "GET", f"/participants/{mine}/messages")
    assert ANSWER_BODY in team.get_data(as_text=True)
    assert NOTE_BODY not in team.get_data(as_text=True)


# ---- audit -----------------------------------------------------------------------------------


def test_every_read_of_a_record_is_audited_as_api(client, world) -> None:
    mine = world.participants["mine"].id
    token = world.tokens["coordinator"]
    for suffix in ("", "/contacts", "/messages", "/compliance"):
        assert call(client, token, "GET", f"/participants/{mine}{suffix}").status_code == 200
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.channel == "api").order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.object_type) for e in events] == [
        ("read", "participant"), ("read", "contacts"), ("read", "messages"), ("read", "compliance")
    ]  # fmt: skip
    assert {e.staff_id for e in events} == {world.users["coordinator"].id}
    assert {e.participant_id for e in events} == {mine}
    # a refused read leaves no trace of a read
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    call(client, world.tokens["coordinator_b"], "GET", f"/participants/{mine}")
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before


def test_attendance_by_role(client, world, frozen_clock) -> None:
    session = db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == world.participants["mine"].id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    ).first()
    frozen_clock.set(session.starts_at)
    path = f"/sessions/{session.id}/attendance"
    for role in ("admin", "court"):
        assert_error(
            call(client, world.tokens[role], "POST", path, {"outcome": "attended"}),
            403,
            "forbidden",
        )
    for role in ("other_therapist", "coordinator_b"):
        assert_error(
            call(client, world.tokens[role], "POST", path, {"outcome": "attended"}),
            404,
            "not_found",
        )
    response = call(client, world.tokens["therapist"], "POST", path, {"outcome": "attended"})
    assert response.status_code == 200 and response.get_json()["status"] == "attended"


def test_bearer_calls_need_no_csrf_token(client, world, monkeypatch) -> None:
    monkeypatch.setitem(client.application.config, "WTF_CSRF_ENABLED", True)
    body = {"name": "Juzgado CSRF", "state": "Jalisco", "timezone": "America/Mexico_City"}
    assert call(client, world.tokens["admin"], "POST", "/courts", body).status_code == 201
    # the staff pages still demand it
    assert client.post("/login", data={"email": "x@y.mx", "password": "z"}).status_code == 400


def test_errors_are_problem_details_keeping_the_error_object(client, world) -> None:
    response = call(client, world.tokens["court"], "GET", "/participants/999999")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert (problem["status"], problem["title"]) == (404, "Not Found")
    assert problem["type"].endswith("#not_found") and problem["detail"]
    assert problem["error"]["code"] == "not_found"  # what older clients read


def test_court_users_get_no_phone_and_admins_no_participant(client, world) -> None:
    mine = world.participants["mine"].id
    court = call(client, world.tokens["court"], "GET", f"/participants/{mine}").get_json()
    assert "phone" not in court and court["id"] == mine
    coordinator = call(client, world.tokens["coordinator"], "GET", f"/participants/{mine}")
    assert coordinator.get_json()["phone"].startswith("+52")
    assert_error(call(client, world.tokens["admin"], "GET", "/alerts"), 403, "forbidden")


def test_the_alert_list_is_audited(client, world) -> None:
    from telejt.audit.models import AuditEvent

    answer = call(client, world.tokens["court"], "GET", "/alerts").get_json()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alerts.list"))
    assert event.channel == "api" and event.detail["alert_ids"] == [a["id"] for a in answer]
