"""The planner: a participant's contacts and their reminders over the rolling horizon.

Planning is idempotent. Every planned contact has a unique ``plan_key`` made of the
participant and the *local* date and time it falls on, and every message a unique
idempotency key, so planning twice, or from two processes, changes nothing the
second time. Re-planning after a change cancels what is no longer wanted, moves
what is still pending, and never touches a message that already left; when a
participant was already told about a contact that moves or goes away, he is told
again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from telejt.clock import now
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.localtime import local_instant
from telejt.planning.models import Contact
from telejt.planning.reminders import cancel_pending_messages, plan_contact_messages
from telejt.planning.tokens import new_join_token
from telejt.protocols.current import protocol_for
from telejt.protocols.model import WEEKDAYS, CheckinRule, Phase, Protocol, SessionRule

#: statuses of a future contact the planner may still move or cancel
PLANNABLE_STATUSES = ("scheduled", "confirmed")


@dataclass(frozen=True)
class PlannedContact:
    """A contact the protocol asks for, before it is written."""

    plan_key: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    deadline_at: datetime
    rule: SessionRule | CheckinRule


def _session_rules_by_slot(
    phase: Phase, slots: list[dict[str, str]]
) -> list[tuple[dict[str, str], SessionRule]]:
    """Pair each weekly slot with the session rule it serves, in protocol order."""
    rules = [rule for rule in phase.sessions for _ in range(rule.per_week)]
    return list(zip(slots, rules, strict=False))


def desired_contacts(
    participant: Participant, start: datetime, end: datetime
) -> list[PlannedContact]:
    """The contacts the protocol asks for whose start falls in (start, end]."""
    protocol = protocol_for(participant.protocol_id, participant.protocol_version)
    phase = protocol.phase(participant.phase_id)
    zone = ZoneInfo(participant.timezone)
    first_day = start.astimezone(zone).date()
    last_day = end.astimezone(zone).date()
    planned: list[PlannedContact] = []
    day = first_day
    while day <= last_day:
        weekday = WEEKDAYS[day.weekday()]
        for slot, rule in _session_rules_by_slot(phase, participant.session_slots):
            if slot["weekday"] != weekday:
                continue
            at = time.fromisoformat(slot["time"])
            begins = local_instant(day, at, zone)
            planned.append(
                PlannedContact(
                    plan_key=f"plan:{participant.id}:session:{day.isoformat()}T{slot['time']}",
                    kind="session",
                    starts_at=begins,
                    ends_at=begins + timedelta(minutes=rule.minutes),
                    deadline_at=begins + timedelta(minutes=rule.join_window.after_min),
                    rule=rule,
                )
            )
        for checkin in phase.checkins:
            if weekday not in checkin.days:
                continue
            begins = local_instant(day, checkin.at, zone)
            planned.append(
                PlannedContact(
                    plan_key=f"plan:{participant.id}:checkin:{day.isoformat()}T{checkin.at:%H:%M}",
                    kind="checkin",
                    starts_at=begins,
                    ends_at=begins + checkin.respond_within,
                    deadline_at=begins + checkin.respond_within,
                    rule=checkin,
                )
            )
        day += timedelta(days=1)
    return [p for p in planned if start < p.starts_at <= end]


def _apply(contact: Contact, wanted: PlannedContact, participant: Participant) -> bool:
    """Bring a stored contact in line with the plan; True if its times changed."""
    moved = contact.starts_at != wanted.starts_at or contact.deadline_at != wanted.deadline_at
    contact.starts_at = wanted.starts_at
    contact.ends_at = wanted.ends_at
    contact.deadline_at = wanted.deadline_at
    contact.protocol_id = participant.protocol_id
    contact.protocol_version = participant.protocol_version
    contact.phase_id = participant.phase_id
    if isinstance(wanted.rule, SessionRule):
        contact.session_kind = wanted.rule.kind
        contact.modality = wanted.rule.modality
        contact.late_after_min = wanted.rule.late_after_min
    else:
        contact.question_ids = list(wanted.rule.questions)
        contact.delivery = wanted.rule.delivery
    return moved


def cancel_contact(contact: Contact, reason: str) -> None:
    """Cancel a contact and whatever it still had to send; tell him if he had been told."""
    was_announced = cancel_pending_messages(contact, reason)
    contact.status = "cancelled"
    contact.status_reason = reason
    contact.closed_at = now()
    if was_announced:
        from telejt.planning.reminders import queue_change_notice

        queue_change_notice(contact, cancelled=True)


def _create_planned_contact(
    item: PlannedContact, participant: Participant, protocol: Protocol
) -> Contact:
    contact = Contact(
        participant_id=participant.id,
        kind=item.kind,
        plan_key=item.plan_key,
        status="scheduled",
        join_token=new_join_token(),
        invalid_replies=0,
    )
    _apply(contact, item, participant)
    db.session.add(contact)
    db.session.flush()
    plan_contact_messages(contact, participant, protocol, item.rule)
    return contact


def plan_participant(participant: Participant, horizon_days: int | None = None) -> None:
    """Make the participant's future contacts and reminders match his protocol (not committed)."""
    moment = now()
    future = select(Contact).where(
        Contact.participant_id == participant.id,
        Contact.starts_at > moment,
        Contact.status.in_((*PLANNABLE_STATUSES, "cancelled")),
    )
    existing = {c.plan_key: c for c in db.session.scalars(future)}
    if participant.status != "active":
        for contact in existing.values():
            if contact.status in PLANNABLE_STATUSES:
                cancel_contact(contact, participant.status)
        return

    days = horizon_days or current_app.config["TELEJT_PLANNING_HORIZON_DAYS"]
    wanted = desired_contacts(participant, moment, moment + timedelta(days=days))
    wanted_keys = {w.plan_key for w in wanted}
    protocol = protocol_for(participant.protocol_id, participant.protocol_version)

    for contact in existing.values():
        planned_here = contact.plan_key.startswith(f"plan:{participant.id}:")
        if planned_here and contact.plan_key not in wanted_keys and contact.status != "cancelled":
            cancel_contact(contact, "replanned")

    for item in wanted:
        found = existing.get(item.plan_key) or db.session.scalar(
            select(Contact).where(Contact.plan_key == item.plan_key)
        )
        if found is None:
            _create_planned_contact(item, participant, protocol)
            continue
        if found.status not in (*PLANNABLE_STATUSES, "cancelled"):
            continue  # settled (missed, attended, declined…): history is not re-planned
        if found.status == "cancelled":
            if found.status_reason != "replanned":
                continue  # cancelled or rescheduled by a person: stays so
            found.status = "scheduled"
            found.status_reason = None
            found.closed_at = None
        moved = _apply(found, item, participant)
        plan_contact_messages(found, participant, protocol, item.rule, moved=moved)
    db.session.flush()


