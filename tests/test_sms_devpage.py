"""The console backend's /dev/sms page: the whole SMS loop without Twilio."""

from __future__ import annotations

from sqlalchemy import select

from telejt.extensions import db
from telejt.sms.models import InboundMessage


def test_dev_page_feeds_the_inbound_service(client, make_participant, sms) -> None:
    participant = make_participant()
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


def test_dev_page_unknown_number(client, make_participant) -> None:
    make_participant()
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
