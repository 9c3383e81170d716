"""Sessions that can be ended, tokens that expire, passwords that are not guessed first,
and a second factor.

A copied cookie is only as good as the server-side session it names: logout, a new
password and a deactivation end it; so do idleness and age. API tokens expire,
can be read-only and revoked. Passwords: 12 characters, not common, not the
person's name. TOTP: optional for staff, compulsory for admins when enabled.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from conftest import PASSWORD
from sqlalchemy import select

from telejt.audit.models import AuditEvent
from telejt.auth.models import ApiToken, StaffSession
from telejt.auth.passwords import password_problem
from telejt.auth.services import AccountError, create_api_token, create_staff_user
from telejt.cli import cli
from telejt.extensions import db


def log_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"email": email, "password": password})


def copy_cookie(app: Any, source: Any) -> Any:
    """A second browser holding a copy of the first one's session cookie (a stolen cookie)."""
    name = app.config["SESSION_COOKIE_NAME"]
    thief = app.test_client()
    cookie = source.get_cookie(name)
    thief.set_cookie(name, cookie.value)
    return thief


def test_a_copied_cookie_stops_working_at_logout(app_ctx, client, make_staff) -> None:
    user = make_staff("coordinator")
    assert log_in(client, user.email).status_code == 302
    thief = copy_cookie(app_ctx, client)
    assert thief.get("/participants").status_code == 200  # the copy works… for now
    assert client.post("/logout").status_code == 302
    assert thief.get("/participants").status_code == 302  # to the login page
    row = db.session.scalar(select(StaffSession).where(StaffSession.staff_id == user.id))
    assert (row.revoked_at is not None, row.end_reason) == (True, "logout")


def test_changing_ones_password_ends_every_other_session(app_ctx, client, make_staff) -> None:
    user = make_staff("coordinator")
    log_in(client, user.email)
    elsewhere = app_ctx.test_client()
    log_in(elsewhere, user.email)
    thief = copy_cookie(app_ctx, elsewhere)
    new = "una-clave-nueva-y-larga"
    response = client.post(
        "/account/password", data={"current": PASSWORD, "password": new, "confirm": new}
    )
    assert response.status_code == 302
    assert client.get("/participants").status_code == 200  # the session it was changed from
    assert elsewhere.get("/participants").status_code == 302
    assert thief.get("/participants").status_code == 302
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "staff.password_change")
    )
    assert event.detail == {"sessions": 1}


def test_an_admins_new_password_or_deactivation_ends_every_session(
    app_ctx, client, make_staff
) -> None:
    user = make_staff("coordinator")
    admin = make_staff("admin")
    victim = app_ctx.test_client()
    log_in(victim, user.email)
    log_in(client, admin.email)
    new = "otra-clave-para-ella-2026"
    client.post(f"/admin/staff/{user.id}/password", data={"password": new, "confirm": new})
    assert victim.get("/participants").status_code == 302
    log_in(victim, user.email, new)
    assert victim.get("/participants").status_code == 200
    client.post(f"/admin/staff/{user.id}/deactivate")
    assert victim.get("/participants").status_code == 302
    assert log_in(victim, user.email, new).status_code == 401


def test_an_admin_ends_a_lost_laptops_sessions(app_ctx, client, make_staff) -> None:
    user = make_staff("court", court_position="judge")
    laptop = app_ctx.test_client()
    log_in(laptop, user.email)
    log_in(client, make_staff("admin").email)
    page = client.get(f"/admin/staff/{user.id}").get_data(as_text=True)
    assert "Cerrar todas sus sesiones" in page
    client.post(f"/admin/staff/{user.id}/sessions/end")
    assert laptop.get("/dashboard").status_code == 302


def test_one_closes_his_own_other_session(app_ctx, client, make_staff) -> None:
    user = make_staff("therapist")
    log_in(client, user.email)
    other = app_ctx.test_client()
    log_in(other, user.email)
    page = client.get("/account").get_data(as_text=True)
    assert "Esta sesión" in page
    rows = db.session.scalars(
        select(StaffSession).where(StaffSession.staff_id == user.id).order_by(StaffSession.id)
    ).all()
    assert client.post(f"/account/sessions/{rows[1].id}/end").status_code == 302
    assert other.get("/therapist").status_code == 302
    assert client.get("/therapist").status_code == 200
    # not someone else's session
    stranger = make_staff("therapist")
    stranger_client = app_ctx.test_client()
    log_in(stranger_client, stranger.email)
    theirs = db.session.scalar(select(StaffSession).where(StaffSession.staff_id == stranger.id))
    assert client.post(f"/account/sessions/{theirs.id}/end").status_code == 404


