"""Server-side staff sessions: a cookie is only as good as the row it names.

Flask's session cookie is signed, not stored: on its own, a copy of it works until
it expires, after logout and after a password change. So each login also writes a
:class:`StaffSession` row and the cookie carries a random key naming it; every
request (and every socket, see telejt.sockets) is checked against that row. Ending
the row ends the cookie everywhere: logout ends one, a password change or a
deactivation ends all of the account's, an admin may end any.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_request_context, request, session
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from telejt.auth.models import StaffSession, StaffUser
from telejt.clock import now
from telejt.extensions import db

#: the key of the session cookie that names the server-side session
SESSION_KEY = "sid"
#: the idle clock is written at most this often (not on every request)
TOUCH_EVERY = timedelta(minutes=1)
_CACHE_KEY = "telejt_staff_session"


def key_digest(key: str) -> str:
    """sha256 of a session key: what the database keeps."""
    return hashlib.sha256(key.encode()).hexdigest()


def idle_limit() -> timedelta:
    """How long a session may go unused."""
    return timedelta(minutes=current_app.config["TELEJT_SESSION_IDLE_MINUTES"])


def is_live(row: StaffSession, moment: datetime | None = None) -> bool:
    """Not ended, not past its absolute end, not idle too long, its account active."""
    moment = moment or now()
    return (
        row.revoked_at is None
        and moment < row.expires_at
        and moment < row.last_seen_at + idle_limit()
        and row.staff.is_active
    )


def start_session(user: StaffUser, *, second_factor: bool) -> StaffSession:
    """Record a new login and name it in the cookie (the caller commits)."""
    key = secrets.token_urlsafe(32)
    moment = now()
    row = StaffSession(
        staff_id=user.id,
        key_hash=key_digest(key),
        created_at=moment,
        last_seen_at=moment,
        expires_at=moment + timedelta(hours=current_app.config["TELEJT_SESSION_MAX_HOURS"]),
        second_factor_at=moment if second_factor else None,
        remote_addr=request.remote_addr if has_request_context() else None,
        user_agent=(request.user_agent.string[:300] or None) if has_request_context() else None,
    )
    db.session.add(row)
    db.session.flush()
    session[SESSION_KEY] = key
    if has_request_context():
        setattr(request, _CACHE_KEY, row)
    return row


def live_session_for(data: Mapping[str, Any]) -> StaffSession | None:
    """The live session a session cookie's contents name, or None."""
    key = data.get(SESSION_KEY)
    user_id = data.get("_user_id")
    if not isinstance(key, str) or not isinstance(user_id, str) or not user_id.isdigit():
        return None
    row = db.session.scalar(
        select(StaffSession)
        .where(StaffSession.key_hash == key_digest(key))
        .options(joinedload(StaffSession.staff))  # one query: the session and its account
    )
    if row is None or str(row.staff_id) != user_id or not is_live(row):
        return None
    return row


def current_staff_session() -> StaffSession | None:
    """The live server-side session of this request's cookie (looked up once per request).

    Kept on the request object, which lives one request or one socket event: ``g``
    may outlive a request (an app context pushed around several, as in tests).
    """
    if not has_request_context():
        return None
    if not hasattr(request, _CACHE_KEY):
        setattr(request, _CACHE_KEY, live_session_for(session))
    cached: StaffSession | None = getattr(request, _CACHE_KEY)
    return cached


def touch_current_session() -> None:
    """Move the idle clock of this request's session (once a minute at most) and commit.

    Called before the view runs, so the commit holds the touch and nothing else.
    """
    row = current_staff_session()
    if row is None:
        return
    moment = now()
    if moment - row.last_seen_at < TOUCH_EVERY:
        return
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.id == row.id)
        .values(last_seen_at=moment)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    row.last_seen_at = moment


def end_session(row: StaffSession, reason: str) -> None:
    """End one session (not committed); its sockets close once the caller commits."""
    if row.revoked_at is None:
        row.revoked_at = now()
        row.end_reason = reason
    _sockets_to_close().add(row.key_hash)


def end_all_sessions(user: StaffUser, reason: str, *, keep: StaffSession | None = None) -> int:
    """End every open session of an account but ``keep`` (not committed); returns how many."""
    rows = db.session.scalars(
        select(StaffSession).where(
            StaffSession.staff_id == user.id, StaffSession.revoked_at.is_(None)
        )
    ).all()
    ended = 0
    for row in rows:
        if keep is not None and row.id == keep.id:
            continue
        end_session(row, reason)
        ended += 1
    return ended


def open_sessions(user: StaffUser) -> list[StaffSession]:
    """The account's sessions that still work, newest first."""
    rows = db.session.scalars(
        select(StaffSession)
        .where(StaffSession.staff_id == user.id, StaffSession.revoked_at.is_(None))
        .order_by(StaffSession.created_at.desc())
    ).all()
    moment = now()
    return [row for row in rows if is_live(row, moment)]


def _sockets_to_close() -> set[str]:
    """Key hashes of sessions ended in this transaction: their sockets close after commit."""
    pending: set[str] = db.session().info.setdefault("telejt.ended_sessions", set())
    return pending
