"""Dashboard response time for a court of 2,000 participants on PostgreSQL (run by hand).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/dashboard_bench \\
        .venv/bin/python bench/bench_dashboard.py [--participants 2000] [--runs 40]

The database named is emptied first (never point it at real data). The history is
synthetic: 90 days of a weekly session and three check-ins a week per participant,
two weeks planned ahead, outcomes drawn at fixed rates (80 % kept, 8 % missed by the
participant, 4 % by the system, 4 % excused, 4 % cancelled), an alert per miss,
most acknowledged. It times the whole page (query, template, audit row) through
Flask's test client, and the compliance query alone.

Like the production entry point (``telejt.wsgi``), the process freezes its start-up
objects out of the garbage collector once the app is built
(``freeze_startup_objects``); ``--no-gc-freeze`` measures without it.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TELEJT_ENV", "testing")

import benchlib
from sqlalchemy import create_engine, func, insert, select, text

from telejt import create_app
from telejt.alerts.models import Alert
from telejt.auth.services import create_staff_user
from telejt.clock import now
from telejt.config import normalize_database_url
from telejt.courts.services import create_court
from telejt.dashboard.queries import ComplianceFilters, compliance_rows
from telejt.extensions import db
from telejt.participants.models import Consent, Participant
from telejt.planning.models import Contact
from telejt.reports.runs import rebuild_all_runs
from telejt.startup import freeze_startup_objects

OUTCOMES = [
    ("attended", None, 0.55),
    ("late", None, 0.05),
    ("completed", None, 0.20),  # check-ins only; sessions draw "attended" instead
    ("missed", "participant", 0.08),
    ("missed", "system", 0.04),
    ("excused", "excused", 0.04),
    ("cancelled", None, 0.04),
]


def reset(url: str) -> None:
    """Empty the benchmark database."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def draw(rng: random.Random, kind: str) -> tuple[str, str | None]:
    """An outcome at the fixed rates."""
    roll, total = rng.random(), 0.0
    for status, attribution, weight in OUTCOMES:
        total += weight
        if roll <= total:
            if status == "completed" and kind == "session":
                return "attended", None
            if status == "attended" and kind == "checkin":
                return "completed", None
            return status, attribution
    return "attended" if kind == "session" else "completed", None


def seed(participants: int, rng: random.Random) -> dict[str, Any]:
    """One court, its staff, and the participants' history (bulk inserts)."""
    court = create_court(name="Juzgado de Carga", state="Nuevo León", timezone="America/Monterrey")
    db.session.flush()
    therapists = [
        create_staff_user(email=f"t{n}@carga.example.mx", role="therapist", court_ids=[court.id])
        for n in range(20)
    ]
    judge = create_staff_user(
        email="juez@carga.example.mx", role="court", court_ids=[court.id], court_position="judge"
    )
    db.session.flush()
    at = now()
    people = [
        {
            "court_id": court.id,
            "case_number": f"CARGA-{n:05d}/2026",
            "name": f"Participante Sintético {n:05d}",
            "phone": f"+5281{n:08d}",
            "locale": "es_MX",
            "timezone": "America/Monterrey",
            "status": "active",
            "therapist_id": therapists[n % len(therapists)].id,
            "protocol_id": "remote-outpatient",
            "protocol_version": 1,
            "phase_id": str(1 + n % 4),
            "session_slots": [{"weekday": "tue", "time": "10:00"}],
        }
        for n in range(participants)
    ]
    db.session.execute(insert(Participant), people)
    ids = list(db.session.scalars(select(Participant.id).order_by(Participant.id)))
    db.session.execute(
        insert(Consent),
        [{"participant_id": pid, "kind": k} for pid in ids for k in ("sms", "telehealth")],
    )
    contacts: list[dict[str, Any]] = []
    for pid in ids:
        offset = timedelta(minutes=rng.randrange(0, 8 * 60))
        for day in range(-90, 14):
            moment = (at + timedelta(days=day)).replace(hour=14, minute=0) + offset
            weekday = moment.weekday()
            kinds = (["session"] if weekday == 1 else []) + (
                ["checkin"] if weekday in (0, 2, 4) else []
            )
            for kind in kinds:
                status, attribution = ("scheduled", None) if day >= 0 else draw(rng, kind)
                contacts.append(
                    {
                        "participant_id": pid,
                        "kind": kind,
                        "plan_key": f"bench:{uuid.uuid4().hex}",
                        "starts_at": moment,
                        "ends_at": moment + timedelta(minutes=50),
                        "deadline_at": moment + timedelta(minutes=15),
                        "status": status,
                        "attribution": attribution,
                        "protocol_id": "remote-outpatient",
                        "protocol_version": 1,
                        "phase_id": "2",
                        "join_token": uuid.uuid4().hex,
                        "invalid_replies": 0,
                    }
                )
    for start in range(0, len(contacts), 20_000):
        db.session.execute(insert(Contact), contacts[start : start + 20_000])
    missed = db.session.execute(
        select(Contact.id, Contact.participant_id, Contact.attribution, Contact.deadline_at).where(
            Contact.status == "missed"
        )
    ).all()
    alerts = [
        {
            "court_id": court.id,
            "participant_id": pid,
            "contact_id": cid,
            "kind": "missed_contact",
            "severity": "warning",
            "attribution": attribution,
            "audience": "court",
            "dedupe_key": f"missed:{cid}",
            "created_at": deadline,
            "acknowledged_at": deadline + timedelta(hours=2) if rng.random() < 0.9 else None,
        }
        for cid, pid, attribution, deadline in missed
    ]
    db.session.execute(insert(Alert), alerts)
    # written in bulk, past the session hook: every participant's runs at once
    # (telejt figures rebuild), as after any bulk import
    rebuild_all_runs(db.session)
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return {"judge_id": judge.id, "contacts": len(contacts), "alerts": len(alerts)}


