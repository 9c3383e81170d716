"""The status-hearing report: figures equal the stored statuses, each miss with its evidence."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from test_dashboard_views import add_contact, login

from telejt.audit.models import AuditEvent
from telejt.checkins.models import CheckinAnswer
from telejt.clock import now
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.reports.pdf import latin1_text
from telejt.sessions.models import ClinicalNote, PresenceEvent
from telejt.sms.models import OutboundMessage


def message(contact: Contact, status: str, error_code: str | None = None) -> OutboundMessage:
    """A reminder for a contact with its final delivery status."""
    sms = OutboundMessage(
        participant_id=contact.participant_id,
        contact_id=contact.id,
        purpose="reminder",
        idempotency_key=f"test:{contact.id}:{status}",
        due_at=contact.starts_at - timedelta(hours=24),
        sent_at=contact.starts_at - timedelta(hours=24),
        status=status,
        error_code=error_code,
    )
    db.session.add(sms)
    return sms


@pytest.fixture
def history(app_ctx, frozen_clock, make_court, make_staff, make_participant):
    """A participant with a varied, known history over the last four weeks."""
    court = make_court()
    judge = make_staff("court", courts=[court], court_position="judge")
    therapist = make_staff("therapist", courts=[court])
    person = make_participant(court=court, therapist=therapist, name="Dulce Sintética")
    day = timedelta(days=1)
    start = now() - 25 * day
    attended = add_contact(person, start, "attended")
    db.session.add(
        PresenceEvent(
            contact_id=attended.id,
            actor="participant",
            event="join",
            at=attended.starts_at + timedelta(minutes=2),
        )
    )
    message(attended, "delivered")
    own_miss = add_contact(
        person, start + 7 * day, "missed", "participant", reason="reminder_delivered"
    )
    message(own_miss, "delivered")
    system_miss = add_contact(
        person, start + 14 * day, "missed", "system", reason="sms_undelivered:30006"
    )
    message(system_miss, "undelivered", "30006")
    declined = add_contact(person, start + 15 * day, "excused", "excused", reason="declined_ahead")
    declined.declined_at = declined.starts_at - day
    confirmed = add_contact(person, start + 21 * day, "late")
    confirmed.confirmed_at = confirmed.starts_at - day
    checkin = add_contact(person, start + 3 * day, "completed", kind="checkin")
    db.session.add_all(
        [
            CheckinAnswer(
                contact_id=checkin.id,
                question_id="use",
                value="no",
                raw_text="2",
                is_shared_with_court=True,
                via="sms",
            ),
            CheckinAnswer(
                contact_id=checkin.id,
                question_id="craving",
                value="8",
                raw_text="8",
                is_shared_with_court=False,
                via="sms",
            ),
            ClinicalNote(participant_id=person.id, author_id=therapist.id, body="Nota reservada"),
        ]
    )
    add_contact(person, now() - 90 * day, "missed", "participant")  # outside the range
    db.session.commit()
    zone = ZoneInfo(person.timezone)
    first = (now() - 28 * day).astimezone(zone).date().isoformat()
    last = now().astimezone(zone).date().isoformat()
    return {
        "judge": judge,
        "person": person,
        "range": f"from={first}&to={last}",
        "system_miss": system_miss,
    }


def test_report_figures_equal_the_stored_statuses(client, history):
    person = history["person"]
    login(client, history["judge"])
    page = client.get(f"/reports/participants/{person.id}?{history['range']}").get_data(True)

    zone = ZoneInfo(person.timezone)
    first_day = (now() - timedelta(days=28)).astimezone(zone).date()
    last_day = now().astimezone(zone).date()
    stored = Counter(
        db.session.scalars(
            select(Contact.status).where(
                Contact.participant_id == person.id,
                Contact.starts_at >= datetime.combine(first_day, time(0), zone),
                Contact.starts_at < datetime.combine(last_day + timedelta(days=1), time(0), zone),
            )
        )
    )
    settled = {"attended": 1, "missed": 2, "excused": 1, "late": 1, "completed": 1}
    assert {k: v for k, v in stored.items() if k in settled} == settled
    for status, count in stored.items():
        assert f'<tr data-status="{status}">' in page
        row = page[page.index(f'<tr data-status="{status}">') :]
        assert f'<td class="count">{count}</td>' in row[: row.index("</tr>")]
    assert "1 falta(s) fueron fallas del sistema" in page
    assert "Los SMS no le llegaron (30006)" in page
    assert "No entregado" in page and "código 30006" in page
    assert "Nota reservada" not in page
    # the shared answer in words: the question as asked, without its SMS keys, and "No"
    assert "<td>Desde tu último reporte, ¿tuviste algún tropiezo?</td><td>No</td>" in page
    assert "ganas" not in page and "<td>use</td>" not in page
    assert "Este informe documenta; no sanciona." in page
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "participant.report", AuditEvent.participant_id == person.id
        )
    )


def test_report_csv_has_one_row_per_contact(client, history):
    login(client, history["judge"])
    response = client.get(f"/reports/participants/{history['person'].id}.csv?{history['range']}")
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    # one row per contact, then a blank row and the report's disclaimer
    header, body = rows[0], rows[1 : rows.index([])]
    assert rows[-1][0].startswith("Este informe documenta; no sanciona.")
    assert len(body) == len(page_contacts(client, history))
    statuses = Counter(row[header.index("Estado")] for row in body)
    assert statuses["No realizado"] == 2
    attributions = Counter(row[header.index("Atribución")] for row in body)
    assert attributions["Falla del sistema"] == 1
    assert attributions["Inasistencia del participante"] == 1


def page_contacts(client: Any, history: dict[str, Any]) -> list[str]:
    """The contact rows of the HTML report for the same range."""
    page = client.get(f"/reports/participants/{history['person'].id}?{history['range']}")
    return page.get_data(as_text=True).split("data-contact-id=")[1:]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")
def test_report_pdf_opens_and_says_which_misses_were_the_systems(client, history, tmp_path):
    login(client, history["judge"])
    response = client.get(f"/reports/participants/{history['person'].id}.pdf?{history['range']}")
    assert response.headers["Content-Type"] == "application/pdf"
    path = tmp_path / "informe.pdf"
    path.write_bytes(response.get_data())
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Dulce Sintética" in text
    assert "Falla del sistema" in text
    assert "fueron fallas del sistema" in text
    assert "Nota reservada" not in text
    assert "documenta; no sanciona" in text
    assert "1 sin verificar" in text  # his miss, not verified yet: the judge reads it so
    assert "Mensaje que le llegó" in text
    assert "Sesiones" in text and "Reportes (check-in)" in text
    assert "tropiezo" in text and "use" not in text.split()


def test_core_font_fallback_keeps_latin1_and_replaces_the_rest() -> None:
    assert latin1_text("Sesión — 5:05\u202fp.m. ≥ 2") == "Sesión - 5:05 p.m. >= 2"


def test_report_access(client, history, make_staff):
    person = history["person"]
    login(client, make_staff("court"))  # another court
    assert client.get(f"/reports/participants/{person.id}").status_code == 404
    login(client, make_staff("therapist"))
    assert client.get(f"/reports/participants/{person.id}").status_code == 403
    login(client, history["judge"])
    assert client.get(f"/reports/participants/{person.id}?from=2026-13-01").status_code == 400
    assert (
        client.get(f"/reports/participants/{person.id}?from=2026-03-02&to=2026-01-01").status_code
        == 400
    )


def test_answers_read_in_words(app_ctx, make_participant) -> None:
    from telejt.reports.answers import answer_words, question_for, question_words

    person = make_participant()
    use, craving = question_for(person, "use"), question_for(person, "craving")
    assert (
        question_words(use, "use", "es_MX") == "Desde tu último reporte, ¿tuviste algún tropiezo?"
    )
    assert question_words(craving, "craving", "en").endswith("how strong were your cravings?")
    assert (answer_words(use, "yes", "es_MX"), answer_words(use, "no", "es_MX")) == ("Sí", "No")
    assert answer_words(craving, "8", "es_MX") == "8 de 10"
    assert question_words(None, "gone", "es_MX") == "gone"  # a question the protocol lost
