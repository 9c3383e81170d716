"""Socket.IO namespace /room: the waiting room and WebRTC signaling of one session.

Two kinds of peers connect: the participant, with his link's token in the
connection's ``auth`` (``{"token": …}``), and the session's therapist, with his
login session and ``{"contact_id": …}``. Anyone else is refused. The participant
waits in the session's waiting room until the therapist admits him (an ``admit``
presence event); told so, his page asks to ``enter`` and only then, checked
against the database, joins the session's signaling room. Offers, answers and
ICE candidates are relayed only inside that room, so they reach only the other
side of this one session. Messages go to rooms, never to remembered connection
ids, so the two sides may be connected to different web processes (Redis queue).

He may drop and come back, or open his link in a second tab: every connection of his
joins his own room (``him:<id>``), and a new one tells the older ones to stand down
(``state: elsewhere``). A disconnection followed by a later connection of his records
no leave, so the therapist never reads "salió" while he is there. Back within
``services.RECONNECT_GRACE`` of a leave, he goes straight back in (``state:
admitted, resumed``) without a new admission. A refused connection says why
(``ended``, ``cancelled``…), and his page reports what failed on its side
(``trouble``), which the therapist is shown and the evidence keeps.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_login import current_user
from flask_socketio import join_room, leave_room
from socketio.exceptions import ConnectionRefusedError
from sqlalchemy import select

from telejt.extensions import db, socketio
from telejt.planning.models import Contact
from telejt.sessions import services, waiting
from telejt.sessions.models import PresenceEvent
from telejt.sessions.rooms import ROOM_NAMESPACE as NAMESPACE
from telejt.sessions.rooms import participant_room, session_room, waiting_room

log = logging.getLogger(__name__)
#: signaling message types relayed as they are ("media": one side's camera or sound-only choice)
SIGNAL_TYPES = ("offer", "answer", "candidate", "media")
#: cap on one relayed message: an SDP is a few kB
MAX_SIGNAL_CHARS = 20_000
#: link verdicts his page is told when the room refuses him, so it can say why
REFUSAL_REASONS = ("unknown", "too_early", "ended", "closed", "cancelled", "phone")


@dataclass
class Peer:
    """One connection to /room."""

    contact_id: int
    role: str  # "participant" or "therapist"
    staff_id: int | None = None
    admitted: bool = False
    #: the participant's join or reconnect event of this connection: a later one means
    #: another connection (a second tab, his reconnect after a drop) took over from it
    event_id: int | None = None


_peers: dict[str, Peer] = {}
_lock = threading.Lock()


def _peer() -> Peer | None:
    with _lock:
        return _peers.get(request.sid)  # type: ignore[attr-defined]  # set by Flask-SocketIO


def _client_detail() -> str:
    return (request.headers.get("User-Agent") or "")[:200]


def _emit(event: str, payload: dict[str, Any], *rooms: str) -> None:
    # to rooms, not to remembered sids: with REDIS_URL the other side of the session
    # may be connected to another web process, and rooms reach across processes
    for room in rooms:
        socketio.emit(event, payload, to=room, namespace=NAMESPACE)


def on_connect(auth: Any = None) -> bool:
    """Admit the connection only for this session's participant or therapist."""
    auth = auth if isinstance(auth, dict) else {}
    token = auth.get("token")
    if isinstance(token, str):
        return _participant_connects(token)
    contact_id = auth.get("contact_id")
    if (
        not current_user.is_authenticated
        or not isinstance(contact_id, int)
        or isinstance(contact_id, bool)  # JSON true is no session number
    ):
        return False
    console_contact = db.session.get(Contact, contact_id)
    if console_contact is None or not services.may_run_session(current_user, console_contact):
        return False
    services.therapist_joined(console_contact, current_user)
    db.session.commit()
    sid = request.sid  # type: ignore[attr-defined]  # set by Flask-SocketIO
    with _lock:
        _peers[sid] = Peer(console_contact.id, "therapist", staff_id=current_user.id, admitted=True)
    join_room(session_room(console_contact.id))
    state = services.presence_state(console_contact)
    socketio.emit("participant", {"state": state}, to=sid, namespace=NAMESPACE)
    # an admitted participant whose therapist stepped out gets his call back
    _emit("therapist", {"state": "joined"}, participant_room(console_contact.id))
    return True


