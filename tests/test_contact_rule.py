"""Each contact keeps the protocol rule that planned it; sessions read their window from it.

A phase with two session rules (an individual session and a group one with a longer
join window): each slot's sessions take their own rule's window, not the phase's
first. Contacts planned before the rule was stored read as they did.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.auth.models import StaffUser
from telejt.extensions import db
from telejt.planning.missed import alert_missed_contact
from telejt.planning.models import Contact
from telejt.planning.rules import contact_rule, rule_at, session_rule
from telejt.planning.services import add_session
from telejt.planning.watcher import settle_contact
from telejt.protocols.current import protocol_for, registry
from telejt.protocols.model import JoinWindow, MissedRule
from telejt.sessions.services import link_opens_at, mark_outcome
from telejt.sms.models import OutboundMessage


@pytest.fixture
def two_rules(app_ctx, monkeypatch):
    """Phase 2 of the protocol with a second session rule: a group session, a wider window."""
    protocols = registry()
    original = protocols.get
    base = original("remote-outpatient", protocols.latest("remote-outpatient").version)
    phase = base.phase("2")
    group = replace(
        phase.sessions[0],
        kind="group",
        join_window=JoinWindow(before_min=30, after_min=40),
        late_after_min=20,
    )
    changed = replace(
        base,
        phases=tuple(
            replace(p, sessions=(p.sessions[0], group), missed=MissedRule(2)) if p.id == "2" else p
            for p in base.phases
        ),
    )

    def get(protocol_id: str, version: int) -> Any:
        if protocol_id == base.id and version == base.version:
            return changed
        return original(protocol_id, version)

    latest = protocols.latest

    def newest(protocol_id: str) -> Any:
        return changed if protocol_id == base.id else latest(protocol_id)

    monkeypatch.setattr(protocols, "get", get)
    monkeypatch.setattr(protocols, "latest", newest)
    return changed


TWO_SLOTS = [{"weekday": "tue", "time": "10:00"}, {"weekday": "thu", "time": "11:00"}]


def sessions_of(participant: Any) -> list[Contact]:
    return list(
        db.session.scalars(
            select(Contact)
            .where(Contact.participant_id == participant.id, Contact.kind == "session")
            .order_by(Contact.starts_at)
        )
    )


def test_the_planner_stores_each_contacts_rule(two_rules, frozen_clock, make_participant) -> None:
    person = make_participant(session_slots=TWO_SLOTS)
    sessions = sessions_of(person)
    assert {c.protocol_rule for c in sessions} == {"2/sessions/0", "2/sessions/1"}
    for contact in sessions:
        rule = session_rule(contact)
        assert rule is not None
        if contact.protocol_rule == "2/sessions/1":
            assert rule.kind == "group" and contact.session_kind == "group"
            assert contact.deadline_at == contact.starts_at + timedelta(minutes=40)
            assert contact.late_after_min == 20
            assert link_opens_at(contact) == contact.starts_at - timedelta(minutes=35)
        else:
            assert rule.kind == "individual"
            assert link_opens_at(contact) == contact.starts_at - timedelta(minutes=15)
    checkins = db.session.scalars(
        select(Contact).where(Contact.participant_id == person.id, Contact.kind == "checkin")
    ).all()
    assert checkins and all(c.protocol_rule and "/checkins/" in c.protocol_rule for c in checkins)
    assert all(contact_rule(c) is rule_at(two_rules, c.protocol_rule or "") for c in checkins)


def test_a_one_off_session_names_the_rule_it_borrowed(
    two_rules, frozen_clock, make_participant
) -> None:
    person = make_participant(session_slots=TWO_SLOTS)
    extra = add_session(person, frozen_clock.now() + timedelta(days=2), 30, "phone")
    assert extra.protocol_rule == "2/sessions/0"
    rule = session_rule(extra)
    assert rule is not None and rule.join_window.after_min == 15


def test_contacts_planned_before_read_their_phases_first_rule(
    two_rules, frozen_clock, make_participant
) -> None:
    person = make_participant(session_slots=TWO_SLOTS)
    contact = sessions_of(person)[0]
    contact.protocol_rule = None
    rule = session_rule(contact)
    assert rule is two_rules.phase("2").sessions[0]
    contact.protocol_rule = "9/sessions/4"  # a path the protocol no longer has
    assert session_rule(contact) is two_rules.phase("2").sessions[0]
    assert (
        rule_at(protocol_for(contact.protocol_id, contact.protocol_version), "2/nothing/0") is None
    )


def test_one_missed_contact_rule_for_the_watcher_and_the_therapist(
    two_rules, frozen_clock, make_participant
) -> None:
    """Phase 2 here alerts after two misses of his in a row, whoever settles them."""
    person = make_participant(session_slots=TWO_SLOTS)
    first, second, third, fourth = sessions_of(person)[:4]
    therapist = db.session.get(StaffUser, person.therapist_id)

    def alerted() -> set[int | None]:
        return set(
            db.session.scalars(
                select(Alert.contact_id).where(
                    Alert.participant_id == person.id, Alert.kind == "missed_contact"
                )
            )
        )

    frozen_clock.set(first.starts_at + timedelta(minutes=1))
    mark_outcome(first, "no_show", therapist)  # the therapist: his first miss, no alert yet
    assert alerted() == set()
    # the watcher: a second in a row, his (the reminder was delivered)
    for message in db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.contact_id == second.id)
    ):
        message.status = "delivered"
    frozen_clock.set(second.deadline_at + timedelta(minutes=1))
    settle_contact(second)
    assert second.attribution == "participant"
    assert alerted() == {second.id}
    # a system miss alerts at once, and a miss alerted twice alerts once
    frozen_clock.set(third.starts_at + timedelta(minutes=1))
    mark_outcome(third, "technical_failure", therapist)
    assert alert_missed_contact(third, person, "system", "technical_failure") is not None
    assert alerted() == {second.id, third.id}
    assert alert_missed_contact(fourth, person, "excused", "declined_ahead") is None
