"""The gate in front of Socket.IO: no session, no socket; a ceiling on how many are open.

In threading mode every open Socket.IO request (a WebSocket, or a long poll of up
to 25 s) holds one server thread. Left to Flask-SocketIO, a connection is refused
only when its namespace ``connect`` handler runs, after Engine.IO has accepted it,
so 600 bare connections without a cookie held every thread of the web process and
``/healthz``, Twilio's webhooks and every page waited. This WSGI layer runs first:

- **No session, no socket.** The request that opens an Engine.IO connection (no
  ``sid`` in its query) must carry a signed session cookie holding either a staff
  login whose server-side session is live or a participant's pass for a session
  link he opened (:func:`grant_room_pass`). Anything else gets 401 at once, without
  touching Engine.IO or the database. Requests of an open connection carry the
  ``sid`` Engine.IO gave it and are checked by Engine.IO itself.
- **A ceiling.** At most ``TELEJT_SOCKETS_MAX`` Socket.IO requests in flight in this
  process, and ``TELEJT_SOCKETS_PER_ADDRESS`` from one client address (after
  ProxyFix: the real one); beyond them the answer is 503 or 429 at once. The
  server's threads above ``TELEJT_SOCKETS_MAX`` are the reserve that keeps pages,
  webhooks and probes answering under any socket load (telejt/gunicorn_conf.py sizes them).

The namespace handlers still decide who joins which room; this only keeps
strangers and floods from holding threads.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, session

from telejt.clock import now
from telejt.sockets.sweeper import start_sweeper

log = logging.getLogger(__name__)

SOCKET_PATH = "/socket.io"
#: session key of the participant's passes: {contact id: when the pass ends (epoch seconds)}
ROOM_PASSES_KEY = "room_passes"
#: passes one browser keeps (a participant opens one session link at a time)
MAX_ROOM_PASSES = 4

StartResponse = Callable[..., Any]


def grant_room_pass(contact_id: int, until: datetime) -> None:
    """Let this browser open a /room socket until ``until`` (the session page calls this)."""
    moment = now().timestamp()
    passes = {
        key: end
        for key, end in (session.get(ROOM_PASSES_KEY) or {}).items()
        if isinstance(end, int | float) and end > moment
    }
    passes[str(contact_id)] = int(until.timestamp())
    newest = sorted(passes.items(), key=lambda item: item[1])[-MAX_ROOM_PASSES:]
    session[ROOM_PASSES_KEY] = dict(newest)


def _has_room_pass(data: dict[str, Any]) -> bool:
    passes = data.get(ROOM_PASSES_KEY)
    if not isinstance(passes, dict):
        return False
    moment = now().timestamp()
    return any(isinstance(end, int | float) and end > moment for end in passes.values())


class SocketGate:
    """WSGI middleware: authenticate Socket.IO handshakes and cap requests in flight."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self._lock = threading.Lock()
        self._total = 0
        self._by_address: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path != SOCKET_PATH and not path.startswith(SOCKET_PATH + "/"):
            return self.wsgi_app(environ, start_response)
        address = environ.get("REMOTE_ADDR") or "-"
        refusal = self._admit(address)
        if refusal is not None:
            return self._refuse(start_response, *refusal)
        try:
            if "sid" not in parse_qs(environ.get("QUERY_STRING", "")):
                if not self._may_open(environ):
                    return self._refuse(start_response, "401 Unauthorized", "not logged in")
                start_sweeper(self.app)  # this process serves sockets: close ended sessions'
            return self.wsgi_app(environ, start_response)
        finally:
            # the threading server runs a WebSocket to its end inside this call, so the
            # slot is held exactly as long as the thread is
            self._release(address)

    def __getattr__(self, name: str) -> Any:
        # transparent to what it wraps (Flask-SocketIO's middleware keeps ``engineio_app``)
        return getattr(self.wsgi_app, name)

    def in_flight(self) -> tuple[int, dict[str, int]]:
        """Socket.IO requests in flight now: in all, and by client address."""
        with self._lock:
            return self._total, dict(self._by_address)

    def _admit(self, address: str) -> tuple[str, str] | None:
        limit = self.app.config["TELEJT_SOCKETS_MAX"]
        per_address = self.app.config["TELEJT_SOCKETS_PER_ADDRESS"]
        with self._lock:
            if self._total >= limit:
                return "503 Service Unavailable", "too many live connections"
            if self._by_address[address] >= per_address:
                return "429 Too Many Requests", "too many live connections from this address"
            self._total += 1
            self._by_address[address] += 1
        return None

    def _release(self, address: str) -> None:
        with self._lock:
            self._total -= 1
            self._by_address[address] -= 1
            if self._by_address[address] <= 0:
                del self._by_address[address]

    @staticmethod
    def _refuse(start_response: StartResponse, status: str, reason: str) -> list[bytes]:
        body = reason.encode()
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ]
        if not status.startswith("401"):
            headers.append(("Retry-After", "10"))
        start_response(status, headers)
        return [body]

    def _may_open(self, environ: dict[str, Any]) -> bool:
        """Whether the request's signed session is a live staff login or a participant's pass."""
        interface = self.app.session_interface
        request = self.app.request_class(environ)
        serializer = interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]  # Flask's cookie sessions have it
        cookie = request.cookies.get(self.app.config["SESSION_COOKIE_NAME"])
        if serializer is None or not cookie:
            return False
        try:
            data = serializer.loads(
                cookie, max_age=int(self.app.permanent_session_lifetime.total_seconds())
            )
        except Exception:  # a bad signature, an old cookie, garbage
            return False
        if not isinstance(data, dict):
            return False
        if _has_room_pass(data):
            return True
        from telejt.auth.sessions import live_session_for

        with self.app.app_context():
            try:
                return live_session_for(data) is not None
            except Exception:  # the database is down: refuse now, the client retries
                log.exception("could not check a socket's session")
                return False
            finally:
                from telejt.extensions import db

                db.session.remove()
