"""Sockets that cannot starve the web: the gate before Engine.IO, caps, closing ended sessions.

Through a real HTTP server (the app served from a thread): a Socket.IO handshake
without a live session is refused at once with 401, before Engine.IO holds
anything; the number of sockets in flight is capped per address (429) and in all
(503); a participant's session page gives his browser a pass for /room. With
Flask-SocketIO's test client: the sockets of a session that ended (logout, new
password, deactivation, idle) are closed, at once in this process and by the
sweep in any other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import socketio as socketio_client
from conftest import sign_in
from engineio_client import Tally, engineio_socket
from sqlalchemy import select
from test_live_redis import LiveServer, app_of_its_own, free_port, seed_judge, session_cookie

from telejt.auth.models import StaffSession, StaffUser
from telejt.auth.services import deactivate_staff_user
from telejt.auth.sessions import end_session
from telejt.extensions import db, socketio
from telejt.live import NAMESPACE
from telejt.sockets.sweeper import sweep


@pytest.fixture
def served_app(app, app_config) -> Iterator[Any]:
    """An app of its own (small socket caps), served over HTTP by the test; the shared
    Socket.IO object is put back afterwards (see test_live_redis.redis_app)."""
    settings = {
        **app_config,
        "TELEJT_PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
        "TELEJT_SOCKETS_PER_ADDRESS": 3,
        "TELEJT_SOCKETS_MAX": 4,
    }
    with app_of_its_own(settings) as application:
        yield application


def _judge(app: Any) -> int:
    return seed_judge(app, "jueza@gate.example.mx")


def _connect(url: str, cookie: str | None) -> Any:
    client = socketio_client.Client(reconnection=False)
    client.connect(
        url,
        namespaces=[NAMESPACE],
        headers={"Cookie": cookie} if cookie else {},
        transports=["websocket"],
        wait_timeout=10,
    )
    return client


def _hold(port: int, cookies: list[str | None], seconds: float) -> Tally:
    """Open these sockets at once (asyncio client) and hold them for a while."""
    tally = Tally()

    async def run() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(engineio_socket(port, c, tally, until) for c in cookies))

    asyncio.run(run())
    return tally


def test_no_session_no_socket(committed_db, served_app) -> None:
    _judge(served_app)
    server = LiveServer(served_app)
    try:
        port = int(server.url.rsplit(":", 1)[1])
        tally = _hold(port, [None, "session=forged.cookie.value"], seconds=2)
        assert tally.refused == {"http 401": 2} and tally.opened == 0
        # nothing reached Engine.IO: it holds no connection for them
        assert socketio.server.eio.sockets == {}  # type: ignore[attr-defined]  # not in the stubs
    finally:
        server.stop()


def test_a_logged_in_judge_connects_and_a_copied_cookie_dies_with_the_session(
    committed_db, served_app
) -> None:
    judge_id = _judge(served_app)
    server = LiveServer(served_app)
    client = None
    try:
        cookie = session_cookie(served_app, judge_id)
        client = _connect(server.url, cookie)
        assert client.connected
        with served_app.app_context():
            row = db.session.scalar(select(StaffSession).where(StaffSession.staff_id == judge_id))
            end_session(row, "logout")  # as logout does, in this (the web's) process
            db.session.commit()
            db.session.remove()
        deadline = time.monotonic() + 5
        while client.connected and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not client.connected, "the ended session's socket stayed open"
        with pytest.raises(socketio_client.exceptions.ConnectionError):
            _connect(server.url, cookie)  # the copied cookie opens nothing any more
    finally:
        if client is not None and client.connected:
            client.disconnect()
        server.stop()


def test_sockets_are_capped_per_address_and_in_all(committed_db, served_app) -> None:
    judge_id = _judge(served_app)
    cookies: list[str | None] = [session_cookie(served_app, judge_id) for _ in range(5)]
    server = LiveServer(served_app)
    try:
        port = int(server.url.rsplit(":", 1)[1])
        tally = _hold(port, cookies, seconds=3)
        assert tally.opened == 3  # TELEJT_SOCKETS_PER_ADDRESS
        assert tally.refused["http 429"] == 2
        # closed by the clients, their slots come free (the server threads end)
        gate = served_app.wsgi_app
        deadline = time.monotonic() + 10
        while gate.in_flight() != (0, {}) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gate.in_flight() == (0, {})
    finally:
        server.stop()


def test_the_total_cap_refuses_with_503(committed_db, served_app, monkeypatch) -> None:
    judge_id = _judge(served_app)
    monkeypatch.setitem(served_app.config, "TELEJT_SOCKETS_PER_ADDRESS", 100)
    cookies: list[str | None] = [session_cookie(served_app, judge_id) for _ in range(6)]
    server = LiveServer(served_app)
    try:
        port = int(server.url.rsplit(":", 1)[1])
        tally = _hold(port, cookies, seconds=3)
        assert tally.opened == 4 and tally.refused["http 503"] == 2  # TELEJT_SOCKETS_MAX
    finally:
        server.stop()


# ---- closing the sockets of ended sessions (Flask-SocketIO's test client) ----------------


def live_client(app: Any, user: Any) -> tuple[Any, Any]:
    http = app.test_client()
    sign_in(http, user)
    return http, socketio.test_client(app, namespace=NAMESPACE, flask_test_client=http)


@pytest.mark.parametrize("how", ["logout", "password", "deactivation"])
def test_ending_a_session_closes_its_sockets_at_once(app_ctx, make_staff, how) -> None:
    judge = make_staff("court", court_position="judge")
    bystander = make_staff("court", court_position="defender", courts=judge.courts)
    http, judge_socket = live_client(app_ctx, judge)
    _, other_socket = live_client(app_ctx, bystander)
    assert judge_socket.is_connected(NAMESPACE) and other_socket.is_connected(NAMESPACE)
    if how == "logout":
        assert http.post("/logout").status_code == 302
    elif how == "password":
        from telejt.auth.services import set_password

        set_password(judge, "otra-clave-muy-larga-2026")
        db.session.commit()
    else:
        deactivate_staff_user(judge)
        db.session.commit()
    assert not judge_socket.is_connected(NAMESPACE)
    assert other_socket.is_connected(NAMESPACE)  # nobody else's
    other_socket.disconnect(NAMESPACE)


def test_the_sweep_closes_sockets_of_sessions_ended_elsewhere(
    app_ctx, make_staff, monkeypatch
) -> None:
    """Another web process ended the session, or it went idle: the sweep finds it."""
    sweep(app_ctx)  # sockets earlier tests left on the shared server (their sessions are gone)
    judge = make_staff("court", court_position="judge")
    _, judge_socket = live_client(app_ctx, judge)
    assert sweep(app_ctx) == 0  # live: nothing to close
    # ended by a plain UPDATE, as another process's commit would look from here
    db.session.execute(
        StaffSession.__table__.update()  # type: ignore[attr-defined]  # a Table
        .where(StaffSession.staff_id == judge.id)
        .values(revoked_at=db.func.now())
    )
    db.session.commit()
    assert sweep(app_ctx) == 1
    assert not judge_socket.is_connected(NAMESPACE)


def test_the_sweep_closes_an_idle_session_and_a_deactivated_account(
    app_ctx, make_staff, frozen_clock, monkeypatch
) -> None:
    sweep(app_ctx)  # sockets earlier tests left on the shared server (their sessions are gone)
    monkeypatch.setitem(app_ctx.config, "TELEJT_SESSION_IDLE_MINUTES", 30)
    judge = make_staff("court", court_position="judge")
    other = make_staff("court", court_position="defender", courts=judge.courts)
    _, idle_socket = live_client(app_ctx, judge)
    _, other_socket = live_client(app_ctx, other)
    frozen_clock.advance(minutes=31)
    assert sweep(app_ctx) == 2
    assert not idle_socket.is_connected(NAMESPACE)
    assert not other_socket.is_connected(NAMESPACE)
    frozen_clock.advance(minutes=1)
    _, fresh_socket = live_client(app_ctx, other)
    db.session.execute(
        StaffUser.__table__.update()  # type: ignore[attr-defined]  # a Table
        .where(StaffUser.id == other.id)
        .values(is_active=False)
    )
    db.session.commit()
    assert sweep(app_ctx) == 1
    assert not fresh_socket.is_connected(NAMESPACE)
