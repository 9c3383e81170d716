"""The judicial dashboard: live alerts, compliance at a glance, a participant's page.

Court users and coordinators only (therapists have their own pages, admins keep
the system and not the cases). Every page that shows participants' records is
written to the audit log.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from telejt.alerts.models import Alert
from telejt.alerts.services import acknowledge_alert, mark_seen, shown_ack_note
from telejt.audit.services import record_access
from telejt.auth.access import participant_or_404, roles_required, visible_participants
from telejt.clock import now
from telejt.courts.services import sees_unverified_misses
from telejt.courts.visibility import may_justify, may_verify, viewer_of
from telejt.dashboard.calendar import attendance_calendar
from telejt.dashboard.crisis import open_crisis_alerts
from telejt.dashboard.live import NOTE_MAX_LENGTH, alerts_for_live, register_live_namespace
from telejt.dashboard.queries import (
    PAGE_SIZE,
    SORT_KEYS,
    ComplianceFilters,
    compliance_row,
    compliance_rows,
    open_alert_count,
    open_alerts,
    unverified_courts,
)
from telejt.errors import Conflict, InvalidInput
from telejt.extensions import db
from telejt.inputs import bounded_int
from telejt.participants.models import Participant
from telejt.participants.timeline import participant_timeline
from telejt.planning.justification import JUSTIFICATION_MAX_LENGTH, justify_miss
from telejt.planning.models import Contact
from telejt.planning.verification import AlreadyVerified, verify_alert, verify_miss
from telejt.protocols.current import protocol_for
from telejt.reports.formatting import template_helpers, viewer_locale

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard", template_folder="templates")

VIEWERS = ("court", "coordinator")
#: the newest open alerts listed on the page; the badge counts them all
OPEN_ALERTS_SHOWN = 50

# the /live namespace is registered with the app, on the Socket.IO server init_app made
bp.record(lambda state: register_live_namespace())


@bp.context_processor
def dashboard_helpers() -> dict[str, Any]:
    """Labels and local times for the dashboard templates."""
    return {
        **template_helpers(),
        "phase_name": phase_name,
        "ack_note": ack_note,
        "may_verify_alerts": may_verify(viewer_of(current_user)),
    }


def ack_note(alert: Alert) -> str | None:
    """An alert's acknowledgement note as the viewer may read it (telejt.courts.visibility)."""
    return shown_ack_note(alert, viewer_of(current_user))


def phase_name(protocol_id: str, protocol_version: int, phase_id: str) -> str:
    """A phase's name in the viewer's language, or its id if the protocol is gone."""
    try:
        phase = protocol_for(protocol_id, protocol_version).phase(phase_id)
    except KeyError:
        return phase_id
    return phase.name.for_locale(viewer_locale())


def _filters_from_query() -> ComplianceFilters:
    args = request.args
    try:
        min_misses = bounded_int(args.get("min_misses") or "0", low=0, high=10_000)
        page = bounded_int(args.get("page") or "1", low=1, high=1_000_000)
    except ValueError:
        abort(400)
    sort = args.get("sort", "consecutive_misses")
    return ComplianceFilters(
        search=args.get("q", "").strip()[:100],
        phase_id=args.get("phase", "").strip()[:20],
        status=args.get("status", "active") if args.get("status") != "all" else "",
        only_with_alerts=args.get("alerts") == "1",
        min_consecutive_misses=min_misses,
        sort=sort if sort in SORT_KEYS else "consecutive_misses",
        descending=args.get("dir", "desc") != "asc",
        page=page,
    )


