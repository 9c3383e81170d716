"""Coordinator pages: who may open what, what each role sees, and what is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import PASSWORD
from flask_babel import refresh
from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.alerts.services import raise_alert
from telejt.audit.models import AuditEvent
from telejt.checkins.models import CheckinAnswer
from telejt.extensions import db
from telejt.participants.models import Consent, Participant
from telejt.planning.models import Contact
from telejt.sessions.models import ClinicalNote
from telejt.sms.models import InboundMessage
from telejt.sms.outbox import queue_message
from telejt.sms.purposes import purpose_label

NOTE = "NOTA-CLINICA-SECRETA"
PRIVATE_REPLY = "RESPUESTA-PRIVADA-DEL-PARTICIPANTE"
UNSHARED_QUESTION = "qué tan fuertes fueron tus ganas"  # craving: not shared with the court
SHARED_QUESTION = "tuviste algún tropiezo"  # use: shared with the court


def login(client: Any, user: Any) -> None:
    """Log a staff member in through the login form (logging out whoever was in)."""
    client.post("/logout")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


@dataclass
class World:
    """Two courts, their staff, and one participant in each."""

    coordinator: Any
    therapist: Any
    other_therapist: Any
    judge: Any
    admin: Any
    participant: Any
    elsewhere: Any
    crisis: Any

    def user(self, role: str) -> Any:
        return {
            "coordinator": self.coordinator,
            "therapist": self.therapist,
            "court": self.judge,
            "admin": self.admin,
        }[role]


@pytest.fixture
def world(app_ctx, frozen_clock, make_court, make_staff, make_participant) -> World:
    court, other_court = make_court(), make_court()
    therapist = make_staff("therapist", courts=[court])
    participant = make_participant(court=court, therapist=therapist)
    elsewhere = make_participant(court=other_court)
    checkin = db.session.scalars(
        select(Contact).where(Contact.participant_id == participant.id, Contact.kind == "checkin")
    ).first()
    assert checkin is not None
    db.session.add_all(
        [
            ClinicalNote(participant_id=participant.id, author_id=therapist.id, body=NOTE),
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
            InboundMessage(
                provider_sid="SMin1",
                participant_id=participant.id,
                from_phone=participant.phone,
                body=PRIVATE_REPLY,
                meaning="answer",
            ),
        ]
    )
    for purpose in ("crisis_reply", "help_reply", "checkin_question", "keyword_reply"):
        queue_message(participant, purpose=purpose, key=f"test:{purpose}", contact=checkin)
    crisis = raise_alert(
        participant=participant,
        kind="crisis",
        severity="urgent",
        dedupe_key=f"crisis:{participant.id}",
        audience="team",
        reason="crisis_answer",
    )
    db.session.commit()
    return World(
        coordinator=make_staff("coordinator", courts=[court]),
        therapist=therapist,
        other_therapist=make_staff("therapist", courts=[court]),
        judge=make_staff("court", courts=[court], court_position="judge"),
        admin=make_staff("admin"),
        participant=participant,
        elsewhere=elsewhere,
        crisis=crisis,
    )


# ---- who may open what ---------------------------------------------------------------------

READ_PAGES = ["/participants/{id}"]
COORDINATOR_PAGES = [
    "/participants/new",
    "/participants/{id}/edit",
    "/queues/reschedule",
    "/queues/reachability",
]
COORDINATOR_POSTS = [
    "/participants/{id}/status",
    "/participants/{id}/phase",
    "/participants/{id}/consents",
]


@pytest.mark.parametrize("role", ["coordinator", "therapist", "court"])
def test_every_reader_sees_the_list_and_the_record(client, world, role):
    login(client, world.user(role))
    listing = client.get("/participants")
    assert listing.status_code == 200
    assert world.participant.name in listing.get_data(as_text=True)
    assert world.elsewhere.name not in listing.get_data(as_text=True)
    assert client.get(f"/participants/{world.participant.id}").status_code == 200


@pytest.mark.parametrize("role", ["coordinator", "therapist", "court"])
def test_outside_the_courts_a_participant_does_not_exist(client, world, role):
    login(client, world.user(role))
    assert client.get(f"/participants/{world.elsewhere.id}").status_code == 404
    if role == "coordinator":
        assert client.get(f"/participants/{world.elsewhere.id}/edit").status_code == 404
        for path in COORDINATOR_POSTS:
            response = client.post(path.format(id=world.elsewhere.id), data={"status": "withdrawn"})
            assert response.status_code == 404, path


def test_a_therapist_sees_only_his_own_participants(client, world):
    login(client, world.other_therapist)
    assert client.get(f"/participants/{world.participant.id}").status_code == 404
    assert world.participant.name not in client.get("/participants").get_data(as_text=True)


@pytest.mark.parametrize("role", ["therapist", "court", "admin"])
def test_only_coordinators_change_records(client, world, role):
    login(client, world.user(role))
    for path in COORDINATOR_PAGES:
        assert client.get(path.format(id=world.participant.id)).status_code == 403, path
    for path in COORDINATOR_POSTS:
        response = client.post(path.format(id=world.participant.id), data={"status": "withdrawn"})
        assert response.status_code == 403, path
    db.session.refresh(world.participant)
    assert world.participant.status == "active"


def test_coordinator_opens_every_page(client, world):
    login(client, world.coordinator)
    for path in COORDINATOR_PAGES:
        assert client.get(path.format(id=world.participant.id)).status_code == 200, path


def test_logged_out_visitors_are_sent_to_login(client, world):
    response = client.get(f"/participants/{world.participant.id}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# ---- what each role sees -------------------------------------------------------------------


def test_court_user_never_sees_notes_replies_or_unshared_answers(client, world):
    login(client, world.judge)
    page = client.get(f"/participants/{world.participant.id}").get_data(as_text=True)
    assert NOTE not in page
    assert PRIVATE_REPLY not in page
    assert UNSHARED_QUESTION not in page
    assert "crisis" not in page
    # conversation and crisis messages do not exist for the court, not even by their purpose
    for purpose in ("crisis_reply", "help_reply", "checkin_question", "keyword_reply"):
        assert purpose not in page
        assert purpose_label(purpose) not in page
    assert purpose_label("welcome") in page  # what the court may see is still there
    assert world.participant.phone not in page
    assert SHARED_QUESTION in page  # shared by the protocol and consented

    for consent in world.participant.consents:
        if consent.kind == "share_with_court":
            consent.revoked_at = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    db.session.commit()
    page = client.get(f"/participants/{world.participant.id}").get_data(as_text=True)
    assert SHARED_QUESTION not in page
    for path in ["/participants", "/queues/reschedule", "/queues/reachability"]:
        assert NOTE not in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("role", ["therapist", "coordinator"])
def test_the_treatment_team_sees_the_whole_record(client, world, role):
    login(client, world.user(role))
    page = client.get(f"/participants/{world.participant.id}").get_data(as_text=True)
    crisis_reply = purpose_label("crisis_reply")
    for fact in (NOTE, PRIVATE_REPLY, UNSHARED_QUESTION, SHARED_QUESTION, "crisis", crisis_reply):
        assert fact in page, fact


def test_admin_reads_no_participant_at_all(client, world):
    """DESIGN: admins keep courts, staff and tokens; a participant's record is not theirs."""
    login(client, world.admin)
    assert client.get("/participants").status_code == 403
    page = client.get(f"/participants/{world.participant.id}")
    assert page.status_code == 403
    assert NOTE not in page.get_data(as_text=True)


