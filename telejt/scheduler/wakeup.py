"""Waking a loop of this process's scheduler: what the web side may ask of the scheduler.

Pages and webhooks that put something in the outbox call :func:`wake_dispatcher`
so that it goes now rather than at the dispatcher's next look. They import this
module only, never the runner: the scheduler side knows nothing of the web.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.base import BaseScheduler
from flask import current_app

from telejt.clock import now

log = logging.getLogger(__name__)

#: where the running scheduler of this process is kept in ``app.extensions``
SCHEDULER_KEY = "telejt.scheduler"


def wake(job_id: str) -> None:
    """Run a loop job now (after a change in this process moved its next deadline)."""
    scheduler: BaseScheduler | None = current_app.extensions.get(SCHEDULER_KEY)
    if scheduler is not None and scheduler.running:
        scheduler.modify_job(job_id, next_run_time=now())


def wake_dispatcher() -> None:
    """Send what was just queued now; without a scheduler in this process, nothing to do."""
    try:
        wake("dispatcher")
    except Exception:  # the message is in the outbox: the next pass sends it anyway
        log.exception("could not wake the dispatcher")
