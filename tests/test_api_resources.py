"""JSON API: what each call does, its errors, and that a failed call writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from test_api_access import MONDAY, World, assert_error, build_world, call

from telejt.audit.models import AuditEvent
from telejt.extensions import db
from telejt.participants.models import Consent, Participant
from telejt.planning.models import Contact
from telejt.sms.models import OutboundMessage


@pytest.fixture
def world(frozen_clock, make_court, make_staff, make_participant) -> World:
    """The shared world at Monday noon UTC."""
    frozen_clock.set(MONDAY)
    return build_world(make_court, make_staff, make_participant)


def enrollment(world: World, **overrides: Any) -> dict[str, Any]:
    """A valid enrollment body for court A."""
    body = {
        "court_id": world.court_a.id,
        "case_number": "CP-0777/2026",
        "name": "Persona Sintética",
        "phone": "(81) 1234-5678",
        "therapist_id": world.users["therapist"].id,
        "protocol_id": "remote-outpatient",
        "phase_id": "2",
        "session_slots": [{"weekday": "thu", "time": "11:00"}],
        "consents": {"sms": True, "telehealth": True, "share_with_court": False},
    }
    body.update(overrides)
    return body


def row_counts() -> tuple[int, ...]:
    """How many participants, consents, contacts, messages and audit events exist."""
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Participant, Consent, Contact, OutboundMessage, AuditEvent)
    )


def sessions_of(participant_id: int) -> list[Contact]:
    """A participant's sessions, first first."""
    return list(
        db.session.scalars(
            select(Contact)
            .where(Contact.participant_id == participant_id, Contact.kind == "session")
            .order_by(Contact.starts_at)
        )
    )


def test_enroll_plans_and_welcomes(client, world) -> None:
    response = call(client, world.tokens["coordinator"], "POST", "/participants", enrollment(world))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["phone"] == "+528112345678" and body["status"] == "active"
    assert body["timezone"] == "America/Monterrey" and body["locale"] == "es_MX"
    assert body["consents"] == {"sms": True, "telehealth": True, "share_with_court": False}
    assert body["created_at"] == "2026-03-02T12:00:00+00:00"
    assert sessions_of(body["id"]), "enrollment plans his contacts"
    purposes = db.session.scalars(
        select(OutboundMessage.purpose).where(OutboundMessage.participant_id == body["id"])
    ).all()
    assert "welcome" in purposes
    # a Thursday 11:00 slot in Monterrey (UTC−6) comes back as 17:00 UTC
    first = call(client, world.tokens["coordinator"], "GET", f"/participants/{body['id']}/contacts")
    starts = [c["starts_at"] for c in first.get_json() if c["kind"] == "session"]
    assert starts[0] == "2026-03-05T17:00:00+00:00"


def test_duplicate_case_number_is_409_and_writes_nothing(client, world) -> None:
    existing = world.participants["mine"].case_number
    before = row_counts()
    response = call(
        client, world.tokens["coordinator"], "POST", "/participants",
        enrollment(world, case_number=existing),
    )  # fmt: skip
    error = assert_error(response, 409, "conflict")
    assert "case_number" in error["fields"]
    assert row_counts() == before


def test_invalid_enrollment_is_422_per_field_and_writes_nothing(client, world) -> None:
    before = row_counts()
    bad = enrollment(
        world, phone="123", phase_id="99", timezone="Mars/Olympus",
        session_slots=[{"weekday": "thu", "time": "25:00"}], extra=1,
    )  # fmt: skip
    del bad["name"]
    error = assert_error(
        call(client, world.tokens["coordinator"], "POST", "/participants", bad),
        422,
        "invalid_input",
    )
    assert {"name", "extra", "session_slots[0].time"} <= set(error["fields"])
    # schema-valid but wrong on the service's rules: the service's messages per field
    bad = enrollment(world, phone="123", phase_id="99", timezone="Mars/Olympus")
    error = assert_error(
        call(client, world.tokens["coordinator"], "POST", "/participants", bad),
        422,
        "invalid_input",
    )
    assert {"phone", "phase_id", "timezone"} <= set(error["fields"])
    assert row_counts() == before


