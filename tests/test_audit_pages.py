"""The audit log: admins read and export it; nothing may change or delete a row."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from conftest import PASSWORD
from sqlalchemy import select

from telejt.audit.models import AuditEvent, AuditLogIsAppendOnly
from telejt.audit.services import record_access
from telejt.extensions import db


def login(client: Any, user: Any) -> None:
    """Log a staff member in through the login form."""
    client.post("/logout")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("role", ["coordinator", "therapist", "court"])
def test_audit_log_is_for_admins_only(client, make_staff, make_participant, role):
    participant = make_participant()
    login(
        client,
        make_staff(
            role,
            courts=[participant.court],
            **({"court_position": "judge"} if role == "court" else {}),
        ),
    )
    assert client.get("/audit").status_code == 403
    assert client.get("/audit.csv").status_code == 403


@pytest.mark.parametrize("role", ["admin", "therapist", "court"])
def test_data_rights_are_for_the_participants_coordinators(
    client, make_staff, make_participant, role
):
    """Admins keep courts, staff and tokens (DESIGN): a participant's data is not theirs."""
    participant = make_participant()
    courts = [] if role == "admin" else [participant.court]
    extra = {"court_position": "judge"} if role == "court" else {}
    login(client, make_staff(role, courts=courts, **extra))
    assert client.get(f"/participants/{participant.id}/export.json").status_code == 403
    assert client.get(f"/participants/{participant.id}/anonymize").status_code == 403
    assert client.post(f"/participants/{participant.id}/anonymize").status_code == 403


def test_coordinator_opens_the_anonymize_page(client, make_staff, make_participant):
    participant = make_participant()
    login(client, make_staff("coordinator", courts=[participant.court]))
    page = client.get(f"/participants/{participant.id}/anonymize")
    assert page.status_code == 200
    assert "NOM-004-SSA3-2012" in page.get_data(as_text=True)
    assert client.get("/participants/999999/anonymize").status_code == 404
    elsewhere = make_participant()  # another court: he does not exist
    assert client.get(f"/participants/{elsewhere.id}/anonymize").status_code == 404


def test_admin_filters_the_log_by_participant_staff_and_date(
    client, make_staff, make_participant, frozen_clock
):
    first, second = make_participant(), make_participant()
    coordinator = make_staff("coordinator", courts=[first.court])
    login(client, coordinator)
    client.get(f"/participants/{first.id}")
    frozen_clock.advance(days=2)
    login(client, coordinator)
    client.get(f"/participants/{first.id}")
    other = make_staff("coordinator", courts=[second.court])
    login(client, other)
    client.get(f"/participants/{second.id}")
    admin = make_staff("admin")
    login(client, admin)

    page = client.get(f"/audit?participant_id={first.id}").get_data(as_text=True)
    assert page.count("participant.read") == 2
    page = client.get(f"/audit?participant_id={first.id}&date_from=2026-03-04").get_data(
        as_text=True
    )
    assert page.count("participant.read") == 1
    page = client.get(f"/audit?staff_id={other.id}&participant_id={second.id}").get_data(
        as_text=True
    )
    assert page.count("participant.read") == 1
    page = client.get(f"/audit?staff_id={coordinator.id}&date_to=2026-03-02").get_data(as_text=True)
    assert page.count("participant.read") == 1 and "auth.login" in page


def test_admin_exports_the_log_as_csv_and_the_export_is_audited(
    client, make_staff, make_participant
):
    participant = make_participant()
    coordinator = make_staff("coordinator", courts=[participant.court])
    login(client, coordinator)
    client.get(f"/participants/{participant.id}", environ_base={"REMOTE_ADDR": "10.2.3.4"})
    admin = make_staff("admin")
    login(client, admin)
    response = client.get(f"/audit.csv?participant_id={participant.id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["participant.read"]
    assert rows[0]["staff_email"] == coordinator.email and rows[0]["remote_addr"] == "10.2.3.4"
    exported = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.export"))
    assert exported is not None and exported.staff_id == admin.id


def test_audit_rows_cannot_be_updated_or_deleted(app_ctx):
    event = record_access(None, "participant.read", "participant", 1, participant_id=1)
    db.session.commit()
    event.action = "participant.nothing"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).action == "participant.read"
