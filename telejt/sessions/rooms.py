"""Names of the Socket.IO /room rooms of one session (shared by the services and signaling)."""

from __future__ import annotations

#: the Socket.IO namespace of session rooms
ROOM_NAMESPACE = "/room"


def session_room(contact_id: int) -> str:
    """The signaling room of one session: its therapist and the admitted participant."""
    return f"session:{contact_id}"


def waiting_room(contact_id: int) -> str:
    """Where the participant's connections wait to be let in."""
    return f"waiting:{contact_id}"


def participant_room(contact_id: int) -> str:
    """Every connection of the participant (tabs, phones), admitted or not."""
    return f"him:{contact_id}"
