"""The messages each contact carries: reminders, the check-in's first question, notices.

Quiet hours: a message that would fall inside the participant's quiet hours moves
to the last allowed minute before them; if that is already past, or no earlier
than a longer reminder of the same contact, it is skipped and the skip recorded.
A reminder already overdue when planned is sent at once if the contact is still
at least ``LATE_REMINDER_MIN_LEAD`` away and no other reminder follows within
``OVERDUE_REMINDER_GAP`` (only the nearest overdue one: the others it supersedes
are skipped, recorded as "overdue").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from telejt.clock import now
from telejt.extensions import db
from telejt.localtime import quiet_period_end, quiet_period_start
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.protocols.model import CheckinRule, Protocol, QuietHours, Reminder, SessionRule
from telejt.sms.models import OutboundMessage
from telejt.sms.outbox import queue_message, skip_message

#: an overdue reminder is still worth sending if the contact is at least this far away
LATE_REMINDER_MIN_LEAD = timedelta(minutes=15)
#: an overdue reminder is not sent if another reminder of the contact follows this soon
OVERDUE_REMINDER_GAP = timedelta(minutes=30)
#: statuses of a message that has left (or may have left) telejt
LEFT_STATUSES = ("sending", "queued", "sent", "delivered", "undelivered", "failed", "needs_review")


def reminder_key(contact: Contact, reminder: Reminder) -> str:
    """The idempotency key of one reminder of one contact."""
    return f"contact:{contact.id}:reminder:{int(reminder.before.total_seconds() // 60)}m"


def _reminder_plan(
    contact: Contact, reminders: tuple[Reminder, ...], zone: ZoneInfo, quiet: QuietHours
) -> dict[str, tuple[Reminder, datetime | None, str | None]]:
    """For each reminder key: the reminder, its due time, or None and why it is skipped."""
    moment = now()
    plan: dict[str, tuple[Reminder, datetime | None, str | None]] = {}
    longest_first = sorted(reminders, key=lambda r: r.before, reverse=True)
    kept_dues: list[datetime] = []
    overdue: list[Reminder] = []
    for reminder in longest_first:
        key = reminder_key(contact, reminder)
        due = contact.starts_at - reminder.before
        quiet_start = quiet_period_start(due, zone, quiet)
        if quiet_start is not None:
            due = quiet_start - timedelta(minutes=1)
            if due <= moment or any(due <= earlier for earlier in kept_dues):
                plan[key] = (reminder, None, "quiet_hours")
                continue
        if due <= moment:
            overdue.append(reminder)
            continue
        kept_dues.append(due)
        plan[key] = (reminder, due, None)
    # of the overdue ones, the nearest is sent now if it can still help
    for index, reminder in enumerate(sorted(overdue, key=lambda r: r.before)):
        key = reminder_key(contact, reminder)
        useful = (
            index == 0
            and contact.starts_at - moment >= LATE_REMINDER_MIN_LEAD
            and quiet_period_start(moment, zone, quiet) is None
            and not any(due - moment < OVERDUE_REMINDER_GAP for due in kept_dues)
        )
        plan[key] = (reminder, moment, None) if useful else (reminder, None, "overdue")
    return plan


def plan_contact_messages(
    contact: Contact,
    participant: Participant,
    protocol: Protocol,
    rule: SessionRule | CheckinRule,
    moved: bool = False,
    *,
    stored: dict[str, OutboundMessage] | None = None,
    new_messages: list[OutboundMessage] | None = None,
) -> None:
    """Create (or re-time) the messages of one contact; tell him when a contact he knew of moved.

    ``stored``: the contact's messages by key, when the caller loaded them already.
    ``new_messages``: the contact was just created and has none; its messages are
    appended there unsaved, for the caller to insert in one batch.
    """
    zone = ZoneInfo(participant.timezone)
    quiet = protocol.quiet_hours
    if new_messages is not None:
        stored = {}
    elif stored is None:
        stored = messages_by_contact([contact.id]).get(contact.id, {})
    already_told = any(m.status in LEFT_STATUSES for m in stored.values())
    for key, (reminder, due, skip_reason) in _reminder_plan(
        contact, rule.reminders, zone, quiet
    ).items():
        message = stored.get(key)
        if message is None:
            message = _queue(
                participant,
                new_messages,
                purpose="reminder",
                key=key,
                contact=contact,
                due_at=due or now(),
                params={
                    "before_min": int(reminder.before.total_seconds() // 60),
                    "confirm": reminder.confirm,
                    "plan_prompt": reminder.plan_prompt,
                },
            )
            if skip_reason:
                skip_message(message, skip_reason)
        elif message.status in ("pending", "skipped", "cancelled") and message.sent_at is None:
            # not sent yet: follow the contact
            if skip_reason:
                if message.status == "pending":
                    skip_message(message, skip_reason)
            else:
                message.status = "pending"
                message.status_reason = None
                message.due_at = due or now()
    if isinstance(rule, CheckinRule):
        key = f"contact:{contact.id}:checkin:start"
        message = stored.get(key)
        if message is None:
            _queue(
                participant,
                new_messages,
                purpose="checkin_start",
                key=key,
                contact=contact,
                due_at=contact.starts_at,
            )
        elif message.status in ("pending", "cancelled") and message.sent_at is None:
            message.status = "pending"
            message.status_reason = None
            message.due_at = contact.starts_at
    if isinstance(rule, SessionRule):
        nudge = stored.get(f"contact:{contact.id}:nudge")
        _plan_nudge(contact, participant, rule, nudge, new_messages=new_messages)
    if moved and already_told:
        queue_change_notice(contact, cancelled=False)


def _queue(
    participant: Participant,
    new_messages: list[OutboundMessage] | None,
    **fields: Any,
) -> OutboundMessage:
    """Queue one message; for a contact just created (``new_messages`` given), unsaved
    and appended there for the caller's batch INSERT."""
    if new_messages is None:
        return queue_message(participant, **fields)
    message = queue_message(participant, new_contact=True, **fields)
    new_messages.append(message)
    return message


