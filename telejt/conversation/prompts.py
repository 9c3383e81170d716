"""Opening, finding and closing prompts.

A prompt opens when a message that asks something has left telejt (the
dispatcher's ``message_sent`` signal reaches :func:`open_prompt_for_sent`): a
reminder asking "1 to confirm, 2 if you can't", a check-in question, or an
ask-back. It stays open until it is answered, until a newer prompt asks the same
thing, or until its window ends:

- attendance: until the session starts;
- a check-in question: until the check-in's deadline plus ``TELEJT_REPLY_GRACE_MINUTES``
  (an SMS sent a minute before the deadline arrives after it); a question whose
  answer can be a crisis sign takes that answer until his next check-in starts —
  a late "yes, I feel at risk" always reaches a person;
- an ask-back: while the prompts it asks about could still be answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from telejt.clock import now
from telejt.conversation.models import ASK_BACK_KINDS, Prompt
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for
from telejt.protocols.model import Question
from telejt.sms.models import InboundMessage, OutboundMessage
from telejt.sms.outbox import queue_message, skip_message
from telejt.sms.purposes import purpose
from telejt.sms.signals import conversation_until_wanted, message_sending, message_sent

#: a late crisis answer is taken at most this long after the check-in's deadline
CRISIS_WINDOW_LIMIT = timedelta(days=8)
#: a check-in's first question waits this long for his answer to a confirmation asked first
HELD_QUESTION_WAIT = timedelta(minutes=10)
#: an ask-back waits at least this long for its answer, at most the longest
ASK_BACK_MIN = timedelta(minutes=30)
ASK_BACK_MAX = timedelta(hours=12)


def reply_grace() -> timedelta:
    """How long after a check-in's deadline a reply still answers its question."""
    return timedelta(minutes=current_app.config["TELEJT_REPLY_GRACE_MINUTES"])


def _supersede(participant_id: int, key: tuple[str, int | None, str | None]) -> None:
    kind, contact_id, question_id = key
    for prompt in db.session.scalars(
        select(Prompt).where(
            Prompt.participant_id == participant_id,
            Prompt.closed_at.is_(None),
            Prompt.kind == kind,
            Prompt.contact_id.is_(None) if contact_id is None else Prompt.contact_id == contact_id,
            Prompt.question_id.is_(None)
            if question_id is None
            else Prompt.question_id == question_id,
        )
    ):
        close_prompt(prompt, "superseded")


def open_prompt(
    participant_id: int,
    kind: str,
    *,
    answer_until: datetime,
    crisis_until: datetime | None = None,
    contact: Contact | None = None,
    question_id: str | None = None,
    message: OutboundMessage | None = None,
    inbound: InboundMessage | None = None,
    options: list[dict[str, Any]] | None = None,
) -> Prompt:
    """Open a prompt; an open one asking the same thing is closed as superseded."""
    key = (kind, contact.id if contact is not None else None, question_id)
    if kind in ASK_BACK_KINDS:
        for other in ASK_BACK_KINDS:  # one ask-back at a time: the newest
            _supersede(participant_id, (other, None, None))
    else:
        _supersede(participant_id, key)
    prompt = Prompt(
        participant_id=participant_id,
        contact_id=key[1],
        kind=kind,
        question_id=question_id,
        message_id=message.id if message is not None else None,
        inbound_id=inbound.id if inbound is not None else None,
        options=options,
        opened_at=now(),
        answer_until=answer_until,
        crisis_until=max(crisis_until or answer_until, answer_until),
        reasks=0,
    )
    db.session.add(prompt)
    db.session.flush()
    return prompt


def close_prompt(prompt: Prompt, reason: str, by: InboundMessage | None = None) -> None:
    """Close a prompt: answered (by a reply), superseded or withdrawn."""
    if prompt.closed_at is not None:
        return
    prompt.closed_at = now()
    prompt.close_reason = reason
    if by is not None:
        prompt.answered_by_id = by.id


def close_answered(prompt: Prompt, by: InboundMessage) -> None:
    """A reply answered this prompt: it and any open prompt asking the same thing close."""
    close_prompt(prompt, "answered", by)
    _supersede(prompt.participant_id, prompt.key)


def question_windows(contact: Contact, question: Question) -> tuple[datetime, datetime]:
    """Until when a check-in question takes any answer, and until when a crisis-sign answer."""
    answer_until = contact.deadline_at + reply_grace()
    if question.crisis_if is None:
        return answer_until, answer_until
    next_start = db.session.scalar(
        select(Contact.starts_at)
        .where(
            Contact.participant_id == contact.participant_id,
            Contact.kind == "checkin",
            Contact.starts_at > contact.starts_at,
            Contact.status != "cancelled",
        )
        .order_by(Contact.starts_at)
        .limit(1)
    )
    limit = contact.deadline_at + CRISIS_WINDOW_LIMIT
    crisis_until = min(next_start, limit) if next_start is not None else limit
    return answer_until, max(crisis_until, answer_until)


def open_attendance_prompt(participant_id: int, moment: datetime) -> Prompt | None:
    """His reminder still waiting for "1 to confirm, 2 if not", if any (the latest)."""
    return db.session.scalar(
        select(Prompt)
        .where(
            Prompt.participant_id == participant_id,
            Prompt.kind == "attendance",
            Prompt.closed_at.is_(None),
            Prompt.answer_until > moment,
        )
        .order_by(Prompt.opened_at.desc(), Prompt.id.desc())
        .limit(1)
    )


