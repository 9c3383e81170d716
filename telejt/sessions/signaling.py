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
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_login import current_user
from flask_socketio import join_room, leave_room

from telejt.extensions import db, socketio
from telejt.planning.models import Contact
from telejt.sessions import services

log = logging.getLogger(__name__)
NAMESPACE = "/room"
#: signaling message types relayed as they are
SIGNAL_TYPES = ("offer", "answer", "candidate")
#: cap on one relayed message: an SDP is a few kB
MAX_SIGNAL_CHARS = 20_000


@dataclass
class Peer:
    """One connection to /room."""

    contact_id: int
    role: str  # "participant" or "therapist"
    staff_id: int | None = None
    admitted: bool = False


_peers: dict[str, Peer] = {}
_lock = threading.Lock()


def session_room(contact_id: int) -> str:
    """The signaling room of one session: its therapist and the admitted participant."""
    return f"session:{contact_id}"


def waiting_room(contact_id: int) -> str:
    """Where the participant's connections wait to be let in."""
    return f"waiting:{contact_id}"


def _peer() -> Peer | None:
    with _lock:
        return _peers.get(request.sid)  # type: ignore[attr-defined]


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
    sid = request.sid  # type: ignore[attr-defined]
    token = auth.get("token")
    if isinstance(token, str):
        check = services.check_link(token)
        if not check.may_join or check.contact is None:
            return False
        contact = check.contact
        services.participant_joined(contact, detail=_client_detail())
        db.session.commit()
        with _lock:
            _peers[sid] = Peer(contact.id, "participant")
        join_room(waiting_room(contact.id))
        socketio.emit("state", {"state": "waiting"}, to=sid, namespace=NAMESPACE)
        _emit("participant", {"state": "waiting"}, session_room(contact.id))
        return True
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
    with _lock:
        _peers[sid] = Peer(console_contact.id, "therapist", staff_id=current_user.id, admitted=True)
    join_room(session_room(console_contact.id))
    state = services.presence_state(console_contact)
    socketio.emit("participant", {"state": state}, to=sid, namespace=NAMESPACE)
    return True


def on_disconnect(reason: Any = None) -> None:
    """Record the leave and tell the other side."""
    with _lock:
        peer = _peers.pop(request.sid, None)  # type: ignore[attr-defined]
    if peer is None:
        return
    contact = db.session.get(Contact, peer.contact_id)
    if contact is None:
        return
    if peer.role == "participant":
        services.participant_left(contact, detail=str(reason or "")[:100])
        db.session.commit()
        _emit("participant", {"state": "left"}, session_room(contact.id))
    else:
        from telejt.auth.models import StaffUser

        therapist = db.session.get(StaffUser, peer.staff_id)
        if therapist is not None:
            services.therapist_left(contact, therapist)
            db.session.commit()
        _emit("therapist", {"state": "left"}, session_room(contact.id), waiting_room(contact.id))


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
    skip = request.sid  # type: ignore[attr-defined]
    for room in (waiting_room(contact.id), session_room(contact.id)):
        socketio.emit("state", {"state": "phone"}, to=room, skip_sid=skip, namespace=NAMESPACE)
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
        skip_sid=request.sid,  # type: ignore[attr-defined]
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
        skip_sid=request.sid,  # type: ignore[attr-defined]
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
        skip_sid=request.sid,  # type: ignore[attr-defined]
        namespace=NAMESPACE,
    )


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


def forget_session_peers() -> None:
    """Drop every remembered connection (tests start from an empty server)."""
    with _lock:
        _peers.clear()