def test_idle_and_absolute_lifetimes(
    app_ctx, client, make_staff, frozen_clock, monkeypatch
) -> None:
    monkeypatch.setitem(app_ctx.config, "TELEJT_SESSION_IDLE_MINUTES", 30)
    monkeypatch.setitem(app_ctx.config, "TELEJT_SESSION_MAX_HOURS", 2)
    user = make_staff("coordinator")
    log_in(client, user.email)
    frozen_clock.advance(minutes=29)
    assert client.get("/participants").status_code == 200  # used: the idle clock moves
    frozen_clock.advance(minutes=29)
    assert client.get("/participants").status_code == 200
    frozen_clock.advance(minutes=31)
    assert client.get("/participants").status_code == 302  # idle too long
    log_in(client, user.email)
    for _ in range(4):  # busy all along, but the day's session ends anyway
        frozen_clock.advance(minutes=29)
        client.get("/participants")
    frozen_clock.advance(minutes=5)
    assert client.get("/participants").status_code == 302


def test_using_the_page_keeps_the_session(app_ctx, client, make_staff, frozen_clock) -> None:
    app_ctx.config["TELEJT_SESSION_IDLE_MINUTES"] = 30
    try:
        user = make_staff("court", court_position="judge")
        log_in(client, user.email)
        for _ in range(3):
            frozen_clock.advance(minutes=25)
            assert client.post("/session/activity").status_code == 204
        assert client.get("/dashboard").status_code == 200
    finally:
        app_ctx.config["TELEJT_SESSION_IDLE_MINUTES"] = 10**7


# ---- API tokens ---------------------------------------------------------------------------


def api(client: Any, token: str, method: str = "GET", path: str = "/courts", **kw: Any) -> Any:
    return client.open(
        f"/api/v1{path}", method=method, headers={"Authorization": f"Bearer {token}"}, **kw
    )


def test_api_tokens_expire(app_ctx, client, make_staff, frozen_clock) -> None:
    user = make_staff("coordinator")
    row, token = create_api_token(user)
    db.session.commit()
    assert row.expires_at - row.created_at == timedelta(days=90)  # the default
    frozen_clock.advance(days=89, hours=23)
    assert api(client, token).status_code == 200
    frozen_clock.advance(hours=2)
    assert api(client, token).status_code == 401
    with pytest.raises(AccountError):
        create_api_token(user, days=91)  # no longer than TELEJT_API_TOKEN_DAYS


def test_a_read_only_token_reads_and_changes_nothing(app_ctx, client, make_staff) -> None:
    admin = make_staff("admin")
    _row, token = create_api_token(admin, scope="read", label="tablero de la UMECA")
    db.session.commit()
    assert api(client, token).status_code == 200
    body = {"name": "Juzgado X", "state": "Nuevo León", "timezone": "America/Monterrey"}
    refused = api(client, token, "POST", "/courts", json=body)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"] == "Este token es de solo lectura."


def test_admin_makes_lists_and_revokes_tokens(app_ctx, client, make_staff) -> None:
    user = make_staff("court", court_position="supervision_officer")
    log_in(client, make_staff("admin").email)
    page = client.post(
        f"/admin/staff/{user.id}/tokens",
        data={"label": "informe mensual", "days": "30", "read_only": "y"},
    ).get_data(as_text=True)
    token = page.split('<code class="secret">')[1].split("<")[0]
    assert token.startswith("tjt_")
    row = db.session.scalar(select(ApiToken).where(ApiToken.staff_id == user.id))
    assert (row.scope, row.label) == ("read", "informe mensual")
    assert row.expires_at - row.created_at == timedelta(days=30)
    listing = client.get(f"/admin/staff/{user.id}").get_data(as_text=True)
    assert "informe mensual" in listing and token not in listing  # shown once only
    assert api(client, token).status_code == 200
    client.post(f"/admin/staff/{user.id}/tokens/{row.id}/revoke")
    assert api(client, token).status_code == 401


def test_cli_lists_and_revokes_tokens(runner, make_staff) -> None:
    user = make_staff("coordinator")
    made = runner.invoke(
        cli, ["tokens", "create", "--email", user.email, "--days", "7", "--read-only"]
    )
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    row = db.session.scalar(select(ApiToken).where(ApiToken.staff_id == user.id))
    listed = runner.invoke(cli, ["tokens", "list"])
    assert f"{row.id}\t{token[:10]}…\t{user.email}\tread" in listed.output
    assert runner.invoke(cli, ["tokens", "revoke", str(row.id)]).exit_code == 0
    db.session.refresh(row)
    assert row.revoked_at is not None
    assert str(row.id) not in runner.invoke(cli, ["tokens", "list"]).output.split("\t")[0]