def prepare_checkin_start(message: OutboundMessage) -> None:
    """Before an SMS check-in's first message goes: its first question, sequenced.

    A check-in's "1=Yes 2=No" and a reminder's "1 to confirm, 2 if not" must not wait
    for his answer together. So when a session's confirmation is still open, the
    check-in's first message asks that first ("before your report: are you coming?");
    the first question follows as soon as he answers it, or after
    ``HELD_QUESTION_WAIT`` if he does not (the engine asks back any reply that
    still fits both).
    """
    contact = message.contact
    if contact is None or contact.delivery == "link" or not contact.question_ids:
        return
    if contact.pending_question_id is not None:
        return  # prepared already (a retried send)
    first = contact.question_ids[0]
    contact.pending_question_id = first
    waiting = open_attendance_prompt(message.participant_id, now())
    if waiting is None or waiting.contact_id is None:
        return
    message.params = {**(message.params or {}), "attendance_first": waiting.contact_id}
    queue_message(
        message.participant,
        purpose="checkin_question",
        key=f"contact:{contact.id}:q:{first}",
        contact=contact,
        due_at=now() + HELD_QUESTION_WAIT,
        params={"question": first, "held": True},
    )


def release_held_question(participant_id: int) -> None:
    """He answered the confirmation a check-in asked first: its first question goes now.

    Queued anew (the held one is set aside) so that it follows the reply to his
    confirmation, which was queued just before.
    """
    moment = now()
    for held in db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.participant_id == participant_id,
            OutboundMessage.purpose == "checkin_question",
            OutboundMessage.status == "pending",
            OutboundMessage.due_at > moment,
        )
    ):
        params = dict(held.params or {})
        if not params.pop("held", False):
            continue
        skip_message(held, "released")
        queue_message(
            held.participant,
            purpose="checkin_question",
            key=f"{held.idempotency_key}:released",
            contact=held.contact,
            params=params,
        )


def _question_prompt(message: OutboundMessage, contact: Contact, question_id: str) -> Prompt:
    protocol = protocol_for(contact.protocol_id, contact.protocol_version)
    answer_until, crisis_until = question_windows(contact, protocol.question(question_id))
    return open_prompt(
        message.participant_id,
        "question",
        contact=contact,
        question_id=question_id,
        message=message,
        answer_until=answer_until,
        crisis_until=crisis_until,
    )


def open_prompt_for_sent(message: OutboundMessage) -> Prompt | None:
    """The prompt a message that just left opens, if it asks something."""
    contact = message.contact
    params = message.params or {}
    if message.purpose == "reminder" and params.get("confirm") and contact is not None:
        if contact.kind != "session":
            return None
        return open_prompt(
            message.participant_id,
            "attendance",
            contact=contact,
            message=message,
            answer_until=contact.starts_at,
        )
    if message.purpose == "checkin_start" and contact is not None:
        session = (
            db.session.get(Contact, params["attendance_first"])
            if params.get("attendance_first")
            else None
        )
        if session is not None:
            return open_prompt(
                message.participant_id,
                "attendance",
                contact=session,
                message=message,
                answer_until=session.starts_at,
            )
        if contact.delivery == "link" or contact.pending_question_id is None:
            return None
        return _question_prompt(message, contact, contact.pending_question_id)
    if message.purpose == "checkin_question" and contact is not None:
        return _question_prompt(message, contact, str(params.get("question")))
    if message.purpose == "clarify" and params.get("prompt_id"):
        prompt = db.session.get(Prompt, int(str(params["prompt_id"])))
        if prompt is not None and prompt.message_id is None:
            prompt.message_id = message.id
        return prompt
    return None


def open_prompts(participant_ids: Sequence[int], moment: datetime) -> list[Prompt]:
    """Prompts of these participants that still take some answer, newest first."""
    if not participant_ids:
        return []
    return list(
        db.session.scalars(
            select(Prompt)
            .where(
                Prompt.participant_id.in_(participant_ids),
                Prompt.closed_at.is_(None),
                Prompt.crisis_until > moment,
            )
            .order_by(Prompt.opened_at.desc(), Prompt.id.desc())
        )
    )


def checkin_conversation_until(participant_id: int, moment: datetime) -> datetime | None:
    """While he is answering a check-in by SMS: until when its open question takes answers."""
    return db.session.scalar(
        select(Prompt.answer_until)
        .where(
            Prompt.participant_id == participant_id,
            Prompt.kind == "question",
            Prompt.closed_at.is_(None),
            Prompt.answer_until > moment,
        )
        .order_by(Prompt.answer_until)
        .limit(1)
    )


def ask_back_window(candidates: Sequence[Prompt], moment: datetime) -> datetime:
    """How long an ask-back about these prompts stays open."""
    latest = max((p.crisis_until for p in candidates), default=moment)
    return min(max(latest, moment + ASK_BACK_MIN), moment + ASK_BACK_MAX)


# ---- what the dispatcher asks and tells (telejt.sms.signals) ---------------------------------


@message_sending.connect
def _sequence_checkin_start(message: OutboundMessage, **_: Any) -> None:
    if message.purpose == "checkin_start":
        prepare_checkin_start(message)


@message_sent.connect
def _open_prompt_of_sent(message: OutboundMessage, **_: Any) -> None:
    if purpose(message.purpose).asks:
        open_prompt_for_sent(message)


@conversation_until_wanted.connect
def _checkin_goes_on_until(
    message: OutboundMessage, *, moment: datetime, **_: Any
) -> datetime | None:
    return checkin_conversation_until(message.participant_id, moment)
