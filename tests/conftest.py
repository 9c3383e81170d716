"""Shared fixtures: the app, an isolated database per test, the clock, factories.

The suite runs on SQLite by default and on PostgreSQL when
``TELEJT_TEST_DATABASE_URL`` names one (CI runs both). Each test runs inside a
transaction that is rolled back; tests that need committed rows (other
processes, other threads) use ``committed_db`` instead, which empties the tables.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import hypothesis_profiles  # noqa: F401  (loads the Hypothesis profile first)
import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

os.environ["TELEJT_ENV"] = "testing"
for _setting in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "TELEJT_SMS_BACKEND"):
    os.environ.pop(_setting, None)

from telejt import clock, create_app  # noqa: E402
from telejt.config import normalize_database_url  # noqa: E402
from telejt.extensions import db  # noqa: E402

PASSWORD = "correct-horse-battery"


def sign_in(client: Any, user: Any) -> str:
    """Log a staff member in as the login page does (a server-side session named by the
    cookie), without a password round trip; returns the session key.

    The test's app context outlives each request, so Flask-Login's user cached in
    ``g`` is dropped too (in production every request has its own).
    """
    import secrets

    from flask import current_app, g

    from telejt.auth.models import StaffSession
    from telejt.auth.sessions import SESSION_KEY, key_digest

    key = secrets.token_urlsafe(32)
    moment = clock.now()
    db.session.add(
        StaffSession(
            staff_id=user.id,
            key_hash=key_digest(key),
            created_at=moment,
            last_seen_at=moment,
            expires_at=moment + timedelta(hours=current_app.config["TELEJT_SESSION_MAX_HOURS"]),
            second_factor_at=moment,
        )
    )
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
        session[SESSION_KEY] = key
    g.pop("_login_user", None)
    return key


def _test_database_url(tmp_dir: Path) -> str:
    url = os.environ.get("TELEJT_TEST_DATABASE_URL")
    if url:
        return normalize_database_url(url)
    return f"sqlite:///{tmp_dir / 'telejt-test.db'}"


def reset_database(url: str) -> None:
    """Drop every table of a test database (never anything else)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:
            for table in inspect(connection).get_table_names():
                connection.execute(text(f'DROP TABLE "{table}"'))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of this run's test database, emptied at the start."""
    url = _test_database_url(tmp_path_factory.mktemp("db"))
    reset_database(url)
    return url


@pytest.fixture(scope="session")
def app_config(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Settings every test app shares."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "TELEJT_SMS_BACKEND": "console",
        "TELEJT_PUBLIC_URL": "https://telejt.example.mx",
        "TELEJT_INSTANCE_DIR": str(tmp_path_factory.mktemp("instance")),
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
        # no public STUN server: browsers in the tests reach nothing outside this machine
        "TELEJT_STUN_URLS": (),
        # second factors are tested on their own (test_auth_sessions.py), switched on there
        "TELEJT_TOTP": "off",
        # tests move the clock by days between requests; session limits have their own tests
        "TELEJT_SESSION_IDLE_MINUTES": 10**7,
        "TELEJT_SESSION_MAX_HOURS": 10**6,
    }


class FreshUserClient(FlaskClient):
    """A test client whose every request loads the logged-in user afresh.

    Tests push one app context around many requests (the app_ctx fixture), so
    Flask-Login's user cached in ``g`` would carry from one request, or one client
    (another browser), to the next; in production each request has its own.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import g, has_app_context

        if has_app_context():
            g.pop("_login_user", None)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(app_config: dict[str, Any]):
    """The app, with the schema built by the migrations (as in production)."""
    from flask_migrate import upgrade

    application = create_app(app_config)
    application.test_client_class = FreshUserClient
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def app_ctx(app):
    """An app context with a session joined to a transaction rolled back after the test."""
    with app.app_context():
        engine = db.engine
        connection = engine.connect()
        outer = connection.begin()
        engines = db._app_engines[app]
        # the session's get_bind now hands out this connection
        engines[None] = connection  # type: ignore[assignment]
        original_session = db.session
        db.session = db._make_scoped_session({"join_transaction_mode": "create_savepoint"})
        try:
            yield app
        finally:
            db.session.remove()
            db.session = original_session
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture
def committed_db(app):
    """Real commits (for other threads and processes); every table is emptied afterwards."""
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            with db.engine.begin() as connection:
                tables = [t for t in reversed(db.metadata.sorted_tables)]
                if connection.dialect.name == "postgresql":
                    names = ", ".join(f'"{t.name}"' for t in tables)
                    # the audit log's trigger lets only the retention job empty it
                    connection.execute(text("SET LOCAL telejt.audit_retention = 'on'"))
                    connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                else:
                    for table in tables:
                        connection.execute(table.delete())


@pytest.fixture
def client(app_ctx):
    """A test client sharing the test's transaction."""
    return app_ctx.test_client()


