"""Logs: configured at start, JSON on request, never a phone number or an SMS body."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from webhooks import configure_twilio, sms_in

from telejt.logmask import mask_phones
from telejt.logs import configure_logging


@pytest.fixture
def json_log(monkeypatch) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("INFO", "json")
    yield stream
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "telejt", False):
            root.removeHandler(handler)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("to +528112345678 ok", "to +••••••••••78 ok"),
        ("whatsapp:+5218112345678", "whatsapp:+•••••••••••78"),
        ("8112345678", "••••••••78"),
        ("contact 12345 at 2026-03-03T10:00:00", "contact 12345 at 2026-03-03T10:00:00"),
        ("due 2026-03-03 10:00:00+00:00", "due 2026-03-03 10:00:00+00:00"),
        ("ids 1, 2, 3", "ids 1, 2, 3"),
    ],
)
def test_phone_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_phones(text) == masked


def test_json_lines_carry_no_phone_and_no_body(
    json_log, app, client, monkeypatch, frozen_clock, make_participant, sms, run_until
) -> None:
    configure_twilio(app, monkeypatch)
    participant = make_participant(phone="+52 81 7777 4321")
    sms_in(client, "+52 55 9999 1234", "hola, soy un número desconocido")  # logged, masked
    body = "ya no quiero vivir, de verdad"
    sms_in(client, participant.phone, body)
    run_until(frozen_clock.now() + timedelta(minutes=20))
    logging.getLogger("telejt.test").error(
        "a failure about %s", participant.phone, exc_info=ValueError(participant.phone)
    )
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    text = json_log.getvalue()
    for secret in (participant.phone, "8177774321", "559999 1234", "5599991234", body,
                   participant.name):  # fmt: skip
        assert secret not in text
    assert "21" in text and "•" in text  # what is left of the numbers


def test_requests_carry_an_id_into_the_log_and_back(json_log, client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    fresh = client.get("/healthz", headers={"X-Request-ID": "bad id; with spaces"})
    assert len(fresh.headers["X-Request-ID"]) == 32  # a new one, not the caller's text


def test_migrating_keeps_telejts_logging(json_log, app_config, tmp_path) -> None:
    """Alembic's own logging file must not replace the masking handler (telejt db upgrade)."""
    from flask_migrate import upgrade

    from telejt import create_app

    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}"})
    with app.app_context():
        upgrade()
        from telejt.extensions import db

        db.engine.dispose()
    logging.getLogger("telejt.test").warning("to +528112345678")
    assert "+528112345678" not in json_log.getvalue()
    assert "to +••••••••••78" in json_log.getvalue()
