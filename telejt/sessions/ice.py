"""The STUN and TURN servers a video session's browser gets: TURN credentials short-lived.

Behind carrier NAT most phones reach the other side only through a TURN relay.
Static TURN credentials in a page would be public (anyone who opens a session link
could relay through the court's server for ever), so telejt mints them per page
with coturn's REST scheme (``use-auth-secret``): the username is the expiry time
and who it is for, the password an HMAC-SHA1 of the username with the secret
shared with coturn (``TELEJT_TURN_SECRET`` = coturn's ``static-auth-secret``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from flask import current_app

from telejt.clock import now


def turn_credentials(secret: str, who: str, ttl_seconds: int) -> tuple[str, str]:
    """coturn REST credentials: ("<expiry unix time>:<who>", base64 HMAC-SHA1 of it)."""
    expiry = int(now().timestamp()) + ttl_seconds
    username = f"{expiry}:{who}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(who: str) -> list[dict[str, Any]]:
    """The ICE servers for one page: configured STUN/static servers, then TURN if configured."""
    config = current_app.config
    servers: list[dict[str, Any]] = list(config["TELEJT_ICE_SERVERS"])
    if config["TELEJT_STUN_URLS"]:
        servers.append({"urls": list(config["TELEJT_STUN_URLS"])})
    if config["TELEJT_TURN_URLS"] and config["TELEJT_TURN_SECRET"]:
        username, credential = turn_credentials(
            config["TELEJT_TURN_SECRET"], who, config["TELEJT_TURN_TTL_SECONDS"]
        )
        servers.append(
            {
                "urls": list(config["TELEJT_TURN_URLS"]),
                "username": username,
                "credential": credential,
            }
        )
    return servers
