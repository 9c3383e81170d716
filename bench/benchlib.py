"""Shared helpers of the scheduler benchmarks: a fresh database, an app, bulk seeding.

The benchmarks are run by hand (see docs/benchmarks.md); they are not tests. Every
script builds its own schema with the migrations, as production does, on a
database it owns: a SQLite file under /tmp, or a PostgreSQL database that is
emptied first (``DROP SCHEMA public CASCADE``), so never point them at real data.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

#: the time zones participants are spread over (the Mexican zones of DESIGN.md)
MEXICAN_ZONES = (
    "America/Tijuana",
    "America/Mexico_City",
    "America/Cancun",
    "America/Hermosillo",
    "America/Monterrey",
    "America/Ciudad_Juarez",
    "America/Matamoros",
    "America/Mazatlan",
)
DEFAULT_SQLITE = "sqlite:////tmp/telejt-bench.db"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/bench"
PROTOCOL_ID = "remote-outpatient"
CHUNK = 5_000


def database_parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark's options, starting with the databases it runs on (``--db``, URLs)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0], epilog=doc)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--sqlite-url", default=DEFAULT_SQLITE, help="%(default)s")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES,
        help="a database of its own: it is emptied (default %(default)s)",
    )
    return parser


def print_profile(profiler: cProfile.Profile, top: int) -> None:
    """The ``top`` lines of a profile, by own time then by cumulative time."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print(out.getvalue())


def database_urls(choice: str, sqlite_url: str, postgres_url: str) -> list[str]:
    """The databases a run covers: ``sqlite``, ``postgres`` or ``both``."""
    return {
        "sqlite": [sqlite_url],
        "postgres": [postgres_url],
        "both": [sqlite_url, postgres_url],
    }[choice]


def backend_name(url: str) -> str:
    """``sqlite`` or ``postgresql``."""
    return make_url(url).get_backend_name()


def reset_database(url: str) -> None:
    """Empty the benchmark's own database (a SQLite file is deleted)."""
    from telejt.config import normalize_database_url

    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_app(url: str, *, migrate: bool = True, **config: Any) -> Any:
    """A telejt app on ``url`` with the schema upgraded by the migrations."""
    os.environ.setdefault("TELEJT_ENV", "development")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    os.environ.pop("REDIS_URL", None)
    from flask_migrate import upgrade

    from telejt import create_app
    from telejt.config import normalize_database_url
    from telejt.extensions import db

    settings: dict[str, Any] = {
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(url),
        "TELEJT_SMS_BACKEND": "console",
        "TELEJT_PUBLIC_URL": "https://telejt.example.mx",
        "TELEJT_INSTANCE_DIR": tempfile.mkdtemp(prefix="telejt-bench-"),
        "REDIS_URL": None,
    }
    settings.update(config)
    app = create_app(settings)
    if migrate:
        with app.app_context():
            upgrade()
            db.session.remove()
    return app


