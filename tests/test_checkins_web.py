"""The check-in web form, /c/<token>."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.checkins.models import CheckinAnswer
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for

MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
ALL_ANSWERS = {"q_use": "no", "q_craving": "2", "q_mood": "7", "q_safe": "no"}


def first_checkin(participant) -> Contact:
    return db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "checkin")
        .order_by(Contact.starts_at)
    ).first()


@pytest.fixture
def checkin(frozen_clock, make_participant) -> Any:
    frozen_clock.set(MONDAY)
    participant = make_participant()
    contact = first_checkin(participant)
    frozen_clock.set(contact.starts_at + timedelta(minutes=5))
    return contact


def test_form_shows_every_question_and_records_answers(client, checkin) -> None:
    page = client.get(f"/c/{checkin.join_token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'lang="es-MX"' in html
    assert "Desde tu último reporte, ¿tuviste algún tropiezo?" in html
    assert "1=Sí 2=No" not in html  # buttons say yes and no on the web
    assert "topbar" not in html  # not the staff layout
    response = client.post(f"/c/{checkin.join_token}", data=ALL_ANSWERS)
    assert response.status_code == 200
    assert "Gracias" in response.get_data(as_text=True)
    db.session.refresh(checkin)
    assert checkin.status == "completed" and checkin.closed_at is not None
    answers = {a.question_id: (a.value, a.via) for a in db.session.scalars(select(CheckinAnswer))}
    assert answers == {q[2:]: (v, "web") for q, v in ALL_ANSWERS.items()}
    again = client.get(f"/c/{checkin.join_token}")
    assert "Ya respondiste" in again.get_data(as_text=True)


def test_missing_answers_are_pointed_out_and_nothing_recorded(client, checkin) -> None:
    response = client.post(f"/c/{checkin.join_token}", data={"q_use": "no", "q_craving": "99"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert html.count("Elige una respuesta.") >= 2
    assert db.session.scalar(select(CheckinAnswer)) is None


def test_crisis_on_the_web_shows_the_crisis_line_and_alerts_the_team(client, checkin) -> None:
    response = client.post(f"/c/{checkin.join_token}", data=dict(ALL_ANSWERS, q_safe="yes"))
    html = response.get_data(as_text=True)
    assert "Línea de la Vida" in html and "800 911 2000" in html
    alert = db.session.scalar(select(Alert).where(Alert.kind == "crisis"))
    assert (alert.audience, alert.severity) == ("team", "urgent")


def test_expired_and_unknown_links_record_nothing(client, checkin, frozen_clock) -> None:
    assert client.get("/c/not-a-real-token").status_code == 404
    frozen_clock.set(checkin.deadline_at + timedelta(seconds=1))
    response = client.post(f"/c/{checkin.join_token}", data=ALL_ANSWERS)
    assert response.status_code == 410
    assert "ya cerró" in response.get_data(as_text=True)
    assert db.session.scalar(select(CheckinAnswer)) is None


def test_not_open_yet(client, checkin, frozen_clock) -> None:
    frozen_clock.set(checkin.starts_at - timedelta(hours=1))
    assert client.get(f"/c/{checkin.join_token}").status_code == 403


def test_a_session_token_is_not_a_checkin(client, checkin) -> None:
    session = db.session.scalars(
        select(Contact).where(
            Contact.participant_id == checkin.participant_id, Contact.kind == "session"
        )
    ).first()
    assert client.get(f"/c/{session.join_token}").status_code == 404


def test_only_unanswered_questions_after_sms_answers(client, checkin) -> None:
    from telejt.checkins.services import take_sms_answer

    checkin.pending_question_id = "use"
    question = protocol_for(checkin.protocol_id, checkin.protocol_version).question("use")
    take_sms_answer(checkin, question, "no", "2", in_time=True)
    db.session.commit()
    html = client.get(f"/c/{checkin.join_token}").get_data(as_text=True)
    assert "q_use" not in html and "q_craving" in html
    data = {k: v for k, v in ALL_ANSWERS.items() if k != "q_use"}
    assert client.post(f"/c/{checkin.join_token}", data=data).status_code == 200
    db.session.refresh(checkin)
    assert checkin.status == "completed" and checkin.pending_question_id is None


def test_csrf_is_on(app, client, checkin, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post(f"/c/{checkin.join_token}", data=ALL_ANSWERS)
    assert response.status_code == 400
    assert db.session.scalar(select(CheckinAnswer)) is None


def test_in_the_participants_language(client, frozen_clock, make_participant) -> None:
    frozen_clock.set(MONDAY)
    participant = make_participant(locale="en")
    contact = first_checkin(participant)
    frozen_clock.set(contact.starts_at + timedelta(minutes=1))
    html = client.get(f"/c/{contact.join_token}", headers={"Accept-Language": "es-MX"}).get_data(
        as_text=True
    )
    assert 'lang="en"' in html
    assert "Since your last report, did you have a slip?" in html
