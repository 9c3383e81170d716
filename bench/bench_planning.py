"""Planning: ``plan_all()`` over enrolled participants' 14-day horizon, timed.

Seeds (with bulk inserts) active participants with their consents, spread over
the Mexican zones (Tijuana, Mexico_City, Cancun, Hermosillo, Monterrey,
Ciudad_Juarez, Matamoros, Mazatlan), phases 1 to 4 with as many weekly session
slots as their phase asks, one in ten in English; nothing planned yet. Then
times the first ``plan_all()`` (every contact and reminder created) and a
second one (nothing to change: what the planner job costs every 10 minutes).

telejt's clock is frozen at --at so the horizon is the same on every run.

    PYTHONPATH=. .venv/bin/python bench/bench_planning.py --db both
"""

from __future__ import annotations

import cProfile
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib

DEFAULT_AT = "2026-03-03T18:00:00+00:00"


def run(url: str, participants: int, at: datetime, horizon: int, profile: bool, top: int) -> bool:
    """Seed, plan twice, count; print the figures. True if the second pass changed nothing."""
    from sqlalchemy import func, select

    from telejt import clock
    from telejt.extensions import db
    from telejt.planning.models import Contact
    from telejt.planning.services import plan_all
    from telejt.sms.models import OutboundMessage

    benchlib.header(f"plan_all() over {participants:,} participants, {horizon}-day horizon", url)
    benchlib.reset_database(url)
    app = benchlib.make_app(url, TELEJT_PLANNING_HORIZON_DAYS=horizon)
    profiler = cProfile.Profile() if profile else None

    def counts() -> tuple[int, int]:
        contacts = db.session.scalar(select(func.count()).select_from(Contact)) or 0
        messages = db.session.scalar(select(func.count()).select_from(OutboundMessage)) or 0
        db.session.commit()
        return contacts, messages

    clock.freeze(at)
    try:
        with app.app_context():
            with benchlib.Timer() as seeding:
                benchlib.seed_participants(participants, at)
            db.session.remove()
            print(f"   seeded in {seeding.seconds:.1f} s; load average {benchlib.load_average()}")
            passes = []
            for label in ("first plan", "re-plan (no change)"):
                cpu = time.process_time()
                with benchlib.Timer() as timer:
                    if profiler and label == "first plan":
                        profiler.enable()
                    planned = plan_all()
                    if profiler and label == "first plan":
                        profiler.disable()
                cpu = time.process_time() - cpu
                db.session.remove()
                contacts, messages = counts()
                passes.append((contacts, messages))
                print(
                    f"   {label}: {planned:,} participants in {timer.seconds:.1f} s "
                    f"({planned / timer.seconds:,.0f}/s; process CPU {cpu:.1f} s); "
                    f"now {contacts:,} contacts, {messages:,} messages; "
                    f"load average {benchlib.load_average()}"
                    + (" [under cProfile: slower than real]" if profiler and not passes[1:] else "")
                )
            db.session.remove()
    finally:
        clock.freeze(None)
        with app.app_context():
            db.engine.dispose()
    if profiler:
        benchlib.print_profile(profiler, top)
    ok = passes[0] == passes[1] and passes[0][0] > 0
    if not ok:
        print("   CHECK FAILED: the second plan_all() changed the plan")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Parse options, run on each database asked for."""
    parser = benchlib.database_parser(__doc__)
    parser.add_argument("--participants", type=int, default=10_000, help="default %(default)s")
    parser.add_argument("--horizon", type=int, default=14, help="days (default %(default)s)")
    parser.add_argument("--at", default=DEFAULT_AT, help="telejt's frozen clock, %(default)s")
    parser.add_argument("--profile", action="store_true", help="profile the first plan_all()")
    parser.add_argument("--top", type=int, default=30, help="profile lines (default %(default)s)")
    args = parser.parse_args(argv)
    at = datetime.fromisoformat(args.at).astimezone(UTC)
    ok = True
    for url in benchlib.database_urls(args.db, args.sqlite_url, args.postgres_url):
        ok &= run(url, args.participants, at, args.horizon, args.profile, args.top)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
