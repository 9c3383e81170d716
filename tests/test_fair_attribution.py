"""Fair attribution: no receipt is not his miss, an opt-out is his choice, staff justify misses.

What a judge reads about each miss must be true: which reminder reached him and
when, or that none could; an opt-out is shown as his decision and gives the team a
task, never "Falla del sistema"; a miss justified afterwards stops counting against
him everywhere, and the audit log keeps what it was.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from test_api_access import call
from test_dashboard_views import add_contact, login

from telejt.alerts.models import Alert
from telejt.audit.models import AuditEvent
from telejt.auth.services import create_api_token
from telejt.clock import now
from telejt.errors import Conflict, InvalidInput
from telejt.extensions import db
from telejt.planning.justification import justify_miss
from telejt.planning.models import Contact
from telejt.planning.watcher import settle_contact
from telejt.reports.figures import consecutive_misses, figures_of
from telejt.reports.report import build_report
from telejt.sms.models import OutboundMessage

DAY = timedelta(days=1)


def reminder(contact: Contact, status: str, reason: str | None = None) -> OutboundMessage:
    """The contact's reminder, sent a day ahead, with its last status."""
    sent = contact.starts_at - DAY
    message = OutboundMessage(
        participant_id=contact.participant_id,
        contact_id=contact.id,
        purpose="reminder",
        idempotency_key=f"test:{contact.id}:{status}",
        due_at=sent,
        sent_at=None if status in ("skipped", "pending") else sent,
        status_at=sent + timedelta(minutes=1),
        status=status,
        status_reason=reason,
    )
    db.session.add(message)
    db.session.flush()
    return message


def scheduled(participant: Any, starts_at: Any, kind: str = "session") -> Contact:
    """A contact still open, its deadline past: the watcher settles it."""
    contact = add_contact(participant, starts_at, "scheduled", kind=kind)
    # his enrolment planned reminders; these tests give each contact its own
    for message in db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.contact_id == contact.id)
    ):
        db.session.delete(message)
    return contact


@pytest.fixture
def court(app_ctx, frozen_clock, make_court, make_staff, make_participant):
    place = make_court()
    staff = {
        "coordinator": make_staff("coordinator", courts=[place], password=None),
        "judge": make_staff("court", courts=[place], court_position="judge", password=None),
        "supervision": make_staff(
            "court", courts=[place], court_position="supervision_officer", password=None
        ),
        "therapist": make_staff("therapist", courts=[place], password=None),
    }
    person = make_participant(court=place, therapist=staff["therapist"], name="Iris Sintética")
    tokens = {name: create_api_token(user)[1] for name, user in staff.items()}
    db.session.commit()
    return {"staff": staff, "person": person, "tokens": tokens}


def missed_alerts(person: Any) -> list[Alert]:
    return list(
        db.session.scalars(
            select(Alert).where(Alert.participant_id == person.id).order_by(Alert.id)
        )
    )


def test_a_reminder_with_no_receipt_is_not_held_against_him(court) -> None:
    person = court["person"]
    kept = add_contact(person, now() - 6 * DAY, "attended")
    contact = scheduled(person, now() - 3 * DAY)
    reminder(contact, "sent")
    settle_contact(contact)
    assert (contact.status, contact.attribution) == ("missed", "unconfirmed")
    assert contact.attribution_reason == "reminder_sent_unconfirmed"
    # the court learns at once that the contact was not made, and whose it is not
    alert = missed_alerts(person)[-1]
    assert (alert.kind, alert.attribution) == ("missed_contact", "unconfirmed")
    figures = figures_of(person.id, now() - 10 * DAY, now(), now())
    assert figures.sessions.missed_unconfirmed == 1
    assert figures.sessions.missed_participant == 0
    assert figures.attendance_rate == 1.0
    assert consecutive_misses(person.id) == 0
    assert kept.status == "attended"


