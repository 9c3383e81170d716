"""Static files for weak connections: hashed names, cached for a year, sent gzipped.

``url_for('static', filename='sessions/room.js')`` gives ``/static/sessions/room.<hash>.js``,
the hash being that of the file's content. A hashed name never changes meaning, so it is
served with ``Cache-Control: public, max-age=31536000, immutable``: a participant's phone
downloads each file once and never asks again (not even to revalidate, which costs a
round trip of seconds on a 2G/3G link). A new release changes the hash, hence the URL.
Text files are gzipped once, in memory, on their first request, and sent compressed to
every browser that accepts it, whatever proxy stands in front.

A name whose hash is not the current one (a page rendered before a release) still gets
the current file, revalidated each time; so does a name without hash.

What a page needs before any other file could arrive is put in the page itself
(``{{ inline_script('sessions/room.js') }}``, ``{{ inline_style(…) }}``): the page's
Content Security Policy then allows exactly that script by its SHA-256 hash, computed
once per process, and no other inline script (no ``'unsafe-inline'``); a style by the
answer's nonce. His session page does so with all it needs: on Slow 3G each file
fetched costs one more 2-second round trip before it counts.

A static file's answer never carries the session cookie nor ``Vary: Cookie``: the file is
the same for everyone, and with ``Vary: Cookie`` a browser whose cookie changed since
(his session page gives his phone a pass to the room each time) asks for every cached
file again, a round trip of seconds each on a weak network.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from markupsafe import Markup
from werkzeug.wrappers import Response

from telejt.security import csp_nonce

#: a year: the longest cache lifetime browsers honour
IMMUTABLE = "public, max-age=31536000, immutable"
#: files worth compressing
COMPRESSIBLE = (".js", ".css", ".svg", ".json", ".txt", ".html", ".map")
HASH_LENGTH = 10
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{10})(?P<suffix>\.[A-Za-z0-9]+)$")


@dataclass
class Asset:
    """One static file, read once."""

    digest: str
    body: bytes
    mimetype: str
    compressible: bool
    _gzipped: list[bytes | None] = field(default_factory=list)

    @property
    def gzipped(self) -> bytes | None:
        """The body gzipped, made on first use (None when it would not be smaller)."""
        if not self.compressible:
            return None
        if not self._gzipped:  # a race makes it twice, harmlessly
            packed = gzip.compress(self.body, compresslevel=9, mtime=0)
            self._gzipped.append(packed if len(packed) < len(self.body) else None)
        return self._gzipped[0]

    @cached_property
    def script_hash(self) -> str:
        """The CSP source that allows this file's text as an inline script (made once)."""
        return "'sha256-" + base64.b64encode(hashlib.sha256(self.body).digest()).decode() + "'"

    def url_name(self, name: str) -> str:
        """``sessions/room.js`` → ``sessions/room.<digest>.js``."""
        stem, dot, suffix = name.rpartition(".")
        if not dot or "/" in suffix:
            return f"{name}.{self.digest}"
        return f"{stem}.{self.digest}.{suffix}"


def load_assets(folder: Path) -> dict[str, Asset]:
    """Every file under the static folder, by its path there (``sessions/room.js``)."""
    assets: dict[str, Asset] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        body = path.read_bytes()
        name = path.relative_to(folder).as_posix()
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if mimetype.startswith("text/") or mimetype == "application/javascript":
            mimetype += "; charset=utf-8"
        digest = hashlib.sha256(body).hexdigest()[:HASH_LENGTH]
        assets[name] = Asset(digest, body, mimetype, path.suffix in COMPRESSIBLE)
    return assets


class SessionOutsideStaticFiles(SecureCookieSessionInterface):
    """Flask's cookie session, left out of static files' answers (see the module's docstring).

    Flask-Login reads the session after every request, which is enough for Flask to add
    ``Vary: Cookie``; a static file never changes the session, so nothing is lost.
    """

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        if request.endpoint == "static":
            return
        super().save_session(app, session, response)


def init_assets(app: Flask) -> None:
    """Serve ``/static`` from memory with hashed names, long caching and gzip."""
    assert app.static_folder is not None
    assets = load_assets(Path(app.static_folder))
    app.extensions["telejt.assets"] = assets
    app.session_interface = SessionOutsideStaticFiles()

    @app.url_defaults
    def hashed_static_names(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint != "static":
            return
        name = values.get("filename")
        if not isinstance(name, str):
            return
        asset = assets.get(name)
        if asset is not None:
            values["filename"] = asset.url_name(name)

    def serve_static(filename: str) -> Response:
        name, cache = filename, "no-cache"
        match = _HASHED.match(filename)
        if match is not None:
            logical = match["stem"] + match["suffix"]
            if logical in assets:
                name = logical
                if assets[logical].digest == match["digest"]:
                    cache = IMMUTABLE
        asset = assets.get(name)
        if asset is None:
            abort(404)
        response = Response(content_type=asset.mimetype)  # the charset is in it already
        response.headers["Cache-Control"] = cache
        response.headers["Vary"] = "Accept-Encoding"
        packed = asset.gzipped if "gzip" in request.headers.get("Accept-Encoding", "") else None
        if packed is not None:
            response.set_data(packed)
            response.headers["Content-Encoding"] = "gzip"
            response.set_etag(f"{asset.digest}-gz")  # one tag per representation
        else:
            response.set_data(asset.body)
            response.set_etag(asset.digest)
        return response.make_conditional(request)

    app.view_functions["static"] = serve_static

    def inline_script(name: str) -> Markup:
        """``<script>`` with the file's text, allowed by its hash in this answer's CSP."""
        asset = assets[name]
        text = asset.body.decode()
        if any(mark in text.lower() for mark in ("</script", "<script", "<!--")):
            # the HTML parser would end (or change how it reads) the script there
            raise ValueError(f"{name} cannot be inlined in a <script> element")
        hashes: list[str] = g.setdefault("csp_script_hashes", [])
        if asset.script_hash not in hashes:
            hashes.append(asset.script_hash)
        return Markup("<script>") + Markup(text) + Markup("</script>")  # our own file

    def inline_style(name: str) -> Markup:
        """``<style>`` with the file's text, allowed by this answer's CSP nonce."""
        text = assets[name].body.decode()
        if "</style" in text.lower():
            raise ValueError(f"{name} cannot be inlined in a <style> element")
        return Markup('<style nonce="%s">') % csp_nonce() + Markup(text) + Markup("</style>")

    app.jinja_env.globals["inline_script"] = inline_script
    app.jinja_env.globals["inline_style"] = inline_style
