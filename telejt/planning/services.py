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
from flask_babel import gettext
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from telejt.clock import now
from telejt.extensions import db
from telejt.localtime import local_instant
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.planning.reminders import (
    cancel_pending_messages,
    messages_by_contact,
    plan_contact_messages,
)
from telejt.planning.rules import first_session_rule, rule_path
from telejt.planning.tokens import new_join_token
from telejt.protocols.current import protocol_for
from telejt.protocols.model import WEEKDAYS, CheckinRule, Phase, Protocol, SessionRule
from telejt.shutdown import stop_requested
from telejt.sms.models import OutboundMessage

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
    #: where the rule is in the protocol ("2/sessions/0"): stored with the contact
    rule_path: str | None = None


def _session_rules_by_slot(
    phase: Phase, slots: list[dict[str, str]]
) -> list[tuple[dict[str, str], int, SessionRule]]:
    """Pair each weekly slot with the session rule it serves (and its index), in protocol order."""
    rules = [
        (index, rule) for index, rule in enumerate(phase.sessions) for _ in range(rule.per_week)
    ]
    return [(slot, index, rule) for slot, (index, rule) in zip(slots, rules, strict=False)]


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
        for slot, index, rule in _session_rules_by_slot(phase, participant.session_slots):
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
                    rule_path=rule_path(phase.id, "session", index),
                )
            )
        for index, checkin in enumerate(phase.checkins):
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
                    rule_path=rule_path(phase.id, "checkin", index),
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
    contact.protocol_rule = wanted.rule_path
    if isinstance(wanted.rule, SessionRule):
        contact.session_kind = wanted.rule.kind
        contact.modality = session_modality(wanted.rule.modality, participant)
        contact.late_after_min = wanted.rule.late_after_min
    else:
        contact.question_ids = list(wanted.rule.questions)
        contact.delivery = wanted.rule.delivery
    return moved


def session_modality(wanted: str, participant: Participant) -> str:
    """The modality a session is planned in: video only with his telehealth consent.

    Without it his therapist calls him (a phone session): he is never planned into a
    video call he has not agreed to, nor charged with missing one.
    """
    if wanted == "video" and not participant.has_consent("telehealth"):
        return "phone"
    return wanted


def cancel_contact(contact: Contact, reason: str) -> None:
    """Cancel a contact and whatever it still had to send; tell him if he had been told."""
    was_announced = cancel_pending_messages(contact, reason)
    contact.status = "cancelled"
    contact.status_reason = reason
    contact.closed_at = now()
    if was_announced:
        from telejt.planning.reminders import queue_change_notice

        queue_change_notice(contact, cancelled=True)


def _new_planned_contact(item: PlannedContact, participant: Participant) -> Contact:
    contact = Contact(
        participant_id=participant.id,
        kind=item.kind,
        plan_key=item.plan_key,
        status="scheduled",
        join_token=new_join_token(),
        invalid_replies=0,
    )
    _apply(contact, item, participant)
    return contact


#: a contact planned but not written yet: with what it needs to plan its messages
NewContact = tuple[Contact, PlannedContact, Participant, Protocol]


@dataclass
class _Known:
    """What is stored for some participants' plans, read in a few queries for all of them."""

    #: the contacts each wants, as the protocol asks now
    wanted: dict[int, list[PlannedContact]]
    #: each one's future contacts the planner may still change (or revive)
    future: dict[int, dict[str, Contact]]
    #: every stored contact with a wanted key (settled, or moved into the past, included)
    by_key: dict[str, Contact]
    #: the messages of those contacts
    messages: dict[int, dict[str, OutboundMessage]]