def plan_all(horizon_days: int | None = None) -> int:
    """Plan every active participant (the planner job); returns how many were planned."""
    ids = db.session.scalars(select(Participant.id).where(Participant.status == "active")).all()
    for participant_id in ids:
        # the row lock makes two schedulers plan one participant one after the other
        participant = db.session.get(Participant, participant_id, with_for_update=True)
        if participant is None:
            db.session.rollback()
            continue
        try:
            plan_participant(participant, horizon_days)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # planned meanwhile by another process: nothing lost
    return len(ids)


def _session_rule(participant: Participant, minutes: int, modality: str) -> SessionRule:
    """The phase's session rule (for reminders and join window), sized for a one-off session."""
    from dataclasses import replace

    protocol = protocol_for(participant.protocol_id, participant.protocol_version)
    phase = protocol.phase(participant.phase_id)
    if phase.sessions:
        base = phase.sessions[0]
    else:  # a phase of check-ins only: borrow the protocol's first session rule
        base = next(rule for p in protocol.phases for rule in p.sessions)
    return replace(base, minutes=minutes, modality=modality)


def add_session(
    participant: Participant,
    starts_at: datetime,
    minutes: int,
    modality: str = "video",
    plan_key: str | None = None,
) -> Contact:
    """A one-off session outside the weekly slots, with the phase's reminders (not committed)."""
    import uuid

    from telejt.participants.validation import InvalidInput

    if starts_at <= now():
        raise InvalidInput({"starts_at": "must be in the future"})
    if not 10 <= minutes <= 240:
        raise InvalidInput({"minutes": "between 10 and 240"})
    if modality not in ("video", "phone"):
        raise InvalidInput({"modality": "video or phone"})
    if participant.status != "active":
        raise InvalidInput({"participant_id": "participant is not active"})
    rule = _session_rule(participant, minutes, modality)
    contact = Contact(
        participant_id=participant.id,
        kind="session",
        plan_key=plan_key or f"extra:{participant.id}:{uuid.uuid4().hex}",
        status="scheduled",
        join_token=new_join_token(),
        invalid_replies=0,
    )
    _apply(
        contact,
        PlannedContact(
            plan_key=contact.plan_key,
            kind="session",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
            deadline_at=starts_at + timedelta(minutes=rule.join_window.after_min),
            rule=rule,
        ),
        participant,
    )
    db.session.add(contact)
    db.session.flush()
    protocol = protocol_for(participant.protocol_id, participant.protocol_version)
    plan_contact_messages(contact, participant, protocol, rule)
    return contact


def reschedule_contact(contact: Contact, starts_at: datetime) -> Contact:
    """Move a future session: the old one is cancelled, a new one takes its place."""
    from telejt.participants.validation import InvalidInput

    if contact.kind != "session" or contact.status not in (*PLANNABLE_STATUSES, "declined"):
        raise InvalidInput({"contact_id": "only a session still to come can be rescheduled"})
    minutes = int((contact.ends_at - contact.starts_at).total_seconds() // 60)
    replacement = add_session(
        contact.participant,
        starts_at,
        minutes,
        contact.modality or "video",
        plan_key=f"resched:{contact.id}:{starts_at:%Y%m%dT%H%M}",
    )
    cancel_contact(contact, "rescheduled")
    return replacement