@pytest.fixture
def runner(app_ctx):
    """A CLI runner sharing the test's transaction."""
    return app_ctx.test_cli_runner()


class FrozenClock:
    """The test's handle on telejt.clock."""

    def __init__(self, moment: datetime) -> None:
        self.set(moment)

    def set(self, moment: datetime) -> datetime:
        """Jump to an instant."""
        clock.freeze(moment)
        return clock.now()

    def advance(self, **delta: float) -> datetime:
        """Move forward, e.g. ``advance(minutes=5)``."""
        return clock.advance(timedelta(**delta))

    def now(self) -> datetime:
        """The frozen instant."""
        return clock.now()


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    """The clock stopped on Monday 2026-03-02 15:00 UTC (09:00 in Mexico City)."""
    handle = FrozenClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    yield handle
    clock.freeze(None)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that opens a connection outside this machine (Twilio included)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def is_local(address: Any) -> bool:
        if isinstance(address, str | bytes):  # unix socket
            return True
        host = address[0]
        if host in ("localhost",):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if not is_local(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if not is_local(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    """Whether this run is on PostgreSQL."""
    return make_url(database_url).get_backend_name() == "postgresql"


# ---- factories ---------------------------------------------------------------------------


@pytest.fixture
def make_court(app_ctx) -> Callable[..., Any]:
    """Create a court: ``make_court(timezone="America/Tijuana")``."""
    from telejt.courts.services import create_court

    counter = iter(range(1, 10_000))

    def factory(**overrides: Any) -> Any:
        fields = {
            "name": f"Juzgado de Prueba {next(counter)}",
            "state": "Nuevo León",
            "timezone": "America/Monterrey",
        }
        fields.update(overrides)
        court = create_court(**fields)
        db.session.commit()
        return court

    return factory


@pytest.fixture
def make_staff(app_ctx, make_court) -> Callable[..., Any]:
    """Create a staff account: ``make_staff("therapist", courts=[court])``."""
    from telejt.auth.services import create_staff_user

    counter = iter(range(1, 10_000))

    def factory(role: str = "coordinator", courts: list[Any] | None = None, **fields: Any) -> Any:
        if courts is None:
            courts = [] if role == "admin" else [make_court()]
        n = next(counter)
        user = create_staff_user(
            email=fields.pop("email", f"{role}{n}@staff.example.mx"),
            role=role,
            name=fields.pop("name", f"Persona de Prueba {n}"),
            court_ids=[c.id for c in courts],
            password=fields.pop("password", PASSWORD),
            **fields,
        )
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_participant(app_ctx, make_court, make_staff) -> Callable[..., Any]:
    """Enroll a synthetic participant; keyword arguments override the defaults."""
    from telejt.participants.services import enroll_participant

    counter = iter(range(1, 10_000))

    def factory(**overrides: Any) -> Any:
        n = next(counter)
        court = overrides.pop("court", None) or make_court()
        therapist = overrides.pop("therapist", None) or make_staff("therapist", courts=[court])
        fields: dict[str, Any] = {
            "court_id": court.id,
            "case_number": f"CP-{n:04d}/2026",
            "name": f"Participante Sintético {n}",
            "phone": f"+52 81 5555 {n:04d}",
            "therapist_id": therapist.id,
            "protocol_id": "remote-outpatient",
            "phase_id": "2",
            "session_slots": [{"weekday": "tue", "time": "10:00"}],
            "consents": {"sms": True, "telehealth": True, "share_with_court": True},
        }
        fields.update(overrides)
        participant = enroll_participant(**fields)
        db.session.commit()
        return participant

    return factory


class RecordingSender:
    """An SMS backend that records what it would send; ``fail_with`` makes it refuse."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []
        self.fail_with: tuple[str, bool] | None = None  # (error code, permanent)
        self.status = "delivered"

    def send(self, *, to: str, body: str) -> Any:
        """Record one message, or raise the configured provider error."""
        from telejt.sms.backends import SendResult, SmsSendError

        if self.fail_with is not None:
            code, permanent = self.fail_with
            raise SmsSendError(code, "refused by the test", permanent=permanent)
        sid = f"SMtest{uuid.uuid4().hex}"
        self.sent.append({"to": to, "body": body, "sid": sid})
        return SendResult(provider_sid=sid, status=self.status)

    def check(self) -> None:
        """The provider's health probe: this one is always there."""


@pytest.fixture
def sms(app) -> Iterator[RecordingSender]:
    """The SMS backend for this test: records instead of sending."""
    sender = RecordingSender()
    previous = app.extensions.get("telejt.sms_sender")
    app.extensions["telejt.sms_sender"] = sender
    yield sender
    if previous is None:
        app.extensions.pop("telejt.sms_sender", None)
    else:
        app.extensions["telejt.sms_sender"] = previous


@pytest.fixture
def run_until(frozen_clock):
    """Step the clock through every due message and deadline up to an instant, as the
    scheduler would, dispatching and watching at each step."""
    from telejt.planning.watcher import next_deadline_at, watch_deadlines
    from telejt.sms.dispatch import dispatch_due_messages, next_due_at

    def step(until: datetime) -> None:
        while True:
            candidates = [t for t in (next_due_at(), next_deadline_at()) if t is not None]
            upcoming = min(candidates) if candidates else None
            if upcoming is None or upcoming > until:
                frozen_clock.set(max(until, frozen_clock.now()))
                watch_deadlines()
                dispatch_due_messages()
                return
            frozen_clock.set(max(upcoming, frozen_clock.now()))
            watch_deadlines()
            dispatch_due_messages()

    return step


# ---- scheduler processes (tests/processes.py) ---------------------------------------------


@pytest.fixture
def protocols_dir(tmp_path: Path) -> Path:
    """The protocols with quiet hours moved away from the next hours.

    The dispatcher holds any SMS found due in quiet hours until morning, so at
    night the welcomes would not go during the test; these processes keep the
    same protocol and version with a quiet hour that starts three hours from now.
    """
    folder = tmp_path / "protocols"
    folder.mkdir()
    local = datetime.now(ZoneInfo("America/Monterrey"))
    for source in (Path(__file__).parents[1] / "protocols").glob("*.yaml"):
        text = source.read_text(encoding="utf-8")
        quiet = re.compile(r"^quiet_hours: .*$", re.MULTILINE)
        assert quiet.search(text), f"{source.name} has no one-line quiet_hours"
        # a check-in planned inside the quiet hours is a protocol error: the hour moves on
        # past every check-in's time of day
        times = {
            int(hour) * 60 + int(minute)
            for hour, minute in re.findall(r'^\s*at: "(\d\d):(\d\d)"', text, re.MULTILINE)
        }
        start = local + timedelta(hours=3)
        while any((at - (start.hour * 60 + start.minute)) % 1440 <= 60 for at in times):
            start += timedelta(minutes=30)
        end = start + timedelta(hours=1)
        moved = f'quiet_hours: {{start: "{start:%H:%M}", end: "{end:%H:%M}"}}'
        (folder / source.name).write_text(quiet.sub(moved, text), encoding="utf-8")
    return folder


@pytest.fixture
def processes(committed_db, database_url: str) -> Iterator[list[Any]]:
    """Scheduler processes a test starts (tests/processes.py); stopped afterwards."""
    started: list[Any] = []
    yield started
    for proc in started:
        proc.stop()  # a SchedulerProcess (tests/processes.py)
