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
from telejt.clock import now
from telejt.errors import Conflict, InvalidInput
from telejt.extensions import db
from telejt.planning.justification import (
    JUSTIFICATION_MAX_LENGTH,
    attribute_miss_to_system,
    justify_miss,
)
from telejt.planning.live import publish_contact
from telejt.planning.missed import miss_alert
from telejt.planning.models import Contact

#: a miss a person verified as his, which telejt had not attributed to him (no
#: delivery receipt, or the system's): the person's finding stands, audited
VERIFIED_PARTICIPANT_REASON = "verified_participant"


class AlreadyVerified(Conflict):
    """The alert, or the miss, was verified already: the first verification stands."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or gettext("La alerta ya fue verificada."))


def _checked_note(outcome: str, note: str, errors: dict[str, str]) -> str:
    note = (note or "").strip()
    if outcome not in VERIFICATION_OUTCOMES:
        errors["outcome"] = gettext("Resultado desconocido.")
    if not note:
        errors["note"] = gettext("No puede quedar vacío.")
    elif len(note) > JUSTIFICATION_MAX_LENGTH:
        errors["note"] = gettext("Hasta %(n)s caracteres.", n=JUSTIFICATION_MAX_LENGTH)
    return note


def _verify(
    contact: Contact, alert: Alert | None, by: StaffUser, outcome: str, note: str, channel: str
) -> None:
    """Record the finding on the miss and on its alert, and make the contact say it."""
    before = {
        "status": contact.status,
        "attribution": contact.attribution,
        "attribution_reason": contact.attribution_reason,
    }
    if outcome == "justified":
        justify_miss(contact, by, note, channel)
    elif outcome == "system_failure":
        attribute_miss_to_system(contact, by, note, channel)
    elif contact.attribution != "participant":
        contact.attribution = "participant"
        contact.attribution_reason = VERIFIED_PARTICIPANT_REASON
    contact.verified_at = now()
    contact.verified_by_id = by.id
    contact.verification_note = note
    if alert is not None and alert.is_unverified:
        mark_verified(alert, by, outcome, note)
        alert.attribution = contact.attribution
        db.session.flush()
        publish_alert("alert.verified", alert, alert.participant)
    db.session.flush()
    record_access(
        by.id,
        "contact.verify",
        "contact",
        contact.id,
        participant_id=contact.participant_id,
        channel=channel,
        detail={"before": before, "outcome": outcome, "note": note},
    )
    publish_contact(contact, contact.participant)


def verify_miss(
    contact: Contact, by: StaffUser, outcome: str, note: str, channel: str = "page"
) -> Contact:
    """Verify a miss, whether or not it raised an alert; audited (the caller commits).

    A miss below the protocol's alert threshold raised no alert, yet it is a notice
    the positions that see only verified notices must not read until a person said
    what it was: it is verified here, on the participant's page or through the API.
    """
    errors: dict[str, str] = {}
    note = _checked_note(outcome, note, errors)
    if contact.status != "missed":
        errors["contact"] = gettext("Solo se verifica un contacto no realizado.")
    if errors:
        raise InvalidInput(errors)
    alert = miss_alert(contact)
    if contact.verified_at is not None or (alert is not None and alert.verification == "verified"):
        raise AlreadyVerified(gettext("La falta ya fue verificada."))
    _verify(contact, alert, by, outcome, note, channel)
    return contact


def verify_alert(
    alert: Alert, by: StaffUser, outcome: str, note: str, channel: str = "page"
) -> Alert:
    """Verify a miss's alert with an outcome and a note; audited (the caller commits)."""
    errors: dict[str, str] = {}
    note = _checked_note(outcome, note, errors)
    if alert.verification is None:
        errors["alert"] = gettext("Esta alerta no se verifica.")
    if errors:
        raise InvalidInput(errors)
    if alert.verification != "unverified":
        raise AlreadyVerified()
    before = {"attribution": alert.attribution, "reason": alert.reason}
    contact = alert.contact
    if contact is not None and contact.status == "missed" and contact.verified_at is None:
        _verify(contact, alert, by, outcome, note, channel)
    else:  # the miss was settled otherwise meanwhile (justified on its page): the alert only
        mark_verified(alert, by, outcome, note)
        if contact is not None:
            alert.attribution = contact.attribution
        db.session.flush()
        publish_alert("alert.verified", alert, alert.participant)
    record_access(
        by.id,
        "alert.verify",
        "alert",
        alert.id,
        participant_id=alert.participant_id,
        channel=channel,
        detail={"before": before, "outcome": outcome, "note": note},
    )
    return alert
