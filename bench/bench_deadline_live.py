"""Deadline → live event: from a contact's deadline to a judge's Socket.IO client (run by hand).

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_deadline \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/bench_deadline_live.py [--contacts 600] [--spread 180] \\
        [--bursts 3] [--burst-size 100] [--lead 20] [--waves 6] [--schedulers 1]

The real path, as the Procfile runs it: a web process (``gunicorn -k gthread -w 1
--threads 600``) and ``telejt scheduler run`` process(es) on their real clock,
sharing the PostgreSQL database (emptied first: give it one of its own) and Redis.
One judge per court (8 courts, one per Mexican zone) is connected to /live with a
real python-socketio client and his login cookie.

Contacts whose deadlines pass with nobody joining are written by this process
while the scheduler runs, in ``--waves`` waves, each at least ``--lead`` seconds
before its deadlines (as the planner or a coordinator would, long after the
watcher armed itself). Deadlines are spread at random over ``--spread`` seconds,
plus ``--bursts`` instants that ``--burst-size`` contacts share. Half the contacts
have a delivered reminder (a ``participant`` miss), half none (a ``system`` miss):
both raise a court alert. Latency = the instant the judge's client receives
``alert.created`` − the contact's deadline, both on this machine's clock.

Checks afterwards: every contact is missed with one alert, each alert reached
the judge of its court exactly once and no other judge. Exit 1 if not.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["TELEJT_ENV"] = "development"

import benchlib  # noqa: E402
import socketio as socketio_client  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/bench_deadline"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
SECRET_KEY = "bench-deadline-live-" + secrets.token_hex(16)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Until something listens on the port (or the process died)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the {what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit(f"the {what} did not start")


class Judge:
    """One judge's dashboard: a real client that notes when each alert arrives."""

    def __init__(self, court_id: int, cookie: str) -> None:
        self.court_id = court_id
        self.cookie = cookie
        self.client = socketio_client.Client(reconnection=False)
        self.alerts: list[tuple[float, dict[str, Any]]] = []
        self.disconnected_at: float | None = None
        self.client.on("alert.created", self._on_alert, namespace="/live")
        self.client.on("disconnect", self._on_disconnect, namespace="/live")

    def _on_alert(self, payload: dict[str, Any]) -> None:
        self.alerts.append((time.time(), payload))

    def _on_disconnect(self, *args: Any) -> None:
        self.disconnected_at = time.time()

    def connect(self, url: str) -> None:
        """Open the WebSocket with the login cookie."""
        self.client.connect(
            url, namespaces=["/live"], headers={"Cookie": self.cookie}, transports=["websocket"],
            wait_timeout=30,
        )  # fmt: skip


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value with ``share`` of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def summary(values: list[float]) -> str:
    """p50/p95/p99/max in milliseconds."""
    if not values:
        return "no values"
    ms = [v * 1000 for v in values]
    return (
        f"n={len(ms)} p50 {percentile(ms, 0.50):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms, "
        f"p99 {percentile(ms, 0.99):.0f} ms, max {max(ms):.0f} ms"
    )