def _participant_connects(token: str) -> bool:
    """His page connects: record it, take over from his other tabs, wait or go back in."""
    check = services.check_link(token)
    if not check.may_join or check.contact is None:
        # his page says why (ended, cancelled…) instead of a bare refusal
        reason = check.verdict if check.verdict in REFUSAL_REASONS else "unknown"
        raise ConnectionRefusedError(reason)
    contact = check.contact
    sid = request.sid  # type: ignore[attr-defined]  # set by Flask-SocketIO
    item = services.participant_joined(contact, detail=_client_detail())
    db.session.commit()
    state = services.presence_state(contact)
    resumed = state == "admitted"
    with _lock:
        older = [
            other
            for other, peer in _peers.items()
            if peer.contact_id == contact.id and peer.role == "participant"
        ]
        for other in older:  # this process's older tabs stop relaying at once
            _peers[other].admitted = False
        _peers[sid] = Peer(contact.id, "participant", event_id=item.id)
    for other in older:
        for room in (session_room(contact.id), waiting_room(contact.id)):
            # the stubs leave out .server (python-socketio's Server)
            socketio.server.leave_room(other, room, namespace=NAMESPACE)  # type: ignore[attr-defined]
    # every older connection of his, on any web process, hands over to this one
    socketio.emit(
        "state",
        {"state": "elsewhere"},
        to=participant_room(contact.id),
        skip_sid=sid,
        namespace=NAMESPACE,
    )
    join_room(participant_room(contact.id))
    join_room(waiting_room(contact.id))
    if resumed:
        # back within the grace period (or a second tab): no new admission
        socketio.emit("state", {"state": "admitted", "resumed": True}, to=sid, namespace=NAMESPACE)
    else:
        socketio.emit("state", {"state": "waiting"}, to=sid, namespace=NAMESPACE)
    _emit("participant", {"state": state}, session_room(contact.id))
    return True


def on_disconnect(reason: Any = None) -> None:
    """Record the leave and tell the other side."""
    with _lock:
        peer = _peers.pop(request.sid, None)  # type: ignore[attr-defined]  # set by Flask-SocketIO
    if peer is None:
        return
    contact = db.session.get(Contact, peer.contact_id)
    if contact is None:
        return
    if peer.role == "participant":
        if _taken_over(peer):
            return  # he is still here, through the connection that took over
        services.participant_left(contact, detail=str(reason or "")[:100])
        db.session.commit()
        _emit("participant", {"state": "left"}, session_room(contact.id))
    else:
        from telejt.auth.models import StaffUser

        therapist = db.session.get(StaffUser, peer.staff_id)
        if therapist is not None:
            services.therapist_left(contact, therapist)
            db.session.commit()
        _emit("therapist", {"state": "left"}, participant_room(contact.id))


def _taken_over(peer: Peer) -> bool:
    """Whether another connection of his joined after this one (so this leave is no leave)."""
    if peer.event_id is None:
        return False
    later = db.session.scalar(
        select(PresenceEvent.id)
        .where(
            PresenceEvent.contact_id == peer.contact_id,
            PresenceEvent.actor == "participant",
            PresenceEvent.event.in_(("join", "reconnect")),
            PresenceEvent.id > peer.event_id,
        )
        .limit(1)
    )
    return later is not None


def _therapist_contact() -> Contact | None:
    peer = _peer()
    if peer is None or peer.role != "therapist":
        return None
    contact = db.session.get(Contact, peer.contact_id)
    if contact is None or not services.may_run_session(current_user, contact):
        return None
    return contact


def on_admit(data: Any = None) -> dict[str, Any]:
    """The therapist lets the waiting participant in."""
    contact = _therapist_contact()
    if contact is None:
        return {"ok": False}
    if services.presence_state(contact) != "waiting":
        return {"ok": False, "reason": "not_waiting"}
    services.admit(contact, current_user)
    db.session.commit()
    _emit("state", {"state": "admitted"}, waiting_room(contact.id))
    return {"ok": True}


