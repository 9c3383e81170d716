"""A participant's data: the full export, and anonymization after the retention period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import PASSWORD
from sqlalchemy import func, select

from telejt.audit.models import AuditEvent
from telejt.checkins.models import CheckinAnswer
from telejt.config import ConfigError, load_config
from telejt.extensions import db
from telejt.participants.data_rights import (
    RetentionNotOver,
    anonymize_participant,
    retention_ends_at,
)
from telejt.participants.services import update_participant
from telejt.planning.models import Contact
from telejt.sessions.models import ClinicalNote
from telejt.sms.models import InboundMessage, OutboundMessage


def login(client: Any, user: Any) -> None:
    """Log a staff member in through the login form."""
    client.post("/logout")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def history(app_ctx, frozen_clock, make_participant):
    """A participant with a note, a reply, an answer and an attended session."""
    participant = make_participant(name="Pedro Sintético Pérez")
    contacts = db.session.scalars(
        select(Contact).where(Contact.participant_id == participant.id).order_by(Contact.id)
    ).all()
    checkin = next(c for c in contacts if c.kind == "checkin")
    session = next(c for c in contacts if c.kind == "session")
    session.status, session.outcome_note = "attended", "Llegó puntual"
    db.session.add_all(
        [
            ClinicalNote(
                participant_id=participant.id,
                author_id=participant.therapist_id,
                body="Refiere mejoría con su familia",
            ),
            CheckinAnswer(
                contact_id=checkin.id,
                question_id="use",
                value="no",
                raw_text="2 no",
                is_shared_with_court=True,
                via="sms",
            ),
            InboundMessage(
                provider_sid="SMdr1",
                participant_id=participant.id,
                from_phone=participant.phone,
                body="2 no",
                meaning="answer",
            ),
        ]
    )
    db.session.commit()
    return participant


def test_coordinator_exports_everything_held_about_him(client, history, make_staff):
    admin = make_staff("coordinator", courts=[history.court])
    login(client, admin)
    response = client.get(f"/participants/{history.id}/export.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["participant"]["name"] == "Pedro Sintético Pérez"
    assert {c["kind"] for c in document["consents"]} == {"sms", "telehealth", "share_with_court"}
    assert len(document["contacts"]) == db.session.scalar(
        select(func.count(Contact.id)).where(Contact.participant_id == history.id)
    )
    assert document["clinical_notes"][0]["body"] == "Refiere mejoría con su familia"
    assert document["inbound_messages"][0]["body"] == "2 no"
    assert document["checkin_answers"][0]["value"] == "no"
    assert any(m["purpose"] == "welcome" for m in document["outbound_messages"])
    for key in ("alerts", "presence_events", "audit_events"):
        assert isinstance(document[key], list)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "participant.export"))
    assert event.staff_id == admin.id and event.participant_id == history.id
    again = client.get(f"/participants/{history.id}/export.json").get_json()
    assert any(e["action"] == "participant.export" for e in again["audit_events"])
    assert client.get("/participants/999999/export.json").status_code == 404


def test_anonymization_waits_for_the_end_of_the_program_and_the_retention(history, frozen_clock):
    with pytest.raises(RetentionNotOver, match="activo"):
        anonymize_participant(history)
    update_participant(history, {"status": "graduated"})
    db.session.commit()
    with pytest.raises(RetentionNotOver, match="NOM-004"):
        anonymize_participant(history)
    ends = retention_ends_at(history)
    assert ends >= frozen_clock.now() + timedelta(days=5 * 365)
    frozen_clock.set(ends - timedelta(seconds=1))
    with pytest.raises(RetentionNotOver):
        anonymize_participant(history)
    assert history.anonymized_at is None


def counts(participant_id: int) -> dict[str, Any]:
    by_status = db.session.execute(
        select(Contact.status, func.count(Contact.id))
        .where(Contact.participant_id == participant_id)
        .group_by(Contact.status)
    ).all()
    return {
        "contacts": dict(by_status),
        "outbound": db.session.scalar(
            select(func.count(OutboundMessage.id)).where(
                OutboundMessage.participant_id == participant_id
            )
        ),
        "inbound": db.session.scalar(
            select(func.count(InboundMessage.id)).where(
                InboundMessage.participant_id == participant_id
            )
        ),
        "notes": db.session.scalar(
            select(func.count(ClinicalNote.id)).where(ClinicalNote.participant_id == participant_id)
        ),
    }


def test_anonymization_replaces_identity_and_keeps_counts(
    client, history, frozen_clock, make_staff
):
    update_participant(history, {"status": "graduated"})
    db.session.commit()
    before = counts(history.id)
    admin = make_staff("coordinator", courts=[history.court])
    login(client, admin)
    refused = client.post(f"/participants/{history.id}/anonymize")
    assert refused.status_code == 409
    assert "NOM-004-SSA3-2012" in refused.get_data(as_text=True)

    frozen_clock.set(retention_ends_at(history) + timedelta(days=1))
    login(client, admin)
    assert client.post(f"/participants/{history.id}/anonymize").status_code == 302
    db.session.expire_all()
    assert counts(history.id) == before
    assert history.anonymized_at is not None
    assert "Pedro" not in history.name and history.phone == "+520000000000"
    assert history.case_number == f"ANON-{history.id}"
    assert all(
        n.body == "[anonimizado]"
        for n in db.session.scalars(
            select(ClinicalNote).where(ClinicalNote.participant_id == history.id)
        )
    )
    assert all(
        m.body in (None, "[anonimizado]")
        for m in db.session.scalars(
            select(OutboundMessage).where(OutboundMessage.participant_id == history.id)
        )
    )
    answer = db.session.scalar(select(CheckinAnswer))
    assert answer.raw_text == "[anonimizado]" and answer.value == "no"
    export = client.get(f"/participants/{history.id}/export.json").get_data(as_text=True)
    assert "Pedro" not in export and "mejoría" not in export and "Llegó puntual" not in export
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "participant.anonymize", AuditEvent.participant_id == history.id
        )
    )


def test_retention_setting_is_validated():
    base = {"TELEJT_ENV": "testing"}
    assert load_config(base)["TELEJT_RETENTION_YEARS"] == 5
    assert load_config({**base, "TELEJT_RETENTION_YEARS": "7"})["TELEJT_RETENTION_YEARS"] == 7
    for bad in ("3", "cinco", "0"):
        with pytest.raises(ConfigError, match="TELEJT_RETENTION_YEARS"):
            load_config({**base, "TELEJT_RETENTION_YEARS": bad})
