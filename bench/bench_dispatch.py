"""Dispatch throughput: due reminders handed to an in-memory SMS backend, per second.

Seeds (with bulk inserts) participants with SMS consent, one future video session
each, and its two reminders (24 h with confirm and plan prompt, 1 h), all already
due; then times ``dispatch_due_messages()`` until the outbox is empty. The SMS
backend records instead of sending (like tests/conftest.py's RecordingSender),
so the figure is telejt's own cost: claim, per-message checks, rendering and the
one commit per message result.

telejt's clock is frozen at a Tuesday noon in Mexico City (--at) so no message
falls in a participant's quiet hours whatever the hour of the run.

    PYTHONPATH=. .venv/bin/python bench/bench_dispatch.py --db both
"""

from __future__ import annotations

import cProfile
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib

DEFAULT_AT = "2026-03-03T18:00:00+00:00"


class RecordingSender:
    """An SMS backend that keeps what it would send, in memory."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, *, to: str, body: str) -> Any:
        """Record one message and report it delivered."""
        from telejt.sms.backends import SendResult

        sid = f"SMbench{uuid.uuid4().hex}"
        self.sent.append((to, body, sid))
        return SendResult(provider_sid=sid, status="delivered")


def seed(messages: int, moment: datetime) -> None:
    """Participants, one session each, two due reminders per session."""
    from telejt.planning.models import Contact
    from telejt.sms.models import OutboundMessage

    participants = benchlib.seed_participants((messages + 1) // 2, moment)
    contacts: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    reminders = (
        (1440, {"before_min": 1440, "confirm": True, "plan_prompt": True}),
        (60, {"before_min": 60, "confirm": False, "plan_prompt": False}),
    )
    for participant in participants:
        contact_id = participant["id"]
        starts_at = moment + timedelta(days=1, minutes=30 * (contact_id % 16))
        contacts.append(benchlib.contact_row(contact_id, participant, starts_at, moment))
        for before_min, params in reminders:
            if len(outbox) == messages:
                break
            outbox.append(
                {
                    "participant_id": participant["id"],
                    "contact_id": contact_id,
                    "purpose": "reminder",
                    "idempotency_key": f"contact:{contact_id}:reminder:{before_min}m",
                    "params": params,
                    "due_at": moment - timedelta(seconds=len(outbox) % 600),
                    "status": "pending",
                    "attempts": 0,
                    "created_at": moment - timedelta(days=2),
                }
            )
    benchlib.bulk_insert(Contact.__table__, contacts)
    benchlib.bulk_insert(OutboundMessage.__table__, outbox)
    benchlib.fix_sequences(["contacts", "outbound_messages"])


def _worker(
    url: str, at: datetime, batch: int, threads: int, index: int, ready: Any, start: Any, out: Any
) -> None:
    """One more dispatcher process (as several ``telejt scheduler run``): dispatch until empty."""
    from telejt import clock
    from telejt.sms.dispatch import dispatch_in_threads

    app = benchlib.make_app(url, migrate=False)
    sender = RecordingSender()
    app.extensions["telejt.sms_sender"] = sender
    clock.freeze(at)
    with app.app_context():
        ready.put(index)
        start.wait()
        report = dispatch_in_threads(threads, limit=batch)
    out.put((report.sent, [sid for _, _, sid in sender.sent]))


def _dispatch(
    url: str, at: datetime, batch: int, workers: int, threads: int
) -> tuple[float, int, list[str]]:
    """``workers`` dispatcher processes started together: (seconds, sent, provider sids)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready, out, start = context.Queue(), context.Queue(), context.Event()
    processes = [
        context.Process(target=_worker, args=(url, at, batch, threads, i, ready, start, out))
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)
    sent, sids = 0, []
    with benchlib.Timer() as timer:
        start.set()
        for _ in processes:
            count, their_sids = out.get()
            sent += count
            sids += their_sids
    for process in processes:
        process.join()
    return timer.seconds, sent, sids


