"""Check-ins: the SMS conversation, the web form's answers, crisis answers.

An SMS check-in asks its questions one at a time. The dispatcher sends the first
with the ``checkin_start`` message and sets ``pending_question_id``; each question
that leaves opens a prompt (telejt.conversation), and the conversation engine
hands this module the replies that answer it (:func:`take_sms_answer`) or fit
nothing (:func:`reask_question`). A valid reply is recorded and the next question
goes out at once; an invalid one is asked again with a hint, at most the rule's
``max_reasks`` times. After that the question is left unanswered and the next
one is asked: a later question (often "are you at risk?") matters more than a
stuck one.

A check-in becomes ``completed`` only when every question has an answer. When
the conversation ends with unanswered questions the contact stays open, the
closing SMS gives the web form's link to finish it, and at the deadline the
watcher settles it like any unanswered check-in; the answers given are kept.

An answer the protocol marks as a crisis sign goes down the crisis path
(telejt.conversation.crisis): an urgent alert to the treatment team (never the
court), the crisis line to him at once, and an escalation if nobody acknowledges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from telejt.checkins.models import CheckinAnswer
from telejt.clock import now
from telejt.conversation.crisis import raise_crisis
from telejt.conversation.reading import question_value
from telejt.extensions import db
from telejt.planning.live import publish_contact
from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for
from telejt.protocols.model import CheckinRule, Question
from telejt.sms.outbox import queue_message

#: statuses in which a check-in still takes answers
ANSWERABLE_STATUSES = ("scheduled", "confirmed")
DEFAULT_MAX_REASKS = 2


def parse_answer(question: Question, reply: str) -> str | None:
    """A reply as the question's normalized value ("yes", "7", a choice code), or None."""
    return question_value(question, reply)


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


@dataclass
class AnswerOutcome:
    """What one reply or form did to a check-in."""

    recorded: list[str] = field(default_factory=list)
    crisis: bool = False
    completed: bool = False


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
    raise_crisis(
        contact.participant,
        contact=contact,
        dedupe_key=crisis_alert_key(contact, question),
        reason=f"checkin_answer:{question.id}",
        reply_key=f"contact:{contact.id}:crisis",
    )


def crisis_alert_key(contact: Contact, question: Question) -> str:
    """One crisis alert per check-in question, however it was answered (and asked back)."""
    return f"crisis:{contact.id}:{question.id}"


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


def take_sms_answer(
    contact: Contact, question: Question, value: str, raw_text: str, *, in_time: bool
) -> AnswerOutcome:
    """Record a reply the engine found to answer a question; the caller commits.

    ``in_time``: the question's window was open. Then the conversation moves on to
    the next question. A late answer (only a crisis sign is taken late) is recorded
    and acted on, and asks nothing more.
    """
    outcome = AnswerOutcome()
    answer = record_answer(contact, question, value, raw_text, "sms")
    if answer is not None:
        outcome.recorded.append(question.id)
        outcome.crisis = answer.is_crisis
    if in_time and contact.pending_question_id == question.id and takes_answers(contact):
        outcome.completed = _move_on(contact, checkin_questions(contact), after_skip=False)
    db.session.flush()
    return outcome


def reask_question(contact: Contact, question: Question) -> bool:
    """A reply that fits no open prompt, while this question waits: ask it again with a hint.

    After the rule's ``max_reasks`` the question is left unanswered and the next one
    asked: a later question (often "are you at risk?") matters more than a stuck one.
    False when the question no longer waits (the check-in closed or moved on).
    """
    if contact.pending_question_id != question.id or not takes_answers(contact):
        return False
    questions = checkin_questions(contact)
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
    else:
        _move_on(contact, questions, after_skip=True)
    db.session.flush()
    return True


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