def _load_known(participants: list[Participant], horizon_days: int | None) -> _Known:
    moment = now()
    days = horizon_days or current_app.config["TELEJT_PLANNING_HORIZON_DAYS"]
    end = moment + timedelta(days=days)
    wanted = {p.id: desired_contacts(p, moment, end) for p in participants}
    future: dict[int, dict[str, Contact]] = {p.id: {} for p in participants}
    # by participant, status and deadline: the index of migration 0002 answers it (a
    # condition on starts_at tempted PostgreSQL into scanning every future contact);
    # a contact's deadline is never before its start, so the rest is filtered here
    for contact in db.session.scalars(
        select(Contact).where(
            Contact.participant_id.in_(list(future)),
            Contact.status.in_((*PLANNABLE_STATUSES, "cancelled")),
            Contact.deadline_at > moment,
        )
    ):
        if contact.starts_at > moment:
            future[contact.participant_id][contact.plan_key] = contact
    by_key = {key: contact for mine in future.values() for key, contact in mine.items()}
    elsewhere = [w.plan_key for ws in wanted.values() for w in ws if w.plan_key not in by_key]
    if elsewhere:
        by_key.update(
            (c.plan_key, c)
            for c in db.session.scalars(select(Contact).where(Contact.plan_key.in_(elsewhere)))
        )
    ids = [by_key[w.plan_key].id for ws in wanted.values() for w in ws if w.plan_key in by_key]
    return _Known(wanted, future, by_key, messages_by_contact(ids))


def plan_participant(
    participant: Participant,
    horizon_days: int | None = None,
    new_contacts: list[NewContact] | None = None,
    known: _Known | None = None,
) -> None:
    """Make the participant's future contacts and reminders match his protocol (not committed).

    A few statements whatever the horizon: his future contacts, any other contact
    with a wanted key, their messages (all three read for a whole group by the
    planner job, ``known``), then the new contacts in one batch and their messages
    in another. Given ``new_contacts``, the new ones are appended there instead,
    for the caller to write with other participants'.
    """
    if participant.status != "active":
        future = select(Contact).where(
            Contact.participant_id == participant.id,
            Contact.starts_at > now(),
            Contact.status.in_(PLANNABLE_STATUSES),
        )
        for contact in db.session.scalars(future):
            cancel_contact(contact, participant.status)
        return

    if known is None:
        known = _load_known([participant], horizon_days)
    wanted = known.wanted[participant.id]
    wanted_keys = {w.plan_key for w in wanted}
    protocol = protocol_for(participant.protocol_id, participant.protocol_version)

    for contact in known.future[participant.id].values():
        planned_here = contact.plan_key.startswith(f"plan:{participant.id}:")
        if planned_here and contact.plan_key not in wanted_keys and contact.status != "cancelled":
            cancel_contact(contact, "replanned")

    created: list[NewContact] = []
    for item in wanted:
        found = known.by_key.get(item.plan_key)
        if found is None:
            created.append((_new_planned_contact(item, participant), item, participant, protocol))
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
        plan_contact_messages(
            found, participant, protocol, item.rule, moved=moved, stored=known.messages[found.id]
        )
    db.session.flush()
    if new_contacts is not None:
        new_contacts.extend(created)
    elif created:
        insert_new_contacts(created)


#: what a newly planned contact is written with (one key set per kind, for batching)
_NEW_CONTACT_COLUMNS = {
    "session": ("session_kind", "modality", "late_after_min"),
    "checkin": ("question_ids", "delivery"),
}
_CONTACT_COLUMNS = (
    "participant_id",
    "kind",
    "plan_key",
    "status",
    "join_token",
    "invalid_replies",
    "starts_at",
    "ends_at",
    "deadline_at",
    "protocol_id",
    "protocol_version",
    "phase_id",
    "protocol_rule",
)
_MESSAGE_COLUMNS = (
    "participant_id",
    "contact_id",
    "purpose",
    "idempotency_key",
    "due_at",
    "params",
    "body",
    "status",
    "status_reason",
    "status_at",
    "attempts",
)


def insert_new_contacts(created: list[NewContact]) -> None:
    """Write new contacts, then all their messages, each in one batched INSERT.

    Planning 10,000 participants writes some 60,000 contacts and 120,000 messages:
    through the unit of work, object by object, that was most of the planner's time.
    """
    for kind, extra in _NEW_CONTACT_COLUMNS.items():
        of_kind = [contact for contact, *_ in created if contact.kind == kind]
        if not of_kind:
            continue
        columns = (*_CONTACT_COLUMNS, *extra)
        ids = db.session.scalars(
            insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
            [{column: getattr(contact, column) for column in columns} for contact in of_kind],
        ).all()
        for contact, contact_id in zip(of_kind, ids, strict=True):
            contact.id = contact_id
    messages: list[OutboundMessage] = []
    for contact, item, participant, protocol in created:
        plan_contact_messages(contact, participant, protocol, item.rule, new_messages=messages)
    if messages:
        # RETURNING makes it multi-row INSERTs (a few statements), not one per row
        db.session.scalars(
            insert(OutboundMessage).returning(OutboundMessage.id),
            [{column: getattr(m, column) for column in _MESSAGE_COLUMNS} for m in messages],
        ).all()


