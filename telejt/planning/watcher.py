"""The deadline watcher: a contact whose window closed without the participant is missed.

Every miss carries an attribution, because a court must never sanction a
participant for the system's failure:

- ``excused``: he declined ahead, or staff excused him;
- ``opted_out``: he asked for no more SMS before the deadline. His choice, shown as
  such, never as the system's failure, and not counted against him: the team must
  reach him another way (a reachability alert tells them);
- ``system``: telejt could not reach him (no SMS consent, every reminder undelivered
  or failed, nothing sent at all, a reminder due before the deadline never sent, say
  while the SMS provider was down, or no reminder could reach him in time: planned
  too close to the contact, or inside his quiet hours) or the session failed
  technically;
- ``unconfirmed``: the reminders went out but no carrier confirmed any delivery
  (Twilio said only ``queued``/``sent``): nobody knows he got one, so the miss is
  shown as it is and not counted against him;
- ``participant``: he was reached (a reminder or the check-in was delivered) and
  did not come or answer.

A phone session is never settled here: there is no link to join, the therapist
calls, and only the therapist's marking says whether he answered. An unmarked
phone session raises a team alert after its end instead (telejt.planning.outcomes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from telejt.checkins.models import CheckinAnswer
from telejt.clock import now
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.batches import in_claimed_batches
from telejt.planning.live import publish_contact
from telejt.planning.missed import alert_missed_contact
from telejt.planning.models import Contact
from telejt.planning.outcomes import (
    alert_unrecorded_outcomes,
    awaiting_call,
    next_outcome_deadline_at,
)
from telejt.protocols.current import protocol_for
from telejt.sms import purposes
from telejt.sms.models import OutboundMessage
from telejt.sms.provider import outage_between

#: contacts the watcher settles when their deadline passes
WATCHED_STATUSES = ("scheduled", "confirmed", "declined")
#: the messages that count as having told him about a contact
REACHING_PURPOSES = purposes.names(reaches_participant=True)
#: why a reminder was skipped when its time had passed or fell in his quiet hours
TOO_LATE = ("overdue", "quiet_hours")
#: contacts settled per transaction: its alerts go out when it commits, so a burst of
#: contacts sharing one deadline reaches the dashboards a few at a time, not all at the end
WATCH_BATCH = 10


def attribute_miss(
    contact: Contact,
    participant: Participant,
    messages: Sequence[OutboundMessage] | None = None,
) -> tuple[str, str]:
    """Who a miss is attributed to, and the evidence in a few words.

    ``messages``: the contact's reaching messages when the caller loaded them already.
    """
    if contact.status == "declined":
        return "excused", "declined_ahead"
    if not participant.has_consent("sms"):
        return "system", "no_sms_consent"
    if (
        participant.sms_opted_out_at is not None
        and participant.sms_opted_out_at <= contact.deadline_at
    ):
        return "opted_out", "opted_out"
    if messages is None:
        messages = reaching_messages([contact.id]).get(contact.id, [])
    # the SMS provider was down when his time ran out, or a message due before then
    # never went: the system could not reach him (nor answer what he wrote)
    if outage_between(contact.deadline_at, contact.deadline_at):
        return "system", "provider_outage"
    unsent = [
        m.due_at for m in messages if m.status == "pending" and m.due_at <= contact.deadline_at
    ]
    if unsent:
        outage = outage_between(min(unsent), contact.deadline_at)
        return "system", "provider_outage" if outage else "reminder_not_sent"
    statuses = {m.status for m in messages}
    if "delivered" in statuses:
        return "participant", "reminder_delivered"
    # a carrier's "undelivered" outweighs a later message with no receipt yet
    failures = sorted(
        {m.error_code for m in messages if m.status in ("undelivered", "failed") and m.error_code}
    )
    if statuses & {"undelivered", "failed"}:
        return "system", "sms_undelivered" + (f":{','.join(failures)}" if failures else "")
    if statuses & {"sent", "queued"}:
        return "unconfirmed", "reminder_sent_unconfirmed"
    if "needs_review" in statuses:
        return "system", "send_interrupted"
    if any(m.status == "skipped" and m.status_reason in TOO_LATE for m in messages):
        # planned after his reminders' times (enrolled or moved too late), or they fell
        # in his quiet hours: none could reach him in time
        return "system", "no_reminder_in_time"
    return "system", "not_reminded"


def reaching_messages(contact_ids: Sequence[int]) -> dict[int, list[OutboundMessage]]:
    """The messages that told each of these contacts' participants about it, by contact."""
    found: dict[int, list[OutboundMessage]] = {}
    if not contact_ids:
        return found
    for message in db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.contact_id.in_(contact_ids),
            OutboundMessage.purpose.in_(REACHING_PURPOSES),
        )
    ):
        assert message.contact_id is not None
        found.setdefault(message.contact_id, []).append(message)
    return found


