"""A second factor for staff: time-based one-time codes (RFC 6238) from an authenticator app.

``TELEJT_TOTP``: ``optional`` (the default) lets any staff member turn it on from
his account page and makes it compulsory for admins, who can do nothing else
until they have set it up; ``off`` turns it off for everyone. A code is accepted
once (the time step is remembered) and within one step (30 s) of the server's clock.
"""

from __future__ import annotations

import io
import re
from datetime import datetime

import pyotp
import segno
from flask import current_app
from markupsafe import Markup

from telejt.auth.models import StaffUser
from telejt.clock import now

ISSUER = "telejt"
#: codes one step early or late still count (phones' clocks drift)
VALID_WINDOW = 1
CODE_PATTERN = re.compile(r"\d{6}")


def totp_enabled() -> bool:
    """Whether second factors are in use in this deployment."""
    return bool(current_app.config["TELEJT_TOTP"] != "off")


def totp_required(user: StaffUser) -> bool:
    """Whether this account must have a second factor (admins, when enabled)."""
    return totp_enabled() and user.role == "admin"


def new_secret() -> str:
    """A fresh random base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(user: StaffUser, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The URI as an inline SVG QR code (no image request, no inline script)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, xmldecl=False, svgns=True)
    return Markup(buffer.getvalue().decode("utf-8"))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _step(moment: datetime) -> int:
    return int(moment.timestamp()) // 30


def verify_code(user: StaffUser, code: str, secret: str | None = None) -> bool:
    """Whether ``code`` is valid now for the user's secret (or ``secret``), never twice.

    Records the accepted time step on the user (not committed), so a code seen
    over a shoulder cannot be used again.
    """
    secret = secret or user.totp_secret
    code = re.sub(r"\s", "", code or "")
    if not secret or not CODE_PATTERN.fullmatch(code):
        return False
    totp = pyotp.TOTP(secret)
    moment = now()
    current = _step(moment)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = current + offset
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if pyotp.utils.strings_equal(totp.at(step * 30), code):
            user.totp_last_step = step
            return True
    return False
