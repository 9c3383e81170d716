"""Sentry, when configured, gets where the code failed and nothing about who."""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.transport import Transport

from telejt.errortracking import init_error_tracking, scrub_event


class Captured(Transport):
    """A Sentry transport that keeps envelopes instead of sending them."""

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.envelopes: list[Any] = []

    def capture_envelope(self, envelope: Any) -> None:
        self.envelopes.append(envelope)


def test_nothing_personal_reaches_sentry() -> None:
    transport = Captured()
    assert init_error_tracking("https://public@sentry.example.mx/1", "testing", transport=transport)
    try:
        phone = "+528112345678"
        try:
            raise ValueError(f"could not text {phone}")
        except ValueError:
            sentry_sdk.capture_exception()
        sentry_sdk.flush()
        events = [
            item.payload.json
            for envelope in transport.envelopes
            for item in envelope.items
            if item.type == "event"
        ]
        assert events
        text = repr(events)
        assert phone not in text and "8112345678" not in text and "••78" in text
    finally:
        sentry_sdk.init(dsn=None)


def test_scrub_drops_bodies_headers_cookies_user_and_locals() -> None:
    event = {
        "request": {
            "url": "https://telejt.example.mx/twilio/sms",
            "data": {"Body": "me quiero morir", "From": "+528112345678"},
            "headers": {"Cookie": "session=x"},
            "cookies": {"session": "x"},
        },
        "user": {"email": "terapia@example.mx"},
        "exception": {
            "values": [{"stacktrace": {"frames": [{"function": "f", "vars": {"name": "Eva"}}]}}]
        },
        "message": "SMS to +52 81 1234 5678 failed",
    }
    scrubbed = scrub_event(event)
    assert "me quiero morir" not in repr(scrubbed) and "Eva" not in repr(scrubbed)
    assert "user" not in scrubbed and "headers" not in scrubbed["request"]
    assert scrubbed["message"] == "SMS to +••••••••••78 failed"


def test_not_started_without_a_dsn() -> None:
    assert init_error_tracking(None, "testing") is False
