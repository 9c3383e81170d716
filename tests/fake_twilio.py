"""A Twilio-shaped HTTPS server on loopback, for the real ``twilio`` client to talk to.

It answers ``POST /2010-04-01/Accounts/<sid>/Messages.json`` as Twilio does (201
with a message resource, or an error body with Twilio's code) and ``GET
/2010-04-01/Accounts/<sid>.json`` (the account: what the dispatcher's health probe
fetches). Its certificate is for ``api.twilio.com``, signed by a throwaway CA
(``trustme``) that the client trusts through ``REQUESTS_CA_BUNDLE``. The client
reaches it either

- through its proxy setting (``HTTPS_PROXY=http://127.0.0.1:<port>``): this server
  also answers ``CONNECT`` and then speaks TLS on the same connection, which is how
  a separate scheduler process is pointed at it; or
- by name: :meth:`FakeTwilio.resolve_here` makes ``api.twilio.com`` resolve to it
  in this process (and can make the name not resolve at all).

What it answers is scripted (:attr:`FakeTwilio.behaviour`); it can stop listening
(connection refused), hang, or answer slowly. Every message it accepted is kept,
so a test counts what reached "Twilio", and how often.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from socketserver import ThreadingTCPServer
from typing import Any
from urllib.parse import parse_qs

import trustme

HOST = "api.twilio.com"
MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json$")
ACCOUNT = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})\.json$")


@dataclass
class Answer:
    """One scripted answer: an HTTP status, a Twilio error code, headers; or a hang."""

    status: int = 201
    code: int | None = None
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    #: never answer (until the server stops): the client's read timeout must end it
    hang: bool = False
    #: seconds to wait before answering
    delay: float = 0.0


OK = Answer()


class FakeTwilio:
    """The server, its CA, and what it received."""

    def __init__(self, tmp_path: Path) -> None:
        self.ca = trustme.CA()
        self.ca_bundle = tmp_path / "fake-twilio-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_bundle))
        certificate = self.ca.issue_cert(HOST, "127.0.0.1")
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(self.tls)
        #: what the next requests get: a fixed Answer, or a function of the request
        self.behaviour: Answer | Callable[[str, dict[str, str]], Answer] = OK
        self.messages: list[dict[str, str]] = []
        self.probes = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingTCPServer | None = None
        self.port = 0
        self.start()

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Listen (again, on the same port when it had one)."""
        fake = self

        class Handler(_Handler):
            owner = fake

        server = _Server(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._release.clear()
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop listening: new connections are refused; hung requests are let go."""
        if self._server is not None:
            self._release.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def proxy_url(self) -> str:
        """``HTTPS_PROXY`` for a client (a separate process) to reach this server."""
        return f"http://127.0.0.1:{self.port}"

    @contextmanager
    def resolve_here(self, monkeypatch: Any, *, fail: bool = False) -> Iterator[None]:
        """Make ``api.twilio.com`` resolve to this server in this process (or not at all)."""
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host == HOST:
                if fail:
                    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", self.port))]
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        try:
            yield
        finally:
            monkeypatch.setattr(socket, "getaddrinfo", real)

    # ---- what arrived -------------------------------------------------------------------

    def sent_count(self) -> Counter[tuple[str, str]]:
        """How often each (recipient, text) was accepted."""
        with self._lock:
            return Counter((m["To"], m["Body"]) for m in self.messages)

    def answer_for(self, path: str, form: dict[str, str]) -> Answer:
        behaviour = self.behaviour
        return behaviour(path, form) if callable(behaviour) else behaviour


class _Server(ThreadingTCPServer):
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: clients that hang up mid-TLS are part of the tests."""


class _Handler(BaseHTTPRequestHandler):
    """Plain TLS, or CONNECT then TLS on the same socket (a proxy that is the server)."""

    owner: FakeTwilio
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        connection: socket.socket = self.request
        connection.settimeout(30)
        first = connection.recv(8, socket.MSG_PEEK)
        if first.startswith(b"CONNECT"):
            buffer = b""
            while b"\r\n\r\n" not in buffer:
                chunk = connection.recv(1024)
                if not chunk:
                    return
                buffer += chunk
            connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            self.request = self.owner.tls.wrap_socket(connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.request = connection
            self.close_connection = True
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            # socketserver closes the plain socket it handed over, not the TLS one around it
            if isinstance(self.request, ssl.SSLSocket):
                self.request.close()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read what was received, not a log."""

    def _json(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, answer: Answer) -> bool:
        """Hang or wait as scripted; whether to go on and answer."""
        if answer.hang:
            self.owner._release.wait()
            self.close_connection = True
            return False
        if answer.delay:
            time.sleep(answer.delay)
        return True

    def do_GET(self) -> None:
        """The account: the health probe."""
        with self.owner._lock:
            self.owner.requests += 1
            self.owner.probes += 1
        match = ACCOUNT.match(self.path)
        answer = self.owner.answer_for(self.path, {})
        if not self._answer(answer):
            return
        if match is None:
            self._json(404, {"code": 20404, "message": "not found", "status": 404}, {})
        elif answer.status >= 400:
            self._error(answer)
        else:
            self._json(200, {"sid": match.group(1), "status": "active"}, {})

    def do_POST(self) -> None:
        """A new message."""
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        with self.owner._lock:
            self.owner.requests += 1
        match = MESSAGES.match(self.path)
        answer = self.owner.answer_for(self.path, form)
        if not self._answer(answer):
            return
        if match is None:
            self._json(404, {"code": 20404, "message": "not found", "status": 404}, {})
            return
        if answer.status >= 400:
            self._error(answer)
            return
        sid = "SM" + uuid.uuid4().hex
        with self.owner._lock:
            self.owner.messages.append({"To": form.get("To", ""), "Body": form.get("Body", "")})
        self._json(
            201,
            {
                "sid": sid,
                "account_sid": match.group(1),
                "to": form.get("To"),
                "body": form.get("Body"),
                "status": "queued",
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{match.group(1)}/Messages/{sid}.json",
            },
            answer.headers,
        )

    def _error(self, answer: Answer) -> None:
        body = {
            "code": answer.code,
            "message": answer.message or f"error {answer.status}",
            "more_info": f"https://www.twilio.com/docs/errors/{answer.code}",
            "status": answer.status,
        }
        self._json(answer.status, body, answer.headers)
