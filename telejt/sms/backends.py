"""SMS backends behind one small interface, chosen by TELEJT_SMS_BACKEND."""

from __future__ import annotations

import logging
import secrets
import sys
import threading
from dataclasses import dataclass
from typing import Protocol

from flask import Flask

log = logging.getLogger(__name__)

#: Twilio error codes after which sending to that number again is pointless
PERMANENT_ERRORS = {
    "21211": "invalid_number",
    "21214": "invalid_number",
    "21408": "region_not_enabled",
    "21610": "opted_out",
    "21612": "unreachable_route",
    "21614": "not_mobile",
    "30005": "unknown_handset",
    "30006": "landline_or_unreachable_carrier",
    "30004": "blocked",
}
#: codes worth retrying later
TRANSIENT_ERRORS = {
    "20429": "rate_limited",
    "30001": "queue_overflow",
    "30003": "unreachable_handset",
    "30007": "carrier_filtered",
    "30008": "unknown_error",
    "30017": "carrier_congestion",
}


def is_permanent(error_code: str | None) -> bool:
    """Whether a provider error means this number cannot be reached this way."""
    return error_code in PERMANENT_ERRORS


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it took a message."""

    provider_sid: str
    status: str  # queued, sent, delivered…


class SmsSendError(Exception):
    """The provider refused a message; ``permanent`` says whether to give up on the number."""

    def __init__(self, code: str | None, message: str, *, permanent: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.permanent = permanent


class SmsSender(Protocol):
    """Sends one SMS."""

    def send(self, *, to: str, body: str) -> SendResult:
        """Hand one message to the provider."""
        ...


_console_lock = threading.Lock()


class ConsoleSmsSender:
    """The embedded default: prints the SMS; the outbox row is the stored copy.

    Messages count as delivered at once, so the whole flow can be tried locally.
    """

    def send(self, *, to: str, body: str) -> SendResult:
        """Print the message and report it delivered."""
        sid = "SMconsole" + secrets.token_hex(12)
        log.warning("SMS to %s (%s): %s", to, sid, body)
        with _console_lock:  # dispatch threads: one whole line at a time, never interleaved
            sys.stdout.write(f"[SMS → {to}] {body}\n")
            sys.stdout.flush()
        return SendResult(provider_sid=sid, status="delivered")


class TwilioSmsSender:
    """Twilio's REST API through the ``twilio`` package."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        status_callback: str,
        messaging_service_sid: str | None = None,
        from_number: str | None = None,
        http_client: object | None = None,
    ) -> None:
        from twilio.rest import Client

        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.status_callback = status_callback
        self.messaging_service_sid = messaging_service_sid
        self.from_number = from_number

    def send(self, *, to: str, body: str) -> SendResult:
        """Create the message at Twilio; errors become SmsSendError."""
        from twilio.base.exceptions import TwilioException, TwilioRestException

        kwargs: dict[str, str] = {"to": to, "body": body, "status_callback": self.status_callback}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number or ""
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            code = str(exc.code) if exc.code is not None else None
            transient = code is None and (exc.status >= 500 or exc.status == 429)
            permanent = is_permanent(code) or (
                code is not None and code not in TRANSIENT_ERRORS and 400 <= exc.status < 500
            )
            raise SmsSendError(code, exc.msg, permanent=permanent and not transient) from exc
        except TwilioException as exc:  # network trouble: try again later
            raise SmsSendError(None, str(exc), permanent=False) from exc
        return SendResult(provider_sid=str(message.sid), status=str(message.status or "queued"))


def sender_for(app: Flask) -> SmsSender:
    """The backend the configuration names (tests may put their own in app.extensions)."""
    custom = app.extensions.get("telejt.sms_sender")
    if custom is not None:
        return custom
    if app.config["TELEJT_SMS_BACKEND"] == "twilio":
        sender: SmsSender = TwilioSmsSender(
            app.config["TWILIO_ACCOUNT_SID"],
            app.config["TWILIO_AUTH_TOKEN"],
            status_callback=app.config["TELEJT_PUBLIC_URL"] + "/twilio/status",
            messaging_service_sid=app.config.get("TWILIO_MESSAGING_SERVICE_SID"),
            from_number=app.config.get("TWILIO_FROM_NUMBER"),
        )
    else:
        sender = ConsoleSmsSender()
    app.extensions["telejt.sms_sender"] = sender
    return sender
