"""The status-hearing report as CSV: one row per contact, with its evidence."""

from __future__ import annotations

import io

from flask_babel import gettext as _

from telejt.reports import labels
from telejt.reports.answers import answer_line
from telejt.reports.formatting import local_when, viewer_locale
from telejt.reports.report import StatusReport
from telejt.spreadsheet import csv_writer


def report_csv(report: StatusReport) -> str:
    """The report's CSV text, with a byte-order mark so that spreadsheets read the accents."""
    zone = report.participant.timezone
    locale = viewer_locale()
    buffer = io.StringIO()
    writer = csv_writer(buffer)  # formula-like cells quoted
    writer.writerow(
        [
            _("Causa"),
            _("Participante"),
            _("Fecha y hora local"),
            _("Tipo"),
            _("Estado"),
            _("Atribución"),
            _("Motivo"),
            _("SMS enviados"),
            _("SMS entregados"),
            _("SMS no entregados"),
            _("Entradas del participante"),
            _("Confirmó"),
            _("Avisó que no asistiría"),
            _("Respuestas compartidas"),
        ]
    )
    for item in report.contacts:
        contact = item.contact
        writer.writerow(
            [
                report.participant.case_number,
                report.participant.name,
                local_when(contact.starts_at, zone, False, in_viewer_zone=False, labelled=False),
                labels.label(labels.CONTACT_KIND_LABELS, contact.kind),
                labels.label(labels.CONTACT_STATUS_LABELS, item.status),
                item.attribution_words if contact.attribution else "",
                item.reason_in_words(zone, in_viewer_zone=False),
                item.reminders_sent,
                item.reminders_delivered,
                item.reminders_failed,
                "; ".join(
                    local_when(p.at, zone, False, in_viewer_zone=False, labelled=False)
                    for p in item.participant_joins
                ),
                local_when(contact.confirmed_at, zone, in_viewer_zone=False, labelled=False)
                if contact.confirmed_at
                else "",
                local_when(contact.declined_at, zone, in_viewer_zone=False, labelled=False)
                if contact.declined_at
                else "",
                "; ".join(
                    f"{question}: {answer}"
                    for question, answer in (
                        answer_line(report.participant, a, locale) for a in item.answers
                    )
                ),
            ]
        )
    # after a blank row, so that the rows above stay one per contact
    writer.writerow([])
    writer.writerow([str(labels.REPORT_DISCLAIMER)])
    return "\ufeff" + buffer.getvalue()
