"""The Twilio backend: the ``twilio`` package with timeouts, a deadline and a health probe."""

from __future__ import annotations

import logging
import re
import threading
from email.utils import parsedate_to_datetime
from typing import Any

from telejt.clock import now
from telejt.sms.backends import (
    AMBIGUOUS_STATUSES,
    MAX_RETRY_AFTER_SECONDS,
    TRANSIENT_ERRORS,
    ProviderUnreachable,
    RateLimited,
    SendOutcomeUnknown,
    SendResult,
    SmsSendError,
    call_with_deadline,
    is_permanent,
)

log = logging.getLogger(__name__)


def _retry_after(headers: Any) -> float | None:
    """Seconds from an HTTP Retry-After header (seconds or a date), capped."""
    value = (headers or {}).get("Retry-After") if headers is not None else None
    if not value:
        return None
    value = str(value).strip()
    if re.fullmatch(r"\d{1,7}", value):
        seconds = float(value)
    else:
        try:
            seconds = (parsedate_to_datetime(value) - now()).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(0.0, min(seconds, MAX_RETRY_AFTER_SECONDS))


def _http_client(timeouts: tuple[float, float]) -> Any:
    """``TwilioHttpClient`` with (connect, read) timeouts that keeps the last answer's headers.

    The ``twilio`` package raises TwilioRestException without the HTTP headers; a
    429's Retry-After lives there.
    """
    from twilio.http.http_client import TwilioHttpClient

    class HeaderKeepingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio is untyped
        last_headers: Any = None

        def request(self, *args: Any, **kwargs: Any) -> Any:
            response = super().request(*args, **kwargs)
            self.last_headers = response.headers
            return response

    client = HeaderKeepingHttpClient(logger=logging.getLogger("telejt.sms.twilio_http"))
    # requests takes (connect, read); twilio's constructor only checks a single number
    client.timeout = timeouts
    return client


def _transport_detail(exc: Exception) -> str:
    """A ``requests`` failure in a few words (the whole chain is in the log)."""
    from requests import exceptions as rex
    from urllib3.exceptions import (
        ConnectTimeoutError,
        MaxRetryError,
        NameResolutionError,
        NewConnectionError,
    )

    reason = exc.args[0] if exc.args else None
    cause = reason.reason if isinstance(reason, MaxRetryError) else reason
    if isinstance(cause, NameResolutionError):
        return "DNS: the provider's name did not resolve"
    if isinstance(exc, rex.ProxyError):
        return "proxy unreachable or refused the tunnel"
    if isinstance(cause, NewConnectionError) and not isinstance(exc, rex.ConnectTimeout):
        # (urllib3 makes NewConnectionError a kind of ConnectTimeoutError: test it first)
        return "connection refused or failed"
    if isinstance(exc, rex.ConnectTimeout) or isinstance(cause, ConnectTimeoutError):
        return "connect timeout"
    if isinstance(exc, rex.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, rex.ReadTimeout):
        return "read timeout: no answer after the request was sent"
    return f"{exc.__class__.__name__}: {str(cause or exc)[:120]}"


def transport_failure(exc: Exception) -> SmsSendError:
    """A ``requests`` exception as ProviderUnreachable (never sent) or SendOutcomeUnknown."""
    from requests import exceptions as rex
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

    detail = _transport_detail(exc)
    log.warning("SMS provider call failed: %s", exc)
    if isinstance(exc, rex.ConnectTimeout | rex.ProxyError | rex.SSLError | rex.InvalidURL):
        return ProviderUnreachable(detail)
    if isinstance(exc, rex.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError) and isinstance(
            reason.reason, NewConnectionError | ConnectTimeoutError
        ):
            return ProviderUnreachable(detail)  # refused, DNS failure, connect timeout
    # a read timeout, a connection dropped after the request was written: it may have gone
    return SendOutcomeUnknown(detail)


class TwilioSmsSender:
    """Twilio's REST API through the ``twilio`` package, with timeouts and a deadline.

    One ``twilio`` client per thread (the dispatcher runs several loops; a
    ``requests`` session is not meant to be shared between threads), each with
    ``TwilioHttpClient(timeout=(connect, read))``. It honours ``HTTPS_PROXY`` and
    ``REQUESTS_CA_BUNDLE`` as ``requests`` does.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        status_callback: str,
        messaging_service_sid: str | None = None,
        from_number: str | None = None,
        http_client: object | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        send_timeout: float = 30.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.status_callback = status_callback
        self.messaging_service_sid = messaging_service_sid
        self.from_number = from_number
        self.timeouts = (connect_timeout, read_timeout)
        self.send_timeout = send_timeout
        self._shared_http_client = http_client
        self._local = threading.local()
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            from twilio.rest import Client

            http = self._shared_http_client or _http_client(self.timeouts)
            client = Client(self.account_sid, self.auth_token, http_client=http)
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        """Close the pooled connections of every thread's client."""
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            session = getattr(client.http_client, "session", None)
            if session is not None:
                session.close()

    @staticmethod
    def _last_response_headers(client: Any) -> Any:
        return getattr(client.http_client, "last_headers", None)

    def send(self, *, to: str, body: str) -> SendResult:
        """Create the message at Twilio; failures become the exceptions of this module."""
        kwargs: dict[str, str] = {"to": to, "body": body, "status_callback": self.status_callback}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number or ""
        client = self._client()

        def create() -> Any:
            return self._create(client, kwargs)

        message = call_with_deadline(create, self.send_timeout)
        return SendResult(provider_sid=str(message.sid), status=str(message.status or "queued"))

    def _create(self, client: Any, kwargs: dict[str, str]) -> Any:
        from requests import exceptions as rex
        from twilio.base.exceptions import TwilioRestException

        try:
            return client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise self._refusal(exc, self._last_response_headers(client)) from exc
        except rex.RequestException as exc:
            raise transport_failure(exc) from exc

    @staticmethod
    def _refusal(exc: Any, headers: Any) -> SmsSendError:
        """Twilio answered with an error status: what it means for the message."""
        code = str(exc.code) if exc.code is not None else None
        status = int(exc.status or 0)
        if status in (429, 503):
            # refused before anything was done: the same message may go later
            kind = RateLimited if status == 429 else ProviderUnreachable
            return kind(
                f"HTTP {status} {code or ''}: {exc.msg}"[:300], retry_after=_retry_after(headers)
            )
        if status in AMBIGUOUS_STATUSES or (status >= 500 and code is None):
            return SendOutcomeUnknown(f"HTTP {status}: {exc.msg}"[:300])
        permanent = is_permanent(code) or (
            code is not None and code not in TRANSIENT_ERRORS and 400 <= status < 500
        )
        return SmsSendError(code, str(exc.msg), permanent=permanent)

    def check(self) -> None:
        """Whether Twilio answers (fetch the account: no message, no cost); raises if not."""
        from requests import exceptions as rex
        from twilio.base.exceptions import TwilioRestException

        client = self._client()

        def fetch() -> Any:
            try:
                return client.api.v2010.accounts(self.account_sid).fetch()
            except TwilioRestException as exc:
                if int(exc.status or 0) >= 500 or exc.status == 429:
                    raise ProviderUnreachable(f"HTTP {exc.status}: {exc.msg}"[:300]) from exc
                raise SmsSendError(str(exc.code), str(exc.msg), permanent=False) from exc
            except rex.RequestException as exc:
                raise ProviderUnreachable(f"{exc.__class__.__name__}: {exc}"[:300]) from exc

        call_with_deadline(fetch, self.send_timeout)