def answered_in_part(contact: Contact) -> bool:
    """Whether a check-in got at least one answer (read when its deadline passes)."""
    if contact.kind != "checkin":
        return False
    found = db.session.scalar(
        select(CheckinAnswer.id).where(CheckinAnswer.contact_id == contact.id).limit(1)
    )
    return found is not None


def settle_contact(contact: Contact, messages: Sequence[OutboundMessage] | None = None) -> None:
    """Close one contact whose deadline passed: missed or excused, alert as the protocol says.

    A check-in answered in part is ``incomplete``, with the answers he gave: no miss,
    no attribution and no alert, unless the phase's ``missed.incomplete_is_missed``
    says it counts as his miss.
    """
    participant = contact.participant
    phase = protocol_for(contact.protocol_id, contact.protocol_version).phase(contact.phase_id)
    if answered_in_part(contact):
        contact.pending_question_id = None
        if not phase.missed.incomplete_is_missed:
            contact.status = "incomplete"
            contact.attribution = None
            contact.attribution_reason = "checkin_incomplete"
            contact.closed_at = now()
            db.session.flush()
            publish_contact(contact, participant)
            return
        # he was reached (he answered): what is missing is his, as his protocol says
        attribution, reason = "participant", "checkin_incomplete"
    else:
        attribution, reason = attribute_miss(contact, participant, messages)
    contact.status = "excused" if attribution == "excused" else "missed"
    contact.attribution = attribution
    contact.attribution_reason = reason
    contact.closed_at = now()
    db.session.flush()
    publish_contact(contact, participant)
    alert_missed_contact(contact, participant, attribution, reason)


def watch_deadlines(limit: int = WATCH_BATCH) -> int:
    """Settle every contact whose deadline has passed; returns how many.

    Claims and commits ``limit`` contacts at a time, oldest deadline first (on
    PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so several schedulers share a burst):
    each commit sends its contacts' live events at once.

    Then tell the team about sessions he joined whose outcome is still not recorded
    a grace period after their end (see telejt.planning.outcomes): those are not
    settled here, only flagged, since their outcome is the therapist's to record.
    """
    settled = _settle_passed_deadlines(limit)
    alert_unrecorded_outcomes()
    return settled


def _settle_passed_deadlines(limit: int) -> int:
    def query() -> Select[Contact]:
        return (
            select(Contact)
            .where(
                Contact.status.in_(WATCHED_STATUSES),
                Contact.deadline_at <= now(),
                ~awaiting_call(),
            )
            .order_by(Contact.deadline_at, Contact.id)
            .limit(limit)
            .options(selectinload(Contact.participant).selectinload(Participant.consents))
        )

    def settle(contacts: list[Contact]) -> None:
        messages = reaching_messages([c.id for c in contacts])
        for contact in contacts:
            settle_contact(contact, messages.get(contact.id, []))

    return in_claimed_batches(query, settle)


def next_deadline_at() -> datetime | None:
    """The next deadline the watcher must wake for: a window closing or an outcome overdue."""
    window = db.session.scalar(
        select(func.min(Contact.deadline_at)).where(
            Contact.status.in_(WATCHED_STATUSES), ~awaiting_call()
        )
    )
    deadlines = [t for t in (window, next_outcome_deadline_at()) if t is not None]
    return min(deadlines) if deadlines else None
