"""A participant's compliance over a period: what the API answers and dashboards may reuse.

The attendance rate follows the dashboard and the status-hearing report: kept
contacts (attended, late, completed) over kept contacts plus the misses
attributed to the participant. Excused and cancelled contacts and the system's
misses are left out on purpose: a court must not read the system's failure as
his. Those misses are still counted, by attribution, next to the rate.

A session he joined whose outcome the therapist has not recorded is neither kept
nor missed: it is counted apart as ``outcome_pending`` (and stays ``in_progress``
in ``by_status``) until the therapist marks it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from telejt.clock import now
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import ATTRIBUTIONS, CONTACT_STATUSES, Contact
from telejt.planning.outcomes import is_outcome_pending
from telejt.planning.watcher import consecutive_misses

KEPT_STATUSES = ("attended", "late", "completed")
#: statuses of a contact whose outcome is known
SETTLED_STATUSES = ("attended", "late", "completed", "missed", "excused", "incomplete")


def compliance_for(participant: Participant, start: datetime, end: datetime) -> dict[str, Any]:
    """Counts, attendance rate and runs of misses for his contacts starting in [start, end)."""
    contacts = list(
        db.session.scalars(
            select(Contact)
            .where(
                Contact.participant_id == participant.id,
                Contact.starts_at >= start,
                Contact.starts_at < end,
            )
            .order_by(Contact.starts_at, Contact.id)
        )
    )
    by_status = dict.fromkeys(CONTACT_STATUSES, 0)
    sessions_by_status = dict.fromkeys(CONTACT_STATUSES, 0)
    by_attribution = dict.fromkeys(ATTRIBUTIONS, 0)
    for contact in contacts:
        by_status[contact.status] += 1
        if contact.kind == "session":
            sessions_by_status[contact.status] += 1
        if contact.attribution in by_attribution and contact.status in ("missed", "excused"):
            by_attribution[contact.attribution] += 1
    kept = sum(by_status[status] for status in KEPT_STATUSES)
    participant_misses = sum(
        1 for c in contacts if c.status == "missed" and c.attribution == "participant"
    )
    counted = kept + participant_misses
    settled = [c for c in contacts if c.status in SETTLED_STATUSES]
    last_contact = max(settled, key=lambda c: (c.deadline_at, c.id)) if settled else None
    kept_times = [c.starts_at for c in contacts if c.status in KEPT_STATUSES]
    moment = now()
    return {
        "participant_id": participant.id,
        "from": start,
        "to": end,
        "total": len(contacts),
        "by_status": by_status,
        "by_attribution": by_attribution,
        "sessions_by_status": sessions_by_status,
        "attendance_rate": None if counted == 0 else kept / counted,
        # over, he joined, not marked: counted neither as kept nor as missed
        "outcome_pending": sum(1 for c in contacts if is_outcome_pending(c, moment)),
        # runs are about his latest contacts, whatever the period asked
        "consecutive_misses": consecutive_misses(participant.id, "participant"),
        "consecutive_system_misses": consecutive_misses(participant.id, "system"),
        "last_contact": last_contact,
        "last_kept_at": max(kept_times) if kept_times else None,
    }
