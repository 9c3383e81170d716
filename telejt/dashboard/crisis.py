"""Crisis first: open crisis alerts pinned above everything on the team's pages.

A crisis alert (risk words in an SMS, a check-in answer the protocol marks as a crisis
sign) goes to the treatment team only: the participant's therapist and the court's
coordinators, never the court. Their dashboard and agenda show it on top, with the
participant's phone to call and what to do next, and take the acknowledgement here
(with a note), with or without JavaScript.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from telejt.alerts.models import Alert
from telejt.alerts.services import acknowledge_alert
from telejt.audit.services import record_access
from telejt.auth.access import roles_required
from telejt.auth.models import StaffUser
from telejt.dashboard.live import NOTE_MAX_LENGTH, alerts_for_live
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.protocols.current import protocol_for
from telejt.reports.formatting import template_helpers, viewer_locale
from telejt.sms.models import InboundMessage
from telejt.sms.render import national_phone

bp = Blueprint("crisis", __name__, url_prefix="/crisis", template_folder="templates")

#: the roles a crisis alert reaches (the court never sees one)
CRISIS_ROLES = ("coordinator", "therapist")
#: open crisis alerts shown at once; there should never be this many
CRISIS_SHOWN = 20


@bp.app_context_processor
def crisis_helpers() -> dict[str, Any]:
    """What a crisis card needs on any page that includes it."""
    return {"crisis_line": crisis_line, "crisis_words": crisis_words, "phone_words": phone_words}


def open_crisis_alerts(user: StaffUser) -> list[Alert]:
    """The open crisis alerts this user's live rooms carry, oldest first (the longest waiting)."""
    if user.role not in CRISIS_ROLES:
        return []
    query = (
        alerts_for_live(user)
        .where(Alert.kind == "crisis", Alert.acknowledged_at.is_(None))
        .order_by(Alert.created_at, Alert.id)
        .limit(CRISIS_SHOWN)
        .options(selectinload(Alert.participant).selectinload(Participant.court))
    )
    return list(db.session.scalars(query))


def crisis_words(alert: Alert) -> str | None:
    """What he wrote, when risk words in an SMS raised the alert: the team reads it first.

    The alert names its SMS in its key (``crisis:sms:<MessageSid>:<participant>``, see
    telejt.conversation.engine); a crisis answer to a check-in has its reason instead.
    """
    prefix = "crisis:sms:"
    if not alert.dedupe_key.startswith(prefix):
        return None
    sid = alert.dedupe_key.removeprefix(prefix).rsplit(":", 1)[0]
    return db.session.scalar(
        select(InboundMessage.body).where(
            InboundMessage.provider_sid == sid,
            InboundMessage.participant_id == alert.participant_id,
        )
    )


def crisis_line(participant: Participant) -> tuple[str, str]:
    """The protocol's crisis line for him: its name in the viewer's language, and its number."""
    line = protocol_for(participant.protocol_id, participant.protocol_version).crisis_line
    return line.name.for_locale(viewer_locale()), line.phone


def phone_words(e164: str | None) -> str:
    """A phone number as people dial it in Mexico ("81 5550 0106"), or the stored form."""
    return (national_phone(e164) or e164 or "") if e164 else ""


def _visible_crisis_or_404(alert_id: int) -> Alert:
    alert = db.session.scalar(
        alerts_for_live(current_user)
        .where(Alert.id == alert_id, Alert.kind == "crisis")
        .options(selectinload(Alert.participant))
    )
    if alert is None:
        abort(404)
    return alert


@bp.get("/<int:alert_id>")
@roles_required(*CRISIS_ROLES)
def crisis_card(alert_id: int) -> str:
    """One crisis alert's card, for a page to pin when a live event announces it."""
    alert = _visible_crisis_or_404(alert_id)
    card = render_template("dashboard/_crisis_card.html", alert=alert, **template_helpers())
    record_access(
        current_user.id, "alert.view", "alert", alert.id, participant_id=alert.participant_id
    )
    db.session.commit()
    return card


@bp.post("/<int:alert_id>/ack")
@roles_required(*CRISIS_ROLES)
def acknowledge(alert_id: int) -> Response:
    """Acknowledge a crisis alert with a note (the page's script does it over the socket)."""
    back = redirect(
        url_for("dashboard.index") if current_user.role == "coordinator" else "/therapist"
    )
    note = request.form.get("note", "").strip()[:NOTE_MAX_LENGTH]
    if not note:
        flash(_("Escriba una nota para dar por enterada la alerta."), "error")
        return back
    alert = _visible_crisis_or_404(alert_id)
    acknowledge_alert(alert, current_user, note)
    record_access(
        current_user.id, "alert.acknowledge", "alert", alert.id, participant_id=alert.participant_id
    )
    db.session.commit()
    flash(_("Alerta marcada como enterada."), "info")
    return back
