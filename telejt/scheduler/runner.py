"""The scheduler: APScheduler drives telejt's loops; the database holds the plan.

Jobs live in memory with fixed ids (no shared job store). Several scheduler
processes may run at once: the outbox and the contacts are claimed with row
locks, so each message is sent and each deadline settled once. The dispatcher
and the deadline watcher sleep until the next due message or deadline (at most
``MAX_SLEEP``, so work planned by another process is never left waiting long).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from flask import Flask, current_app

from telejt.clock import now
from telejt.extensions import db
from telejt.scheduler.models import SchedulerHeartbeat
from telejt.scheduler.wakeup import SCHEDULER_KEY
from telejt.scheduler.workers import worker_name
from telejt.shutdown import request_stop

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = timedelta(seconds=10)
#: a dispatch step (one send, one commit) this much longer than a send may take is stuck
STUCK_MARGIN = timedelta(seconds=30)
#: SIGTERM to exit: the loops finish their step and give back what they hold well within it
SHUTDOWN_LIMIT_SECONDS = 9.0
PLAN_EVERY = timedelta(minutes=10)
RETENTION_EVERY = timedelta(days=1)
RECOVER_EVERY = timedelta(seconds=60)
#: the longest the dispatcher and the watcher sleep without looking
MAX_SLEEP = timedelta(seconds=15)
MIN_SLEEP = timedelta(milliseconds=100)


def beat() -> None:
    """Record that this scheduler process is alive and working (read by /readyz).

    A process whose dispatch loop has been stuck on one step for longer than a send
    may take does not beat: its heartbeat goes stale, readiness says so, and its
    claims are settled by recovery (in another scheduler, or in this one's own
    recovery job) once the lease has passed.
    """
    from telejt.sms.dispatch import stuck_dispatch_loops
    from telejt.sockets.redis_queue import retry_owed_resync

    retry_owed_resync()
    stuck = stuck_dispatch_loops(
        timedelta(seconds=current_app.config["TELEJT_SMS_SEND_TIMEOUT"]) + STUCK_MARGIN
    )
    if stuck:
        log.error("dispatch loop(s) %s stuck: not beating, so recovery takes their claims", stuck)
        return
    name = worker_name()
    row = db.session.get(SchedulerHeartbeat, name)
    if row is None:
        db.session.add(SchedulerHeartbeat(worker=name, started_at=now(), beat_at=now()))
    else:
        row.beat_at = now()
    db.session.commit()


def run_once() -> dict[str, int]:
    """Everything due up to the clock's now, once: what ``telejt scheduler tick`` does."""
    from telejt.planning.progress import recognise_progress
    from telejt.planning.services import plan_all
    from telejt.planning.watcher import watch_deadlines
    from telejt.sms.dispatch import dispatch_due_messages, recover_interrupted_claims

    beat()
    recovered = recover_interrupted_claims()
    planned = plan_all()
    settled = watch_deadlines()
    recognised = recognise_progress()
    report = dispatch_due_messages()
    return {
        "recovered": recovered,
        "planned": planned,
        "settled": settled,
        "recognised": recognised,
        "sent": report.sent,
        "skipped": report.skipped,
        "retried": report.retried,
        "failed": report.failed,
        "review": report.unknown,
        "provider_paused": int(report.paused),
    }


def _wake_time(next_at: datetime | None) -> datetime:
    """When a loop looks again: at its next due instant, however close, and within MAX_SLEEP.

    Only work already due that this process could not take (rows locked by another
    scheduler) waits MIN_SLEEP, so that it is looked at again without spinning.
    """
    moment = now()
    if next_at is None:
        return moment + MAX_SLEEP
    if next_at <= moment:
        return moment + MIN_SLEEP
    return min(next_at, moment + MAX_SLEEP)


def _dispatch_and_rearm() -> None:
    from telejt.sms.dispatch import dispatch_in_threads, dispatch_wake_at

    report = dispatch_in_threads()
    if report.handled:
        log.info(
            "dispatch: %d sent, %d skipped or deferred, %d to retry, %d failed",
            report.sent,
            report.skipped,
            report.retried,
            report.failed,
        )
    _rearm("dispatcher", dispatch_wake_at())