def _plan_nudge(
    contact: Contact,
    participant: Participant,
    rule: SessionRule,
    stored: OutboundMessage | None,
    *,
    new_messages: list[OutboundMessage] | None = None,
) -> None:
    """His link again at start + nudge_after_min; the dispatcher skips it if he has joined."""
    after = rule.nudge_after_min
    if after is None or after >= rule.join_window.after_min:
        return  # no nudge, or one that would come after his window closed
    due = contact.starts_at + timedelta(minutes=after)
    if stored is None:
        _queue(
            participant,
            new_messages,
            purpose="nudge",
            key=f"contact:{contact.id}:nudge",
            contact=contact,
            due_at=due,
        )
    elif stored.status in ("pending", "cancelled") and stored.sent_at is None:
        stored.status = "pending"
        stored.status_reason = None
        stored.due_at = due


def messages_by_contact(contact_ids: list[int]) -> dict[int, dict[str, OutboundMessage]]:
    """The messages of several contacts, by contact and key, in one query."""
    found: dict[int, dict[str, OutboundMessage]] = {contact_id: {} for contact_id in contact_ids}
    if contact_ids:
        for message in db.session.scalars(
            select(OutboundMessage).where(OutboundMessage.contact_id.in_(contact_ids))
        ):
            found[message.contact_id][message.idempotency_key] = message  # type: ignore[index]  # set: the query filters on it
    return found


def cancel_pending_messages(contact: Contact, reason: str) -> bool:
    """Cancel what a contact still had to send; True if something had already left."""
    told = False
    for message in db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.contact_id == contact.id)
    ):
        if message.status == "pending":
            message.status = "cancelled"
            message.status_reason = reason
            message.status_at = now()
        elif message.status in LEFT_STATUSES and message.purpose != "change_notice":
            told = True
    return told


def queue_change_notice(contact: Contact, *, cancelled: bool) -> None:
    """Tell the participant that a contact he was reminded of moved or was cancelled."""
    participant = contact.participant
    protocol_quiet = _quiet_hours(participant)
    due = quiet_period_end(now(), ZoneInfo(participant.timezone), protocol_quiet)
    suffix = "cancelled" if cancelled else f"moved:{contact.starts_at:%Y%m%dT%H%M}"
    queue_message(
        participant,
        purpose="change_notice",
        key=f"contact:{contact.id}:{suffix}",
        contact=contact,
        due_at=due,
        params={"cancelled": cancelled},
    )


def _quiet_hours(participant: Participant) -> QuietHours:
    from telejt.protocols.current import protocol_for

    return protocol_for(participant.protocol_id, participant.protocol_version).quiet_hours