def test_the_report_says_which_reminder_reached_him_and_when(client, court) -> None:
    person = court["person"]
    contact = scheduled(person, now() - 3 * DAY)
    delivered = reminder(contact, "delivered")
    settle_contact(contact)
    assert (contact.attribution, contact.attribution_reason) == (
        "participant",
        "reminder_delivered",
    )
    unconfirmed = scheduled(person, now() - 2 * DAY, kind="checkin")
    reminder(unconfirmed, "queued")
    settle_contact(unconfirmed)
    db.session.commit()
    zone = ZoneInfo(person.timezone)
    first, last = (now() - 10 * DAY).astimezone(zone).date(), now().astimezone(zone).date()
    report = build_report(person, first, last)
    item = next(i for i in report.contacts if i.contact.id == contact.id)
    assert item.reached_by is not None and item.reached_by.id == delivered.id
    words = item.reason_in_words(person.timezone)
    assert "Mensaje que le llegó: «Recordatorio" in words
    login(client, court["staff"]["judge"])
    page = client.get(
        f"/reports/participants/{person.id}?from={first.isoformat()}&to={last.isoformat()}"
    ).get_data(True)
    assert words in page.replace("&#39;", "'")
    assert "el operador nunca confirmó que le llegara" in page
    assert "Sin constancia de que el aviso le llegó (no se le atribuye)" in page


def test_enrolled_too_late_no_reminder_could_reach_him(court) -> None:
    person = court["person"]
    contact = scheduled(person, now() - DAY)
    reminder(contact, "skipped", "overdue")
    settle_contact(contact)
    assert (contact.attribution, contact.attribution_reason) == ("system", "no_reminder_in_time")
    zone = ZoneInfo(person.timezone)
    day = now().astimezone(zone).date()
    report = build_report(person, day - timedelta(days=5), day)
    item = next(i for i in report.contacts if i.contact.id == contact.id)
    assert "Ningún recordatorio podía llegarle a tiempo" in item.reason_in_words(person.timezone)


def test_an_opt_out_is_his_choice_and_a_task_for_the_team(client, court) -> None:
    person = court["person"]
    person.sms_opted_out_at = now() - 5 * DAY
    first = scheduled(person, now() - 3 * DAY)
    second = scheduled(person, now() - 2 * DAY, kind="checkin")
    settle_contact(first)
    settle_contact(second)
    assert (first.attribution, second.attribution) == ("opted_out", "opted_out")
    alerts = missed_alerts(person)
    court_alerts = [a for a in alerts if a.kind == "missed_contact"]
    team_tasks = [a for a in alerts if a.kind == "reachability"]
    assert {a.attribution for a in court_alerts} == {"opted_out"}
    assert len(team_tasks) == 1 and team_tasks[0].audience == "team"  # one per opt-out
    figures = figures_of(person.id, now() - 10 * DAY, now(), now())
    assert figures.total.missed_opted_out == 2 and figures.total.missed_system == 0
    assert figures.attendance_rate is None
    db.session.commit()
    login(client, court["staff"]["judge"])
    zone = ZoneInfo(person.timezone)
    first_day, last_day = (now() - 10 * DAY).astimezone(zone).date(), now().astimezone(zone).date()
    page = client.get(f"/reports/participants/{person.id}?from={first_day}&to={last_day}").get_data(
        True
    )
    assert "Se dio de baja de los SMS (su decisión; no es falla del sistema)" in page
    assert "Ninguna falta fue falla del sistema." in page
    contacts_table = page[page.index('<table class="contacts">') :]
    assert "Falla del sistema" not in contacts_table


def test_one_task_per_opt_out_whoever_notices_it_first(court) -> None:
    """BAJA raised the team's task; the miss after it adds no second one."""
    from telejt.conversation.engine import opt_out

    person = court["person"]
    assert opt_out(person, "test:baja")
    db.session.flush()
    contact = scheduled(person, now() + 1 * DAY)
    settle_contact(contact)  # its deadline, after the opt-out
    assert contact.attribution == "opted_out"
    tasks = [a for a in missed_alerts(person) if a.kind == "reachability"]
    assert [a.reason for a in tasks] == ["sms_opted_out"]


