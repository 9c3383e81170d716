"""Verifying a miss before a breach is asserted (CNPP art. 174/198).

A miss's alert is raised unverified ("contacto no realizado, sin verificar"): the
positions a court names see it at once (by default the judge and the supervision
officer), the others (by default the prosecutor and the defender) only once the
coordinator or the supervision officer verified it. Verifying says what the miss
was: his own, justified (the contact becomes excused through
telejt.planning.justification, so every figure and the report follow), or the
system's failure (the contact is attributed to the system, and no longer counts
against him). Audited with what it was before.
"""

from __future__ import annotations

from flask_babel import gettext

from telejt.alerts.models import VERIFICATION_OUTCOMES, Alert
from telejt.alerts.services import mark_verified, publish_alert
from telejt.audit.services import record_access
from telejt.auth.models import StaffUser
from telejt.errors import Conflict, InvalidInput
from telejt.extensions import db
from telejt.planning.justification import (
    JUSTIFICATION_MAX_LENGTH,
    attribute_miss_to_system,
    justify_miss,
)


class AlreadyVerified(Conflict):
    """The alert was verified already: the first verification stands."""

    def __init__(self) -> None:
        super().__init__(gettext("La alerta ya fue verificada."))


def verify_alert(
    alert: Alert, by: StaffUser, outcome: str, note: str, channel: str = "page"
) -> Alert:
    """Verify a miss's alert with an outcome and a note; audited (the caller commits)."""
    note = (note or "").strip()
    errors: dict[str, str] = {}
    if outcome not in VERIFICATION_OUTCOMES:
        errors["outcome"] = gettext("Resultado desconocido.")
    if not note:
        errors["note"] = gettext("No puede quedar vacío.")
    elif len(note) > JUSTIFICATION_MAX_LENGTH:
        errors["note"] = gettext("Hasta %(n)s caracteres.", n=JUSTIFICATION_MAX_LENGTH)
    if alert.verification is None:
        errors["alert"] = gettext("Esta alerta no se verifica.")
    if errors:
        raise InvalidInput(errors)
    if alert.verification != "unverified":
        raise AlreadyVerified()
    before = {"attribution": alert.attribution, "reason": alert.reason}
    mark_verified(alert, by, outcome, note)
    contact = alert.contact
    if contact is not None and contact.status == "missed":
        if outcome == "justified":
            justify_miss(contact, by, note, channel)
        elif outcome == "system_failure":
            attribute_miss_to_system(contact, by, note, channel)
        alert.attribution = contact.attribution
    db.session.flush()
    record_access(
        by.id,
        "alert.verify",
        "alert",
        alert.id,
        participant_id=alert.participant_id,
        channel=channel,
        detail={"before": before, "outcome": outcome, "note": note},
    )
    publish_alert("alert.verified", alert, alert.participant)
    return alert
