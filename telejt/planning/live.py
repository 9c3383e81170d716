"""Live news of contacts: what dashboards hear when a contact changes.

Used by every rule that changes a contact (the watcher, attendance, check-in
answers, a confirmation by SMS, a justification), so it lives apart from all of them.
"""

from __future__ import annotations

from telejt.live import court_room, publish, team_room, therapist_room
from telejt.participants.models import Participant
from telejt.planning.models import Contact


def contact_payload(contact: Contact) -> dict[str, object]:
    """The JSON shape of a contact for live events."""
    return {
        "id": contact.id,
        "participant_id": contact.participant_id,
        "kind": contact.kind,
        "starts_at": contact.starts_at.isoformat(),
        "ends_at": contact.ends_at.isoformat(),
        "status": contact.status,
        "attribution": contact.attribution,
    }


def publish_contact(contact: Contact, participant: Participant) -> None:
    """Tell dashboards that a contact changed."""
    rooms = [court_room(participant.court_id), team_room(participant.court_id)]
    if participant.therapist_id is not None:
        rooms.append(therapist_room(participant.therapist_id))
    publish("contact.updated", contact_payload(contact), rooms)
