"""The one publisher of live events (Socket.IO namespace /live).

Services call :func:`publish`; views never emit. In the embedded setup the web
server and the scheduler share one process and one Socket.IO server. With
``REDIS_URL`` every process's Socket.IO is bound to the same Redis message
queue, so an event published by a scheduler process reaches browsers connected
to any web process. Events are sent after the transaction that made them commits.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from telejt.extensions import db, socketio

log = logging.getLogger(__name__)
NAMESPACE = "/live"
_PENDING_KEY = "telejt.live_pending"


def court_room(court_id: int) -> str:
    """Everyone who watches a court: its court users and coordinators."""
    return f"court:{court_id}"


def court_position_room(court_id: int, position: str | None) -> str:
    """The court users of one position in a court (unverified notices reach only some)."""
    return f"court:{court_id}:{position or 'judge'}"


def team_room(court_id: int) -> str:
    """A court's coordinators only (crisis and reachability matters)."""
    return f"team:{court_id}"


def therapist_room(staff_id: int) -> str:
    """One therapist."""
    return f"therapist:{staff_id}"


def publish(
    event_name: str, payload: dict[str, Any], rooms: list[str], namespace: str = NAMESPACE
) -> None:
    """Queue an event for these rooms; it is emitted when the current transaction commits.

    ``namespace``: /live by default; the session room (/room) is told through here too.
    """
    session = db.session()
    session.info.setdefault(_PENDING_KEY, []).append((event_name, payload, rooms, namespace))


def _emit_now(
    event_name: str, payload: dict[str, Any], rooms: list[str], namespace: str = NAMESPACE
) -> None:
    # One emit to all the rooms at once: a coordinator is in both his court's room and
    # its team room, and must get each event once, not once per room.
    targets = list(dict.fromkeys(rooms))
    if not targets:
        return
    try:
        # Flask-SocketIO takes a list of rooms; its stubs say one
        socketio.emit(event_name, payload, to=targets, namespace=namespace)  # type: ignore[arg-type]
    except Exception:  # a live push must never undo what was recorded
        log.exception("could not publish %s to %s", event_name, targets)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    for event_name, payload, rooms, namespace in pending or ():
        if namespace == NAMESPACE:
            _emit_now(event_name, payload, rooms)
        else:
            _emit_now(event_name, payload, rooms, namespace)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def discard_pending() -> None:
    """Forget the events the current transaction queued: a replayed past is not news."""
    db.session().info.pop(_PENDING_KEY, None)