def _watch_and_rearm() -> None:
    from telejt.planning.watcher import next_deadline_at, watch_deadlines

    total = 0
    while True:
        settled = watch_deadlines()
        total += settled
        next_at = next_deadline_at()
        # a deadline that passed while this pass settled others: settle it now, not in
        # MIN_SLEEP; if nothing was settled, what is due is another scheduler's
        if not settled or next_at is None or next_at > now():
            break
    if total:
        log.info("watcher: %d contacts settled at their deadline", total)
    _rearm("watcher", next_at)


def _plan() -> None:
    from telejt.planning.progress import recognise_progress
    from telejt.planning.services import plan_all

    planned = plan_all()
    if planned:
        log.info("planner: %d participants planned", planned)
    # progress moves by the day: the planner's pace is enough to recognise it
    recognised = recognise_progress()
    if recognised:
        log.info("progress: %d phase reviews and milestones recognised", recognised)


def _purge_audit() -> None:
    from telejt.audit.retention import purge_expired_audit_events

    purge_expired_audit_events()


def _recover() -> None:
    from telejt.sms.dispatch import recover_interrupted_claims

    recovered = recover_interrupted_claims()
    if recovered:
        log.warning("recovery: %d messages of interrupted claims settled", recovered)


def _rearm(job_id: str, next_at: datetime | None) -> None:
    scheduler: BaseScheduler | None = current_app.extensions.get(SCHEDULER_KEY)
    if scheduler is not None and scheduler.running:
        scheduler.modify_job(job_id, next_run_time=_wake_time(next_at))


def _in_app(app: Flask, job: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                job()
            except Exception:
                db.session.rollback()
                log.exception("scheduler job %s failed", job.__name__)

    run.__name__ = job.__name__
    return run


def build_scheduler(app: Flask, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """A scheduler with telejt's loop jobs."""
    scheduler = scheduler or BackgroundScheduler(timezone="UTC")
    defaults: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
    start = now()
    # look for dead claims at least twice per lease, so they are settled soon after it ends
    lease = timedelta(seconds=app.config["TELEJT_CLAIM_LEASE_SECONDS"])
    recover_every = max(min(RECOVER_EVERY, lease / 2), timedelta(seconds=1))
    heartbeat_every = max(min(HEARTBEAT_EVERY, lease / 3), timedelta(milliseconds=500))
    for job_id, job, every in (
        ("heartbeat", beat, heartbeat_every),
        ("recover", _recover, recover_every),
        ("planner", _plan, PLAN_EVERY),
        ("audit_retention", _purge_audit, RETENTION_EVERY),
        ("watcher", _watch_and_rearm, MAX_SLEEP),
        ("dispatcher", _dispatch_and_rearm, MAX_SLEEP),
    ):
        scheduler.add_job(
            _in_app(app, job),
            "interval",
            seconds=every.total_seconds(),
            id=job_id,
            next_run_time=start,
            **defaults,
        )
    app.extensions[SCHEDULER_KEY] = scheduler
    return scheduler


def start_background_scheduler(app: Flask) -> BaseScheduler:
    """Start the scheduler in a background thread of this process (``telejt serve``)."""
    scheduler = build_scheduler(app)
    scheduler.start()
    return scheduler


def run_forever(
    app: Flask, stop: threading.Event | None = None, *, hard_exit: bool = False
) -> None:
    """The ``telejt scheduler run`` process: run the loops until SIGTERM/SIGINT.

    On the signal every loop finishes the step it is in (a provider call waits a few
    seconds at most), gives back what it claimed and never sent, and returns; the
    process ends within SHUTDOWN_LIMIT_SECONDS. With ``hard_exit`` (the command, not
    tests) a process still not done by then exits anyway: what it held is settled by
    lease recovery, as after a crash.
    """
    import os
    import signal

    stop = stop or threading.Event()
    scheduler = build_scheduler(app)

    def on_signal(*_: Any) -> None:
        request_stop()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    scheduler.start()
    log.info("scheduler %s running", worker_name())
    try:
        stop.wait()
    finally:
        request_stop()
        if hard_exit:
            timer = threading.Timer(SHUTDOWN_LIMIT_SECONDS, _exit_now, args=(os.getpid(),))
            timer.daemon = True
            timer.start()
        scheduler.shutdown(wait=True)
        log.info("scheduler %s stopped", worker_name())


def _exit_now(pid: int) -> None:
    import os

    log.error("scheduler %s did not stop in %.0f s: exiting", pid, SHUTDOWN_LIMIT_SECONDS)
    logging.shutdown()
    os._exit(1)