def test_enrolling_in_a_court_outside_mine_is_404(client, world) -> None:
    before = row_counts()
    response = call(
        client, world.tokens["coordinator"], "POST", "/participants",
        enrollment(world, court_id=world.court_b.id),
    )  # fmt: skip
    assert_error(response, 404, "not_found")
    assert row_counts() == before


@pytest.mark.parametrize("raw", [b"{", b"[1,", b"\xff\xfe", b"", b"nul"])
def test_malformed_json_is_400(client, world, raw) -> None:
    response = client.post(
        "/api/v1/participants", data=raw, content_type="application/json",
        headers={"Authorization": f"Bearer {world.tokens['coordinator']}"},
    )  # fmt: skip
    assert_error(response, 400, "malformed_request")


def test_unknown_urls_and_methods_answer_json(client, world) -> None:
    token = world.tokens["coordinator"]
    assert_error(call(client, token, "GET", "/nothing/here"), 404, "not_found")
    assert_error(call(client, token, "GET", "/participants/abc"), 404, "not_found")
    response = call(client, token, "DELETE", "/courts")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    assert client.get("/no-such-page").content_type.startswith("text/html")


def test_patch_replans_and_is_audited(client, world) -> None:
    mine = world.participants["mine"]
    old = {c.starts_at for c in sessions_of(mine.id) if c.status == "scheduled"}
    body = {"session_slots": [{"weekday": "wed", "time": "12:30"}], "locale": "en"}
    response = call(client, world.tokens["coordinator"], "PATCH", f"/participants/{mine.id}", body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["session_slots"] == [{"weekday": "wed", "time": "12:30"}]
    new = {c.starts_at for c in sessions_of(mine.id) if c.status == "scheduled"}
    assert new and not (new & old)
    assert all(c.weekday() == 2 for c in new)  # Wednesday 12:30 local is still Wednesday in UTC
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "update"))
    assert event.detail == {"fields": ["locale", "session_slots"]} and event.channel == "api"


def test_patch_rejects_everything_when_one_field_is_wrong(client, world) -> None:
    mine = world.participants["mine"]
    before = row_counts()
    response = call(
        client, world.tokens["coordinator"], "PATCH", f"/participants/{mine.id}",
        {"locale": "en", "phone": "no es un teléfono"},
    )  # fmt: skip
    assert "phone" in assert_error(response, 422, "invalid_input")["fields"]
    db.session.expire_all()
    assert db.session.get(Participant, mine.id).locale == "es_MX"
    assert row_counts() == before
    assert_error(
        call(client, world.tokens["coordinator"], "PATCH", f"/participants/{mine.id}", {}),
        422,
        "invalid_input",
    )


def test_one_off_session_round_trips_in_utc(client, world) -> None:
    mine = world.participants["mine"].id
    body = {"participant_id": mine, "starts_at": "2026-03-04T10:00:00-06:00", "minutes": 45}
    response = call(client, world.tokens["therapist"], "POST", "/sessions", body)
    assert response.status_code == 201, response.get_json()
    session = response.get_json()
    assert session["starts_at"] == "2026-03-04T16:00:00+00:00"
    assert session["ends_at"] == "2026-03-04T16:45:00+00:00"
    assert session["kind"] == "session" and session["modality"] == "video"
    stored = db.session.get(Contact, session["id"])
    assert stored.starts_at == datetime(2026, 3, 4, 16, tzinfo=UTC)
    query = "from=2026-03-04T00:00:00Z&to=2026-03-05T00:00:00%2B00:00"
    listed = call(client, world.tokens["court"], "GET", f"/participants/{mine}/contacts?{query}")
    assert session["id"] in {c["id"] for c in listed.get_json()}


@pytest.mark.parametrize(
    "starts_at,field",
    [
        ("2026-03-04T10:00:00", "starts_at"),
        ("2026-03-01T10:00:00+00:00", "starts_at"),
        ("mañana", "starts_at"),
    ],
)
def test_session_times_without_offset_or_in_the_past_are_422(
    client, world, starts_at, field
) -> None:
    before = row_counts()
    body = {"participant_id": world.participants["mine"].id, "starts_at": starts_at, "minutes": 45}
    error = assert_error(
        call(client, world.tokens["coordinator"], "POST", "/sessions", body), 422, "invalid_input"
    )
    assert field in error["fields"]
    assert row_counts() == before


