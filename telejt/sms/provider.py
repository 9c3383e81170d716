"""The SMS provider's health: a circuit breaker over dispatch, and outages on record.

When the provider cannot be reached, sending message after message only turns
each into a failure (and, before this, each into a review with its own alert:
about 240 an hour). So each scheduler process counts its consecutive transport
failures; at ``TELEJT_SMS_BREAKER_FAILURES`` it opens an outage:

- dispatch pauses in every scheduler process: nothing is claimed, so nothing is
  lost and no attempt is spent;
- one "SMS provider unreachable" system alert reaches the coordinators (a row of
  ``sms_provider_outages``, a live event to every court's team room and a banner
  on their pages) — one per outage, however many processes saw it fail;
- every so often (15 s, doubling to 5 minutes, with jitter) one process probes the
  provider with a request that sends nothing (Twilio: fetch the account); when it
  answers, the outage ends, dispatch resumes by itself and the coordinators are
  told;
- a miss whose reminders could not go out meanwhile is the system's (see
  :func:`outage_between`, used by the deadline watcher's attribution).

A 429 (rate limit) is not an outage: the process holds its dispatch for the
``Retry-After`` the provider asked for.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from telejt.clock import now
from telejt.extensions import Base, db
from telejt.sqltypes import UTCDateTime

log = logging.getLogger(__name__)

FIRST_PROBE_AFTER = timedelta(seconds=15)
LONGEST_PROBE_INTERVAL = timedelta(minutes=5)
JITTER = 0.2


class SmsProviderOutage(Base):
    """A time the SMS provider could not be reached and dispatch paused.

    One row per outage, whatever the number of scheduler processes: the open one
    (``open_marker`` 1; a unique column, so two processes cannot open two) pauses
    dispatch; ``ended_at`` says when it resumed.
    """

    __tablename__ = "sms_provider_outages"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: 1 while the outage lasts, NULL after: unique, so at most one is open
    open_marker: Mapped[int | None] = mapped_column(Integer, unique=True)
    #: failed sends and probes during the outage
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    #: when a scheduler may next ask the provider whether it is back
    next_probe_at: Mapped[datetime] = mapped_column(UTCDateTime)
    probe_interval_seconds: Mapped[int] = mapped_column(Integer)


def _jittered(interval: timedelta) -> timedelta:
    return interval * random.uniform(1 - JITTER, 1 + JITTER)


def backoff(attempt: int, base: timedelta, longest: timedelta) -> timedelta:
    """``base`` doubled per attempt up to ``longest``, give or take 20 %."""
    return _jittered(min(base * (2 ** max(attempt - 1, 0)), longest))


class _ProcessState:
    """What this process knows between dispatch passes (its loops share it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.consecutive_failures = 0
        #: monotonic time until which a 429 asked this process to hold its sends
        self.held_until = 0.0


_state = _ProcessState()


def reset_process_state() -> None:
    """Forget this process's failure count and holds (tests)."""
    with _state.lock:
        _state.consecutive_failures = 0
        _state.held_until = 0.0


def current_outage() -> SmsProviderOutage | None:
    """The open outage, if the provider is down."""
    return db.session.scalar(select(SmsProviderOutage).where(SmsProviderOutage.open_marker == 1))


def outage_between(start: datetime, end: datetime) -> bool:
    """Whether an outage overlapped the interval [start, end]."""
    found = db.session.scalar(
        select(func.count(SmsProviderOutage.id)).where(
            SmsProviderOutage.started_at <= end,
            (SmsProviderOutage.ended_at.is_(None)) | (SmsProviderOutage.ended_at >= start),
        )
    )
    return bool(found)


def record_success() -> None:
    """A send went through: the failure count starts again."""
    if _state.consecutive_failures:
        with _state.lock:
            _state.consecutive_failures = 0


def hold_for(seconds: float) -> None:
    """The provider asked this process to wait (429 Retry-After)."""
    with _state.lock:
        _state.held_until = max(_state.held_until, time.monotonic() + seconds)


def held() -> bool:
    """Whether a 429 still holds this process's sends."""
    return time.monotonic() < _state.held_until


def record_transport_failure(error: str, threshold: int) -> bool:
    """Count a failure of the provider (the caller commits); whether dispatch is now paused.

    At ``threshold`` failures in a row the outage opens (once across processes).
    """
    with _state.lock:
        _state.consecutive_failures += 1
        failures = _state.consecutive_failures
    outage = current_outage()
    if outage is not None:
        outage.failures += 1
        outage.last_error = error[:300]
        return True
    if failures < threshold:
        return False
    open_outage(error, failures)
    return True


def open_outage(error: str, failures: int) -> SmsProviderOutage:
    """Pause dispatch and tell the coordinators, unless another process just did."""
    moment = now()
    outage = SmsProviderOutage(
        started_at=moment,
        open_marker=1,
        failures=failures,
        last_error=error[:300],
        next_probe_at=moment + _jittered(FIRST_PROBE_AFTER),
        probe_interval_seconds=int(FIRST_PROBE_AFTER.total_seconds()),
    )
    try:
        with db.session.begin_nested():
            db.session.add(outage)
    except IntegrityError:  # another scheduler opened it a moment ago
        existing = current_outage()
        if existing is not None:
            return existing
        raise
    log.error("SMS provider unreachable after %d failures (%s): dispatch paused", failures, error)
    _publish_outage(outage)
    return outage


def claim_probe() -> SmsProviderOutage | None:
    """The open outage if this process may probe the provider now (one process at a time)."""
    outage = current_outage()
    moment = now()
    if outage is None or outage.next_probe_at > moment:
        return None
    interval = min(timedelta(seconds=outage.probe_interval_seconds * 2), LONGEST_PROBE_INTERVAL)
    claimed = db.session.execute(
        update(SmsProviderOutage)
        .where(
            SmsProviderOutage.id == outage.id,
            SmsProviderOutage.open_marker == 1,
            SmsProviderOutage.next_probe_at == outage.next_probe_at,
        )
        .values(
            next_probe_at=moment + _jittered(interval),
            probe_interval_seconds=int(interval.total_seconds()),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
        return None
    db.session.refresh(outage)
    return outage


def close_outage(outage: SmsProviderOutage) -> None:
    """The provider answers again: dispatch resumes (the caller commits)."""
    moment = now()
    outage.open_marker = None
    outage.ended_at = moment
    with _state.lock:
        _state.consecutive_failures = 0
    log.warning(
        "SMS provider reachable again after %s: dispatch resumes", moment - outage.started_at
    )
    _publish_outage(outage)


def probe_failed(outage: SmsProviderOutage, error: str) -> None:
    """A probe found the provider still down (the caller commits)."""
    outage.failures += 1
    outage.last_error = error[:300]


def wake_at(next_due: datetime | None) -> datetime | None:
    """When dispatch should look again: the next due message, or the next probe in an outage."""
    outage = current_outage()
    if outage is None:
        return next_due
    return outage.next_probe_at


def outage_payload(outage: SmsProviderOutage) -> dict[str, Any]:
    """The live event and page shape of an outage."""
    return {
        "id": outage.id,
        "kind": "sms_provider_unreachable",
        "started_at": outage.started_at.isoformat(),
        "ended_at": outage.ended_at.isoformat() if outage.ended_at else None,
        "failures": outage.failures,
    }


def _publish_outage(outage: SmsProviderOutage) -> None:
    """To every court's team room (coordinators), when the caller's transaction commits."""
    from telejt.courts.models import Court
    from telejt.live import publish, team_room

    db.session.flush()
    rooms = [team_room(court_id) for court_id in db.session.scalars(select(Court.id))]
    event = "system.alert" if outage.ended_at is None else "system.resolved"
    publish(event, outage_payload(outage), rooms)


def outage_for_pages() -> SmsProviderOutage | None:
    """The open outage, for the banner of coordinators' and admins' pages (None if the
    database cannot say: a banner must never break a page)."""
    try:
        return current_outage()
    except Exception:  # a page renders even when the query fails
        db.session.rollback()
        log.exception("could not read the SMS provider's state")
        return None


def register_outage_banner(app: Any) -> None:
    """Give every template ``sms_outage()`` (base.html shows the banner)."""
    app.jinja_env.globals["sms_outage"] = outage_for_pages