def summarize(samples: list[float]) -> str:
    """Median, p95, p99 and the slowest, in milliseconds."""
    ordered = sorted(samples)

    def rank(share: float) -> float:
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]

    return (
        f"median {statistics.median(ordered):.1f} ms, p95 {rank(0.95):.1f} ms, "
        f"p99 {rank(0.99):.1f} ms, max {ordered[-1]:.1f} ms, n={len(ordered)}"
    )


def load_average() -> str:
    """The 1, 5 and 15-minute load averages (the machine is shared)."""
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def main() -> None:
    """Seed, warm up, time."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave the start-up objects to the collector, as before telejt.wsgi froze them",
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        sys.exit("set BENCH_DATABASE_URL to a PostgreSQL database that may be emptied")
    url = normalize_database_url(url)
    reset(url)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "SERVER_NAME": None}
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        started = time.perf_counter()
        facts = seed(args.participants, random.Random(7))
        print(
            f"seeded {args.participants} participants, {facts['contacts']} contacts, "
            f"{facts['alerts']} alerts in {time.perf_counter() - started:.0f} s"
        )
        total = db.session.scalar(select(func.count()).select_from(Contact))
        print(f"contacts in the database: {total}")
        judge_id = facts["judge_id"]
    if not args.no_gc_freeze:
        freeze_startup_objects()  # as telejt.wsgi does once the app is built
    client = app.test_client()
    name, value = benchlib.login_cookie(app, judge_id).split("=", 1)
    client.set_cookie(name, value)
    pages = {
        "/dashboard (default: most consecutive misses first)": "/dashboard",
        "/dashboard?sort=rate&dir=asc&status=all": "/dashboard?sort=rate&dir=asc&status=all",
        "/dashboard?alerts=1": "/dashboard?alerts=1",
        "/dashboard?sort=streak": "/dashboard?sort=streak",
        "/dashboard?sort=phase_weeks": "/dashboard?sort=phase_weeks",
    }
    print(
        f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs"
    )
    print(f"date: {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"gc.freeze of start-up objects: {'no' if args.no_gc_freeze else 'yes'}")
    print(f"load average before: {load_average()}")
    for name, path in pages.items():
        for _ in range(3):  # warm the caches and the connection pool
            assert client.get(path).status_code == 200
        samples = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        print(f"page  {name}: {summarize(samples)}")
    with app.app_context():
        from telejt.auth.models import StaffUser

        judge = db.session.get(StaffUser, judge_id)
        samples = []
        for _ in range(args.runs):
            started = time.perf_counter()
            compliance_rows(judge, now(), ComplianceFilters())
            samples.append((time.perf_counter() - started) * 1000)
        print(f"query compliance_rows: {summarize(samples)}")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