#: participants planned in one transaction by the planner job
PLAN_GROUP = 50
#: new contacts after which the planner job refreshes PostgreSQL's statistics
ANALYZE_AFTER = 10_000


def plan_all(horizon_days: int | None = None) -> int:
    """Plan every active participant (the planner job); returns how many were planned.

    Participants are planned in groups of ``PLAN_GROUP``, each group one transaction
    that first locks its participants' rows in id order: two schedulers plan one
    participant one after the other, never at once, and never deadlock. If the
    group fails on a conflict (another process planned one of them meanwhile), it
    is rolled back and planned again participant by participant.
    """
    ids = db.session.scalars(
        select(Participant.id).where(Participant.status == "active").order_by(Participant.id)
    ).all()
    written = 0
    for start in range(0, len(ids), PLAN_GROUP):
        if stop_requested():  # SIGTERM: the next pass plans the rest
            break
        group = list(ids[start : start + PLAN_GROUP])
        try:
            written += _plan_group(group, horizon_days)
            db.session.commit()
            if written >= ANALYZE_AFTER:
                _analyze_planned_tables()
                written = 0
        except IntegrityError:
            db.session.rollback()
            for participant_id in group:
                try:
                    _plan_group([participant_id], horizon_days)
                    db.session.commit()
                except IntegrityError:
                    db.session.rollback()  # planned meanwhile by another process: nothing lost
    return len(ids)


def _analyze_planned_tables() -> None:
    """Refresh PostgreSQL's statistics after a bulk of new contacts.

    A first plan of thousands of participants grows the tables faster than
    autovacuum re-reads them; on statistics from when they were nearly empty, the
    query for a group's contacts scanned every future contact instead of using the
    index by participant (10,000 participants: most of a minute lost).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE contacts, outbound_messages"))
        db.session.commit()


def _plan_group(ids: list[int], horizon_days: int | None) -> int:
    """Lock these participants (in id order) and plan each that is still active;
    returns how many contacts were created."""
    participants = db.session.scalars(
        select(Participant)
        .where(Participant.id.in_(ids))
        .options(selectinload(Participant.consents))
        .order_by(Participant.id)
        .with_for_update()
    ).all()
    active = [participant for participant in participants if participant.status == "active"]
    known = _load_known(active, horizon_days)
    new_contacts: list[NewContact] = []
    for participant in active:
        plan_participant(participant, horizon_days, new_contacts, known)
    if new_contacts:
        insert_new_contacts(new_contacts)
    return len(new_contacts)


def _session_rule(participant: Participant, minutes: int, modality: str) -> tuple[str, SessionRule]:
    """The phase's session rule (for reminders and join window), sized for a one-off
    session, and its path (a phase of check-ins only borrows the protocol's first)."""
    from dataclasses import replace

    protocol = protocol_for(participant.protocol_id, participant.protocol_version)
    found = first_session_rule(protocol, participant.phase_id)
    if found is None:
        raise LookupError("the protocol has no session rule")
    path, base = found
    return path, replace(base, minutes=minutes, modality=modality)


def add_session(
    participant: Participant,
    starts_at: datetime,
    minutes: int,
    modality: str = "video",
    plan_key: str | None = None,
) -> Contact:
    """A one-off session outside the weekly slots, with the phase's reminders (not committed)."""
    import uuid

    from telejt.errors import InvalidInput

    errors: dict[str, str] = {}
    if starts_at <= now():
        errors["starts_at"] = gettext("Debe ser en el futuro.")
    if participant.status != "active":
        errors["participant_id"] = gettext("El participante no está activo.")
    if errors:
        raise InvalidInput(errors)
    if not 10 <= minutes <= 240:
        raise InvalidInput({"minutes": "between 10 and 240"})
    if modality not in ("video", "phone"):
        raise InvalidInput({"modality": "video or phone"})
    if session_modality(modality, participant) != modality:
        raise InvalidInput({"modality": "video needs his telehealth consent: choose phone"})
    path, rule = _session_rule(participant, minutes, modality)
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
            rule_path=path,
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
    from telejt.errors import InvalidInput

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