def test_reading_a_record_is_audited(client, world):
    login(client, world.judge)
    client.get(f"/participants/{world.participant.id}", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "participant.read",
            AuditEvent.participant_id == world.participant.id,
        )
    )
    assert event is not None
    assert event.staff_id == world.judge.id
    assert event.remote_addr == "10.9.8.7" and event.channel == "page"
    # A refused read (outside his courts) leaves no trace of a read.
    client.get(f"/participants/{world.elsewhere.id}")
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.participant_id == world.elsewhere.id))
        is None
    )


# ---- enroll and change ---------------------------------------------------------------------


def enroll_data(court_id: int, therapist_id: int, **overrides: Any) -> dict[str, Any]:
    data = {
        "court_id": str(court_id),
        "case_number": "CP-0999/2026",
        "name": "Juan Sintético",
        "phone": "81 1234 5678",
        "locale": "es_MX",
        "timezone": "",
        "therapist_id": str(therapist_id),
        "plan": "remote-outpatient:2",
        "session_slots": "martes 10:00",
        "consent_sms": "y",
        "consent_telehealth": "y",
    }
    data.update(overrides)
    return data


def test_enroll_creates_the_participant_with_consents(client, world):
    login(client, world.coordinator)
    court_id = world.participant.court_id
    response = client.post("/participants/new", data=enroll_data(court_id, world.therapist.id))
    assert response.status_code == 302, response.get_data(as_text=True)
    created = db.session.scalar(
        select(Participant).where(Participant.case_number == "CP-0999/2026")
    )
    assert created.phone == "+528112345678"
    assert created.session_slots == [{"weekday": "tue", "time": "10:00"}]
    assert sorted(c.kind for c in created.consents) == ["sms", "telehealth"]
    assert all(c.given_by_id == world.coordinator.id for c in created.consents)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "participant.create"))