def test_staff_justify_a_past_miss_and_every_figure_follows(client, court) -> None:
    person, staff, tokens = court["person"], court["staff"], court["tokens"]
    add_contact(person, now() - 8 * DAY, "attended")
    session = add_contact(person, now() - 4 * DAY, "missed", "participant", reason="no_show")
    checkin = add_contact(
        person, now() - 3 * DAY, "missed", "system", kind="checkin", reason="sms_undelivered"
    )
    db.session.commit()
    before = figures_of(person.id, now() - 10 * DAY, now(), now())
    assert before.sessions.missed_participant == 1 and before.attendance_rate == 0.5

    # a judge and a therapist may not; the supervision officer and the coordinator may
    body = {"reason": "Constancia de hospitalización del 2 de marzo"}
    path = f"/contacts/{session.id}/justification"
    assert call(client, tokens["judge"], "POST", path, body).status_code == 403
    assert call(client, tokens["therapist"], "POST", path, body).status_code == 403
    response = call(client, tokens["supervision"], "POST", path, body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "excused"
    assert response.get_json()["justification"] == body["reason"]
    assert call(client, tokens["coordinator"], "POST", path, body).status_code == 409
    response = call(
        client,
        tokens["coordinator"],
        "POST",
        f"/contacts/{checkin.id}/justification",
        {"reason": "Audiencia el mismo día"},
    )
    assert response.status_code == 200

    after = figures_of(person.id, now() - 10 * DAY, now(), now())
    assert after.sessions.missed_participant == 0 and after.sessions.excused == 1
    assert after.checkins.missed_system == 0 and after.checkins.excused == 1
    assert after.attendance_rate == 1.0
    api = call(client, tokens["judge"], "GET", f"/participants/{person.id}/compliance").get_json()
    assert api["figures"]["sessions"]["excused"] == 1
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "contact.justify").order_by(AuditEvent.id)
    ).all()
    assert [e.detail["before"]["attribution"] for e in audit] == ["participant", "system"]
    assert audit[0].staff_id == staff["supervision"].id

    login(client, staff["judge"])
    zone = ZoneInfo(person.timezone)
    first_day, last_day = (now() - 10 * DAY).astimezone(zone).date(), now().astimezone(zone).date()
    page = client.get(f"/reports/participants/{person.id}?from={first_day}&to={last_day}").get_data(
        True
    )
    assert "Faltas justificadas" in page
    assert "Constancia de hospitalización del 2 de marzo" in page
    csv_text = client.get(
        f"/reports/participants/{person.id}.csv?from={first_day}&to={last_day}"
    ).get_data(True)
    assert "Audiencia el mismo día" in csv_text


def test_only_a_miss_can_be_justified(court) -> None:
    person = court["person"]
    kept = add_contact(person, now() - 2 * DAY, "attended")
    with pytest.raises(Conflict):  # not a miss: the state forbids it, the input was fine
        justify_miss(kept, court["staff"]["coordinator"], "por si acaso")
    missed = add_contact(person, now() - DAY, "missed", "participant")
    with pytest.raises(InvalidInput):
        justify_miss(missed, court["staff"]["coordinator"], "   ")


def test_the_dashboard_page_justifies_a_miss_and_colours_each_attribution(client, court) -> None:
    from telejt.dashboard.calendar import contact_outcome

    person, staff = court["person"], court["staff"]
    miss = add_contact(person, now() - 2 * DAY, "missed", "participant", reason="no_show")
    unconfirmed = add_contact(person, now() - 3 * DAY, "missed", "unconfirmed")
    opted_out = add_contact(person, now() - 4 * DAY, "missed", "opted_out", kind="checkin")
    db.session.commit()
    assert contact_outcome(unconfirmed) == "missed_unconfirmed"
    assert contact_outcome(opted_out) == "missed_opted_out"
    assert contact_outcome(miss) == "missed_participant"

    login(client, staff["judge"])
    page = client.get(f"/dashboard/participants/{person.id}").get_data(True)
    assert "justify-form" not in page
    assert client.post(
        f"/dashboard/contacts/{miss.id}/justify", data={"reason": "x"}
    ).status_code in (
        400,
        403,
    )
    login(client, staff["coordinator"])
    page = client.get(f"/dashboard/participants/{person.id}").get_data(True)
    assert f"/dashboard/contacts/{miss.id}/justify" in page
    response = client.post(
        f"/dashboard/contacts/{miss.id}/justify", data={"reason": "Cita médica comprobada"}
    )
    assert response.status_code == 302
    db.session.refresh(miss)
    assert (miss.status, miss.attribution, miss.justification) == (
        "excused",
        "excused",
        "Cita médica comprobada",
    )
    page = client.get(f"/dashboard/participants/{person.id}").get_data(True)
    assert "Cita médica comprobada" in page
