"""Staff login: sessions, throttling per account and per address, CSRF, reset links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conftest import PASSWORD
from sqlalchemy import func, select

from telejt import create_app
from telejt.audit.models import AuditEvent
from telejt.auth import throttle
from telejt.auth.models import LoginThrottle, StaffUser
from telejt.auth.services import create_staff_user, password_reset_token
from telejt.extensions import db

GENERIC = "Correo o contraseña incorrectos"


def login(client: Any, email: str, password: str = PASSWORD, addr: str = "10.0.0.1") -> Any:
    """POST the login form from a given remote address."""
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": addr},
    )


def audit_count(action: str, **where: Any) -> int:
    query = select(func.count(AuditEvent.id)).where(AuditEvent.action == action)
    for column, value in where.items():
        query = query.where(getattr(AuditEvent, column) == value)
    return db.session.scalar(query) or 0


def test_login_lands_each_role_on_its_home_page(client, make_staff):
    homes = {
        "coordinator": "/participants",
        "court": "/dashboard",
        "therapist": "/therapist",
        "admin": "/audit",
    }
    for role, home in homes.items():
        user = make_staff(role, **({"court_position": "judge"} if role == "court" else {}))
        response = login(client, user.email)
        assert response.status_code == 302
        assert response.headers["Location"] == home
        assert client.get("/").headers["Location"] == home
        client.post("/logout")


def test_wrong_password_and_unknown_account_get_the_same_answer(client, make_staff):
    user = make_staff("coordinator")
    wrong = login(client, user.email, "not-the-password")
    unknown = login(client, "nadie@staff.example.mx", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert GENERIC in wrong.get_data(as_text=True)
    assert GENERIC in unknown.get_data(as_text=True)
    assert client.get("/participants").status_code == 302  # still logged out


def test_logout_is_a_post_and_ends_the_session(client, make_staff):
    user = make_staff("coordinator")
    login(client, user.email)
    assert client.get("/participants").status_code == 200
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    response = client.get("/participants")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_next_only_follows_local_paths(client, make_staff):
    user = make_staff("coordinator")
    response = client.post(
        "/login?next=https://evil.example.com/",
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/participants"


def test_five_failures_lock_the_account_for_that_address_with_growing_locks(
    client, make_staff, frozen_clock
):
    user = make_staff("coordinator")
    for _attempt in range(5):
        assert login(client, user.email, "wrong-password!").status_code == 401
    lock = db.session.get(LoginThrottle, (user.id, "10.0.0.1"))
    assert lock.locked_until == frozen_clock.now().replace(minute=15)
    assert audit_count("auth.account_locked", staff_id=user.id) == 1

    # Locked from that address: even the right password is refused, with the very same message.
    refused = login(client, user.email)
    assert refused.status_code == 401
    assert GENERIC in refused.get_data(as_text=True)

    frozen_clock.advance(minutes=14, seconds=59)
    assert login(client, user.email).status_code == 401
    frozen_clock.advance(seconds=2)
    assert login(client, user.email).status_code == 302
    db.session.expire_all()
    assert db.session.get(LoginThrottle, (user.id, "10.0.0.1")) is None
    client.post("/logout")

    # The next run of failures starts from zero; with no success in between locks grow.
    for attempt in range(10):
        if attempt:
            frozen_clock.advance(minutes=16)  # past each 15-minute lock
        login(client, user.email, "wrong-password!")
    lock = db.session.get(LoginThrottle, (user.id, "10.0.0.1"))
    assert lock.failures == 10
    assert lock.locked_until == frozen_clock.now() + timedelta(minutes=30)


def test_someone_guessing_does_not_lock_the_judge_out(client, make_staff):
    """Failures from the guesser's address lock the account there only."""
    judge = make_staff("court", court_position="judge")
    for _attempt in range(20):
        login(client, judge.email, "wrong-password!", addr="203.0.113.66")
    assert login(client, judge.email, addr="203.0.113.66").status_code in (401, 429)
    assert login(client, judge.email, addr="198.51.100.20").status_code == 302


