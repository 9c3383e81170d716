"""Bearer-token authentication and role checks for the API.

Tokens are not cookies: the blueprint is exempt from CSRF, and a browser's login
session is never accepted here, so a page cannot call the API on a user's behalf.
A token expires (``TELEJT_API_TOKEN_DAYS`` after it was made, at most), may be
revoked, and a ``read`` token may only read.
"""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _

from telejt.api.errors import ApiError
from telejt.auth.models import StaffUser
from telejt.auth.services import token_for

#: endpoints anyone may read: the API's own description
PUBLIC_ENDPOINTS = ("api.openapi_json",)


def authenticate_request() -> None:
    """Before each API request: find the staff member of the bearer token, or answer 401."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise ApiError(401, _("Falta un token válido (Authorization: Bearer …)."))
    row = token_for(token)
    if row is None:
        raise ApiError(
            401, _("El token no es válido, venció, fue revocado o la cuenta está inactiva.")
        )
    if row.scope == "read" and request.method not in ("GET", "HEAD"):
        raise ApiError(403, _("Este token es de solo lectura."))
    g.api_user = row.staff
    g.api_token = row


def api_user() -> StaffUser:
    """The staff member the request's token belongs to."""
    user: StaffUser = g.api_user
    return user


def require_role(*roles: str) -> StaffUser:
    """The token's staff member if his role is one of ``roles``; 403 otherwise."""
    user = api_user()
    if user.role not in roles:
        raise ApiError(403, _("Su función no permite esta operación."))
    return user