def chunks(rows: Sequence[dict[str, Any]], size: int = CHUNK) -> Iterator[Sequence[dict[str, Any]]]:
    """Slices of ``size`` rows, to keep each executemany reasonable."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def bulk_insert(table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """SQLAlchemy core ``insert()`` of many rows, committed."""
    from telejt.extensions import db

    for part in chunks(rows):
        db.session.execute(insert(table), list(part))
    db.session.commit()


def fix_sequences(tables: Iterable[str]) -> None:
    """After inserting explicit ids on PostgreSQL, move each id sequence past them."""
    from telejt.extensions import db

    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )
    db.session.commit()


def seed_courts_and_therapists(moment: datetime) -> dict[str, tuple[int, int]]:
    """One court (and one therapist) per Mexican zone: {zone: (court_id, therapist_id)}."""
    from telejt.auth.models import StaffUser, court_memberships
    from telejt.courts.models import Court
    from telejt.extensions import db

    courts = [
        {
            "id": i + 1,
            "name": f"Juzgado de Prueba {i + 1}",
            "state": "Estado de Prueba",
            "timezone": zone,
            "created_at": moment,
        }
        for i, zone in enumerate(MEXICAN_ZONES)
    ]
    staff = [
        {
            "id": i + 1,
            "email": f"terapeuta{i + 1}@bench.example.mx",
            "name": f"Terapeuta Sintético {i + 1}",
            "role": "therapist",
            "is_active": True,
            "failed_logins": 0,
            "created_at": moment,
        }
        for i in range(len(MEXICAN_ZONES))
    ]
    bulk_insert(Court.__table__, courts)
    bulk_insert(StaffUser.__table__, staff)
    bulk_insert(
        court_memberships, [{"staff_id": i + 1, "court_id": i + 1} for i in range(len(courts))]
    )
    fix_sequences(["courts", "staff_users"])
    db.session.commit()
    return {zone: (i + 1, i + 1) for i, zone in enumerate(MEXICAN_ZONES)}


def seed_participants(
    count: int,
    moment: datetime,
    *,
    phases: Sequence[str] = ("1", "2", "3", "4"),
    english_every: int = 10,
) -> list[dict[str, Any]]:
    """``count`` active participants with SMS, telehealth and sharing consents.

    Zones rotate through MEXICAN_ZONES, phases through ``phases`` (with as many
    weekly slots as the phase asks for), one in ``english_every`` reads English.
    Returns the participant rows (with ids 1..count).
    """
    from telejt.extensions import db
    from telejt.participants.models import Consent, Participant
    from telejt.protocols.current import registry

    protocol = registry().latest(PROTOCOL_ID)
    courts = seed_courts_and_therapists(moment)
    weekdays = ("mon", "tue", "wed", "thu", "fri", "sat")
    times = ("08:30", "09:00", "10:00", "11:30", "13:00", "16:00", "17:30", "18:00", "20:00")
    participants: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        zone = MEXICAN_ZONES[n % len(MEXICAN_ZONES)]
        court_id, therapist_id = courts[zone]
        phase_id = phases[n % len(phases)]
        per_week = sum(rule.per_week for rule in protocol.phase(phase_id).sessions)
        slots = [
            {"weekday": weekdays[(n + 2 * k) % len(weekdays)], "time": times[(n + k) % len(times)]}
            for k in range(per_week)
        ]
        participants.append(
            {
                "id": n,
                "court_id": court_id,
                "case_number": f"CP-{n:06d}/2026",
                "name": f"Participante Sintético {n}",
                "phone": f"+5281{n:08d}",
                "locale": "en" if n % english_every == 0 else "es_MX",
                "timezone": zone,
                "status": "active",
                "therapist_id": therapist_id,
                "protocol_id": protocol.id,
                "protocol_version": protocol.version,
                "phase_id": phase_id,
                "phase_started_at": moment - timedelta(days=30),
                "session_slots": slots,
                "created_at": moment - timedelta(days=30),
                "updated_at": moment - timedelta(days=30),
            }
        )
        for kind in ("sms", "telehealth", "share_with_court"):
            consents.append(
                {
                    "participant_id": n,
                    "kind": kind,
                    "given_at": moment - timedelta(days=30),
                    "given_by_id": therapist_id,
                }
            )
    bulk_insert(Participant.__table__, participants)
    bulk_insert(Consent.__table__, consents)
    fix_sequences(["participants"])
    db.session.commit()
    return participants


def contact_row(
    contact_id: int,
    participant: dict[str, Any],
    starts_at: datetime,
    moment: datetime,
    *,
    deadline_after_min: int = 15,
    plan_key: str | None = None,
) -> dict[str, Any]:
    """A scheduled 50-minute video session of a participant, as the planner writes it."""
    return {
        "id": contact_id,
        "participant_id": participant["id"],
        "kind": "session",
        "plan_key": plan_key or f"bench:{participant['id']}:{uuid.uuid4().hex}",
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=50),
        "deadline_at": starts_at + timedelta(minutes=deadline_after_min),
        "late_after_min": 5,
        "session_kind": "individual",
        "modality": "video",
        "status": "scheduled",
        "protocol_id": participant["protocol_id"],
        "protocol_version": participant["protocol_version"],
        "phase_id": participant["phase_id"],
        "join_token": secrets.token_urlsafe(12),
        "invalid_replies": 0,
        "created_at": moment,
        "updated_at": moment,
    }


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": _run(["free", "-g"]).splitlines()[1] if _run(["free", "-g"]) else "?",
    }


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def utc_now() -> datetime:
    """The real time (not telejt's clock), for the report's date."""
    return datetime.now(UTC)


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


def header(title: str, url: str) -> None:
    """The first lines of a result: what, where, when, under which load."""
    info = machine()
    print(f"== {title} on {backend_name(url)} ({make_url(url).render_as_string()})")
    print(f"   date {utc_now():%Y-%m-%d %H:%M:%S} UTC; nproc {info['nproc']}; cpu {info['cpu']}")
    print(f"   load average before: {load_average()}")


def login_cookie(app: Any, staff_id: int) -> str:
    """``Cookie`` header value of a logged-in staff member, as the login page makes it: a
    server-side session row (committed) named by the signed session cookie."""
    import secrets as _secrets
    from datetime import timedelta

    from telejt.auth.models import StaffSession
    from telejt.auth.sessions import SESSION_KEY, key_digest
    from telejt.clock import now
    from telejt.extensions import db

    key = _secrets.token_urlsafe(32)
    with app.app_context():
        moment = now()
        db.session.add(
            StaffSession(
                staff_id=staff_id,
                key_hash=key_digest(key),
                created_at=moment,
                last_seen_at=moment,
                expires_at=moment + timedelta(hours=app.config["TELEJT_SESSION_MAX_HOURS"]),
                second_factor_at=moment,
            )
        )
        db.session.commit()
        db.session.remove()
    http = app.test_client()
    with http.session_transaction() as session:
        session["_user_id"] = str(staff_id)
        session["_fresh"] = True
        session[SESSION_KEY] = key
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = http.get_cookie(name)
    assert cookie is not None
    return f"{name}={cookie.value}"