def plan_deadlines(
    start: datetime, args: argparse.Namespace, rng: random.Random
) -> list[tuple[datetime, bool]]:
    """(deadline, in a burst) for every contact, sorted."""
    burst_total = min(args.bursts * args.burst_size, args.contacts)
    spread_ms = int(args.spread * 1000)
    deadlines: list[tuple[datetime, bool]] = []
    for b in range(args.bursts):
        instant = start + timedelta(milliseconds=spread_ms * (b + 1) // (args.bursts + 1) + 123)
        deadlines += [(instant, True)] * min(args.burst_size, burst_total - b * args.burst_size)
    for _ in range(args.contacts - burst_total):
        deadlines.append((start + timedelta(microseconds=rng.randrange(spread_ms * 1000)), False))
    return sorted(deadlines, key=lambda item: item[0])


def seed(participants: int, moment: datetime) -> dict[int, int]:
    """Participants over 8 courts (benchlib) and a judge per court: {court_id: judge_id}."""
    from telejt.auth.services import create_staff_user
    from telejt.extensions import db

    benchlib.seed_participants(participants, moment)
    judges = {}
    for court_id in range(1, len(benchlib.MEXICAN_ZONES) + 1):
        judge = create_staff_user(
            email=f"juez{court_id}@bench.example.mx",
            role="court",
            court_ids=[court_id],
            court_position="judge",
        )
        db.session.flush()
        judges[court_id] = judge.id
    db.session.commit()
    return judges


def insert_wave(
    rows: list[tuple[datetime, bool]], participants: list[dict[str, Any]], first: int
) -> list[int]:
    """Write one wave of contacts (and a delivered reminder for every other one); their ids."""
    from sqlalchemy import insert

    from telejt.extensions import db
    from telejt.planning.models import Contact
    from telejt.sms.models import OutboundMessage

    moment = datetime.now(UTC)
    contacts = []
    for n, (deadline, _) in enumerate(rows, start=first):
        participant = participants[n % len(participants)]
        row = benchlib.contact_row(
            0, participant, deadline - timedelta(minutes=15), moment, plan_key=f"bench:{n}"
        )
        row.pop("id")
        contacts.append(row)
    ids = list(db.session.scalars(insert(Contact.__table__).returning(Contact.id), contacts))  # type: ignore[arg-type]  # a Table
    messages = [
        {
            "participant_id": contacts[i]["participant_id"],
            "contact_id": contact_id,
            "purpose": "reminder",
            "idempotency_key": f"bench:{contact_id}:reminder",
            "params": {"before_min": 60, "confirm": False, "plan_prompt": False},
            "due_at": contacts[i]["starts_at"] - timedelta(hours=1),
            "status": "delivered",
            "to_phone": "+52 81 0000 0000",
            "provider_sid": f"SMbench{contact_id}",
            "attempts": 1,
            "sent_at": contacts[i]["starts_at"] - timedelta(hours=1),
            "created_at": moment,
        }
        for i, contact_id in enumerate(ids)
        if (first + i) % 2 == 0
    ]
    if messages:
        db.session.execute(insert(OutboundMessage.__table__), messages)  # type: ignore[arg-type]  # a Table
    db.session.commit()
    return ids


def wait_for_planner(engine: Any, timeout: float = 300) -> int:
    """Until the scheduler's first planning pass is over (planned contacts stop growing)."""
    from sqlalchemy import text

    last, stable, deadline = -1, 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            beats = connection.execute(text("SELECT count(*) FROM scheduler_heartbeats")).scalar()
            planned = connection.execute(
                text("SELECT count(*) FROM contacts WHERE plan_key LIKE 'plan:%'")
            ).scalar()
        if beats and planned == last and planned:
            stable += 1
            if stable >= 4:
                return int(planned)
        else:
            stable = 0
        last = planned
        time.sleep(1)
    sys.exit("the scheduler did not finish planning")


def report(
    wave_ids: list[int], deadlines: list[tuple[datetime, bool]], clients: list[Judge]
) -> bool:
    """Print the latencies and check every alert reached its court's judge once; passed?"""
    from sqlalchemy import select

    from telejt.alerts.models import Alert
    from telejt.extensions import db
    from telejt.planning.models import Contact

    contacts = {
        c.id: c for c in db.session.scalars(select(Contact).where(Contact.id.in_(wave_ids)))
    }
    alerts = {
        a.id: a for a in db.session.scalars(select(Alert).where(Alert.contact_id.in_(wave_ids)))
    }
    bursts = {d for d, burst in deadlines if burst}
    problems: list[str] = []
    statuses = Counter(c.status for c in contacts.values())
    if statuses != Counter({"missed": len(wave_ids)}):
        problems.append(f"contact statuses {dict(statuses)}")
    per_contact = Counter(a.contact_id for a in alerts.values())
    if len(per_contact) != len(wave_ids) or max(per_contact.values(), default=0) != 1:
        problems.append(f"{len(per_contact)} contacts with an alert of {len(wave_ids)}")
    receipts: Counter[int] = Counter()
    latency: dict[str, list[float]] = {"all": [], "bursts": [], "spread": []}
    watcher_lag, delivery = [], []
    other = 0
    for judge in clients:
        for received_at, payload in judge.alerts:
            alert = alerts.get(payload["id"])
            if (
                alert is None
                or alert.contact_id != payload["contact_id"]
                or alert.created_at.astimezone(UTC).isoformat() != payload["created_at"]
            ):
                other += 1  # a planned contact's, or another telejt's on this Redis server
                continue
            if alert.court_id != judge.court_id:
                problems.append(f"alert {alert.id} reached the judge of another court")
                continue
            receipts[alert.id] += 1
            deadline = contacts[alert.contact_id].deadline_at
            value = received_at - deadline.timestamp()
            latency["all"].append(value)
            latency["bursts" if deadline in bursts else "spread"].append(value)
            watcher_lag.append((alert.created_at - deadline).total_seconds())
            delivery.append(received_at - alert.created_at.timestamp())
    missing = [a for a in alerts if receipts[a] == 0]
    twice = [a for a, n in receipts.items() if n > 1]
    if missing:
        problems.append(f"{len(missing)} alerts never reached their judge")
    if twice:
        problems.append(f"{len(twice)} alerts reached their judge more than once")
    dropped = [j.court_id for j in clients if j.disconnected_at is not None]
    if dropped:
        problems.append(f"clients of courts {dropped} were disconnected")

    once = sum(1 for n in receipts.values() if n == 1)
    print(
        f"   contacts {len(wave_ids)} ({len(latency['bursts'])} in bursts); "
        f"alerts {len(alerts)}; received once {once}; other alert events {other}"
    )
    for name, values in latency.items():
        print(f"   deadline → client ({name}): {summary(values)}")
    print(f"   deadline → alert created_at (watcher): {summary(watcher_lag)}")
    print(f"   created_at → client (commit, Redis, web): {summary(delivery)}")
    if problems:
        print("   CHECK FAILED: " + "; ".join(problems))
        return False
    print("   check: every alert reached its court's judge exactly once, and no other judge")
    return True


def main() -> int:
    """Seed, start web and scheduler processes, connect judges, write contacts, measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=600)
    parser.add_argument("--participants", type=int, default=80)
    parser.add_argument("--spread", type=float, default=180, help="seconds deadlines span")
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--burst-size", type=int, default=100)
    parser.add_argument(
        "--lead", type=float, default=20, help="least seconds from write to deadline"
    )
    parser.add_argument("--waves", type=int, default=6)
    parser.add_argument("--schedulers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=600, help="gunicorn --threads")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    os.environ["SECRET_KEY"] = SECRET_KEY
    benchlib.header("deadline → live event", database_url)
    load_before = benchlib.load_average()

    benchlib.reset_database(database_url)
    app = benchlib.make_app(database_url, TELEJT_PUBLIC_URL=public_url, SECRET_KEY=SECRET_KEY)
    from sqlalchemy import select

    from telejt.extensions import db
    from telejt.participants.models import Participant

    with app.app_context():
        judges = seed(args.participants, datetime.now(UTC))
        participants = [
            {"id": p.id, "protocol_id": p.protocol_id, "protocol_version": p.protocol_version,
             "phase_id": p.phase_id}
            for p in db.session.scalars(select(Participant).order_by(Participant.id))
        ]  # fmt: skip
        engine = db.engine
    cookies = {
        court_id: benchlib.login_cookie(app, judge_id) for court_id, judge_id in judges.items()
    }

    env = {
        **os.environ,
        "TELEJT_ENV": "development",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TELEJT_PUBLIC_URL": public_url,
        "TELEJT_SMS_BACKEND": "console",
        "TELEJT_INSTANCE_DIR": tempfile.mkdtemp(prefix="telejt-bench-"),
        "PYTHONUNBUFFERED": "1",
    }
    bindir = Path(sys.executable).parent
    logs = Path(tempfile.mkdtemp(prefix="bench-deadline-logs-"))
    web = subprocess.Popen(
        [str(bindir / "gunicorn"), "--worker-class", "gthread", "--workers", "1",
         "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         "telejt:create_app()"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(logs / "web.log").open("w"),
    )  # fmt: skip
    schedulers = [
        subprocess.Popen(
            [str(bindir / "telejt"), "scheduler", "run"],
            env=env,
            cwd=ROOT,
            stdout=(logs / f"scheduler{i}.out").open("w"),
            stderr=(logs / f"scheduler{i}.log").open("w"),
        )
        for i in range(args.schedulers)
    ]
    print(f"   logs in {logs}")
    clients: list[Judge] = []
    ok = False
    try:
        wait_for_port(port, web, "web process")
        planned = wait_for_planner(engine)
        print(f"   scheduler up; its first pass planned {planned} contacts")
        for court_id, cookie in cookies.items():
            judge = Judge(court_id, cookie)
            judge.connect(public_url)
            clients.append(judge)
        time.sleep(1)  # let the joins and the Redis subscription settle

        rng = random.Random(args.seed)
        first_deadline = datetime.now(UTC) + timedelta(seconds=args.lead + 2)
        deadlines = plan_deadlines(first_deadline, args, rng)
        segment = timedelta(seconds=args.spread / args.waves)
        wave_ids: list[int] = []
        written = 0
        load_during = []
        for wave in range(args.waves):
            until = first_deadline + segment * (wave + 1)
            rows = [d for d in deadlines[written:] if wave == args.waves - 1 or d[0] < until]
            write_at = first_deadline + segment * wave - timedelta(seconds=args.lead)
            pause = (write_at - datetime.now(UTC)).total_seconds()
            if pause > 0:
                time.sleep(pause)
            load_during.append(benchlib.load_average())
            with app.app_context():
                wave_ids += insert_wave(rows, participants, written)
            earliest = min((d for d, _ in rows), default=None)
            if earliest is not None:
                ahead = (earliest - datetime.now(UTC)).total_seconds()
                print(f"   wave {wave + 1}: {len(rows)} contacts written {ahead:.1f} s ahead")
            written += len(rows)

        last_deadline = deadlines[-1][0]
        drain_until = time.monotonic() + (last_deadline - datetime.now(UTC)).total_seconds() + 30
        while time.monotonic() < drain_until:
            received = sum(len(j.alerts) for j in clients)
            if received >= len(deadlines) and datetime.now(UTC) > last_deadline:
                break
            time.sleep(0.5)
        time.sleep(2)  # a duplicate would have arrived by now
        load_after = benchlib.load_average()
        with app.app_context():
            ok = report(wave_ids, deadlines, clients)
        print(
            f"   {args.spread:.0f} s spread, {args.bursts} bursts of {args.burst_size}, "
            f"written ≥ {args.lead:.0f} s ahead in {args.waves} waves; "
            f"{args.schedulers} scheduler process(es), {len(clients)} judges"
        )
        print(f"   load average before {load_before}")
        waves = " / ".join(load_during[:1] + load_during[-1:])
        print(f"   load average at the first and the last wave: {waves}")
        print(f"   load average after {load_after}")
        print(f"   date {benchlib.utc_now():%Y-%m-%d %H:%M:%S} UTC")
    finally:
        for judge in clients:
            threading.Thread(target=judge.client.disconnect, daemon=True).start()
        time.sleep(0.5)
        for process in (*schedulers, web):
            process.send_signal(signal.SIGTERM)
        for process in (*schedulers, web):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
