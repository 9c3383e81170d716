"""Check-ins: the SMS conversation, the web form's answers, crisis answers.

An SMS check-in asks its questions one at a time. The dispatcher sends the first
with the ``checkin_start`` message and sets ``pending_question_id``; each reply
is checked against that question. A valid reply is recorded and the next question
goes out at once; an invalid one is asked again with a hint, at most the rule's
``max_reasks`` times. After that the question is left unanswered and the next
one is asked: a later question (often "are you at risk?") matters more than a
stuck one.

A check-in becomes ``completed`` only when every question has an answer. When
the conversation ends with unanswered questions the contact stays open, the
closing SMS gives the web form's link to finish it, and at the deadline the
watcher settles it like any unanswered check-in; the answers given are kept.

An answer the protocol marks as a crisis sign raises an urgent alert to the
treatment team (audience ``team``: the therapist's and coordinators' rooms, never
the court's) and answers the participant at once with the protocol's crisis line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from telejt.alerts.services import raise_alert
from telejt.checkins.models import CheckinAnswer
from telejt.clock import now
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.planning.watcher import publish_contact
from telejt.protocols.current import protocol_for
from telejt.protocols.model import CheckinRule, Question
from telejt.sms.keywords import normalize_reply, yes_no
from telejt.sms.outbox import queue_message

#: "7", " 7 ", "7/10", "7 / 10.", "7!"
_SCALE_REPLY = re.compile(r"\s*(\d{1,3})\s*(?:/\s*\d{1,3})?\s*[.!]*\s*")
#: statuses in which a check-in still takes answers
ANSWERABLE_STATUSES = ("scheduled", "confirmed")
DEFAULT_MAX_REASKS = 2


def parse_answer(question: Question, reply: str) -> str | None:
    """A reply as the question's normalized value ("yes", "7", a choice code), or None."""
    if question.type == "yesno":
        return yes_no(reply)
    if question.type == "scale":
        match = _SCALE_REPLY.fullmatch(reply or "")
        if match is None or question.range is None:
            return None
        number = int(match[1])
        low, high = question.range
        return str(number) if low <= number <= high else None
    word = normalize_reply(reply)
    for code, text in question.choices:
        labels = {normalize_reply(code), normalize_reply(text.es), normalize_reply(text.en)}
        if word and word in labels:
            return code
    return None


def is_crisis(question: Question, value: str) -> bool:
    """Whether an answer is the crisis sign the protocol names for this question."""
    if question.crisis_if is None:
        return False
    if question.type == "scale":
        return int(value) >= int(question.crisis_if)
    return value == question.crisis_if


def checkin_questions(contact: Contact) -> list[Question]:
    """The questions of a check-in, as the protocol version it was planned on words them."""
    protocol = protocol_for(contact.protocol_id, contact.protocol_version)
    return [protocol.question(question_id) for question_id in contact.question_ids or ()]


def answers_by_question(contact: Contact) -> dict[str, CheckinAnswer]:
    """The answers recorded so far, by question id."""
    answers = db.session.scalars(
        select(CheckinAnswer).where(CheckinAnswer.contact_id == contact.id)
    ).all()
    return {answer.question_id: answer for answer in answers}


def checkin_rule(contact: Contact) -> CheckinRule | None:
    """The protocol rule that planned a check-in (matched by its questions)."""
    protocol = protocol_for(contact.protocol_id, contact.protocol_version)
    try:
        phase = protocol.phase(contact.phase_id)
    except KeyError:
        return None
    wanted = tuple(contact.question_ids or ())
    return next((rule for rule in phase.checkins if rule.questions == wanted), None)


def takes_answers(contact: Contact) -> bool:
    """Whether a check-in is open to answers now: started, before its deadline, not closed."""
    moment = now()
    return (
        contact.kind == "checkin"
        and contact.status in ANSWERABLE_STATUSES
        and contact.starts_at <= moment < contact.deadline_at
    )


