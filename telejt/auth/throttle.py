"""Slowing down password guessing, per account and per remote address.

Per account, the count and the lock live on the staff row (``failed_logins``,
``locked_until``): five failures lock the account for 15 minutes, and every
further five double the lock, up to a day. A success clears both.

Per address, the window is in the database: every failed login is written to
the audit log with its remote address, and an address with too many failures
in the last 15 minutes is refused. Counting rows that must be written anyway
needs no new table, is shared by every web process (several single-worker
instances run behind the balancer), survives restarts and reads the one clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from telejt.audit.models import AuditEvent
from telejt.audit.services import record_access
from telejt.auth.models import StaffUser
from telejt.clock import now
from telejt.extensions import db

FAILURES_BEFORE_LOCK = 5
FIRST_LOCK = timedelta(minutes=15)
LONGEST_LOCK = timedelta(hours=24)
ADDRESS_WINDOW = timedelta(minutes=15)
#: an office behind one NAT address has many users: allow several accounts' worth of typos
ADDRESS_MAX_FAILURES = 20
FAILED_LOGIN = "auth.login_failed"


def is_locked(user: StaffUser) -> bool:
    """Whether the account is locked right now."""
    return user.locked_until is not None and user.locked_until > now()


def address_is_throttled(remote_addr: str | None) -> bool:
    """Whether this address failed too often within the window."""
    if not remote_addr:
        return False
    failures = db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == FAILED_LOGIN,
            AuditEvent.remote_addr == remote_addr,
            AuditEvent.at > now() - ADDRESS_WINDOW,
        )
    )
    return (failures or 0) >= ADDRESS_MAX_FAILURES


def lock_duration(failures: int) -> timedelta:
    """How long the account stays locked after this many consecutive failures."""
    doublings = failures // FAILURES_BEFORE_LOCK - 1
    return min(FIRST_LOCK * (2 ** max(doublings, 0)), LONGEST_LOCK)


def record_failed_login(user: StaffUser | None, reason: str) -> datetime | None:
    """Count a failure (audited); returns the lock's end when this failure locks the account."""
    record_access(
        user.id if user else None,
        FAILED_LOGIN,
        "staff_user",
        user.id if user else None,
        detail={"reason": reason},
    )
    if user is None or reason == "locked":
        return None
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins % FAILURES_BEFORE_LOCK:
        return None
    user.locked_until = now() + lock_duration(user.failed_logins)
    record_access(
        user.id,
        "auth.account_locked",
        "staff_user",
        user.id,
        detail={"failures": user.failed_logins, "until": user.locked_until.isoformat()},
    )
    return user.locked_until


def record_successful_login(user: StaffUser) -> None:
    """A good password: the failure count starts again (audited)."""
    user.failed_logins = 0
    user.locked_until = None
    record_access(user.id, "auth.login", "staff_user", user.id)
