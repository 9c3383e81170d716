"""Staff pages speak words, not codes; every time carries its zone (the viewer's by default);
the language switch is saved on the staff account."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import sign_in
from flask_babel import refresh
from sqlalchemy import select

from telejt.alerts.services import raise_alert
from telejt.auth.models import StaffUser
from telejt.extensions import db
from telejt.sms.models import OutboundMessage

CODES = ("checkin_start", "keyword_reply", "sms_opted_out", "in_progress", "reminder_delivered")


@pytest.fixture
def world(make_court, make_staff, make_participant, frozen_clock) -> dict[str, Any]:
    court = make_court(timezone="America/Monterrey")
    person = make_participant(court=court, timezone="America/Tijuana")
    raise_alert(
        participant=person,
        kind="reachability",
        severity="warning",
        dedupe_key="optout:test",
        audience="team",
        reason="sms_opted_out",
    )
    db.session.commit()
    return {
        "participant": person,
        "coordinator": make_staff("coordinator", courts=[court]),
        "judge": make_staff("court", courts=[court], court_position="judge"),
    }


def _get(client: Any, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_the_timeline_says_words_and_does_not_call_a_planned_sms_sent(client, world) -> None:
    person = world["participant"]
    sign_in(client, world["coordinator"])
    pending = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.participant_id == person.id, OutboundMessage.status == "pending"
        )
    ).all()
    assert pending, "enrolment plans reminders and check-ins"
    for path in (f"/participants/{person.id}", f"/dashboard/participants/{person.id}"):
        page = _get(client, path)
        for code in CODES:
            assert code not in page, (path, code)
        assert "SMS programado" in page, path
        assert "Pidió no recibir más SMS" in page, path  # the opt-out alert's reason in words
    page = _get(client, f"/participants/{person.id}")
    assert "· pending" not in page and "SMS enviado" not in page  # nothing has left yet


def test_roles_and_positions_are_words(client, world) -> None:
    sign_in(client, world["judge"])
    assert "· Juez(a)</span>" in _get(client, "/dashboard")
    sign_in(client, world["coordinator"])
    page = _get(client, "/dashboard")
    assert "· Coordinación</span>" in page and "· coordinator" not in page


def test_times_carry_the_viewers_zone_then_the_one_he_chose(client, world) -> None:
    person = world["participant"]
    sign_in(client, world["coordinator"])
    page = _get(client, f"/participants/{person.id}")
    assert "(hora de Monterrey)" in page  # his court's zone, not the participant's Tijuana
    response = client.post(
        "/account/preferences", data={"locale": "", "timezone": "America/Tijuana"}
    )
    assert response.status_code == 302
    page = _get(client, f"/participants/{person.id}")
    assert "(hora de Tijuana)" in page and "(hora de Monterrey)" not in page


def test_the_language_switch_is_saved_on_the_account(client, world) -> None:
    coordinator = world["coordinator"]
    sign_in(client, coordinator)
    assert ">English</button>" in _get(client, "/dashboard")
    response = client.post(
        "/account/language", data={"locale": "en", "next": "/dashboard?sort=name"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard?sort=name"
    assert db.session.get(StaffUser, coordinator.id).locale == "en"
    refresh()  # the test's one app context keeps the chosen locale; each request has its own
    page = _get(client, "/dashboard")
    assert '<html lang="en">' in page and "Dashboard" in page and ">Español</button>" in page
    page = _get(client, f"/participants/{world['participant'].id}")
    assert "(Monterrey time)" in page
    # never a redirect to another site
    response = client.post("/account/language", data={"locale": "es_MX", "next": "//evil.example"})
    assert response.headers["Location"] == "/account"
    assert db.session.get(StaffUser, coordinator.id).locale == "es_MX"


def test_the_audit_log_says_what_was_done(client, world, make_staff) -> None:
    sign_in(client, world["coordinator"])
    _get(client, "/dashboard")
    sign_in(client, make_staff("admin"))
    page = _get(client, "/audit")
    assert ">Vio el tablero</td>" in page and "· página</td>" in page
    assert ">dashboard.view<" not in page


def test_check_in_answers_read_as_words(client, world) -> None:
    from telejt.checkins.models import CheckinAnswer
    from telejt.planning.models import Contact

    person = world["participant"]
    checkin = db.session.scalars(
        select(Contact).where(Contact.participant_id == person.id, Contact.kind == "checkin")
    ).first()
    db.session.add_all(
        [
            CheckinAnswer(
                contact_id=checkin.id,
                question_id=question,
                value=value,
                raw_text=raw,
                is_crisis=False,
                is_shared_with_court=True,
                via="sms",
                answered_at=checkin.starts_at,
            )
            for question, value, raw in (("use", "no", "2"), ("craving", "7", "7"))
        ]
    )
    db.session.commit()
    sign_in(client, world["coordinator"])
    for path in (f"/participants/{person.id}", f"/dashboard/participants/{person.id}"):
        page = _get(client, path)
        assert "<strong>No</strong>" in page and "<strong>7 de 10</strong>" in page, path
        assert "<strong>no</strong>" not in page, path


def test_a_new_time_is_asked_in_his_zone_and_says_so(client, world) -> None:
    from telejt.planning.models import Contact

    person = world["participant"]
    session = db.session.scalars(
        select(Contact).where(Contact.participant_id == person.id, Contact.kind == "session")
    ).first()
    raise_alert(
        participant=person,
        contact=session,
        kind="reschedule_request",
        severity="info",
        dedupe_key="declined:test",
        audience="team",
        reason="declined_by_sms",
    )
    db.session.commit()
    sign_in(client, world["coordinator"])
    page = _get(client, "/queues/reschedule")
    assert "(hora de Monterrey)" in page  # the session, in the coordinator's zone
    assert "Para él: " in page and "(hora de Tijuana)</small>" in page  # and on his clock
    assert "<small>hora de Tijuana</small>" in page  # beside the new date and time
    page = _get(client, f"/participants/{person.id}/edit")
    assert "Los horarios son en la hora del participante: hora de Tijuana." in page
