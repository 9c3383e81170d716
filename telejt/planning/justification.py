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

from datetime import datetime

from flask_babel import gettext

from telejt.alerts.services import acknowledge_alert, mark_verified, publish_alert
from telejt.audit.services import record_access
from telejt.auth.models import StaffUser
from telejt.clock import now
from telejt.errors import Conflict, InvalidInput
from telejt.extensions import db
from telejt.planning.live import publish_contact
from telejt.planning.missed import miss_alert
from telejt.planning.models import Contact

JUSTIFICATION_MAX_LENGTH = 1000
JUSTIFIED_REASON = "justified_by_staff"
#: a miss verified as the system's failure (not his: it no longer counts against him)
SYSTEM_FAILURE_REASON = "system_failure_verified"


def _check_reason(contact: Contact, reason: str) -> str:
    reason = (reason or "").strip()
    if contact.status != "missed":
        raise Conflict(
            gettext("Solo se justifica una falta."), {"contact": gettext("No es una falta.")}
        )
    if not reason:
        raise InvalidInput({"reason": gettext("No puede quedar vacío.")})
    if len(reason) > JUSTIFICATION_MAX_LENGTH:
        raise InvalidInput(
            {"reason": gettext("Hasta %(n)s caracteres.", n=JUSTIFICATION_MAX_LENGTH)}
        )
    return reason


def _before(contact: Contact) -> dict[str, str | None]:
    return {
        "status": contact.status,
        "attribution": contact.attribution,
        "attribution_reason": contact.attribution_reason,
    }


def _mark_verified(contact: Contact, by: StaffUser, reason: str, moment: datetime) -> None:
    """Justifying a miss, or finding it the system's, is verifying it: a person said what it was."""
    if contact.verified_at is None:
        contact.verified_at = moment
        contact.verified_by_id = by.id
        contact.verification_note = reason


def justify_miss(contact: Contact, by: StaffUser, reason: str, channel: str = "page") -> Contact:
    """Excuse a past miss with a reason; audited with what it was before (not committed)."""
    reason = _check_reason(contact, reason)
    before = _before(contact)
    moment = now()
    contact.status = "excused"
    contact.attribution = "excused"
    contact.attribution_reason = JUSTIFIED_REASON
    contact.justification = reason
    contact.justified_by_id = by.id
    contact.justified_at = moment
    _mark_verified(contact, by, reason, moment)
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
    alert = miss_alert(contact)
    if alert is not None:
        # justifying is verifying: the miss was not his breach
        verified_now = alert.verification == "unverified"
        if verified_now:
            mark_verified(alert, by, "justified", reason)
        alert.attribution = contact.attribution
        acknowledge_alert(alert, by, gettext("Falta justificada: %(reason)s", reason=reason))
        if verified_now:
            publish_alert("alert.verified", alert, alert.participant)
    publish_contact(contact, contact.participant)
    return contact


def attribute_miss_to_system(
    contact: Contact, by: StaffUser, reason: str, channel: str = "page"
) -> Contact:
    """A miss verified as the system's failure: attributed to the system, with the reason
    kept as the justification is; audited with what it was before (not committed)."""
    reason = _check_reason(contact, reason)
    before = _before(contact)
    contact.attribution = "system"
    contact.attribution_reason = SYSTEM_FAILURE_REASON
    contact.justification = reason
    contact.justified_by_id = by.id
    moment = now()
    contact.justified_at = moment
    _mark_verified(contact, by, reason, moment)
    db.session.flush()
    record_access(
        by.id,
        "contact.attribute_to_system",
        "contact",
        contact.id,
        participant_id=contact.participant_id,
        channel=channel,
        detail={"before": before, "reason": reason},
    )
    publish_contact(contact, contact.participant)
    return contact