def run(
    url: str,
    messages: int,
    at: datetime,
    batch: int,
    workers: int,
    threads: int,
    profile: bool,
    top: int,
) -> bool:
    """Seed, dispatch, check; print the figures. True if every message went out once."""
    from sqlalchemy import func, select

    from telejt import clock
    from telejt.extensions import db
    from telejt.sms.dispatch import dispatch_in_threads
    from telejt.sms.models import OutboundMessage

    benchlib.header(
        f"dispatch of {messages:,} due reminders, {workers} process(es) × {threads} loop(s)", url
    )
    benchlib.reset_database(url)
    app = benchlib.make_app(url)
    sender = RecordingSender()
    app.extensions["telejt.sms_sender"] = sender
    profiler = cProfile.Profile() if profile else None
    clock.freeze(at)
    try:
        with app.app_context():
            with benchlib.Timer() as seeding:
                seed(messages, at)
            print(f"   seeded in {seeding.seconds:.1f} s; load average {benchlib.load_average()}")
            db.session.remove()
            cpu = time.process_time()
            if workers == 1:
                with benchlib.Timer() as timer:
                    if profiler:
                        profiler.enable()
                    sent = dispatch_in_threads(threads, limit=batch).sent
                    if profiler:
                        profiler.disable()
                seconds, sids = timer.seconds, [sid for _, _, sid in sender.sent]
                cpu = time.process_time() - cpu
                print(
                    f"   dispatcher process CPU: {cpu:.2f} s, {1000 * cpu / max(sent, 1):.2f} ms "
                    f"a message (a ceiling of {sent / cpu if cpu else 0:,.0f}/s for its own CPU)"
                )
            else:
                seconds, sent, sids = _dispatch(url, at, batch, workers, threads)
            statuses = dict(
                db.session.execute(
                    select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)
                ).all()
            )
            db.session.remove()
    finally:
        clock.freeze(None)
        with app.app_context():
            db.engine.dispose()
    rate = len(sids) / seconds if seconds else 0.0
    print(
        f"   sent {sent:,} in {seconds:.2f} s: {rate:,.0f} messages/s"
        + ("  [under cProfile: slower than real]" if profile else "")
    )
    print(f"   outbox afterwards: {statuses}")
    print(f"   load average after: {benchlib.load_average()}")
    ok = sent == messages == len(set(sids)) and statuses.get("delivered") == messages
    if not ok:
        print("   CHECK FAILED: not every message was sent exactly once")
    if profiler:
        benchlib.print_profile(profiler, top)
    return ok


def main(argv: list[str] | None = None) -> int:
    """Parse options, run on each database asked for."""
    parser = benchlib.database_parser(__doc__)
    parser.add_argument("--messages", type=int, default=100_000, help="default %(default)s")
    parser.add_argument(
        "--batch", type=int, default=None, help="claim size (default: telejt's BATCH_SIZE)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="dispatcher processes running at once, like several schedulers (default 1)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="dispatch loops per process, as TELEJT_DISPATCH_THREADS (default 1)",
    )
    parser.add_argument("--at", default=DEFAULT_AT, help="telejt's frozen clock, %(default)s")
    parser.add_argument("--profile", action="store_true", help="run under cProfile, print top")
    parser.add_argument("--top", type=int, default=30, help="profile lines (default %(default)s)")
    args = parser.parse_args(argv)

    from telejt.sms.dispatch import BATCH_SIZE

    at = datetime.fromisoformat(args.at).astimezone(UTC)
    ok = True
    for url in benchlib.database_urls(args.db, args.sqlite_url, args.postgres_url):
        batch = args.batch or BATCH_SIZE
        if args.profile and args.workers != 1:
            parser.error("--profile profiles one dispatcher: use --workers 1")
        ok &= run(url, args.messages, at, batch, args.workers, args.threads, args.profile, args.top)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