def on_enter(data: Any = None) -> dict[str, Any]:
    """The participant, told he was admitted, steps into the session's signaling room."""
    peer = _peer()
    if peer is None or peer.role != "participant":
        return {"ok": False}
    contact = db.session.get(Contact, peer.contact_id)
    # the database, not the message, says whether he was admitted
    if contact is None or services.presence_state(contact) != "admitted":
        return {"ok": False}
    if _taken_over(peer):
        return {"ok": False, "reason": "elsewhere"}
    with _lock:
        peer.admitted = True
    leave_room(waiting_room(contact.id))
    join_room(session_room(contact.id))
    return {"ok": True}


def on_phone_switch(data: Any = None) -> dict[str, Any]:
    """The therapist moves a failing video session to the phone."""
    contact = _therapist_contact()
    if contact is None:
        return {"ok": False}
    detail = data.get("reason", "") if isinstance(data, dict) else ""
    services.switch_to_phone(contact, current_user, detail=str(detail)[:200])
    db.session.commit()
    skip = request.sid  # type: ignore[attr-defined]  # set by Flask-SocketIO
    socketio.emit(
        "state",
        {"state": "phone"},
        to=participant_room(contact.id),
        skip_sid=skip,
        namespace=NAMESPACE,
    )
    return {"ok": True}


def on_ready(data: Any = None) -> None:
    """The admitted participant has his camera: the therapist may send the offer."""
    peer = _peer()
    if peer is None or peer.role != "participant" or not peer.admitted:
        return
    socketio.emit(
        "ready",
        {},
        to=session_room(peer.contact_id),
        skip_sid=request.sid,  # type: ignore[attr-defined]  # set by Flask-SocketIO
        namespace=NAMESPACE,
    )


def on_signal(data: Any = None) -> None:
    """Relay an offer, answer or ICE candidate to the other side of this session only."""
    peer = _peer()
    if peer is None or not peer.admitted or not isinstance(data, dict):
        return
    if data.get("type") not in SIGNAL_TYPES or len(str(data)) > MAX_SIGNAL_CHARS:
        return
    socketio.emit(
        "signal",
        data,
        to=session_room(peer.contact_id),
        skip_sid=request.sid,  # type: ignore[attr-defined]  # set by Flask-SocketIO
        namespace=NAMESPACE,
    )


def on_connection_state(data: Any = None) -> None:
    """One side's video connection changed (failed, disconnected…): show the other side."""
    peer = _peer()
    if peer is None or not peer.admitted or not isinstance(data, dict):
        return
    state = str(data.get("state", ""))[:20]
    socketio.emit(
        "peer_connection",
        {"role": peer.role, "state": state},
        to=session_room(peer.contact_id),
        skip_sid=request.sid,  # type: ignore[attr-defined]  # set by Flask-SocketIO
        namespace=NAMESPACE,
    )


def on_trouble(data: Any = None) -> dict[str, Any]:
    """His page reports what failed (no camera, the video did not connect, a long wait…)."""
    peer = _peer()
    if peer is None or peer.role != "participant" or not isinstance(data, dict):
        return {"ok": False}
    contact = db.session.get(Contact, peer.contact_id)
    if contact is None:
        return {"ok": False}
    recorded = waiting.report_trouble(contact, str(data.get("what", ""))[:20])
    db.session.commit()
    return {"ok": True, "recorded": recorded is not None}


def register_room_handlers() -> None:
    """Bind the /room handlers to the Socket.IO server of the app being created.

    Called for each app (not at import): ``socketio.init_app`` makes a new server
    per app, and a handler decorated at import would stay on the first one only.
    """
    socketio.on_event("connect", on_connect, namespace=NAMESPACE)
    socketio.on_event("disconnect", on_disconnect, namespace=NAMESPACE)
    socketio.on_event("admit", on_admit, namespace=NAMESPACE)
    socketio.on_event("enter", on_enter, namespace=NAMESPACE)
    socketio.on_event("phone_switch", on_phone_switch, namespace=NAMESPACE)
    socketio.on_event("ready", on_ready, namespace=NAMESPACE)
    socketio.on_event("signal", on_signal, namespace=NAMESPACE)
    socketio.on_event("connection_state", on_connection_state, namespace=NAMESPACE)
    socketio.on_event("trouble", on_trouble, namespace=NAMESPACE)


def forget_session_peers() -> None:
    """Drop every remembered connection (tests start from an empty server)."""
    with _lock:
        _peers.clear()