# ---- passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("corto-2026", "too_short"),
        ("contraseña2026", "common"),
        ("Password1234!", "common"),
        ("qwertyuiopasdf", "pattern"),
        ("abcabcabcabc", "pattern"),
        ("zzzzzzzzzzzzzz", "pattern"),
        ("maria.lopez.2026", "personal"),
        ("correct-horse-battery", None),
        ("el río de mi pueblo 7", None),
    ],
)
def test_password_policy(password: str, problem: str | None) -> None:
    assert password_problem(password, email="maria.lopez@x.mx", name="María López") == problem


def test_weak_passwords_are_refused_where_passwords_are_set(
    app_ctx, client, make_court, make_staff
) -> None:
    with pytest.raises(AccountError):
        create_staff_user(email="a@b.mx", role="admin", password="contraseña123")
    log_in(client, make_staff("admin").email)
    court = make_court()
    response = client.post(
        "/admin/staff/new",
        data={
            "email": "nuevo@staff.example.mx",
            "name": "Nuevo",
            "role": "coordinator",
            "court_position": "",
            "court_ids": [str(court.id)],
            "password": "password1234",
        },
    )
    assert response.status_code == 400
    assert "Es una de las contraseñas que se prueban primero" in response.get_data(as_text=True)


# ---- second factor ------------------------------------------------------------------------


@pytest.fixture
def totp_on(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "TELEJT_TOTP", "optional")
    return app_ctx


def _enroll(client: Any, user: Any, frozen_clock: Any) -> pyotp.TOTP:
    page = client.get("/account/second-factor")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    db.session.refresh(user)
    totp = pyotp.TOTP(user.totp_secret)
    assert (
        client.post(
            "/account/second-factor", data={"code": totp.at(frozen_clock.now())}
        ).status_code
        == 302
    )
    return totp


def test_an_admin_must_set_up_a_second_factor_first(
    totp_on, client, make_staff, frozen_clock
) -> None:
    admin = make_staff("admin")
    assert log_in(client, admin.email).status_code == 302
    blocked = client.get("/admin/staff")
    assert blocked.status_code == 302 and blocked.headers["Location"] == "/account/second-factor"
    _enroll(client, admin, frozen_clock)
    assert client.get("/admin/staff").status_code == 200
    client.post("/logout")
    # from now on the password alone is not enough
    response = log_in(client, admin.email)
    assert response.headers["Location"] == "/login/code"
    assert client.get("/admin/staff").status_code == 302


def test_login_with_a_code_once(totp_on, client, make_staff, frozen_clock) -> None:
    user = make_staff("coordinator")
    log_in(client, user.email)
    totp = _enroll(client, user, frozen_clock)
    client.post("/logout")
    frozen_clock.advance(seconds=30)
    log_in(client, user.email)
    code = totp.at(frozen_clock.now())
    assert client.post("/login/code", data={"code": "000000"}).status_code == 401
    accepted = client.post("/login/code", data={"code": code})
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/participants"
    row = db.session.scalars(
        select(StaffSession).where(StaffSession.staff_id == user.id).order_by(StaffSession.id)
    ).all()[-1]
    assert row.second_factor_at is not None
    client.post("/logout")
    log_in(client, user.email)
    # the same code, seen over a shoulder, is spent
    assert client.post("/login/code", data={"code": code}).status_code == 401


def test_guessing_codes_locks_like_guessing_passwords(
    totp_on, client, make_staff, frozen_clock
) -> None:
    user = make_staff("coordinator")
    log_in(client, user.email)
    totp = _enroll(client, user, frozen_clock)
    client.post("/logout")
    log_in(client, user.email)
    for _ in range(5):
        client.post("/login/code", data={"code": "123456"})
    frozen_clock.advance(seconds=31)
    log_in(client, user.email)  # locked: refused like a wrong password
    assert client.post("/login/code", data={"code": totp.at(frozen_clock.now())}).status_code in (
        302,
        401,
    )
    assert client.get("/participants").status_code == 302


def test_enabling_the_second_factor_ends_the_other_sessions(
    totp_on, client, make_staff, frozen_clock
) -> None:
    user = make_staff("therapist")
    log_in(client, user.email)
    other = totp_on.test_client()
    log_in(other, user.email)
    _enroll(client, user, frozen_clock)
    assert other.get("/therapist").status_code == 302
    assert client.get("/therapist").status_code == 200
