"""The one rule for alerting on a missed contact, whoever settles it.

The deadline watcher (a window closed without him) and the therapist's marking
(no-show, technical failure) both end here, so a miss alerts the same way however
it was found: at once when it was not plainly his (the system's, unconfirmed, or
after he opted out of SMS: the court must know the contact was not made, and that
it is not counted against him), and after the number of his own misses in a row
that his phase's protocol names otherwise. One alert per miss (its dedupe key), so
a miss found twice alerts once. A miss after an opt-out also gives the team a task:
reach him another way (one reachability alert per opt-out, not one per miss).
"""

from __future__ import annotations

from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.alerts.services import opt_out_alert_key, raise_alert
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for
from telejt.reports.figures import consecutive_misses


def missed_alert_key(contact_id: int) -> str:
    """The dedupe key of a miss's alert: one per contact."""
    return f"missed:{contact_id}"


def miss_alert(contact: Contact) -> Alert | None:
    """The alert a miss raised, if it raised one (below the protocol's threshold it did not)."""
    return db.session.scalar(select(Alert).where(Alert.dedupe_key == missed_alert_key(contact.id)))


def alert_threshold(contact: Contact) -> int:
    """How many of his own misses in a row his phase's protocol waits for before alerting."""
    phase = protocol_for(contact.protocol_id, contact.protocol_version).phase(contact.phase_id)
    return phase.missed.alert_after_consecutive


def alert_missed_contact(
    contact: Contact, participant: Participant, attribution: str, reason: str
) -> Alert | None:
    """Alert the court and the team about a miss, when the protocol's rule says so."""
    if attribution == "excused":
        return None
    if attribution == "participant" and consecutive_misses(participant.id) < alert_threshold(
        contact
    ):
        return None
    if attribution == "opted_out" and participant.sms_opted_out_at is not None:
        raise_alert(
            participant=participant,
            contact=contact,
            kind="reachability",
            severity="warning",
            attribution=None,
            audience="team",
            dedupe_key=opt_out_alert_key(participant.id, participant.sms_opted_out_at),
            reason="missed_after_opt_out",
        )
    return raise_alert(
        participant=participant,
        contact=contact,
        kind="missed_contact",
        severity="warning",
        attribution=attribution,
        audience="court",
        dedupe_key=missed_alert_key(contact.id),
        reason=reason,
    )
