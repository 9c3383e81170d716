"""SMS backends behind one small interface, chosen by TELEJT_SMS_BACKEND.

A provider call ends in one of four ways, and the dispatcher treats each its own way:

- it was taken: a :class:`SendResult`;
- the provider answered and refused (:class:`SmsSendError`, permanent or not): the
  message was not sent; a permanent refusal is final, another is retried later;
- the request never left (:class:`ProviderUnreachable`: DNS, a refused or timed-out
  connection, TLS, a proxy, a 429 or 503 that Twilio answers before doing anything):
  retried with backoff, and the dispatch circuit breaker counts it;
- the request may have reached the provider and we cannot know whether the
  message went (:class:`SendOutcomeUnknown`: no answer within the read timeout, the
  connection dropped after the request was written, a 500/502/504): the message
  goes to review, never silently resent.

The ``twilio`` package raises ``requests``' own exceptions for transport failures,
not a ``TwilioException``, and waits for ever unless given a timeout; here every
call has a connect and a read timeout, and a hard deadline over the whole call
(``TELEJT_SMS_SEND_TIMEOUT``) that holds even when DNS hangs or bytes trickle in.
"""

from __future__ import annotations

import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from flask import Flask

from telejt.logmask import mask_phone
from telejt.shutdown import stop_requested

log = logging.getLogger(__name__)

T = TypeVar("T")

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
#: HTTP statuses after which the request may have been carried out (5xx but 503)
AMBIGUOUS_STATUSES = (500, 502, 504)
#: how long a stopping process waits for a call already in flight before giving up on it
STOP_GRACE_SECONDS = 4.0
#: the longest Retry-After honoured (a longer one is a provider's mistake)
MAX_RETRY_AFTER_SECONDS = 3600


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

    def __init__(
        self,
        code: str | None,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.permanent = permanent
        #: seconds the provider asked us to wait (HTTP Retry-After), if it did
        self.retry_after = retry_after


class ProviderUnreachable(SmsSendError):
    """The request never reached the provider (or it refused before doing anything)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(None, message, permanent=False, retry_after=retry_after)


class RateLimited(ProviderUnreachable):
    """HTTP 429: the provider is there and asks us to slow down (not an outage)."""


class SendOutcomeUnknown(SmsSendError):
    """The request may have reached the provider: whether the message left is unknown.

    ``late`` is the call still running after its deadline; when it finishes, its
    result (a provider id) can still be recorded (:meth:`LateCall.when_done`).
    """

    def __init__(self, message: str, *, late: LateCall | None = None) -> None:
        super().__init__(None, message, permanent=False)
        self.late = late


class SmsSender(Protocol):
    """Sends one SMS."""

    def send(self, *, to: str, body: str) -> SendResult:
        """Hand one message to the provider."""
        ...


class LateCall:
    """A provider call that outlived its deadline, still running in its own thread."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._result: Any = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Any, BaseException | None], None]] = []

    def finish(self, result: Any, error: BaseException | None) -> None:
        """The call returned (or raised): run the callbacks registered meanwhile."""
        with self._lock:
            self._result, self._error = result, error
            self._done.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(result, error)
            except Exception:
                log.exception("a late provider result could not be recorded")

    def when_done(self, callback: Callable[[Any, BaseException | None], None]) -> None:
        """Run ``callback(result, error)`` when the call ends (now, if it has)."""
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        callback(self._result, self._error)

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the call to end; whether it did."""
        return self._done.wait(seconds)

    def outcome(self) -> Any:
        """The ended call's result, or its exception raised here."""
        if self._error is not None:
            raise self._error
        return self._result


def call_with_deadline(call: Callable[[], T], deadline: float) -> T:
    """Run ``call`` in a thread of its own; give up on it after ``deadline`` seconds.

    Gives up sooner when the process is stopping (after STOP_GRACE_SECONDS). A call
    given up on raises SendOutcomeUnknown carrying the still-running call; a daemon
    thread, so a hung socket never keeps the process from exiting.
    """
    pending = LateCall()

    def run() -> None:
        try:
            result = call()
        except BaseException as error:  # handed to the waiting thread
            pending.finish(None, error)
        else:
            pending.finish(result, None)

    thread = threading.Thread(target=run, name="sms-provider-call", daemon=True)
    # real seconds, not telejt's clock: a frozen or simulated clock must not stop a deadline
    started = time.monotonic()
    thread.start()
    stop_seen_at: float | None = None
    while not pending.wait(0.1):
        waited = time.monotonic() - started
        if stop_requested() and stop_seen_at is None:
            stop_seen_at = waited
        if waited >= deadline or (
            stop_seen_at is not None and waited - stop_seen_at >= STOP_GRACE_SECONDS
        ):
            raise SendOutcomeUnknown(
                f"no answer from the provider within {waited:.0f} s", late=pending
            )
    result: T = pending.outcome()
    return result


_console_lock = threading.Lock()


class ConsoleSmsSender:
    """The embedded default: prints the SMS; the outbox row is the stored copy.

    Messages count as delivered at once, so the whole flow can be tried locally.
    Outside production the printed line carries the number and the text (that is
    the point of the backend); in production, where standard output is the log,
    only the masked number and the length.
    """

    def __init__(self, *, show_content: bool = True) -> None:
        self.show_content = show_content

    def send(self, *, to: str, body: str) -> SendResult:
        """Print the message and report it delivered."""
        sid = "SMconsole" + secrets.token_hex(12)
        log.info("SMS %s to %s (%d characters)", sid, mask_phone(to), len(body))
        if self.show_content:
            line = f"[SMS → {to}] {body}\n"
        else:
            line = f"[SMS → {mask_phone(to)}] ({len(body)} characters, {sid})\n"
        with _console_lock:  # dispatch threads: one whole line at a time, never interleaved
            sys.stdout.write(line)
            sys.stdout.flush()
        return SendResult(provider_sid=sid, status="delivered")

    def check(self) -> None:
        """The console is always there."""


def sender_for(app: Flask) -> SmsSender:
    """The backend the configuration names (tests may put their own in app.extensions)."""
    custom: SmsSender | None = app.extensions.get("telejt.sms_sender")
    if custom is not None:
        return custom
    if app.config["TELEJT_SMS_BACKEND"] == "twilio":
        from telejt.sms.twilio_sender import TwilioSmsSender

        sender: SmsSender = TwilioSmsSender(
            app.config["TWILIO_ACCOUNT_SID"],
            app.config["TWILIO_AUTH_TOKEN"],
            status_callback=app.config["TELEJT_PUBLIC_URL"] + "/twilio/status",
            messaging_service_sid=app.config.get("TWILIO_MESSAGING_SERVICE_SID"),
            from_number=app.config.get("TWILIO_FROM_NUMBER"),
            connect_timeout=app.config["TELEJT_SMS_CONNECT_TIMEOUT"],
            read_timeout=app.config["TELEJT_SMS_READ_TIMEOUT"],
            send_timeout=app.config["TELEJT_SMS_SEND_TIMEOUT"],
        )
    else:
        sender = ConsoleSmsSender(show_content=app.config["TELEJT_ENV"] != "production")
    app.extensions["telejt.sms_sender"] = sender
    return sender
