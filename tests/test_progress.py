"""Progress recognised: one phase-review alert for the team, one discreet SMS per milestone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from test_dashboard_views import add_contact

from telejt.alerts.models import Alert
from telejt.clock import now
from telejt.courts.visibility import ALL_VIEWERS, may_see_alert
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.planning.progress import recognise_progress
from telejt.sms.models import OutboundMessage
from telejt.sms.render import render_message

DAY = timedelta(days=1)


@pytest.fixture
def steady(app_ctx, frozen_clock, make_participant):
    """13 weeks into phase 2 (12 asked), enrolled 100 days ago, his last miss 65 days ago."""

    def make(**overrides: Any) -> Any:
        person = make_participant(**overrides)
        person.created_at = now() - 100 * DAY
        person.phase_started_at = now() - 13 * 7 * DAY
        db.session.query(Contact).filter(Contact.participant_id == person.id).delete()
        add_contact(person, now() - 65 * DAY, "missed", "participant", verified=True)
        add_contact(person, now() - 7 * DAY, "attended")
        db.session.commit()
        return person

    return make


def alerts_of(person: Any) -> list[Alert]:
    return list(db.session.scalars(select(Alert).where(Alert.participant_id == person.id)))


def milestones_of(person: Any) -> list[OutboundMessage]:
    return list(
        db.session.scalars(
            select(OutboundMessage).where(
                OutboundMessage.participant_id == person.id,
                OutboundMessage.purpose == "milestone",
            )
        )
    )


def test_ready_for_review_tells_the_team_once(steady) -> None:
    person = steady()
    recognise_progress()
    recognise_progress()
    (alert,) = [a for a in alerts_of(person) if a.kind == "phase_review"]
    assert alert.audience == "team" and alert.severity == "info"
    assert person.phase_id == "2"  # never an automatic phase change
    assert not any(
        may_see_alert(viewer, "phase_review", "team") for viewer in ALL_VIEWERS if viewer.is_court
    )


def test_not_ready_before_the_weeks_or_after_a_recent_miss(steady) -> None:
    early = steady()
    early.phase_started_at = now() - 11 * 7 * DAY  # 11 of 12 weeks
    recent = steady()
    add_contact(recent, now() - 10 * DAY, "missed", "participant")
    excused = steady()  # neither the system's miss nor an excused contact hold him back
    add_contact(excused, now() - 10 * DAY, "missed", "system", reason="technical_failure")
    add_contact(excused, now() - 9 * DAY, "excused", "excused", reason="declined_ahead")
    db.session.commit()
    recognise_progress()
    assert not alerts_of(early) and not alerts_of(recent)
    assert [a.kind for a in alerts_of(excused)] == ["phase_review"]


def test_a_phase_may_ask_for_longer_without_a_miss(steady, monkeypatch) -> None:
    from dataclasses import replace

    from telejt.protocols.current import registry
    from telejt.protocols.model import ReviewRule

    person = steady()
    protocol = registry().get(person.protocol_id, person.protocol_version)
    phases = tuple(
        replace(phase, review=ReviewRule(no_misses_days=90)) if phase.id == "2" else phase
        for phase in protocol.phases
    )
    stricter = replace(protocol, phases=phases)
    monkeypatch.setattr(registry(), "get", lambda protocol_id, version: stricter)
    recognise_progress()
    assert not [a for a in alerts_of(person) if a.kind == "phase_review"]


def test_a_milestone_sms_once_discreet_and_only_if_he_may_be_texted(steady) -> None:
    person = steady()
    quiet = steady()
    quiet.sms_opted_out_at = now() - DAY
    db.session.commit()
    recognise_progress()
    recognise_progress()
    (message,) = milestones_of(person)  # 65 days: the latest milestone, 60, alone
    assert message.params == {"days": 60}
    text = render_message(message)
    assert "2 meses" in text
    assert milestones_of(quiet) == []


def test_a_milestone_found_in_quiet_hours_waits_for_morning(steady, frozen_clock, sms) -> None:
    from telejt.sms.dispatch import dispatch_due_messages

    person = steady()  # Mexico City by default: 03:00 local is inside 21:00-08:00
    frozen_clock.set(frozen_clock.now().replace(hour=9))
    recognise_progress()
    dispatch_due_messages()
    (message,) = milestones_of(person)
    assert message.status == "pending" and sms.sent == []
    assert message.due_at > now()
    frozen_clock.set(message.due_at)
    dispatch_due_messages()
    db.session.refresh(message)
    assert message.status in ("sent", "delivered") and len(sms.sent) == 1
    assert "Felicidades" in sms.sent[0]["body"]
