"""Which browser origins may open telejt's Socket.IO connections: one setting decides.

Links in SMS, Twilio's signature checks and the allowed Socket.IO origin all follow
``TELEJT_PUBLIC_URL``. Outside production, a developer's own machine is allowed
too — ``localhost``, ``127.0.0.1`` or ``[::1]`` on any port, and the address the
page was served from — so ``telejt serve --port 8080`` or opening the demo as
``http://localhost:5000`` just works.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, as a browser sends it in ``Origin``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_check(config: Mapping[str, Any]) -> Callable[[str | None, dict[str, Any]], bool]:
    """The Socket.IO origin check for these settings."""
    public = origin_of(config["TELEJT_PUBLIC_URL"])
    local_allowed = config.get("TELEJT_ENV") != "production"

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        if not origin:
            return True  # not a browser's cross-site request (a server-side client)
        origin = origin.lower()
        if origin == public:
            return True
        if not local_allowed:
            return False
        parts = urlsplit(origin)
        if parts.hostname in LOCAL_HOSTS:
            return True
        served = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin == served.lower()

    return allowed
