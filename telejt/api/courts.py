"""API calls about the organisation: courts, staff and protocols."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from telejt.api.auth import api_user
from telejt.api.errors import ApiError
from telejt.api.payloads import court_payload, protocol_payload, staff_payload
from telejt.api.routing import QueryParameter, operation
from telejt.api.schemas import COURT, COURT_CREATE, COURT_UPDATE, PROTOCOL, STAFF
from telejt.auth.models import ROLES, StaffUser, court_memberships
from telejt.courts.models import Court
from telejt.courts.services import (
    choose_unverified_positions,
    create_court,
    set_court_phones,
)
from telejt.errors import NotFound
from telejt.extensions import db
from telejt.protocols.current import registry


def visible_courts_query() -> Any:
    """Courts the token's staff member belongs to (every court for an admin)."""
    user = api_user()
    query = select(Court).order_by(Court.id)
    if user.role != "admin":
        query = query.where(Court.id.in_(user.court_ids or [-1]))
    return query


@operation(
    "GET",
    "/courts",
    summary="List the courts I belong to",
    description="The courts of the token's staff member; an admin sees every court.",
    response=COURT,
    many=True,
)
def list_courts() -> list[dict[str, Any]]:
    """Courts the caller belongs to."""
    return [court_payload(court) for court in db.session.scalars(visible_courts_query())]


@operation(
    "POST",
    "/courts",
    summary="Create a court",
    description="Admins only (403 for every other role). State is one of Mexico's 32 "
    "federal entities; timezone an IANA zone. team_phone: the treatment team's number, "
    "given to participants in crisis and help replies; on_call_phone: the mobile an "
    "unacknowledged crisis alert is texted to (both optional, stored as E.164).",
    roles=("admin",),
    body=COURT_CREATE,
    response=COURT,
    status=201,
)
def create_court_call(body: dict[str, Any]) -> dict[str, Any]:
    """Add a court."""
    court = create_court(
        name=body["name"],
        state=body["state"],
        timezone=body["timezone"],
        team_phone=body.get("team_phone"),
        on_call_phone=body.get("on_call_phone"),
    )
    return court_payload(court)


@operation(
    "PATCH",
    "/courts/<int:court_id>",
    summary="Set a court's phones and who sees unverified notices",
    description="Admins, and coordinators of the court. Only the fields given change; an "
    "empty string or null clears a phone. A court without an on-call phone cannot escalate "
    "an unacknowledged crisis by SMS. unverified_positions: the court positions that see a "
    "missed contact live before the coordinator or the supervision officer verified it "
    "(by default the judge and the supervision officer; the others see verified ones only).",
    roles=("admin", "coordinator"),
    body=COURT_UPDATE,
    response=COURT,
)
def update_court_call(court_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Change a court's phones."""
    court = db.session.get(Court, court_id)
    user = api_user()
    if court is None or (user.role != "admin" and court_id not in user.court_ids):
        raise NotFound(_("No encontrado."))
    changes = {
        field: body[field] or "" for field in ("team_phone", "on_call_phone") if field in body
    }
    if changes and user.role != "admin":
        raise ApiError(403, _("Su función no permite esta operación."))
    if changes:
        set_court_phones(court, **changes)
    if "unverified_positions" in body:
        choose_unverified_positions(court, body["unverified_positions"], user.id, channel="api")
    return court_payload(court)


@operation(
    "GET",
    "/staff",
    summary="List the staff of my courts",
    description="Staff who share a court with the caller (everyone for an admin), "
    "optionally of one role. Never includes credentials.",
    query=(QueryParameter("role", {"type": "string", "enum": list(ROLES)}, "only this role"),),
    response=STAFF,
    many=True,
)
def list_staff(query: dict[str, Any]) -> list[dict[str, Any]]:
    """Staff of the caller's courts."""
    user = api_user()
    statement = select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.id)
    if user.role != "admin":
        members = select(court_memberships.c.staff_id).where(
            court_memberships.c.court_id.in_(user.court_ids or [-1])
        )
        statement = statement.where(StaffUser.id.in_(members))
    if query["role"]:
        statement = statement.where(StaffUser.role == query["role"])
    return [staff_payload(member) for member in db.session.scalars(statement)]


@operation(
    "GET",
    "/protocols",
    summary="List the loaded protocols",
    description="Every loaded protocol version with its phases, named in the request's "
    "language (Accept-Language).",
    response=PROTOCOL,
    many=True,
)
def list_protocols() -> list[dict[str, Any]]:
    """The protocols this server loaded."""
    locale = str(get_locale() or "es_MX")
    return [protocol_payload(protocol, locale) for protocol in registry().all()]
