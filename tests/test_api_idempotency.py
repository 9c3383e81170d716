"""Idempotency-Key: a retried POST is answered again and done once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from test_api_access import MONDAY, World, build_world

from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.sms.models import OutboundMessage


@pytest.fixture
def world(frozen_clock, make_court, make_staff, make_participant) -> World:
    frozen_clock.set(MONDAY)
    return build_world(make_court, make_staff, make_participant)


def post(client: Any, token: str, path: str, body: Any, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(
        f"/api/v1{path}", headers=headers, data=json.dumps(body), content_type="application/json"
    )


def extra_sessions() -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(Contact).where(Contact.plan_key.like("extra:%"))
        )
    )


def session_body(world: World) -> dict[str, Any]:
    return {
        "participant_id": world.participants["mine"].id,
        "starts_at": "2026-03-04T10:00:00-06:00",
        "minutes": 45,
    }


def test_a_retried_post_creates_one_session_and_gets_the_same_answer(client, world) -> None:
    token = world.tokens["therapist"]
    first = post(client, token, "/sessions", session_body(world), "retry-1")
    again = post(client, token, "/sessions", session_body(world), "retry-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert extra_sessions() == 1
    reminders = db.session.scalar(
        select(func.count())
        .select_from(OutboundMessage)
        .where(OutboundMessage.contact_id == first.get_json()["id"])
    )
    assert reminders >= 1  # its reminders were planned once, with it


def test_the_same_key_for_another_request_is_a_conflict(client, world) -> None:
    token = world.tokens["therapist"]
    assert post(client, token, "/sessions", session_body(world), "k-2").status_code == 201
    other = {**session_body(world), "minutes": 30}
    response = post(client, token, "/sessions", other, "k-2")
    assert response.status_code == 409
    assert "Idempotency-Key" in response.get_json()["error"]["fields"]
    assert extra_sessions() == 1


def test_without_a_key_each_post_is_its_own(client, world) -> None:
    token = world.tokens["therapist"]
    post(client, token, "/sessions", session_body(world), None)
    post(client, token, "/sessions", {**session_body(world), "minutes": 30}, None)
    assert extra_sessions() == 2


def test_a_failed_request_stores_nothing_and_may_be_retried(client, world) -> None:
    token = world.tokens["therapist"]
    bad = {**session_body(world), "starts_at": "2026-03-01T10:00:00-06:00"}  # in the past
    assert post(client, token, "/sessions", bad, "k-3").status_code == 422
    assert post(client, token, "/sessions", session_body(world), "k-3").status_code == 201


def test_keys_are_each_staff_members_own(client, world) -> None:
    first = post(client, world.tokens["therapist"], "/sessions", session_body(world), "k-4")
    assert first.status_code == 201
    coordinator = post(client, world.tokens["coordinator"], "/sessions", session_body(world), "k-4")
    assert coordinator.status_code == 201 and coordinator.get_json()["id"] != first.get_json()["id"]


def test_an_unusable_key_is_refused(client, world) -> None:
    response = post(client, world.tokens["therapist"], "/sessions", session_body(world), "x" * 201)
    assert response.status_code == 400
    assert extra_sessions() == 0


def test_two_copies_at_once_are_done_once(committed_db) -> None:
    """A client's retry races its first attempt: one session, both answered alike."""
    from factories import at_once, enroll_court

    from telejt import clock
    from telejt.auth.services import create_api_token

    clock.freeze(MONDAY)
    try:
        _court, therapist, (participant,) = enroll_court(1, tag="Idempotencia")
        _token, secret = create_api_token(therapist)
        db.session.commit()
        body = {
            "participant_id": participant.id,
            "starts_at": "2026-03-04T10:00:00-06:00",
            "minutes": 45,
        }
        db.session.remove()

        def send() -> tuple[int, Any]:
            response = post(committed_db.test_client(), secret, "/sessions", body, "race-1")
            return response.status_code, response.get_json()

        (status_a, answer_a), (status_b, answer_b) = at_once(committed_db, 2, send)
        assert status_a == status_b == 201 and answer_a == answer_b
        assert extra_sessions() == 1
    finally:
        clock.freeze(None)