def test_enroll_explains_each_mistake_in_spanish(client, world):
    login(client, world.coordinator)
    data = enroll_data(
        world.participant.court_id,
        world.therapist.id,
        phone="12345",
        session_slots="martes 10:00\njueves 10:00",
        case_number="",
    )
    response = client.post("/participants/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Escriba el número de causa." in page
    bad_slots = client.post(
        "/participants/new",
        data=enroll_data(
            world.participant.court_id,
            world.therapist.id,
            phone="12345",
            session_slots="martes 10:00\njueves 10:00",
        ),
    )
    page = bad_slots.get_data(as_text=True)
    assert "Número no válido" in page or "No es un número" in page
    assert "La fase pide 1 sesiones por semana" in page
    typo = client.post(
        "/participants/new",
        data=enroll_data(
            world.participant.court_id, world.therapist.id, session_slots="marte a las diez"
        ),
    )
    assert "Línea 1: escriba el día y la hora" in typo.get_data(as_text=True)
    assert (
        db.session.scalar(select(Participant).where(Participant.name == "Juan Sintético")) is None
    )


def test_coordinator_cannot_enroll_into_another_court(client, world):
    login(client, world.coordinator)
    response = client.post(
        "/participants/new", data=enroll_data(world.elsewhere.court_id, world.therapist.id)
    )
    assert response.status_code == 400
    assert (
        db.session.scalar(select(Participant).where(Participant.name == "Juan Sintético")) is None
    )


def test_edit_changes_slots_and_phone_and_replans(client, world):
    login(client, world.coordinator)
    p = world.participant
    response = client.post(
        f"/participants/{p.id}/edit",
        data={
            "name": p.name,
            "phone": "(81) 2222-3333",
            "locale": "es_MX",
            "timezone": p.timezone,
            "therapist_id": str(p.therapist_id),
            "session_slots": "jueves 12:30",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(p)
    assert p.phone == "+528122223333"
    assert p.session_slots == [{"weekday": "thu", "time": "12:30"}]
    upcoming = db.session.scalars(
        select(Contact).where(
            Contact.participant_id == p.id, Contact.kind == "session", Contact.status == "scheduled"
        )
    ).all()
    assert upcoming and all(
        c.starts_at.astimezone(ZoneInfo(p.timezone)).strftime("%a %H:%M") == "Thu 12:30"
        for c in upcoming
    )
    bad = client.post(
        f"/participants/{p.id}/edit",
        data={
            "name": p.name,
            "phone": "55",
            "locale": "es_MX",
            "timezone": p.timezone,
            "therapist_id": str(p.therapist_id),
            "session_slots": "jueves 12:30",
        },
    )
    assert bad.status_code == 400


def test_status_and_consents_are_recorded_with_who(client, world):
    login(client, world.coordinator)
    p = world.participant
    client.post(f"/participants/{p.id}/consents", data={"kind": "sms", "action": "revoke"})
    revoked = db.session.scalar(
        select(Consent).where(Consent.participant_id == p.id, Consent.kind == "sms")
    )
    assert revoked.revoked_at is not None and revoked.revoked_by_id == world.coordinator.id
    client.post(f"/participants/{p.id}/consents", data={"kind": "sms", "action": "record"})
    db.session.refresh(p)
    assert p.has_consent("sms")
    assert (
        client.post(f"/participants/{p.id}/status", data={"status": "graduated"}).status_code == 302
    )
    db.session.refresh(p)
    assert p.status == "graduated"
    actions = set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.participant_id == p.id))
    )
    assert {"consent.revoke", "consent.record", "participant.update"} <= actions


