"""`telejt demo`: eight weeks of invented history that tell the program's story, loaded once,
and `telejt demo --reset` that wipes and reloads it (never in production)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from telejt.alerts.models import Alert
from telejt.cli import cli
from telejt.courts.models import Court
from telejt.courts.services import create_court
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.sessions.models import PresenceEvent
from telejt.sms.models import InboundMessage, OutboundMessage


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def demo(runner, frozen_clock):
    """The demo loaded once, the clock stopped at the moment it was loaded."""
    result = runner.invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    return runner


def test_eight_weeks_of_history_with_every_attribution(demo, frozen_clock) -> None:
    at = frozen_clock.now()
    first = db.session.scalar(select(func.min(Contact.starts_at)))
    assert first is not None and first <= at - timedelta(weeks=7)
    settled = dict(
        db.session.execute(
            select(Contact.status, func.count())
            .where(Contact.deadline_at < at)
            .group_by(Contact.status)
        ).all()
    )
    assert settled.get("attended", 0) > 20 and settled.get("completed", 0) > 20
    assert settled.get("late", 0) >= 1
    misses = set(
        db.session.execute(
            select(Contact.kind, Contact.attribution, Contact.attribution_reason).where(
                Contact.attribution.is_not(None)
            )
        ).all()
    )
    attributions = {attribution for _kind, attribution, _reason in misses}
    assert attributions == {"participant", "system", "excused"}
    reasons = {reason for _kind, _attribution, reason in misses}
    assert {"reminder_delivered", "declined_ahead", "excused_by_staff"} <= reasons
    assert any(reason.startswith("sms_undelivered") for reason in reasons)
    # check-ins answered and missed, sessions kept and missed
    assert ("checkin", "participant", "reminder_delivered") in misses
    assert ("session", "participant", "reminder_delivered") in misses
    # each attended session has its evidence: his join, the therapist's admission
    attended = select(Contact.id).where(Contact.status.in_(("attended", "late")))
    joined = select(func.count(func.distinct(PresenceEvent.contact_id))).where(
        PresenceEvent.event == "join", PresenceEvent.contact_id.in_(attended)
    )
    assert db.session.scalar(joined) == settled["attended"] + settled["late"]
    # nothing from the past is left for the dispatcher to send now
    stale = select(func.count()).where(
        OutboundMessage.status == "pending",
        OutboundMessage.due_at < at - timedelta(hours=1),
    )
    assert db.session.scalar(stale) == 0


def test_the_present_a_crisis_a_reschedule_and_someone_waiting(demo, frozen_clock) -> None:
    at = frozen_clock.now()
    open_alerts = db.session.scalars(select(Alert).where(Alert.acknowledged_at.is_(None))).all()
    kinds = {alert.kind for alert in open_alerts}
    assert {"crisis", "reschedule_request", "missed_contact"} <= kinds
    crisis = next(alert for alert in open_alerts if alert.kind == "crisis")
    assert crisis.severity == "urgent" and crisis.audience == "team"
    assert at - crisis.created_at < timedelta(minutes=30)
    assert db.session.scalar(
        select(InboundMessage.body).where(InboundMessage.participant_id == crisis.participant_id)
    )
    # old alerts were verified with a note; the last week's wait for the team
    acknowledged = db.session.scalars(
        select(Alert).where(Alert.acknowledged_at.is_not(None), Alert.kind == "missed_contact")
    ).all()
    assert acknowledged and all(alert.ack_note for alert in acknowledged)
    # misses verified (the prosecutor and defender see those) and unverified (the last week)
    states = {
        alert.verification
        for alert in db.session.scalars(select(Alert).where(Alert.kind == "missed_contact"))
    }
    assert {"verified", "unverified"} <= states
    waiting = db.session.scalars(
        select(Contact).where(Contact.status == "in_progress", Contact.kind == "session")
    ).one()
    assert waiting.starts_at - timedelta(minutes=10) <= at <= waiting.ends_at
    assert db.session.scalar(
        select(func.count()).where(
            PresenceEvent.contact_id == waiting.id, PresenceEvent.event == "join"
        )
    )


def test_a_second_run_adds_nothing(demo) -> None:
    counts = [_count(m) for m in (Participant, Contact, Alert, OutboundMessage)]
    again = demo.invoke(cli, ["demo"])
    assert again.exit_code == 0, again.output
    assert [_count(m) for m in (Participant, Contact, Alert, OutboundMessage)] == counts


def test_reset_wipes_and_loads_again(demo) -> None:
    participants = _count(Participant)
    crisis = db.session.scalars(select(Alert).where(Alert.kind == "crisis")).one()
    crisis.acknowledged_at, crisis.ack_note = crisis.created_at, "Atendida en la prueba"
    db.session.commit()
    result = demo.invoke(cli, ["demo", "--reset"])
    assert result.exit_code == 0, result.output
    assert _count(Court) == 1 and _count(Participant) == participants
    crisis = db.session.scalars(select(Alert).where(Alert.kind == "crisis")).one()
    assert crisis.acknowledged_at is None and crisis.ack_note is None  # what was done is gone


def test_reset_refuses_beside_a_real_account(demo) -> None:
    from telejt.auth.services import create_staff_user

    create_staff_user(email="admin@juzgado.example.mx", role="admin", court_ids=[])
    db.session.commit()
    refused = demo.invoke(cli, ["demo", "--reset"])
    assert refused.exit_code != 0 and "1 cuenta(s) de personal" in refused.output


def test_reset_refuses_in_production_and_beside_real_courts(demo, app) -> None:
    participants = _count(Participant)
    app.config["TELEJT_ENV"] = "production"
    try:
        refused = demo.invoke(cli, ["demo", "--reset"])
    finally:
        app.config["TELEJT_ENV"] = "testing"
    assert refused.exit_code != 0 and "producción" in refused.output
    create_court(name="Juzgado Real de Prueba", state="Jalisco", timezone="America/Mexico_City")
    db.session.commit()
    refused = demo.invoke(cli, ["demo", "--reset"])
    assert refused.exit_code != 0 and "no se borra nada" in refused.output
    assert _count(Participant) == participants


def test_the_readme_lists_every_demo_account_with_its_role() -> None:
    from pathlib import Path

    from telejt.demo import DEMO_PASSWORD, DEMO_STAFF

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for email, role, _name, _position in DEMO_STAFF:
        row = next((line for line in readme.splitlines() if f"| `{email}` |" in line), None)
        assert row is not None, f"README: no row for {email}"
        assert role in row or (role == "court" and "court:" in row), row
    assert DEMO_PASSWORD in readme and "Authorization: Bearer" in readme
    assert "telejt demo --reset" in readme and "Redis" in readme


def test_progress_a_long_streak_a_milestone_and_a_phase_review(demo, frozen_clock) -> None:
    """Ana kept everything: a streak, her 30-day milestone SMS, and the team's phase review."""
    from telejt.reports.figures import figures_of

    at = frozen_clock.now()
    ana = db.session.scalars(select(Participant).where(Participant.name == "Ana Demo Uno")).one()
    progress = figures_of(ana.id, at - timedelta(days=30), at, at).progress
    assert progress.streak >= 20 and progress.milestone == 30
    assert progress.weeks_in_phase >= progress.min_weeks == 8 and progress.is_ready_for_review
    review = db.session.scalars(
        select(Alert).where(Alert.participant_id == ana.id, Alert.kind == "phase_review")
    ).one()
    assert review.audience == "team" and review.acknowledged_at is None
    (milestone,) = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.participant_id == ana.id, OutboundMessage.purpose == "milestone"
        )
    ).all()
    assert milestone.params == {"days": 30} and milestone.status == "delivered"
