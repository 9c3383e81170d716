"""Twilio as the tests see it: signed inbound SMS and status callbacks, realistic payloads.

Signatures are made by twilio's own ``RequestValidator`` over the public URL, as
Twilio signs them.
"""

from __future__ import annotations

import secrets
from typing import Any

from twilio.request_validator import RequestValidator

TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT = "AC" + "1" * 32
PUBLIC = "https://telejt.example.mx"


def configure_twilio(app: Any, monkeypatch: Any) -> None:
    """The app as configured for Twilio webhooks (sending stays recorded)."""
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setitem(app.config, "TWILIO_ACCOUNT_SID", ACCOUNT)


def signed_post(client: Any, path: str, params: dict[str, str], token: str = TOKEN) -> Any:
    """POST as Twilio does: form fields and X-Twilio-Signature over public URL + params."""
    signature = RequestValidator(token).compute_signature(PUBLIC + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def inbound_params(phone: str, body: str, sid: str | None = None) -> dict[str, str]:
    """A realistic Twilio inbound SMS payload."""
    sid = sid or "SM" + secrets.token_hex(16)
    return {
        "ToCountry": "MX",
        "ToState": "NL",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "NL",
        "SmsStatus": "received",
        "FromCity": "MONTERREY",
        "Body": body,
        "FromCountry": "MX",
        "To": "+528100000000",
        "MessagingServiceSid": "MG" + "2" * 32,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": phone,
        "ApiVersion": "2010-04-01",
    }


def sms_in(client: Any, phone: str, body: str, sid: str | None = None) -> Any:
    """Send one signed inbound SMS, as Twilio would post it."""
    return signed_post(client, "/twilio/sms", inbound_params(phone, body, sid))
