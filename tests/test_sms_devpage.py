"""The console backend's /dev/sms page: the whole SMS loop without Twilio."""

from __future__ import annotations

from conftest import sign_in
from sqlalchemy import select

from telejt.extensions import db
from telejt.sms.models import InboundMessage


def test_dev_page_needs_a_coordinators_login(client, make_participant, make_staff) -> None:
    participant = make_participant()
    response = client.get("/dev/sms")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    sign_in(client, make_staff("therapist", courts=[participant.court]))
    assert client.get("/dev/sms").status_code == 403
    assert client.post("/dev/sms", data={"body": "BAJA"}).status_code == 403
    assert db.session.scalar(select(InboundMessage)) is None


def test_dev_page_feeds_the_inbound_service(client, make_participant, make_staff, sms) -> None:
    participant = make_participant()
    sign_in(client, make_staff("coordinator", courts=[participant.court]))
    page = client.get("/dev/sms")
    assert page.status_code == 200
    assert participant.name in page.get_data(as_text=True)
    response = client.post(
        "/dev/sms", data={"participant_id": participant.id, "other_phone": "", "body": "AYUDA"}
    )
    assert response.status_code == 302
    inbound = db.session.scalar(select(InboundMessage))
    assert (inbound.participant_id, inbound.meaning) == (participant.id, "help")
    assert inbound.provider_sid.startswith("SMdev")


def test_dev_page_unknown_number(client, make_participant, make_staff) -> None:
    participant = make_participant()
    sign_in(client, make_staff("coordinator", courts=[participant.court]))
    response = client.post(
        "/dev/sms",
        data={"participant_id": 0, "other_phone": "+52 55 1111 2222", "body": "hola"},
        follow_redirects=True,
    )
    assert "mensajes pendientes" in response.get_data(as_text=True)
    assert db.session.scalar(select(InboundMessage)) is None


def test_dev_page_only_with_console_backend_outside_production(app, client, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "TELEJT_SMS_BACKEND", "twilio")
    assert client.get("/dev/sms").status_code == 404
    monkeypatch.setitem(app.config, "TELEJT_SMS_BACKEND", "console")
    monkeypatch.setitem(app.config, "TELEJT_ENV", "production")
    assert client.get("/dev/sms").status_code == 404
    assert client.post("/dev/sms", data={"body": "BAJA"}).status_code == 404
