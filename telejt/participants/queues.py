"""The coordinator's work queues: reschedule requests and participants SMS cannot reach."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.alerts.services import acknowledge_alert
from telejt.auth.access import participant_or_404, roles_required, visible_participants
from telejt.clock import now
from telejt.errors import InvalidInput
from telejt.extensions import db
from telejt.inputs import iso_day
from telejt.participants import forms
from telejt.participants.models import Participant
from telejt.participants.validation import parse_local_time
from telejt.participants.views import audit_participant, change_participant
from telejt.planning.services import reschedule_contact
from telejt.reports.formatting import local_when

bp = Blueprint("queues", __name__, template_folder="templates")


def _open_alerts(kind: str) -> list[Alert]:
    visible_ids = visible_participants(current_user).with_only_columns(Participant.id)
    return list(
        db.session.scalars(
            select(Alert)
            .where(
                Alert.kind == kind,
                Alert.acknowledged_at.is_(None),
                Alert.participant_id.in_(visible_ids),
            )
            .order_by(Alert.created_at)
        )
    )


def _alert_or_404(alert_id: int, kind: str) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None or alert.kind != kind:
        abort(404)
    participant_or_404(current_user, alert.participant_id)
    return alert


@bp.get("/queues/reschedule")
@roles_required("coordinator")
def reschedule_queue() -> str:
    """Sessions participants said they cannot make, waiting for a new time."""
    alerts = _open_alerts("reschedule_request")
    audit_participant("queue.reschedule.read", None, detail={"alerts": [a.id for a in alerts]})
    db.session.commit()
    return render_template(
        "participants/reschedule_queue.html", alerts=alerts, form=forms.RescheduleForm()
    )


@bp.post("/queues/reschedule/<int:alert_id>")
@roles_required("coordinator")
def reschedule(alert_id: int) -> Any:
    """Move the declined session to the new local time and close the request."""
    alert = _alert_or_404(alert_id, "reschedule_request")
    form = forms.RescheduleForm()
    participant = alert.participant
    error = None
    if alert.contact is None or not form.validate_on_submit():
        error = _("Falta la fecha o la hora.") if alert.contact else _("La alerta no tiene sesión.")
    else:
        try:
            starts_at = datetime.combine(
                iso_day(form.date.data),
                parse_local_time((form.time.data or "").strip()),
                tzinfo=ZoneInfo(participant.timezone),
            )
        except ValueError:
            error = _("Use la fecha como AAAA-MM-DD y la hora como HH:MM.")
        else:
            if starts_at <= now():
                flash(_("La nueva fecha ya pasó: elija una futura."), "error")
                return redirect(url_for("queues.reschedule_queue"))
            try:
                replacement = reschedule_contact(alert.contact, starts_at)
            except InvalidInput:
                db.session.rollback()
                error = _("Esa sesión ya no se puede reprogramar.")
            else:
                when = local_when(replacement.starts_at, participant.timezone)
                note = _("Reprogramada para %(when)s.", when=when)
                if form.note.data:
                    note = f"{note} {form.note.data}"
                acknowledge_alert(alert, current_user, note)
                audit_participant(
                    "contact.reschedule",
                    participant,
                    object_type="contact",
                    object_id=replacement.id,
                    detail={"from_contact": alert.contact_id, "alert": alert.id},
                )
                db.session.commit()
                flash(note, "info")
                return redirect(url_for("queues.reschedule_queue"))
    flash(error, "error")
    return redirect(url_for("queues.reschedule_queue"))


@bp.get("/queues/reachability")
@roles_required("coordinator")
def reachability_queue() -> str:
    """Participants telejt cannot reach by SMS: opted out, bad numbers, sends to review."""
    alerts = _open_alerts("reachability")
    audit_participant("queue.reachability.read", None, detail={"alerts": [a.id for a in alerts]})
    db.session.commit()
    return render_template(
        "participants/reachability_queue.html", alerts=alerts, form=forms.ReachabilityForm()
    )


@bp.post("/queues/reachability/<int:alert_id>")
@roles_required("coordinator")
def resolve_reachability(alert_id: int) -> Any:
    """Acknowledge with a note what was done; correct the phone number if given."""
    alert = _alert_or_404(alert_id, "reachability")
    form = forms.ReachabilityForm()
    participant = alert.participant
    if not form.validate_on_submit():
        flash(_("Escriba qué se hizo para localizarlo."), "error")
        return redirect(url_for("queues.reachability_queue"))
    if (form.phone.data or "").strip() and not change_participant(
        participant, {"phone": form.phone.data}, form
    ):
        flash("; ".join(str(e) for e in form.phone.errors), "error")
        return redirect(url_for("queues.reachability_queue"))
    acknowledge_alert(alert, current_user, form.note.data or "")
    audit_participant("alert.acknowledge", participant, object_type="alert", object_id=alert.id)
    db.session.commit()
    flash(_("Alerta atendida."), "info")
    return redirect(url_for("queues.reachability_queue"))