@bp.get("")
@roles_required(*VIEWERS)
def index() -> str:
    """Open alerts (live) and one compliance row per participant of the viewer's courts."""
    filters = _filters_from_query()
    at = now()
    rows, total = compliance_rows(current_user, at, filters)
    alerts = open_alerts(current_user, limit=OPEN_ALERTS_SHOWN)
    crisis_alerts = open_crisis_alerts(current_user)
    alert_total = (
        open_alert_count(current_user) if len(alerts) >= OPEN_ALERTS_SHOWN else len(alerts)
    )
    # rendered before the audit commit, which would expire every loaded row
    page = render_template(
        "dashboard/index.html",
        rows=rows,
        total=total,
        alerts=alerts,
        crisis_alerts=crisis_alerts,
        alert_total=alert_total,
        filters=filters,
        page_size=PAGE_SIZE,
        last_alert_id=max((a.id for a in alerts), default=0),
        loaded_at=at.isoformat(),
        verified_only=_reads_only_verified(),
    )
    record_access(
        current_user.id,
        "dashboard.view",
        "court",
        ",".join(str(c) for c in current_user.court_ids)[:60] or None,
        detail={
            "participant_ids": [r.participant_id for r in rows],
            "alert_ids": sorted({a.id for a in [*alerts, *crisis_alerts]}),
        },
    )
    db.session.commit()
    return page


@bp.get("/participants/<int:participant_id>/row")
@roles_required(*VIEWERS)
def compliance_row_fragment(participant_id: int) -> str:
    """One participant's compliance row, for the page to refresh when a live event says so."""
    figures = compliance_row(current_user, participant_id, now())
    if figures is None:
        abort(404)
    row = render_template("dashboard/_compliance_row.html", row=figures)
    record_access(
        current_user.id,
        "participant.compliance_row",
        "participant",
        participant_id,
        participant_id=participant_id,
    )
    db.session.commit()
    return row


def _visible_alert_or_404(alert_id: int) -> Alert:
    alert = db.session.scalar(
        alerts_for_live(current_user)
        .where(Alert.id == alert_id)
        .options(selectinload(Alert.participant), selectinload(Alert.contact))
    )
    if alert is None:
        abort(404)
    return alert


@bp.get("/alerts/<int:alert_id>/row")
@roles_required(*VIEWERS)
def alert_row(alert_id: int) -> str:
    """One alert's row, for the page to insert when a live event announces it."""
    alert = _visible_alert_or_404(alert_id)
    row = render_template("dashboard/_alert_row.html", alert=alert)
    record_access(
        current_user.id, "alert.view", "alert", alert.id, participant_id=alert.participant_id
    )
    db.session.commit()
    return row


@bp.post("/alerts/<int:alert_id>/ack")
@roles_required(*VIEWERS)
def acknowledge(alert_id: int) -> Response:
    """Acknowledge an alert with a note (the form works without JavaScript too)."""
    note = request.form.get("note", "").strip()[:NOTE_MAX_LENGTH]
    if not note:
        flash(_("Escriba una nota para dar por enterada la alerta."), "error")
        return redirect(url_for("dashboard.index"))
    alert = _visible_alert_or_404(alert_id)
    acknowledge_alert(alert, current_user, note)
    record_access(
        current_user.id, "alert.acknowledge", "alert", alert.id, participant_id=alert.participant_id
    )
    db.session.commit()
    flash(_("Alerta marcada como enterada."), "info")
    return redirect(url_for("dashboard.index"))


@bp.post("/alerts/<int:alert_id>/verification")
@roles_required(*VIEWERS)
def verify(alert_id: int) -> Response:
    """Verify a miss's alert (coordinators and supervision officers); audited."""
    if not may_verify(viewer_of(current_user)):
        abort(403)
    alert = _visible_alert_or_404(alert_id)
    back = url_for("dashboard.index")
    if request.form.get("back") == "participant":  # the form on his page: back to it
        back = url_for("dashboard.participant", participant_id=alert.participant_id)
    try:
        verify_alert(
            alert, current_user, request.form.get("outcome", ""), request.form.get("note", "")
        )
    except InvalidInput:
        flash(_("Elija el resultado y escriba una nota para verificar la alerta."), "error")
        return redirect(back)
    except AlreadyVerified:
        flash(_("La alerta ya fue verificada."), "error")
        return redirect(back)
    db.session.commit()
    flash(_("Alerta verificada."), "info")
    return redirect(back)