# ---- queues --------------------------------------------------------------------------------


def test_reschedule_request_moves_the_session_and_closes_the_alert(client, world):
    p = world.participant
    session = db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == p.id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    ).first()
    session.status = "declined"
    alert = raise_alert(
        participant=p,
        kind="reschedule_request",
        severity="info",
        dedupe_key=f"decline:{session.id}",
        contact=session,
        audience="team",
    )
    db.session.commit()
    login(client, world.coordinator)
    assert p.name in client.get("/queues/reschedule").get_data(as_text=True)
    past = client.post(
        f"/queues/reschedule/{alert.id}", data={"date": "2026-03-01", "time": "11:00"}
    )
    assert past.status_code == 302
    db.session.refresh(alert)
    assert alert.acknowledged_at is None
    response = client.post(
        f"/queues/reschedule/{alert.id}",
        data={"date": "2026-03-05", "time": "11:00", "note": "Pidió la tarde"},
    )
    assert response.status_code == 302
    db.session.refresh(alert)
    db.session.refresh(session)
    assert alert.acknowledged_by_id == world.coordinator.id and "Pidió la tarde" in alert.ack_note
    assert session.status == "cancelled"
    replacement = db.session.scalar(
        select(Contact).where(
            Contact.participant_id == p.id, Contact.plan_key.like(f"resched:{session.id}:%")
        )
    )
    # 11:00 in Monterrey (UTC-6) is 17:00 UTC
    assert replacement.starts_at == datetime(2026, 3, 5, 17, 0, tzinfo=UTC)
    assert p.name not in client.get("/queues/reschedule").get_data(as_text=True)


def test_reachability_alert_fixes_the_phone_with_a_note(client, world):
    p = world.participant
    alert = raise_alert(
        participant=p,
        kind="reachability",
        severity="warning",
        dedupe_key=f"undeliverable:{p.id}",
        attribution="system",
        audience="team",
        reason="sms_undelivered:30006",
    )
    db.session.commit()
    login(client, world.coordinator)
    # the reason in words, keeping the carrier's error code
    assert "Los SMS no le llegaron (30006)" in client.get("/queues/reachability").get_data(
        as_text=True
    )
    missing_note = client.post(f"/queues/reachability/{alert.id}", data={"phone": "", "note": ""})
    assert missing_note.status_code == 302
    db.session.refresh(alert)
    assert alert.acknowledged_at is None
    client.post(
        f"/queues/reachability/{alert.id}",
        data={"phone": "81 3333 4444", "note": "Llamamos a su hermana; número nuevo."},
    )
    db.session.refresh(alert)
    db.session.refresh(p)
    assert alert.acknowledged_at is not None and alert.ack_note.startswith("Llamamos")
    assert p.phone == "+528133334444"


def test_queue_actions_outside_the_courts_are_404(client, world, make_staff):
    alert = raise_alert(
        participant=world.elsewhere,
        kind="reachability",
        severity="warning",
        dedupe_key="optout:elsewhere",
        audience="team",
    )
    db.session.commit()
    login(client, world.coordinator)
    assert world.elsewhere.name not in client.get("/queues/reachability").get_data(as_text=True)
    response = client.post(f"/queues/reachability/{alert.id}", data={"note": "x"})
    assert response.status_code == 404
    assert db.session.get(Alert, alert.id).acknowledged_at is None


def test_pages_render_in_english_too(client, world):
    login(client, world.coordinator)
    english = {"Accept-Language": "en"}
    for path in ["/participants", f"/participants/{world.participant.id}", *COORDINATOR_PAGES]:
        refresh()  # the test's app context would otherwise keep the locale of the last request
        response = client.get(path.format(id=world.participant.id), headers=english)
        assert response.status_code == 200, path
        assert '<html lang="en">' in response.get_data(as_text=True)
