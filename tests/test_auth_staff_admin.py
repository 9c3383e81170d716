"""The admin's staff pages: accounts, passwords, reset links, API tokens."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import PASSWORD
from sqlalchemy import select

from telejt.audit.models import AuditEvent
from telejt.auth.models import StaffUser
from telejt.auth.services import create_api_token, user_for_token
from telejt.extensions import db

ADMIN_PAGES = ["/admin/staff", "/admin/staff/new"]


def login(client: Any, user: Any) -> None:
    """Log a staff member in through the login form."""
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["coordinator", "therapist", "court"])
def test_staff_pages_are_for_admins_only(client, make_staff, role):
    target = make_staff("coordinator")
    login(client, make_staff(role))
    for path in [*ADMIN_PAGES, f"/admin/staff/{target.id}"]:
        assert client.get(path).status_code == 403, path
    assert client.post(f"/admin/staff/{target.id}/deactivate").status_code == 403
    db.session.refresh(target)
    assert target.is_active


def test_admin_lists_and_creates_staff(client, make_staff, make_court):
    court = make_court()
    admin = make_staff("admin")
    login(client, admin)
    assert client.get("/admin/staff").status_code == 200
    response = client.post(
        "/admin/staff/new",
        data={
            "email": "Jueza@Juzgado.example.mx",
            "name": "Jueza de Prueba",
            "role": "court",
            "court_position": "judge",
            "court_ids": [str(court.id)],
            "password": "",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == "jueza@juzgado.example.mx"))
    assert user is not None and user.role == "court" and user.court_ids == [court.id]
    assert user.court_position == "judge" and user.password_hash is None
    assert "Jueza de Prueba" in client.get("/admin/staff").get_data(as_text=True)


def test_create_staff_explains_what_is_wrong(client, make_staff):
    login(client, make_staff("admin"))
    response = client.post(
        "/admin/staff/new",
        data={"email": "no-es-correo", "name": "X", "role": "court", "court_position": ""},
    )
    page = response.get_data(as_text=True)
    assert "No es un correo válido." in page
    response = client.post(
        "/admin/staff/new",
        data={"email": "sin@juzgado.example.mx", "name": "X", "role": "court"},
    )
    page = response.get_data(as_text=True)
    assert "Indique el cargo" in page and "Elija al menos un juzgado" in page
    assert (
        db.session.scalar(select(StaffUser).where(StaffUser.email == "sin@juzgado.example.mx"))
        is None
    )


def test_admin_sets_a_password(client, make_staff):
    target = make_staff("coordinator")
    login(client, make_staff("admin"))
    new = "nueva-contraseña-9"
    response = client.post(
        f"/admin/staff/{target.id}/password", data={"password": new, "confirm": new}
    )
    assert response.status_code == 302
    short = client.post(
        f"/admin/staff/{target.id}/password", data={"password": "x", "confirm": "x"}
    )
    assert short.status_code == 400
    client.post("/logout")
    assert client.post("/login", data={"email": target.email, "password": new}).status_code == 302


def test_admin_makes_a_reset_link(client, make_staff):
    target = make_staff("coordinator")
    login(client, make_staff("admin"))
    page = client.post(f"/admin/staff/{target.id}/reset-link").get_data(as_text=True)
    link = re.search(r'value="([^"]*/reset/[^"]+)"', page)[1]
    client.post("/logout")
    path = link[link.index("/reset/") :]
    assert client.get(path).status_code == 200


def test_revoked_token_stops_working(client, make_staff):
    target = make_staff("coordinator")
    token_row, token = create_api_token(target)
    db.session.commit()
    assert user_for_token(token) == target
    admin = make_staff("admin")
    login(client, admin)
    page = client.get(f"/admin/staff/{target.id}").get_data(as_text=True)
    assert token_row.prefix in page and token not in page
    response = client.post(f"/admin/staff/{target.id}/tokens/{token_row.id}/revoke")
    assert response.status_code == 302
    assert user_for_token(token) is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.revoke"))
    assert event is not None and event.staff_id == admin.id
    # The token belongs to its user: another user's URL is a 404.
    other = make_staff("coordinator")
    assert client.post(f"/admin/staff/{other.id}/tokens/{token_row.id}/revoke").status_code == 404


def test_deactivation_ends_logins_and_tokens(client, make_staff):
    target = make_staff("coordinator")
    _row, token = create_api_token(target)
    db.session.commit()
    admin = make_staff("admin")
    login(client, admin)
    assert client.post(f"/admin/staff/{target.id}/deactivate").status_code == 302
    assert user_for_token(token) is None
    # An admin cannot lock himself out.
    client.post(f"/admin/staff/{admin.id}/deactivate")
    db.session.refresh(admin)
    assert admin.is_active
    client.post("/logout")
    refused = client.post("/login", data={"email": target.email, "password": PASSWORD})
    assert refused.status_code == 401
