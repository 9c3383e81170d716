"""The status-hearing report: printable HTML, CSV and PDF of one participant's date range."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, make_response, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from telejt.audit.services import record_access
from telejt.auth.access import participant_or_404, roles_required
from telejt.clock import now
from telejt.courts.services import sees_unverified_misses
from telejt.extensions import db
from telejt.reports.csv_export import report_csv
from telejt.reports.formatting import template_helpers
from telejt.reports.pdf import render_pdf
from telejt.reports.report import InvalidRange, StatusReport, build_report, parse_range

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")

PRINTERS = ("court", "coordinator")


@bp.context_processor
def report_helpers() -> dict[str, Any]:
    """Labels and local times for the report template."""
    return template_helpers()


def _report_for(participant_id: int) -> StatusReport:
    person = participant_or_404(current_user, participant_id)
    today = now().astimezone(ZoneInfo(person.timezone)).date()
    try:
        first, last = parse_range(request.args.get("from"), request.args.get("to"), today)
    except InvalidRange:
        abort(400)
    return build_report(person, first, last, sees_unverified_misses(current_user, person.court_id))


def _audit(report: StatusReport, output: str) -> None:
    """Record the read once the report is rendered (a commit expires every loaded row)."""
    record_access(
        current_user.id,
        "participant.report",
        "participant",
        report.participant.id,
        participant_id=report.participant.id,
        detail={
            "from": report.first_day.isoformat(),
            "to": report.last_day.isoformat(),
            "format": output,
        },
    )
    db.session.commit()


def _filename(report: StatusReport, extension: str) -> str:
    return f"informe-{report.participant.id}-{report.first_day}-{report.last_day}.{extension}"


@bp.get("/participants/<int:participant_id>")
@roles_required(*PRINTERS)
def participant_report(participant_id: int) -> str:
    """The report as a page to read and print."""
    report = _report_for(participant_id)
    page = render_template("reports/participant.html", report=report, generated_at=now())
    _audit(report, "html")
    return page


@bp.get("/participants/<int:participant_id>.csv")
@roles_required(*PRINTERS)
def participant_report_csv(participant_id: int) -> Response:
    """One row per contact, with its evidence."""
    report = _report_for(participant_id)
    filename = _filename(report, "csv")
    _audit(report, "csv")
    # a byte-order mark so that spreadsheet programs read the accents right
    response = make_response(report_csv(report))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/participants/<int:participant_id>.pdf")
@roles_required(*PRINTERS)
def participant_report_pdf(participant_id: int) -> Response:
    """The report as PDF."""
    report = _report_for(participant_id)
    document = render_pdf(report, report.participant.court.name)
    filename = _filename(report, "pdf")
    _audit(report, "pdf")
    response = make_response(document)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
