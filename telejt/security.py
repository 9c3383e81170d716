"""What every request and response goes through: proxies, sizes, bad bytes, headers.

- **Proxies.** ``TELEJT_PROXY_HOPS`` proxies (a TLS terminator, a load balancer) set
  ``X-Forwarded-For`` and ``-Proto``; Werkzeug's ProxyFix trusts exactly that many,
  so throttling and the audit log see the visitor's address, not the proxy's, and
  a visitor cannot forge one by sending the header himself.
- **Sizes.** ``MAX_CONTENT_LENGTH`` for everything; Twilio's webhooks (a few kB)
  get far less (``WEBHOOK_MAX_BYTES``), so a large body is refused from its
  ``Content-Length`` before a byte of it is read or a signature computed.
- **Bad bytes and numbers.** A NUL byte anywhere in the path, query or form, an id
  beyond what the database stores: 400 or 404 before a view runs, not a 500 from
  the database driver.
- **Headers.** A Content Security Policy with no inline script but the few files a
  page inlines, each allowed by its hash (inline ``<style>`` blocks carry the
  response's nonce), no framing, HSTS in production, no MIME
  sniffing, no Referer (a ``/s/<token>`` link must never leak to another site),
  and ``Cache-Control: no-store`` on every page, export and API answer: they hold
  personal data that a shared court computer must not keep.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

#: the largest body a Twilio webhook may carry (an SMS with its fields is 1-3 kB)
WEBHOOK_MAX_BYTES = 64 * 1024
WEBHOOK_PATHS = ("/twilio/",)
#: the largest integer an id column holds (PostgreSQL's bigint; SQLite's integer)
MAX_ID = 2**63 - 1
#: endpoints whose answers may be cached: static files, and the probes (no personal data)
CACHEABLE_ENDPOINTS = ("static",)
HSTS = "max-age=31536000; includeSubDomains"


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` that matches only what an id column can hold: a larger one is a 404."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def csp_nonce() -> str:
    """This response's nonce for inline ``<style>`` blocks: ``nonce="{{ csp_nonce() }}"``."""
    nonce: str | None = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def content_security_policy(
    public_url: str, nonce: str | None, script_hashes: Sequence[str] = ()
) -> str:
    """The policy: this site's own scripts only, its sockets, no framing, no plugins.

    ``script_hashes`` (``'sha256-…'``) allow the page's inlined files (telejt/assets.py).
    """
    parts = urlsplit(public_url)
    socket_scheme = "wss" if parts.scheme == "https" else "ws"
    styles = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    scripts = " ".join(("'self'", *script_hashes))
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            f"style-src {styles}",
            "img-src 'self' data:",
            f"connect-src 'self' {socket_scheme}://{parts.netloc}",
            "media-src 'self' blob: mediastream:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _has_nul(values: Any) -> bool:
    return any("\x00" in value for value in values)


def refuse_bad_requests() -> None:
    """Before every request: webhook size, NUL bytes (PostgreSQL refuses them in text)."""
    if request.path.startswith(WEBHOOK_PATHS):
        request.max_content_length = WEBHOOK_MAX_BYTES
    if "\x00" in request.path or _has_nul(request.args.values()):
        abort(400)
    for key, values in request.args.lists():
        if "\x00" in key or _has_nul(values):
            abort(400)
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for key, values in request.form.lists():
            if "\x00" in key or _has_nul(values):
                abort(400)


def add_security_headers(response: Response) -> Response:
    """After every request: the headers listed in this module's docstring."""
    from flask import current_app

    headers = response.headers
    nonce = g.get("csp_nonce")
    headers.setdefault(
        "Content-Security-Policy",
        content_security_policy(
            current_app.config["TELEJT_PUBLIC_URL"], nonce, g.get("csp_script_hashes", ())
        ),
    )
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault(
        "Permissions-Policy", "camera=(self), microphone=(self), geolocation=(), payment=()"
    )
    if current_app.config["TELEJT_ENV"] == "production":
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint not in CACHEABLE_ENDPOINTS:
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def wrap_wsgi(app: Flask) -> None:
    """The WSGI layers in front of the app (and of Flask-SocketIO's), outermost last."""
    from telejt.sockets.gate import SocketGate

    app.wsgi_app = SocketGate(app.wsgi_app, app)  # type: ignore[method-assign]  # Flask's way to wrap its WSGI app
    hops = app.config.get("TELEJT_PROXY_HOPS", 0)
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's way to wrap its WSGI app
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )


def init_security(app: Flask) -> None:
    """Bind this module's hooks, converter and cookie settings to the app."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    # Flask defines these keys already (as None or False): setdefault would do nothing
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config["TELEJT_ENV"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
        # the __Host- prefix: the browser refuses it unless Secure, on path / and for this host
        app.config["SESSION_COOKIE_NAME"] = "__Host-telejt"
    app.before_request(refuse_bad_requests)
    app.after_request(add_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
