"""The status-hearing report as PDF (fpdf2).

Spanish needs more than Latin-1 in places (the narrow no-break space CLDR puts in
times, dashes, "≥"), so the report uses DejaVu Sans where the system has it
(Debian package ``fonts-dejavu-core``) and otherwise fpdf2's core Helvetica with
every character outside Latin-1 replaced, so a fresh machine still prints it.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from telejt.reports import labels
from telejt.reports.answers import answer_line
from telejt.reports.formatting import local_when, long_day, percent, viewer_locale
from telejt.reports.labels import outcome_pending_note
from telejt.reports.report import ContactEvidence, StatusReport

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FAMILY = "telejt-sans"


def _dejavu_available() -> bool:
    return (DEJAVU_DIR / "DejaVuSans.ttf").is_file() and (
        DEJAVU_DIR / "DejaVuSans-Bold.ttf"
    ).is_file()


def latin1_text(text: str) -> str:
    """Text the core fonts can draw: spaces normalized, accents outside Latin-1 stripped."""
    text = text.replace("\u202f", " ").replace("\u00a0", " ").replace("—", "-").replace("≥", ">=")
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(base or "?")
    return "".join(out)


class ReportPdf(FPDF):
    """A4 pages with the report's title and page numbers."""

    def __init__(self, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report_title = title
        self.unicode_font = _dejavu_available()
        if self.unicode_font:
            self.add_font(FONT_FAMILY, "", str(DEJAVU_DIR / "DejaVuSans.ttf"))
            self.add_font(FONT_FAMILY, "B", str(DEJAVU_DIR / "DejaVuSans-Bold.ttf"))
            self.family = FONT_FAMILY
        else:
            self.family = "helvetica"
        self.set_auto_page_break(auto=True, margin=15)
        self.alias_nb_pages()

    def text_for(self, text: str) -> str:
        """Text this PDF's font can draw."""
        return text.replace("\u202f", " ") if self.unicode_font else latin1_text(text)

    def footer(self) -> None:
        """Title and page number on every page."""
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        page = _("Página %(page)s de %(pages)s", page=self.page_no(), pages="{nb}")
        self.cell(0, 6, self.text_for(f"{self.report_title} · {page}"), align="C")

    def line_of(self, text: str, size: float = 10, bold: bool = False, height: float = 5) -> None:
        """A paragraph that wraps."""
        self.set_font(self.family, "B" if bold else "", size)
        self.multi_cell(0, height, self.text_for(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(report: StatusReport, court_name: str) -> bytes:
    """The report as PDF bytes."""
    person = report.participant
    zone = person.timezone
    title = _("Informe de cumplimiento para audiencia")
    pdf = ReportPdf(title)
    pdf.add_page()
    pdf.line_of(title, size=15, bold=True, height=8)
    case = _("Causa")
    pdf.line_of(f"{person.name} · {case} {person.case_number} · {court_name}", bold=True)
    pdf.line_of(
        _(
            "Periodo: del %(first)s al %(last)s (hora local: %(zone)s)",
            first=long_day(report.first_day),
            last=long_day(report.last_day),
            zone=zone,
        )
    )
    pdf.ln(1)
    pdf.line_of(str(labels.REPORT_DISCLAIMER), size=9, bold=True, height=4.5)
    pdf.ln(2)
    pdf.line_of(_("Resumen"), size=12, bold=True, height=7)
    for status, count in sorted(report.by_status.items()):
        pdf.line_of(f"{labels.label(labels.CONTACT_STATUS_LABELS, status)}: {count}")
    pdf.line_of(_("Asistencia: %(rate)s", rate=percent(report.attendance_rate)))
    for kind, figures in (
        ("session", report.figures.sessions),
        ("checkin", report.figures.checkins),
    ):
        pdf.line_of(
            _(
                "%(kind)s: %(kept)s cumplidos; faltas del participante: %(own)s; fallas del "
                "sistema: %(system)s; sin constancia de entrega: %(unconfirmed)s; tras su baja "
                "de los SMS: %(opted_out)s; justificados: %(excused)s; resultado pendiente: "
                "%(pending)s; respondidos en parte: %(incomplete)s; asistencia: %(rate)s",
                kind=labels.label(labels.CONTACT_KIND_LABELS, kind),
                kept=figures.kept,
                own=figures.missed_participant,
                system=figures.missed_system,
                unconfirmed=figures.missed_unconfirmed,
                opted_out=figures.missed_opted_out,
                excused=figures.excused,
                pending=figures.outcome_pending,
                incomplete=figures.incomplete,
                rate=percent(figures.attendance_rate),
            ),
            size=9,
            height=4.5,
        )
        if figures.missed_unverified:
            pdf.line_of(
                _(
                    "De esas faltas del participante, %(count)s sin verificar todavía: no son "
                    "aún un incumplimiento.",
                    count=figures.missed_unverified,
                ),
                size=9,
                height=4.5,
            )
    for attribution, count in sorted(report.misses_by_attribution.items()):
        pdf.line_of(
            _(
                "Faltas — %(who)s: %(count)s",
                who=labels.label(labels.ATTRIBUTION_LABELS, attribution),
                count=count,
            ),
            bold=True,
        )
    system = len(report.system_misses)
    pdf.line_of(
        _(
            "%(count)s falta(s) fueron fallas del sistema y no son imputables al participante.",
            count=system,
        )
        if system
        else _("Ninguna falta fue falla del sistema.")
    )
    if report.outcome_pending:
        pdf.line_of(outcome_pending_note(len(report.outcome_pending)), bold=True)
    pdf.ln(2)
    for heading, items in (
        (_("Sesiones"), report.sessions),
        (_("Reportes (check-in)"), report.checkins),
    ):
        pdf.line_of(heading, size=12, bold=True, height=7)
        for item in items:
            _contact_lines(pdf, item, zone)
    if not report.contacts:
        pdf.line_of(_("Sin contactos en el periodo."))
    pdf.ln(2)
    pdf.line_of(str(labels.REPORT_DISCLAIMER), size=9, height=4.5)
    return bytes(pdf.output())


def _contact_lines(pdf: ReportPdf, item: ContactEvidence, zone: str) -> None:
    """One contact: when, what became of it and why, and its evidence."""
    contact = item.contact
    person = contact.participant
    head = (
        f"{local_when(contact.starts_at, zone, in_viewer_zone=False, labelled=False)} · "
        f"{labels.label(labels.CONTACT_KIND_LABELS, contact.kind)} · "
        f"{labels.label(labels.CONTACT_STATUS_LABELS, item.status)}"
    )
    if contact.attribution:
        head += f" · {item.attribution_words}"
    pdf.line_of(head, bold=contact.status == "missed")
    details = []
    if contact.attribution_reason or contact.justification:
        details.append(item.reason_in_words(zone, in_viewer_zone=False))
    details.append(
        _(
            "SMS: %(sent)s enviados, %(delivered)s entregados, %(failed)s no entregados",
            sent=item.reminders_sent,
            delivered=item.reminders_delivered,
            failed=item.reminders_failed,
        )
    )
    if contact.kind == "session":
        joins = ", ".join(
            local_when(p.at, zone, False, in_viewer_zone=False, labelled=False)
            for p in item.participant_joins
        )
        details.append(_("Entradas del participante: %(joins)s", joins=joins or _("ninguna")))
    if contact.confirmed_at:
        details.append(
            _(
                "Confirmó: %(when)s",
                when=local_when(contact.confirmed_at, zone, in_viewer_zone=False, labelled=False),
            )
        )
    if contact.declined_at:
        details.append(
            _(
                "Avisó que no asistiría: %(when)s",
                when=local_when(contact.declined_at, zone, in_viewer_zone=False, labelled=False),
            )
        )
    for answer in item.answers:
        question, words = answer_line(person, answer, viewer_locale())
        details.append(_("Respuesta a «%(question)s»: %(value)s", question=question, value=words))
    pdf.line_of("    " + " · ".join(details), size=9, height=4.5)
