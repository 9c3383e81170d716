"""A participant's compliance over a period: what the API answers.

Every figure is :mod:`telejt.reports.figures`' (the dashboard and the status-hearing
report count with it too); this adds what the API also lists, contact by contact
status: ``by_status`` counts stored statuses (a session he joined and nobody
marked stays ``in_progress`` there, and is counted in ``outcome_pending``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from telejt.clock import now
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import CONTACT_STATUSES, Contact
from telejt.reports.figures import SETTLED_STATUSES, figures_of


def compliance_for(
    participant: Participant, start: datetime, end: datetime, sees_unverified: bool = True
) -> dict[str, Any]:
    """Counts, attendance rate and runs of misses for his contacts starting in [start, end),
    as a reader who sees (or not) unverified misses reads them (Figures.as_seen)."""
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
    for contact in contacts:
        by_status[contact.status] += 1
        if contact.kind == "session":
            sessions_by_status[contact.status] += 1
    figures = figures_of(participant.id, start, end, now()).as_seen(sees_unverified)
    total = figures.total
    settled = [c for c in contacts if c.status in SETTLED_STATUSES]
    last_contact = max(settled, key=lambda c: (c.deadline_at, c.id)) if settled else None
    return {
        "participant_id": participant.id,
        "from": start,
        "to": end,
        "total": len(contacts),
        "by_status": by_status,
        "by_attribution": {
            "participant": total.missed_participant,
            "participant_unverified": total.missed_unverified,
            "system": total.missed_system,
            "unconfirmed": total.missed_unconfirmed,
            "opted_out": total.missed_opted_out,
            "excused": total.excused,
        },
        "sessions_by_status": sessions_by_status,
        "attendance_rate": figures.attendance_rate,
        # over, he joined (or by phone), not marked: counted neither as kept nor as missed
        "outcome_pending": total.outcome_pending,
        "figures": figures.as_dict(),
        # runs are about his latest contacts, whatever the period asked
        "consecutive_misses": figures.consecutive_misses,
        "consecutive_unverified": figures.consecutive_unverified,
        "consecutive_system_misses": figures.consecutive_system_misses,
        "last_contact": last_contact,
        "last_kept_at": figures.last_kept_at,
    }
