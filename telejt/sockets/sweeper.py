"""Closing the sockets of staff sessions that ended.

A socket outlives the request that opened it: a dashboard left open after its
session was ended (logout elsewhere, a new password, a deactivation, the idle or
absolute limit) would keep receiving alerts. Each web process therefore:

- closes at once, after the commit that ends a session in this process, every
  socket of this process opened with that session (:func:`close_sessions`);
- every ``SWEEP_EVERY`` seconds, checks the sessions of all its open sockets in one
  query and closes those no longer live (:func:`sweep`): sessions ended in another
  process, expired or idle ones, deactivated accounts.

The socket's session is the one its handshake's cookie named: the WSGI environ
Engine.IO keeps for each connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.http import parse_cookie

from telejt.extensions import db, socketio

log = logging.getLogger(__name__)

SWEEP_EVERY = 2.0
NAMESPACES = ("/live", "/room")
_started: set[int] = set()
_start_lock = threading.Lock()


def _socket_key_hash(app: Flask, environ: dict[str, Any] | None) -> str | None:
    """The server-side session key (hashed) named by a socket's handshake cookie, if staff."""
    from telejt.auth.sessions import SESSION_KEY, key_digest

    if not environ:
        return None
    cached = environ.get("telejt.session_key_hash")
    if cached is not None:
        return str(cached) or None
    cookie = parse_cookie(environ).get(app.config["SESSION_COOKIE_NAME"])
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]  # Flask's cookie sessions have it
    key_hash = ""
    if cookie and serializer is not None:
        try:
            data = serializer.loads(cookie)
        except Exception:  # the gate let it in, so this is a participant's or a stale cookie
            data = None
        key = data.get(SESSION_KEY) if isinstance(data, dict) else None
        if isinstance(key, str):
            key_hash = key_digest(key)
    environ["telejt.session_key_hash"] = key_hash
    return key_hash or None


def _staff_sockets(app: Flask, server: Any) -> dict[str, list[tuple[str, str, str]]]:
    """This process's staff sockets by session key hash: [(namespace, sid, eio_sid)]."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    if server is None:
        return found
    for namespace in NAMESPACES:
        for sid, eio_sid in list(server.manager.get_participants(namespace, None)):
            key_hash = _socket_key_hash(app, server.environ.get(eio_sid))
            if key_hash is not None:
                found.setdefault(key_hash, []).append((namespace, sid, eio_sid))
    return found


def _close(server: Any, sockets: Iterable[tuple[str, str, str]]) -> int:
    closed = 0
    for namespace, sid, eio_sid in sockets:
        try:
            server.disconnect(sid, namespace=namespace)
            closed += 1
        except Exception:  # already gone
            log.debug("socket %s already closed", sid)
        # the Engine.IO connection too: it is what holds a server thread
        try:
            if eio_sid in server.eio.sockets:
                server.eio.disconnect(eio_sid)
        except Exception:
            log.debug("engine.io connection %s already closed", eio_sid)
    return closed


def close_sessions(app: Flask, key_hashes: Iterable[str]) -> int:
    """Close this process's sockets opened with these (ended) sessions; how many."""
    wanted = set(key_hashes)
    server = socketio.server  # type: ignore[attr-defined]  # not in the stubs
    sockets = _staff_sockets(app, server)
    return _close(server, (s for key_hash in wanted for s in sockets.get(key_hash, ())))


def sweep(app: Flask, server: Any = None) -> int:
    """Close this process's staff sockets whose session is no longer live; how many."""
    from telejt.auth.models import StaffSession, StaffUser
    from telejt.clock import now

    server = server or socketio.server  # type: ignore[attr-defined]  # not in the stubs
    sockets = _staff_sockets(app, server)
    if not sockets:
        return 0
    moment = now()
    idle = timedelta(minutes=app.config["TELEJT_SESSION_IDLE_MINUTES"])
    live = set(
        db.session.scalars(
            select(StaffSession.key_hash)
            .join(StaffUser, StaffUser.id == StaffSession.staff_id)
            .where(
                StaffSession.key_hash.in_(list(sockets)),
                StaffSession.revoked_at.is_(None),
                StaffSession.expires_at > moment,
                StaffSession.last_seen_at > moment - idle,
                StaffUser.is_active.is_(True),
            )
        )
    )
    db.session.commit()
    dead = [s for key_hash, group in sockets.items() if key_hash not in live for s in group]
    if dead:
        log.info("closing %d sockets of ended sessions", len(dead))
    return _close(server, dead)


def start_sweeper(app: Flask) -> None:
    """Run :func:`sweep` every few seconds in this web process (once per app)."""
    with _start_lock:
        if id(app) in _started:
            return
        _started.add(id(app))
    # the stubs leave out .server (python-socketio's Server)
    socketio.start_background_task(_sweep_forever, app, socketio.server)  # type: ignore[attr-defined]


def _sweep_forever(app: Flask, server: Any) -> None:
    from telejt.sockets.redis_queue import retry_owed_resync

    # ends when the Socket.IO object is bound to another app's server (tests build several)
    while socketio.server is server:  # type: ignore[attr-defined]  # not in the stubs
        socketio.sleep(SWEEP_EVERY)  # type: ignore[arg-type]  # stubs: int; it takes a float
        with app.app_context():
            try:
                sweep(app, server)
            except Exception:
                db.session.rollback()
                log.exception("socket sweep failed")
            finally:
                db.session.remove()
            retry_owed_resync()


@event.listens_for(Session, "after_commit")
def _close_after_commit(session: Session) -> None:
    ended = session.info.pop("telejt.ended_sessions", None)
    if not ended:
        return
    from flask import current_app, has_app_context

    # the stubs leave out .server (python-socketio's Server)
    if has_app_context() and socketio.server is not None:  # type: ignore[attr-defined]
        try:
            close_sessions(current_app._get_current_object(), ended)  # type: ignore[attr-defined]  # current_app is typed as the app, not its proxy
        except Exception:  # the sweep closes them within seconds anyway
            log.exception("could not close the sockets of ended sessions")


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop("telejt.ended_sessions", None)