def test_query_times_need_an_offset(client, world) -> None:
    mine = world.participants["mine"].id
    response = call(
        client,
        world.tokens["court"],
        "GET",
        f"/participants/{mine}/contacts?from=2026-03-01T00:00:00",
    )
    assert "from" in assert_error(response, 422, "invalid_input")["fields"]
    response = call(
        client, world.tokens["court"], "GET",
        f"/participants/{mine}/compliance?from=2026-03-05T00:00:00Z&to=2026-03-01T00:00:00Z",
    )  # fmt: skip
    assert "to" in assert_error(response, 422, "invalid_input")["fields"]


def test_attendance_outcomes_confirmation_and_correction(client, world, frozen_clock) -> None:
    mine = world.participants["mine"]
    session = sessions_of(mine.id)[0]
    path = f"/sessions/{session.id}/attendance"
    token = world.tokens["therapist"]
    early = call(client, token, "POST", path, {"outcome": "attended"})
    assert_error(early, 409, "conflict")

    frozen_clock.set(session.starts_at + timedelta(minutes=20))
    response = call(
        client, token, "POST", path, {"outcome": "late", "note": "Llegó tarde por el trabajo"}
    )
    assert response.status_code == 200
    marked = response.get_json()
    assert marked["status"] == "late" and marked["closed_at"] == frozen_clock.now().isoformat()
    assert "note" not in marked and "Llegó tarde" not in response.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(Contact, session.id)
    assert stored.outcome_by_id == world.users["therapist"].id
    confirmation = db.session.scalar(
        select(OutboundMessage).where(
            OutboundMessage.idempotency_key == f"contact:{session.id}:attendance"
        )
    )
    assert confirmation.purpose == "attendance_confirmation" and confirmation.status == "pending"

    # the therapist corrects: it was a video outage, not his lateness; audited with what it was
    response = call(client, token, "POST", path, {"outcome": "technical_failure"})
    assert response.get_json()["status"] == "missed"
    assert response.get_json()["attribution"] == "system"
    db.session.expire_all()
    assert db.session.get(OutboundMessage, confirmation.id).status == "cancelled"
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "mark_attendance").order_by(AuditEvent.id)
    ).all()
    assert [e.detail["outcome"] for e in events] == ["late", "technical_failure"]
    assert events[1].detail["previous"] == {"status": "late", "attribution": None}

    response = call(client, world.tokens["coordinator"], "POST", path, {"outcome": "no_show"})
    assert (response.get_json()["status"], response.get_json()["attribution"]) == (
        "missed",
        "participant",
    )
    assert_error(call(client, token, "POST", path, {"outcome": "asleep"}), 422, "invalid_input")


def test_compliance_counts_and_rate(client, world, frozen_clock) -> None:
    mine = world.participants["mine"]
    token = world.tokens["therapist"]
    extra = {"participant_id": mine.id, "starts_at": "2026-03-02T13:00:00+00:00", "minutes": 30}
    assert call(client, token, "POST", "/sessions", extra).status_code == 201
    first, second, third = sessions_of(mine.id)[:3]
    frozen_clock.set(third.starts_at + timedelta(minutes=1))
    for contact, outcome in (
        (first, "attended"),
        (second, "technical_failure"),
        (third, "no_show"),
    ):
        assert (
            call(
                client, token, "POST", f"/sessions/{contact.id}/attendance", {"outcome": outcome}
            ).status_code
            == 200
        )
    query = urlencode(
        {"from": MONDAY.isoformat(), "to": (third.starts_at + timedelta(hours=1)).isoformat()}
    )
    response = call(
        client, world.tokens["court"], "GET", f"/participants/{mine.id}/compliance?{query}"
    )
    report = response.get_json()
    assert report["sessions_by_status"]["attended"] == 1
    assert report["sessions_by_status"]["missed"] == 2
    assert report["by_attribution"]["system"] >= 1 and report["by_attribution"]["participant"] >= 1
    # the system's failure does not count against him: kept / (kept + his own misses)
    kept = sum(report["by_status"][s] for s in ("attended", "late", "completed"))
    assert report["attendance_rate"] == pytest.approx(
        kept / (kept + report["by_attribution"]["participant"])
    )
    assert report["consecutive_misses"] >= 1
    assert report["last_contact"]["id"] == third.id
    assert report["from"] == "2026-03-02T12:00:00+00:00"