def open_sms_checkin(participant: Participant) -> Contact | None:
    """The SMS check-in now waiting for his reply to a question, locked for the update."""
    moment = now()
    return db.session.scalar(
        select(Contact)
        .where(
            Contact.participant_id == participant.id,
            Contact.kind == "checkin",
            Contact.delivery == "sms",
            Contact.status.in_(ANSWERABLE_STATUSES),
            Contact.pending_question_id.is_not(None),
            Contact.starts_at <= moment,
            Contact.deadline_at > moment,
        )
        .order_by(Contact.starts_at.desc(), Contact.id.desc())
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


@dataclass
class AnswerOutcome:
    """What one reply or form did to a check-in."""

    recorded: list[str] = field(default_factory=list)
    crisis: bool = False
    completed: bool = False
    #: the reply did not fit the question and it was asked again
    reasked: bool = False


def record_answer(
    contact: Contact, question: Question, value: str, raw_text: str, via: str
) -> CheckinAnswer | None:
    """Store one valid answer (once per question) and act on a crisis sign; None if known."""
    answer = CheckinAnswer(
        contact_id=contact.id,
        question_id=question.id,
        value=value,
        raw_text=raw_text[:2000],
        is_crisis=is_crisis(question, value),
        is_shared_with_court=question.share_with_court,
        via=via,
        answered_at=now(),
    )
    try:
        with db.session.begin_nested():  # another channel may have answered it just now
            db.session.add(answer)
    except IntegrityError:
        return None
    if answer.is_crisis:
        _act_on_crisis(contact, question)
    return answer


def _act_on_crisis(contact: Contact, question: Question) -> None:
    participant = contact.participant
    raise_alert(
        participant=participant,
        contact=contact,
        kind="crisis",
        severity="urgent",
        audience="team",
        dedupe_key=f"crisis:{contact.id}:{question.id}",
        reason=f"checkin_answer:{question.id}",
    )
    queue_message(
        participant, purpose="crisis_reply", key=f"contact:{contact.id}:crisis", contact=contact
    )


def _complete(contact: Contact, *, notify: bool) -> None:
    contact.status = "completed"
    contact.closed_at = now()
    contact.pending_question_id = None
    contact.invalid_replies = 0
    db.session.flush()
    publish_contact(contact, contact.participant)
    if notify:
        queue_message(
            contact.participant,
            purpose="checkin_done",
            key=f"contact:{contact.id}:done",
            contact=contact,
        )


def _ask(contact: Contact, question_id: str, *, after_skip: bool = False) -> None:
    contact.pending_question_id = question_id
    contact.invalid_replies = 0
    queue_message(
        contact.participant,
        purpose="checkin_question",
        key=f"contact:{contact.id}:q:{question_id}",
        contact=contact,
        params={"question": question_id, "after_skip": after_skip},
    )


def _move_on(contact: Contact, questions: list[Question], *, after_skip: bool) -> bool:
    """Ask the next question after the pending one, or finish; True if completed."""
    ids = [q.id for q in questions]
    position = ids.index(contact.pending_question_id) if contact.pending_question_id in ids else -1
    answered = answers_by_question(contact)
    for question_id in ids[position + 1 :]:
        if question_id not in answered:
            _ask(contact, question_id, after_skip=after_skip)
            return False
    if all(question_id in answered for question_id in ids):
        _complete(contact, notify=True)
        return True
    # Some were left unanswered: the contact stays open for the web form until its deadline.
    contact.pending_question_id = None
    contact.invalid_replies = 0
    queue_message(
        contact.participant,
        purpose="checkin_done",
        key=f"contact:{contact.id}:done",
        contact=contact,
        params={"partial": True},
    )
    return False


def answer_by_sms(contact: Contact, reply: str) -> AnswerOutcome:
    """Take one SMS reply to the pending question of an open check-in; the caller commits."""
    outcome = AnswerOutcome()
    questions = checkin_questions(contact)
    question = next((q for q in questions if q.id == contact.pending_question_id), None)
    if question is None:
        contact.pending_question_id = None
        return outcome
    value = parse_answer(question, reply)
    if value is None:
        rule = checkin_rule(contact)
        limit = rule.max_reasks if rule is not None else DEFAULT_MAX_REASKS
        contact.invalid_replies = (contact.invalid_replies or 0) + 1
        if contact.invalid_replies <= limit:
            queue_message(
                contact.participant,
                purpose="checkin_question",
                key=f"contact:{contact.id}:q:{question.id}:retry{contact.invalid_replies}",
                contact=contact,
                params={"question": question.id, "retry": contact.invalid_replies},
            )
            outcome.reasked = True
        else:
            outcome.completed = _move_on(contact, questions, after_skip=True)
        db.session.flush()
        return outcome
    answer = record_answer(contact, question, value, reply, "sms")
    if answer is not None:
        outcome.recorded.append(question.id)
        outcome.crisis = answer.is_crisis
    outcome.completed = _move_on(contact, questions, after_skip=False)
    db.session.flush()
    return outcome


def submit_web_answers(contact: Contact, values: dict[str, str]) -> AnswerOutcome:
    """Record the web form's answers (already validated values) and complete the check-in."""
    outcome = AnswerOutcome()
    answered = answers_by_question(contact)
    questions = checkin_questions(contact)
    for question in questions:
        if question.id in answered or question.id not in values:
            continue
        value = values[question.id]
        if parse_answer(question, value) != value:
            raise ValueError(f"invalid value for {question.id}: {value!r}")
        answer = record_answer(contact, question, value, value, "web")
        if answer is not None:
            outcome.recorded.append(question.id)
            outcome.crisis = outcome.crisis or answer.is_crisis
    answered = answers_by_question(contact)
    if all(question.id in answered for question in questions):
        _complete(contact, notify=False)
        outcome.completed = True
    db.session.flush()
    return outcome


def checkin_for_token(token: str) -> Contact | None:
    """The check-in a web form link names (None for an unknown token or a session's)."""
    contact = db.session.scalar(select(Contact).where(Contact.join_token == token))
    if contact is None or contact.kind != "checkin":
        return None
    return contact
