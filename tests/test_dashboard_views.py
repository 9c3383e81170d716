"""The judicial dashboard pages: who may open them, the compliance figures, acks, privacy."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest import sign_in
from flask_babel import refresh
from sqlalchemy import select

from telejt import clock
from telejt.alerts.models import Alert
from telejt.alerts.services import raise_alert
from telejt.audit.models import AuditEvent
from telejt.checkins.models import CheckinAnswer
from telejt.clock import now
from telejt.courts.models import Court
from telejt.dashboard.queries import ComplianceFilters, compliance_rows
from telejt.extensions import db
from telejt.participants.services import record_consent, revoke_consent
from telejt.planning.models import Contact
from telejt.sessions.models import ClinicalNote


def login(client: Any, user: Any) -> None:
    """Log a staff member in (a server-side session, as the login page makes)."""
    sign_in(client, user)


def add_contact(
    participant: Any,
    starts_at: datetime,
    status: str,
    attribution: str | None = None,
    kind: str = "session",
    reason: str | None = None,
    verified: bool = False,
) -> Contact:
    """A settled contact with a known outcome (what the watcher or a therapist recorded);
    ``verified``: a miss a person confirmed as his (a day after it)."""
    contact = Contact(
        participant_id=participant.id,
        kind=kind,
        plan_key=f"test:{uuid.uuid4().hex}",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=50),
        deadline_at=starts_at + timedelta(minutes=15),
        status=status,
        attribution=attribution,
        attribution_reason=reason,
        protocol_id=participant.protocol_id,
        protocol_version=participant.protocol_version,
        phase_id=participant.phase_id,
        join_token=uuid.uuid4().hex,
        question_ids=["use", "craving"] if kind == "checkin" else None,
        verified_at=starts_at + timedelta(days=1) if verified else None,
    )
    db.session.add(contact)
    db.session.flush()
    return contact


@pytest.fixture
def court_setup(app_ctx, frozen_clock, make_court, make_staff, make_participant):
    """A court with a judge, a coordinator, and two participants with a history."""
    court, other_court = make_court(), make_court()
    judge = make_staff("court", courts=[court], court_position="judge")
    coordinator = make_staff("coordinator", courts=[court])
    therapist = make_staff("therapist", courts=[court])
    ana = make_participant(court=court, therapist=therapist, name="Ana Sintética")
    beto = make_participant(court=court, therapist=therapist, name="Beto Sintético")
    outsider = make_participant(court=other_court, name="Carlos de Otro Juzgado")
    day = timedelta(days=1)
    start = now() - 20 * day
    # Ana: kept, kept, missed (hers), missed (system), missed (hers), excused -> 2 in a row
    add_contact(ana, start, "attended")
    add_contact(ana, start + 2 * day, "late")
    add_contact(
        ana, start + 4 * day, "missed", "participant", reason="reminder_delivered", verified=True
    )
    add_contact(ana, start + 6 * day, "missed", "system", reason="sms_undelivered:30006")
    add_contact(
        ana, start + 8 * day, "missed", "participant", reason="reminder_delivered", verified=True
    )
    add_contact(ana, start + 9 * day, "excused", "excused", reason="declined_ahead")
    # long ago: outside the 30 days, counts for nothing in the rate
    add_contact(ana, now() - 60 * day, "missed", "participant", verified=True)
    # Beto: all kept
    for n in range(3):
        add_contact(beto, start + n * day, "completed", kind="checkin")
    missed = db.session.scalars(
        select(Contact).where(Contact.participant_id == ana.id, Contact.attribution == "system")
    ).one()
    system_alert = raise_alert(
        participant=ana,
        contact=missed,
        kind="missed_contact",
        severity="warning",
        attribution="system",
        dedupe_key=f"missed:{missed.id}",
        reason="sms_undelivered:30006",
    )
    crisis = raise_alert(
        participant=ana,
        kind="crisis",
        severity="urgent",
        audience="team",
        dedupe_key="crisis:test",
    )
    db.session.commit()
    return {
        "judge": judge,
        "coordinator": coordinator,
        "therapist": therapist,
        "ana": ana,
        "beto": beto,
        "outsider": outsider,
        "system_alert": system_alert,
        "crisis": crisis,
    }


@pytest.mark.parametrize("role,status", [("therapist", 403), ("admin", 403)])
def test_dashboard_is_for_court_users_and_coordinators(client, make_staff, role, status):
    login(client, make_staff(role))
    assert client.get("/dashboard").status_code == status


def test_anonymous_is_sent_to_login(client):
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_compliance_figures_per_participant(court_setup):
    rows, total = compliance_rows(court_setup["judge"], now(), ComplianceFilters(sort="name"))
    by_name = {row.name: row for row in rows}
    assert total == 2 and set(by_name) == {"Ana Sintética", "Beto Sintético"}
    ana = by_name["Ana Sintética"]
    assert (ana.kept_30d, ana.missed_participant_30d, ana.missed_system_30d) == (2, 2, 1)
    assert ana.attendance_rate == pytest.approx(0.5)  # the system's miss does not count
    assert ana.consecutive_misses == 2  # the system miss and the excuse do not break the run
    assert ana.open_alerts == 1  # the crisis alert is not the court's
    beto = by_name["Beto Sintético"]
    assert beto.attendance_rate == 1.0 and beto.consecutive_misses == 0
    coordinator_rows, _ = compliance_rows(court_setup["coordinator"], now(), ComplianceFilters())
    assert {r.name: r.open_alerts for r in coordinator_rows}["Ana Sintética"] == 2


def test_consecutive_misses_without_any_kept_contact(court_setup, make_participant):
    court = db.session.get(Court, court_setup["ana"].court_id)
    newcomer = make_participant(court=court, name="Dora Sintética")
    make_participant(court=court, name="Eva Sintética")  # enrolled, nothing settled yet
    start = now() - timedelta(days=10)
    add_contact(newcomer, start, "missed", "participant")
    add_contact(newcomer, start + timedelta(days=1), "missed", "system")
    add_contact(newcomer, start + timedelta(days=2), "missed", "participant")
    add_contact(newcomer, now() - timedelta(days=70), "missed", "participant")
    db.session.commit()

    rows, _ = compliance_rows(court_setup["judge"], now(), ComplianceFilters(sort="name"))

    by_name = {row.name: row for row in rows}
    assert by_name["Dora Sintética"].consecutive_misses == 3  # never kept: every miss of his
    assert by_name["Dora Sintética"].last_kept_at is None
    assert by_name["Eva Sintética"].consecutive_misses == 0  # no contact yet
    assert by_name["Eva Sintética"].attendance_rate is None
    first, _ = compliance_rows(court_setup["judge"], now(), ComplianceFilters())
    assert first[0].name == "Dora Sintética"  # most consecutive misses first


def test_filters_and_sorting_are_server_side(client, court_setup):
    login(client, court_setup["judge"])
    page = client.get("/dashboard?sort=rate&dir=asc").get_data(as_text=True)
    assert page.index("Ana Sintética") < page.index("Beto Sintético")
    page = client.get("/dashboard?sort=rate&dir=desc").get_data(as_text=True)
    compliance = page[page.index('id="compliance"') :]
    assert compliance.index("Beto Sintético") < compliance.index("Ana Sintética")
    page = client.get("/dashboard?min_misses=1").get_data(as_text=True)
    compliance = page[page.index('id="compliance"') :]
    assert "Ana Sintética" in compliance and "Beto Sintético" not in compliance
    page = client.get("/dashboard?q=beto").get_data(as_text=True)
    compliance = page[page.index('id="compliance"') :]
    assert "Beto Sintético" in compliance and "Ana Sintética" not in compliance
    assert "Carlos de Otro Juzgado" not in client.get("/dashboard?status=all").get_data(True)


def test_dashboard_shows_open_alerts_with_attribution_in_words(client, court_setup):
    login(client, court_setup["judge"])
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'id="alert-{court_setup["system_alert"].id}"' in page
    assert "Falla del sistema" in page
    assert f'id="alert-{court_setup["crisis"].id}"' not in page  # never the court's
    audit = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "dashboard.view", AuditEvent.staff_id == court_setup["judge"].id
        )
    )
    assert audit is not None and court_setup["ana"].id in audit.detail["participant_ids"]


def test_alert_row_is_scoped_like_the_live_rooms(client, court_setup):
    login(client, court_setup["judge"])
    assert client.get(f"/dashboard/alerts/{court_setup['system_alert'].id}/row").status_code == 200
    assert client.get(f"/dashboard/alerts/{court_setup['crisis'].id}/row").status_code == 404


def test_compliance_row_fragment_for_live_refresh(client, court_setup):
    ana, judge = court_setup["ana"], court_setup["judge"]
    login(client, judge)
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'data-row-url="/dashboard/participants/0/row"' in page
    add_contact(ana, now() - timedelta(hours=3), "attended")  # a therapist marks one
    db.session.commit()

    response = client.get(f"/dashboard/participants/{ana.id}/row")

    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert row.strip().startswith(f'<tr data-participant-id="{ana.id}">')
    assert "Ana Sintética" in row and "60 %" in row  # 3 kept of 3 kept + 2 of her misses
    assert '<td class="open-alerts">1</td>' in row
    audit = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "participant.compliance_row", AuditEvent.staff_id == judge.id
        )
    )
    assert audit is not None and audit.participant_id == ana.id
    outsider = court_setup["outsider"]
    assert client.get(f"/dashboard/participants/{outsider.id}/row").status_code == 404
    login(client, court_setup["therapist"])
    assert client.get(f"/dashboard/participants/{ana.id}/row").status_code == 403


def test_acknowledge_with_a_note_by_form(client, court_setup):
    alert = court_setup["system_alert"]
    login(client, court_setup["judge"])
    client.post(f"/dashboard/alerts/{alert.id}/ack", data={"note": " "})
    assert db.session.get(Alert, alert.id).acknowledged_at is None

    response = client.post(
        f"/dashboard/alerts/{alert.id}/ack", data={"note": "Se revisará en audiencia"}
    )

    assert response.status_code == 302
    stored = db.session.get(Alert, alert.id)
    assert stored is not None and stored.ack_note == "Se revisará en audiencia"
    assert stored.acknowledged_by_id == court_setup["judge"].id
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'id="alert-{alert.id}"' not in page
    crisis = court_setup["crisis"]
    assert client.post(f"/dashboard/alerts/{crisis.id}/ack", data={"note": "x"}).status_code == 404


def test_participant_page_hides_what_the_court_may_not_see(client, court_setup):
    ana = court_setup["ana"]
    checkin = add_contact(ana, now() - timedelta(days=3), "completed", kind="checkin")
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
                value="7",
                raw_text="7",
                is_shared_with_court=False,
                via="sms",
            ),
            ClinicalNote(
                participant_id=ana.id,
                author_id=court_setup["therapist"].id,
                body="Nota clínica reservada",
            ),
        ]
    )
    db.session.commit()
    login(client, court_setup["judge"])

    page = client.get(f"/dashboard/participants/{ana.id}").get_data(as_text=True)

    assert "Nota clínica reservada" not in page
    # the shared answer, in words (the question as asked, "No"), and not the unshared one
    assert "¿tuviste algún tropiezo?: <strong>No</strong>" in page
    assert "<strong>7 de 10</strong>" not in page and "ganas" not in page
    assert 'class="day outcome-missed_system' in page and "outcome-missed_participant" in page
    # consent with history: a revocation hides what he answers from then on, not what he
    # answered under it; a new grant does not reveal what he answered without it
    clock.freeze(now() + timedelta(minutes=1))  # a minute after he answered
    revoke_consent(ana, "share_with_court", court_setup["coordinator"])
    db.session.commit()
    later = add_contact(ana, now() - timedelta(days=2), "completed", kind="checkin")
    db.session.add(
        CheckinAnswer(
            contact_id=later.id,
            question_id="use",
            value="yes",
            raw_text="1",
            is_shared_with_court=True,
            via="sms",
            answered_at=now() + timedelta(seconds=1),
        )
    )
    db.session.commit()
    # given again a minute later
    record_consent(ana, "share_with_court", court_setup["coordinator"]).given_at = now() + (
        timedelta(minutes=1)
    )
    db.session.commit()
    page = client.get(f"/dashboard/participants/{ana.id}").get_data(as_text=True)
    assert "¿tuviste algún tropiezo?: <strong>No</strong>" in page  # answered under consent
    assert "<strong>Sí</strong>" not in page  # answered while it was revoked
    assert client.get(f"/dashboard/participants/{court_setup['outsider'].id}").status_code == 404
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "participant.dashboard_view", AuditEvent.participant_id == ana.id
        )
    )


def test_progress_columns_sort_and_speak_both_languages(client, court_setup):
    """Streak and weeks in the phase, sortable; words in Spanish and English."""
    ana, beto = court_setup["ana"], court_setup["beto"]
    ana.phase_started_at = now() - timedelta(days=6 * 7 + 1)
    beto.phase_started_at = now() - timedelta(days=2 * 7 + 1)
    db.session.commit()
    login(client, court_setup["judge"])
    page = client.get("/dashboard?sort=streak&dir=desc").get_data(as_text=True)
    compliance = page[page.index('id="compliance"') :]
    # Beto kept all three; Ana's own latest miss ended hers (the excused contact after it
    # neither breaks nor extends it)
    assert compliance.index("Beto Sintético") < compliance.index("Ana Sintética")
    assert '<td class="streak" data-progress="streak">3</td>' in compliance
    assert '<td class="streak" data-progress="streak">0</td>' in compliance
    page = client.get("/dashboard?sort=phase_weeks&dir=desc").get_data(as_text=True)
    compliance = page[page.index('id="compliance"') :]
    assert compliance.index("Ana Sintética") < compliance.index("Beto Sintético")
    assert "6 de 12 semanas" in compliance and "2 de 12 semanas" in compliance
    page = client.get("/dashboard?sort=phase_weeks&dir=asc").get_data(as_text=True)
    compliance = page[page.index('id="compliance"') :]
    assert compliance.index("Beto Sintético") < compliance.index("Ana Sintética")
    client.post("/account/language", data={"locale": "en", "next": "/dashboard"})
    refresh()  # the test's one app context keeps the chosen locale; each request has its own
    page = client.get("/dashboard?sort=streak").get_data(as_text=True)
    assert "6 of 12 weeks" in page and "Streak" in page and "Weeks in the phase" in page
