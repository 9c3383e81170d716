"""Across processes: an alert raised by a separate scheduler process reaches, through
Redis, a judge's real Socket.IO client connected to a web server, and only him.

Needs a Redis server: CI sets ``TELEJT_TEST_REDIS_URL`` (redis://127.0.0.1:6379/15).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import socketio as socketio_client
from conftest import sign_in
from werkzeug.serving import make_server

from telejt import clock, create_app
from telejt.auth.models import StaffUser
from telejt.auth.services import create_staff_user
from telejt.courts.services import create_court
from telejt.extensions import db, socketio
from telejt.live import NAMESPACE
from telejt.participants.services import enroll_participant

REDIS_URL = os.environ.get("TELEJT_TEST_REDIS_URL")
#: this run's channel: another run, or another deployment, on the same Redis hears nothing
CHANNEL = f"telejt-test-{uuid.uuid4().hex[:12]}"
pytestmark = pytest.mark.skipif(
    not REDIS_URL, reason="TELEJT_TEST_REDIS_URL is not set (a Redis server for the live queue)"
)
SECRET_KEY = "live-redis-test-secret-key-0123456789"
ENROLLED_AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday, 09:00 in Monterrey
#: after Tuesday's 10:00 session closed its join window unattended
TICK_AT = "2026-03-03T17:00:00+00:00"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    """The web app served over HTTP on 127.0.0.1 from a background thread.

    Its public URL (the only origin Socket.IO accepts) names the port to serve on.
    """

    def __init__(self, app: Any) -> None:
        port = int(app.config["TELEJT_PUBLIC_URL"].rsplit(":", 1)[1])
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.shutdown()
        self.thread.join(timeout=5)


def session_cookie(app: Any, user_id: int) -> str:
    """A signed Flask session cookie for this staff member, as the login page would set
    (naming a server-side session, committed)."""
    client = app.test_client()
    with app.app_context():
        sign_in(client, db.session.get(StaffUser, user_id))
        db.session.remove()
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    return f"{cookie.key}={cookie.value}"


class Listener:
    """A real python-socketio client on /live that records the alerts it receives."""

    def __init__(self, url: str, cookie: str) -> None:
        self.alerts: list[dict[str, Any]] = []
        self.received = threading.Event()
        self.client = socketio_client.Client(reconnection=False)
        self.client.on("alert.created", self._on_alert, namespace=NAMESPACE)
        self.client.connect(
            url,
            namespaces=[NAMESPACE],
            headers={"Cookie": cookie},
            wait_timeout=10,
        )

    def _on_alert(self, payload: dict[str, Any]) -> None:
        self.alerts.append(payload)
        self.received.set()

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()


@contextmanager
def app_of_its_own(settings: dict[str, Any]) -> Iterator[Any]:
    """A second app with these settings; the shared Socket.IO object is put back afterwards.

    ``create_app`` rebinds the one ``socketio`` object to a new server (with a Redis
    client manager when ``REDIS_URL`` is set); the suite's app keeps its own server (its
    middleware holds it), so putting the object's server and options back restores
    every handler.
    """
    saved_server, saved_options = socketio.server, dict(socketio.server_options)  # type: ignore[attr-defined]  # not in the stubs
    saved_middleware = getattr(socketio, "sockio_mw", None)
    application = create_app(settings)
    try:
        yield application
    finally:
        with application.app_context():
            db.engine.dispose()
        socketio.server = saved_server  # type: ignore[attr-defined]  # not in the stubs
        socketio.server_options.clear()  # type: ignore[attr-defined]  # not in the stubs
        socketio.server_options.update(saved_options)  # type: ignore[attr-defined]  # not in the stubs
        socketio.sockio_mw = saved_middleware  # type: ignore[attr-defined]  # not in the stubs


def seed_judge(app: Any, email: str) -> int:
    """A court and its judge, committed; the judge's id."""
    with app.app_context():
        court = create_court(name="Juzgado", state="Nuevo León", timezone="America/Monterrey")
        db.session.flush()
        judge = create_staff_user(
            email=email, role="court", court_ids=[court.id], court_position="judge"
        )
        db.session.commit()
        judge_id = judge.id
        db.session.remove()
    return judge_id


@pytest.fixture
def redis_app(app, app_config, database_url) -> Iterator[Any]:
    """A second app bound to Redis (see :func:`app_of_its_own`)."""
    settings = {
        **app_config,
        "REDIS_URL": REDIS_URL,
        "TELEJT_LIVE_CHANNEL": CHANNEL,
        "SECRET_KEY": SECRET_KEY,
        "TELEJT_PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
    }
    with app_of_its_own(settings) as application:
        yield application