@bp.post("/contacts/<int:contact_id>/verification")
@roles_required(*VIEWERS)
def verify_contact(contact_id: int) -> Response:
    """Verify a miss on his page, whether or not it raised an alert (coordinators and
    supervision officers); audited."""
    if not may_verify(viewer_of(current_user)):
        abort(403)
    contact = _visible_contact_or_404(contact_id)
    back = url_for("dashboard.participant", participant_id=contact.participant_id)
    try:
        verify_miss(
            contact, current_user, request.form.get("outcome", ""), request.form.get("note", "")
        )
    except InvalidInput:
        flash(_("Elija el resultado y escriba una nota para verificar la falta."), "error")
        return redirect(back)
    except AlreadyVerified:
        flash(_("La falta ya fue verificada."), "error")
        return redirect(back)
    db.session.commit()
    flash(_("Falta verificada."), "info")
    return redirect(back)


@bp.post("/alerts/<int:alert_id>/seen")
@roles_required(*VIEWERS)
def mark_alert_seen(alert_id: int) -> Response:
    """Mark an alert as seen by the current user only (the team's acknowledgement is apart)."""
    alert = _visible_alert_or_404(alert_id)
    mark_seen(alert, current_user)
    record_access(
        current_user.id, "alert.seen", "alert", alert.id, participant_id=alert.participant_id
    )
    db.session.commit()
    return redirect(url_for("dashboard.index"))


@bp.get("/participants/<int:participant_id>")
@roles_required(*VIEWERS)
def participant(participant_id: int) -> str:
    """A participant's compliance, attendance calendar and timeline, cut to the viewer's rights."""
    person = participant_or_404(current_user, participant_id)
    at = now()
    today = at.astimezone(ZoneInfo(person.timezone)).date()
    figures = compliance_row(current_user, person.id, at)
    timeline = participant_timeline(person, current_user)
    sees_unverified = sees_unverified_misses(current_user, person.court_id)
    calendar = attendance_calendar(person, today, sees_unverified=sees_unverified)
    page = render_template(
        "dashboard/participant.html",
        participant=person,
        figures=figures,
        timeline=timeline,
        calendar=calendar,
        today=today,
        generated_at=at,
        may_justify=may_justify(viewer_of(current_user)),
        justification_max=JUSTIFICATION_MAX_LENGTH,
        sees_unverified=sees_unverified,
    )
    record_access(
        current_user.id,
        "participant.dashboard_view",
        "participant",
        person.id,
        participant_id=person.id,
    )
    db.session.commit()
    return page


@bp.post("/contacts/<int:contact_id>/justify")
@roles_required(*VIEWERS)
def justify(contact_id: int) -> Response:
    """Justify a past miss with a reason (coordinators and supervision officers); audited."""
    if not may_justify(viewer_of(current_user)):
        abort(403)
    contact = _visible_contact_or_404(contact_id)
    back = url_for("dashboard.participant", participant_id=contact.participant_id)
    try:
        justify_miss(contact, current_user, request.form.get("reason", ""))
    except (InvalidInput, Conflict):
        flash(_("Escriba el motivo; solo una falta puede justificarse."), "error")
        return redirect(back)
    db.session.commit()
    flash(_("Falta justificada."), "info")
    return redirect(back)


def _reads_only_verified() -> bool:
    """Whether, in some of his courts, this user's position sees only verified misses."""
    seeing = unverified_courts(current_user)
    return seeing is not None and len(set(seeing)) < len(set(current_user.court_ids))


def _visible_contact_or_404(contact_id: int) -> Contact:
    """A contact of a participant the current user may see, or 404."""
    scope = visible_participants(current_user).with_only_columns(Participant.id)
    contact = db.session.scalar(
        select(Contact).where(
            Contact.id == contact_id, Contact.participant_id.in_(scope.scalar_subquery())
        )
    )
    if contact is None:
        abort(404)
    return contact
