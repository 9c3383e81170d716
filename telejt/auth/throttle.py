"""Slowing down password guessing: per account and address, per address, per account.

Behind ``TELEJT_PROXY_HOPS`` proxies the address is the visitor's (ProxyFix), so
one visitor's failures never count against everyone behind the same proxy.

- **Account from one address** (``login_throttles``): five failures in a row lock
  that account *for that address* for 15 minutes, and every further five double
  the lock, up to a day. Someone guessing the judge's password locks himself out,
  not the judge. A success from that address, or a new password, clears it.
- **One address**: every failed login is written to the audit log with its
  address; an address with ``ADDRESS_MAX_FAILURES`` failures in the last 15
  minutes is refused whatever the account (an office behind one NAT address has
  many users: several accounts' worth of typos).
- **One account from everywhere** (``failed_logins``, ``locked_until`` on the staff
  row): guessing spread over many addresses locks the account everywhere after
  ``ACCOUNT_MAX_FAILURES`` failures in a row without a success.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from telejt.audit.models import AuditEvent
from telejt.audit.services import record_access
from telejt.auth.models import LoginThrottle, StaffUser
from telejt.clock import now
from telejt.extensions import db

FAILURES_BEFORE_LOCK = 5
FIRST_LOCK = timedelta(minutes=15)
LONGEST_LOCK = timedelta(hours=24)
ADDRESS_WINDOW = timedelta(minutes=15)
#: an office behind one NAT address has many users: allow several accounts' worth of typos
ADDRESS_MAX_FAILURES = 20
#: failures in a row from any addresses before the account locks everywhere
ACCOUNT_MAX_FAILURES = 50
FAILED_LOGIN = "auth.login_failed"


def _throttle(user: StaffUser, remote_addr: str | None) -> LoginThrottle | None:
    if not remote_addr:
        return None
    return db.session.get(LoginThrottle, (user.id, remote_addr))


def is_locked(user: StaffUser, remote_addr: str | None = None) -> bool:
    """Whether this account is locked right now, everywhere or for this address."""
    moment = now()
    if user.locked_until is not None and user.locked_until > moment:
        return True
    row = _throttle(user, remote_addr)
    return row is not None and row.locked_until is not None and row.locked_until > moment


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
    """How long the lock lasts after this many consecutive failures."""
    doublings = failures // FAILURES_BEFORE_LOCK - 1
    # typeshed types int ** int as Any (a negative power gives a float)
    factor: int = 2 ** max(doublings, 0)
    return min(FIRST_LOCK * factor, LONGEST_LOCK)


def record_failed_login(
    user: StaffUser | None, reason: str, remote_addr: str | None = None
) -> datetime | None:
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
    moment = now()
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins % ACCOUNT_MAX_FAILURES == 0:
        user.locked_until = moment + FIRST_LOCK
        record_access(
            user.id,
            "auth.account_locked",
            "staff_user",
            user.id,
            detail={"failures": user.failed_logins, "until": user.locked_until.isoformat()},
        )
        return user.locked_until
    if not remote_addr:
        return None
    row = _throttle(user, remote_addr)
    if row is None:
        row = LoginThrottle(staff_id=user.id, remote_addr=remote_addr, failures=0)
        db.session.add(row)
    row.failures = (row.failures or 0) + 1
    row.updated_at = moment
    if row.failures % FAILURES_BEFORE_LOCK:
        return None
    row.locked_until = moment + lock_duration(row.failures)
    record_access(
        user.id,
        "auth.account_locked",
        "staff_user",
        user.id,
        detail={
            "failures": row.failures,
            "until": row.locked_until.isoformat(),
            "address": remote_addr,
        },
    )
    return row.locked_until


def record_successful_login(user: StaffUser, remote_addr: str | None = None) -> None:
    """A good password: the failure counts of the account and this address start again."""
    user.failed_logins = 0
    user.locked_until = None
    if remote_addr:
        db.session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.staff_id == user.id, LoginThrottle.remote_addr == remote_addr
            )
        )
    record_access(user.id, "auth.login", "staff_user", user.id)


def clear_locks(user: StaffUser) -> None:
    """A new password: every lock of the account goes (not committed)."""
    user.failed_logins = 0
    user.locked_until = None
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.staff_id == user.id))
