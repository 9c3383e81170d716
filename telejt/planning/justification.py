"""Staff justify a past miss: it stops counting against him, and the record says why.

Any miss, of a session or a check-in, whoever it was attributed to, may be justified
afterwards with a reason (a hospital note, a hearing the same day). The contact
becomes excused, attributed ``excused`` with the reason ``justified_by_staff``; the
justification's text, who wrote it and when are kept on the contact (court-visible:
it is what the court must read about the miss), and the audit log keeps what the
attribution was before. Every figure follows at once, since figures read the stored
statuses (telejt.reports.figures). The miss's open alert is acknowledged by it.
"""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.alerts.services import acknowledge_alert
from telejt.audit.services import record_access
from telejt.auth.models import StaffUser
from telejt.clock import now
from telejt.extensions import db
from telejt.participants.validation import InvalidInput
from telejt.planning.missed import missed_alert_key
from telejt.planning.models import Contact
from telejt.planning.watcher import publish_contact

JUSTIFICATION_MAX_LENGTH = 1000
JUSTIFIED_REASON = "justified_by_staff"


def justify_miss(contact: Contact, by: StaffUser, reason: str, channel: str = "page") -> Contact:
    """Excuse a past miss with a reason; audited with what it was before (not committed)."""
    reason = (reason or "").strip()
    if contact.status != "missed":
        raise InvalidInput({"contact": "only a missed contact can be justified"})
    if not reason:
        raise InvalidInput({"reason": "a reason is required"})
    if len(reason) > JUSTIFICATION_MAX_LENGTH:
        raise InvalidInput({"reason": f"at most {JUSTIFICATION_MAX_LENGTH} characters"})
    before = {
        "status": contact.status,
        "attribution": contact.attribution,
        "attribution_reason": contact.attribution_reason,
    }
    moment = now()
    contact.status = "excused"
    contact.attribution = "excused"
    contact.attribution_reason = JUSTIFIED_REASON
    contact.justification = reason
    contact.justified_by_id = by.id
    contact.justified_at = moment
    db.session.flush()
    record_access(
        by.id,
        "contact.justify",
        "contact",
        contact.id,
        participant_id=contact.participant_id,
        channel=channel,
        detail={"before": before, "reason": reason},
    )
    alert = db.session.scalar(select(Alert).where(Alert.dedupe_key == missed_alert_key(contact.id)))
    if alert is not None:
        acknowledge_alert(alert, by, gettext("Falta justificada: %(reason)s", reason=reason))
    publish_contact(contact, contact.participant)
    return contact