def test_guessing_from_many_addresses_locks_the_account_everywhere(
    client, make_staff, frozen_clock
):
    user = make_staff("coordinator")
    for attempt in range(throttle.ACCOUNT_MAX_FAILURES):
        login(client, user.email, "wrong-password!", addr=f"10.9.{attempt // 4}.{attempt % 4}")
    assert login(client, user.email, addr="198.51.100.30").status_code == 401
    frozen_clock.advance(minutes=16)
    assert login(client, user.email, addr="198.51.100.30").status_code == 302


def test_too_many_failures_from_one_address_are_refused(client, make_staff, frozen_clock):
    victims = [make_staff("coordinator") for _ in range(5)]
    for attempt in range(20):
        # spread over accounts, so no single account locks
        login(client, victims[attempt % 5].email, "wrong-password!", addr="203.0.113.7")
    other = make_staff("coordinator")
    throttled = login(client, other.email, addr="203.0.113.7")
    assert throttled.status_code == 429
    assert "Demasiados intentos" in throttled.get_data(as_text=True)
    # Another address is unaffected, and the window slides with the clock.
    assert login(client, other.email, addr="198.51.100.2").status_code == 302
    client.post("/logout")
    frozen_clock.advance(minutes=16)
    assert login(client, other.email, addr="203.0.113.7").status_code == 302
    assert audit_count("auth.login_failed", remote_addr="203.0.113.7") == 21


def test_inactive_account_cannot_log_in(client, make_staff):
    user = make_staff("coordinator")
    user.is_active = False
    db.session.commit()
    assert login(client, user.email).status_code == 401


def test_post_without_csrf_token_is_rejected_and_changes_nothing(app_config, committed_db):
    csrf_app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with csrf_app.app_context():
        user = create_staff_user(email="csrf@staff.example.mx", role="admin", password=PASSWORD)
        db.session.commit()
        client = csrf_app.test_client()
        refused = client.post("/login", data={"email": user.email, "password": "wrong-password"})
        assert refused.status_code == 400
        db.session.expire_all()
        assert db.session.get(StaffUser, user.id).failed_logins == 0
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 0
        assert client.get("/audit").status_code == 302  # not logged in

        # With the token the same form works, so the refusal was the token's doing.
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        accepted = client.post(
            "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
        )
        assert accepted.status_code == 302
        assert client.post("/logout").status_code == 400  # logout needs its token too
        db.session.remove()
        db.engine.dispose()  # this app's own pool: leave no connection open


def test_reset_link_sets_a_password_once(client, make_staff):
    user = make_staff("coordinator")
    token = password_reset_token(user)
    assert client.get(f"/reset/{token}").status_code == 200
    new = "otra-contraseña-larga"
    response = client.post(f"/reset/{token}", data={"password": new, "confirm": new})
    assert response.status_code == 302
    assert login(client, user.email, new).status_code == 302
    client.post("/logout")
    # Bound to the old password hash: the link is spent.
    assert client.get(f"/reset/{token}").status_code == 404
    again = client.post(f"/reset/{token}", data={"password": "x" * 12, "confirm": "x" * 12})
    assert again.status_code == 404
    assert audit_count("staff.password_reset_link_used", staff_id=user.id) == 1


def test_reset_link_expires_after_an_hour(client, make_staff, frozen_clock):
    user = make_staff("coordinator")
    token = password_reset_token(user)
    frozen_clock.advance(minutes=59)
    assert client.get(f"/reset/{token}").status_code == 200
    frozen_clock.advance(minutes=2)
    assert client.get(f"/reset/{token}").status_code == 404
    assert client.get("/reset/not-a-token").status_code == 404


def test_reset_link_clears_a_lock(client, make_staff, frozen_clock):
    user = make_staff("coordinator")
    for _attempt in range(5):
        login(client, user.email, "wrong-password!")
    token = password_reset_token(user)
    new = "contraseña-nueva-1"
    assert client.post(f"/reset/{token}", data={"password": new, "confirm": new}).status_code == 302
    assert login(client, user.email, new).status_code == 302