def _seed() -> dict[str, int]:
    """Two courts, a judge each, and a participant of court A (committed)."""
    clock.freeze(ENROLLED_AT)
    try:
        court_a = create_court(name="Juzgado A", state="Nuevo León", timezone="America/Monterrey")
        court_b = create_court(name="Juzgado B", state="Nuevo León", timezone="America/Monterrey")
        db.session.flush()
        therapist = create_staff_user(
            email="terapeuta@a.example.mx", role="therapist", court_ids=[court_a.id]
        )
        judge_a = create_staff_user(
            email="juez@a.example.mx", role="court", court_ids=[court_a.id], court_position="judge"
        )
        judge_b = create_staff_user(
            email="juez@b.example.mx", role="court", court_ids=[court_b.id], court_position="judge"
        )
        db.session.flush()
        participant = enroll_participant(
            court_id=court_a.id,
            case_number="CP-0001/2026",
            name="Participante Sintético A",
            phone="+52 81 5555 0001",
            therapist_id=therapist.id,
            protocol_id="remote-outpatient",
            phase_id="2",
            session_slots=[{"weekday": "tue", "time": "10:00"}],
            consents={"sms": True, "telehealth": True, "share_with_court": True},
        )
        db.session.flush()
        # read before the commit: reading after it would open a transaction that holds
        # SQLite's lock while the web thread and the scheduler process need it
        ids = {
            "court_a": court_a.id,
            "judge_a": judge_a.id,
            "judge_b": judge_b.id,
            "participant": participant.id,
        }
        db.session.commit()
        return ids
    finally:
        clock.freeze(None)


def _scheduler_tick(
    database_url: str, at: str, channel: str = CHANNEL
) -> subprocess.CompletedProcess[str]:
    """``telejt scheduler tick --at`` in its own process, bound to the same Redis."""
    env = {
        **os.environ,
        "TELEJT_ENV": "testing",
        "SECRET_KEY": "scheduler-process-secret-0123456789",
        "DATABASE_URL": database_url,
        "REDIS_URL": str(REDIS_URL),
        "TELEJT_LIVE_CHANNEL": channel,
        "TELEJT_SMS_BACKEND": "console",
        "TELEJT_PUBLIC_URL": "https://telejt.example.mx",
    }
    telejt = Path(sys.executable).with_name("telejt")
    return subprocess.run(
        [str(telejt), "scheduler", "tick", "--at", at],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_scheduler_process_alert_reaches_the_courts_judge_only(
    committed_db, redis_app, database_url
):
    ids = _seed()
    server = LiveServer(redis_app)
    judge_a = judge_b = None
    try:
        judge_a = Listener(server.url, session_cookie(redis_app, ids["judge_a"]))
        judge_b = Listener(server.url, session_cookie(redis_app, ids["judge_b"]))
        time.sleep(0.3)  # let the Redis listener subscribe before the other process publishes

        result = _scheduler_tick(database_url, TICK_AT)
        assert result.returncode == 0, result.stderr

        assert judge_a.received.wait(timeout=10), "judge A got no alert"
        time.sleep(0.5)  # anything misrouted to judge B would have arrived by now
        assert judge_a.alerts
        assert {a["court_id"] for a in judge_a.alerts} == {ids["court_a"]}
        assert {a["participant_id"] for a in judge_a.alerts} == {ids["participant"]}
        assert all(a["kind"] == "missed_contact" for a in judge_a.alerts)
        assert all(a["attribution"] in ("participant", "system") for a in judge_a.alerts)
        assert judge_b.alerts == []
    finally:
        for listener in (judge_a, judge_b):
            if listener is not None:
                listener.close()
        server.stop()


def test_another_deployment_on_the_same_redis_is_not_heard(committed_db, redis_app, database_url):
    """Pub/Sub ignores the database number: the channel keeps deployments apart."""
    ids = _seed()
    server = LiveServer(redis_app)
    judge_a = None
    try:
        judge_a = Listener(server.url, session_cookie(redis_app, ids["judge_a"]))
        time.sleep(0.3)
        result = _scheduler_tick(database_url, TICK_AT, channel=f"{CHANNEL}-other")
        assert result.returncode == 0, result.stderr
        assert not judge_a.received.wait(timeout=2), "heard another deployment's alert"
        assert judge_a.alerts == []
    finally:
        if judge_a is not None:
            judge_a.close()
        server.stop()


def test_connection_without_login_is_refused(committed_db, redis_app):
    server = LiveServer(redis_app)
    try:
        with pytest.raises(socketio_client.exceptions.ConnectionError):
            Listener(server.url, "session=forged")
    finally:
        server.stop()
