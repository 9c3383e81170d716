"""The audit log (admins: view, CSV export) and participants' data rights (coordinators)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, select
from werkzeug.wrappers import Response as BaseResponse

from telejt.audit.labels import ACTION_LABELS, CHANNEL_LABELS, OBJECT_LABELS
from telejt.audit.models import AuditEvent
from telejt.audit.services import audit_log_csv, record_access
from telejt.auth.access import participant_or_404, roles_required
from telejt.auth.forms import ConfirmForm
from telejt.auth.models import StaffUser
from telejt.extensions import db
from telejt.inputs import bounded_int, iso_day
from telejt.participants.data_rights import (
    RetentionNotOver,
    anonymize_participant,
    export_participant,
    retention_ends_at,
)

bp = Blueprint("audit", __name__, template_folder="templates")

PAGE_SIZE = 200
#: who answers a participant's data-rights requests: his court's coordinators, who hold
#: his record (admins keep courts, staff and tokens, never the cases: DESIGN)
DATA_RIGHTS_ROLES = ("coordinator",)


def _int_arg(name: str) -> int | None:
    try:
        return bounded_int(request.args.get(name), low=1)
    except ValueError:
        return None


def _date_arg(name: str) -> datetime | None:
    try:
        day = iso_day(request.args.get(name))
    except ValueError:
        return None
    return datetime.combine(day, time(), tzinfo=UTC)


def _filtered_events() -> tuple[Select[AuditEvent, str], dict[str, Any]]:
    """The audit query for the page's filters (dates are whole UTC days, both included)."""
    filters: dict[str, Any] = {
        "participant_id": _int_arg("participant_id"),
        "staff_id": _int_arg("staff_id"),
        "date_from": _date_arg("date_from"),
        "date_to": _date_arg("date_to"),
    }
    query = select(AuditEvent, StaffUser.email).outerjoin(
        StaffUser, StaffUser.id == AuditEvent.staff_id
    )
    if filters["participant_id"] is not None:
        query = query.where(AuditEvent.participant_id == filters["participant_id"])
    if filters["staff_id"] is not None:
        query = query.where(AuditEvent.staff_id == filters["staff_id"])
    if filters["date_from"] is not None:
        query = query.where(AuditEvent.at >= filters["date_from"])
    if filters["date_to"] is not None:
        query = query.where(AuditEvent.at < filters["date_to"] + timedelta(days=1))
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()), filters


@bp.get("/audit")
@roles_required("admin")
def audit_log() -> str:
    """Who read or changed what, newest first, filtered by participant, staff and dates."""
    query, filters = _filtered_events()
    page = max(_int_arg("page") or 1, 1)
    rows = db.session.execute(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    record_access(
        current_user.id,
        "audit.read",
        "audit_log",
        detail={k: str(v) for k, v in filters.items() if v is not None},
    )
    db.session.commit()
    staff = db.session.scalars(select(StaffUser).order_by(StaffUser.name)).all()
    return render_template(
        "audit/log.html",
        action_labels=ACTION_LABELS,
        object_labels=OBJECT_LABELS,
        channel_labels=CHANNEL_LABELS,
        rows=rows[:PAGE_SIZE],
        has_more=len(rows) > PAGE_SIZE,
        page=page,
        filters=filters,
        staff=staff,
        args=request.args.to_dict(),
    )


@bp.get("/audit.csv")
@roles_required("admin")
def audit_csv() -> Response:
    """The filtered audit log as CSV (the export is itself audited)."""
    query, filters = _filtered_events()
    text = audit_log_csv(db.session.execute(query))
    record_access(
        current_user.id,
        "audit.export",
        "audit_log",
        detail={k: str(v) for k, v in filters.items() if v is not None},
    )
    db.session.commit()
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=telejt-auditoria.csv"},
    )


@bp.get("/participants/<int:participant_id>/export.json")
@roles_required(*DATA_RIGHTS_ROLES)
def participant_export(participant_id: int) -> Response:
    """Everything held about one participant, for a data access request (audited)."""
    participant = participant_or_404(current_user, participant_id)
    document = export_participant(participant)
    record_access(
        current_user.id,
        "participant.export",
        "participant",
        participant.id,
        participant_id=participant.id,
    )
    db.session.commit()
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2, default=str),
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename=participante-{participant.id}.json"},
    )


@bp.get("/participants/<int:participant_id>/anonymize")
@roles_required(*DATA_RIGHTS_ROLES)
def anonymize_form(participant_id: int) -> str:
    """Explain what anonymization does and when it becomes possible."""
    participant = participant_or_404(current_user, participant_id)
    record_access(
        current_user.id,
        "participant.read",
        "participant",
        participant.id,
        participant_id=participant.id,
        detail={"page": "anonymize"},
    )
    db.session.commit()
    return render_template(
        "audit/anonymize.html",
        participant=participant,
        retention_ends_at=retention_ends_at(participant),
        form=ConfirmForm(),
    )


@bp.post("/participants/<int:participant_id>/anonymize")
@roles_required(*DATA_RIGHTS_ROLES)
def anonymize(participant_id: int) -> BaseResponse | tuple[str, int]:
    """Anonymize after the program ended and the retention period passed; refuse before."""
    participant = participant_or_404(current_user, participant_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        anonymize_participant(participant)
    except RetentionNotOver as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_template(
            "audit/anonymize.html",
            participant=participant,
            retention_ends_at=retention_ends_at(participant),
            form=form,
        ), 409
    record_access(
        current_user.id,
        "participant.anonymize",
        "participant",
        participant.id,
        participant_id=participant.id,
    )
    db.session.commit()
    flash(_("Datos personales anonimizados."), "info")
    return redirect(url_for("participants.show", participant_id=participant.id))
