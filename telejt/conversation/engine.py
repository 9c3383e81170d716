"""Inbound SMS: who wrote, which open prompt the reply answers, and what telejt does.

One entry point, :func:`receive_sms`, reached by the Twilio webhook and by the
console backend's dev page alike through the SMS channel's ``inbound_received``
signal (telejt.sms.signals). In order:

1. A ``MessageSid`` already stored is a retry: nothing is done again.
2. The sender is matched by E.164 number (the old ``+521`` form included). Every
   active participant on that number is locked for the rest of the transaction,
   so two replies from one phone are read one after the other. An unknown number
   is not stored: it gets one neutral line.
3. Risk words ("me quiero morir", "kill myself", …) go to a person at once
   (telejt.conversation.crisis), for every participant on the phone; the reply
   is then read as nothing else.
4. Commands act whatever was asked: stop (for everyone on the phone, at once),
   start, help. "CANCELAR" alone is asked back: the appointment, or every message?
5. An open ask-back takes its option number.
6. Otherwise the reply is read against every open prompt of the participants on
   the phone (telejt.conversation.reading). A prompt it fits, it answers. When it
   fits several that mean different things — a "1" while both a reminder ("1 to
   confirm") and a check-in question ("1=Yes") wait — telejt asks back in one SMS
   and records nothing clinical until he says which; if one of the readings is a
   crisis sign, the crisis path runs at once all the same. When it fits prompts of
   two people sharing the phone, telejt asks whose reply it is.
7. A reply that fits nothing: a plain "ok, gracias" is left alone; otherwise the
   open question is asked again (a bounded number of times) or the reply is kept
   for the team and answered neutrally, at most once a day. Never guessed.

Every answer goes through the outbox (opt-outs and consents respected, every SMS
in one table) under a key made from the inbound ``MessageSid``, so a replayed
webhook never answers twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError

from telejt.alerts.models import Alert
from telejt.alerts.services import opt_out_alert_key, raise_alert
from telejt.checkins.models import CheckinAnswer
from telejt.checkins.services import (
    crisis_alert_key,
    is_crisis,
    reask_question,
    take_sms_answer,
)
from telejt.clock import now
from telejt.conversation.crisis import clear_possible_crisis, raise_crisis
from telejt.conversation.models import ASK_BACK_KINDS, Prompt
from telejt.conversation.prompts import (
    ask_back_window,
    close_answered,
    close_prompt,
    open_prompt,
    open_prompts,
    release_held_question,
)
from telejt.conversation.reading import (
    STRONG,
    Reading,
    option_number,
    question_value,
    read_reply,
)
from telejt.errors import InvalidInput
from telejt.extensions import db
from telejt.logmask import mask_phone
from telejt.participants.models import Participant
from telejt.participants.validation import normalize_phone
from telejt.planning.live import publish_contact
from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for
from telejt.protocols.model import Question
from telejt.sms.models import InboundMessage
from telejt.sms.outbox import queue_message
from telejt.sms.signals import InboundOutcome, inbound_received
from telejt.sms.text import to_gsm7

log = logging.getLogger(__name__)

#: session statuses an attendance answer may still change
CONFIRMABLE_STATUSES = ("scheduled", "confirmed", "declined")
#: how many times a reply that fits nothing makes telejt ask a reminder or ask-back again
MAX_REASKS = 1
#: a reply of more words than this that fits nothing is a message, not a failed answer
MAX_ANSWER_WORDS = 5


@dataclass(frozen=True)
class Fit:
    """One way a reply answers one open prompt."""

    prompt: Prompt
    #: attendance: "confirm" or "decline"; question: the question's value
    value: str
    is_strong: bool = False
    is_crisis: bool = False
    question: Question | None = None


def unknown_sender_reply() -> str:
    """The one neutral line an unknown number gets."""
    return to_gsm7(_("Este número no tiene mensajes pendientes."))


def participants_on_phone(raw_phone: str, *, lock: bool = False) -> list[Participant]:
    """Who a number belongs to: its active participants, or else the latest one on it.

    ``lock``: lock their rows until the transaction ends (replies from one phone are
    taken one at a time).
    """
    try:
        phone = normalize_phone(raw_phone)
    except InvalidInput:
        return []
    query = (
        select(Participant)
        .where(Participant.phone == phone, Participant.anonymized_at.is_(None))
        .order_by(case((Participant.status == "active", 0), else_=1), Participant.id)
    )
    if lock:
        query = query.with_for_update()
    found = list(db.session.scalars(query))
    active = [p for p in found if p.status == "active"]
    if active:
        return active
    return sorted(found, key=lambda p: p.id)[-1:]


def already_received(provider_sid: str) -> bool:
    """Whether an inbound SMS with this provider id was stored already."""
    found = db.session.scalar(
        select(InboundMessage.id).where(InboundMessage.provider_sid == provider_sid)
    )
    return found is not None


def receive_sms(*, provider_sid: str, from_phone: str, body: str) -> InboundOutcome:
    """Record and act on one inbound SMS exactly once; the caller commits."""
    if already_received(provider_sid):
        return InboundOutcome(meaning=None, duplicate=True)
    people = participants_on_phone(from_phone, lock=True)
    if not people:
        log.info("SMS %s from unknown number %s", provider_sid, mask_phone(from_phone))
        return InboundOutcome(meaning=None, direct_reply=unknown_sender_reply())
    inbound = InboundMessage(
        provider_sid=provider_sid,
        participant_id=people[0].id if len(people) == 1 else None,
        from_phone=people[0].phone,
        body=body,
        received_at=now(),
    )
    try:
        # The unique sid settles a race between two deliveries of the same webhook.
        with db.session.begin_nested():
            db.session.add(inbound)
    except IntegrityError:
        return InboundOutcome(meaning=None, duplicate=True)
    Conversation(people, inbound).run()
    db.session.flush()
    return InboundOutcome(
        meaning=inbound.meaning,
        participant_id=inbound.participant_id,
        contact_id=inbound.contact_id,
    )


@inbound_received.connect
def _receive_inbound(
    _sender: object, *, provider_sid: str, from_phone: str, body: str, **_: object
) -> InboundOutcome:
    return receive_sms(provider_sid=provider_sid, from_phone=from_phone, body=body)


class Conversation:
    """One inbound reply read against what the people on its phone were asked."""

    def __init__(self, people: Sequence[Participant], inbound: InboundMessage) -> None:
        self.people = list(people)
        self.inbound = inbound
        self.reading: Reading = read_reply(inbound.body)
        #: the moment the reply arrived (an ask-back is resolved as of then)
        self.moment: datetime = inbound.received_at
        self.reply_key = f"inbound:{inbound.provider_sid}"

    # ---- the steps ----------------------------------------------------------------------------

    def run(self) -> None:
        """Act on the reply and record what it meant on the inbound message."""
        if self.reading.risk:
            self._risk_words()
            return
        command = self.reading.command
        if command == "stop":
            opt_out_phone(self.people, self.reply_key)
            self._mean("stop")
            return
        if command == "start":
            for index, person in enumerate(self.people):
                opt_in(person, self.reply_key, confirm=index == 0)
            self._mean("start")
            return
        if command == "help":
            queue_message(self.people[0], purpose="help_reply", key=self.reply_key)
            self._mean("help")
            return
        prompts = open_prompts([p.id for p in self.people], self.moment)
        ask_back = next((p for p in prompts if p.kind in ASK_BACK_KINDS), None)
        if ask_back is not None and ask_back.is_open_at(self.moment):
            picked = option_number(self.inbound.body, len(ask_back.options or ()))
            if picked is not None:
                self._resolve_ask_back(ask_back, picked)
                return
        self._read_as_answer(prompts, ask_back)

    def _read_as_answer(self, prompts: list[Prompt], ask_back: Prompt | None) -> None:
        if self.reading.command == "cancel":
            if len(self.people) > 1:
                self._ask_which_person(prompts)
            else:
                self._ask_cancel_what(self.people[0])
            return
        fits = self._fits([p for p in prompts if p.kind not in ASK_BACK_KINDS])
        if not fits:
            self._fits_nothing(prompts)
            return
        if ask_back is not None:
            close_prompt(ask_back, "superseded")  # the conversation moved on
        owners = {fit.prompt.participant_id for fit in fits}
        if len(owners) > 1:
            for fit in fits:
                if fit.is_crisis:
                    self._possible_crisis(fit)
            self._ask_which_person([fit.prompt for fit in fits])
            return
        if len(fits) == 1:
            self._apply(fits[0])
            return
        self._ask_which_prompt(fits)

    # ---- reading against open prompts ---------------------------------------------------------

    def _fits(self, prompts: list[Prompt]) -> list[Fit]:
        """The prompts this reply answers, one per thing asked; the outright ones if any."""
        fits: dict[tuple[Any, ...], Fit] = {}
        for prompt in prompts:  # newest first: the newest of a kind stands for it
            fit = self._fit(prompt)
            if fit is not None and prompt.key not in fits:
                fits[prompt.key] = fit
        found = list(fits.values())
        strong = [fit for fit in found if fit.is_strong]
        return strong or found

    def _fit(self, prompt: Prompt) -> Fit | None:
        contact = prompt.contact
        if prompt.kind == "attendance":
            if (
                contact is None
                or not prompt.is_open_at(self.moment)
                or contact.status not in CONFIRMABLE_STATUSES
                or contact.starts_at <= self.moment
            ):
                return None
            attendance = self.reading.attendance
            if attendance is None:
                return None
            meaning, strength = attendance
            return Fit(prompt, meaning, is_strong=strength == STRONG)
        if prompt.kind == "question" and contact is not None and prompt.question_id:
            if contact.status == "cancelled" or _already_answered(contact, prompt.question_id):
                return None
            protocol = protocol_for(contact.protocol_id, contact.protocol_version)
            question = protocol.question(prompt.question_id)
            value = question_value(question, self.inbound.body)
            if value is None:
                return None
            crisis = is_crisis(question, value)
            if not prompt.is_open_at(self.moment) and not (
                crisis and prompt.takes_crisis_at(self.moment)
            ):
                return None  # late: only a crisis sign is still taken
            return Fit(prompt, value, is_crisis=crisis, question=question)
        return None

    def _apply(self, fit: Fit) -> None:
        prompt = fit.prompt
        contact = prompt.contact
        assert contact is not None
        self._attribute(prompt.participant)
        close_answered(prompt, self.inbound)
        if prompt.kind == "attendance":
            if fit.value == "confirm":
                confirm_session(contact, self.reply_key)
            else:
                decline_session(contact, self.reply_key)
            release_held_question(prompt.participant_id)
            self._mean(fit.value, contact)
            return
        assert fit.question is not None
        take_sms_answer(
            contact,
            fit.question,
            fit.value,
            self.inbound.body,
            in_time=self.moment < prompt.answer_until,
        )
        self._mean("answer", contact)

    def _fits_nothing(self, prompts: list[Prompt]) -> None:
        if len(self.people) > 1 and not self.reading.is_acknowledgement:
            self._ask_which_person(prompts)
            return
        person = self.people[0]
        waiting = next((p for p in prompts if p.is_open_at(self.moment)), None)
        if self.reading.is_acknowledgement and (waiting is None or waiting.kind != "question"):
            self._mean("acknowledgement")  # "ok, gracias" to a reminder: he saw it
            return
        # in a check-in every reply is asked again (he is answering its questions); to a
        # reminder a short reply tried to answer and is asked again, a longer one is a
        # message to the team, kept and acknowledged (the prompt stays open)
        tried = (waiting is not None and waiting.kind == "question") or len(
            self.reading.words
        ) <= MAX_ANSWER_WORDS
        if waiting is not None and tried and self._ask_again(waiting):
            self._mean("unclear", waiting.contact)
            return
        if self.reading.attendance is not None and self.reading.attendance[1] != STRONG:
            _idle_reply(person, "nothing_to_confirm")
        else:
            _idle_reply(person, "unknown")
        self._mean("unknown")

    def _ask_again(self, prompt: Prompt) -> bool:
        """Ask an open prompt again after a reply that fit nothing; False when given up."""
        contact = prompt.contact
        if prompt.kind == "question" and contact is not None and prompt.question_id:
            protocol = protocol_for(contact.protocol_id, contact.protocol_version)
            question = protocol.question(prompt.question_id)
            handled = reask_question(contact, question)
            if contact.pending_question_id != prompt.question_id:
                # left unanswered and the next one asked: no more answers to it, except
                # its crisis sign, which is taken as long as the prompt said
                if question.crisis_if is not None and prompt.crisis_until > self.moment:
                    prompt.answer_until = self.moment
                else:
                    close_prompt(prompt, "withdrawn")
            return handled
        if prompt.reasks >= MAX_REASKS:
            return False
        prompt.reasks += 1
        if prompt.kind == "attendance" and contact is not None:
            queue_message(
                prompt.participant,
                purpose="keyword_reply",
                key=self.reply_key,
                contact=contact,
                params={"kind": "attendance_again"},
            )
            return True
        if prompt.kind in ASK_BACK_KINDS:
            queue_message(
                prompt.participant,
                purpose="clarify",
                key=self.reply_key,
                params={"prompt_id": prompt.id, "again": True},
            )
            return True
        return False

    # ---- asking back --------------------------------------------------------------------------

    def _ask_which_prompt(self, fits: list[Fit]) -> None:
        person = fits[0].prompt.participant
        self._attribute(person)
        options: list[dict[str, Any]] = []
        for fit in fits:
            alert = self._possible_crisis(fit) if fit.is_crisis else None
            options.append(
                {
                    "prompt": fit.prompt.id,
                    "kind": fit.prompt.kind,
                    "value": fit.value,
                    "contact": fit.prompt.contact_id,
                    "alert": alert.id if alert is not None else None,
                }
            )
        self._ask_back(
            person, "which_prompt", options, ask_back_window([f.prompt for f in fits], self.moment)
        )

    def _ask_which_person(self, prompts: Sequence[Prompt]) -> None:
        options = [{"participant": p.id} for p in self.people]
        self._ask_back(
            self.people[0], "which_person", options, ask_back_window(prompts, self.moment)
        )

    def _ask_cancel_what(self, person: Participant) -> None:
        self._attribute(person)
        session = db.session.scalar(
            select(Contact)
            .where(
                Contact.participant_id == person.id,
                Contact.kind == "session",
                Contact.status.in_(CONFIRMABLE_STATUSES),
                Contact.starts_at > self.moment,
            )
            .order_by(Contact.starts_at)
            .limit(1)
        )
        if session is None:
            queue_message(
                person, purpose="keyword_reply", key=self.reply_key, params={"kind": "cancel_stop"}
            )
            self._mean("ask_back")
            return
        options: list[dict[str, Any]] = [
            {"action": "decline", "contact": session.id},
            {"action": "stop"},
        ]
        self._ask_back(person, "cancel_what", options, session.starts_at)

    def _ask_back(
        self,
        person: Participant,
        kind: str,
        options: list[dict[str, Any]],
        until: datetime,
    ) -> None:
        prompt = open_prompt(
            person.id, kind, answer_until=until, inbound=self.inbound, options=options
        )
        queue_message(
            person, purpose="clarify", key=self.reply_key, params={"prompt_id": prompt.id}
        )
        self._mean("ask_back")

    def _resolve_ask_back(self, ask_back: Prompt, picked: int) -> None:
        """His option number answers an ask-back: act on the reply it was about."""
        option = (ask_back.options or [])[picked - 1]
        original = (
            db.session.get(InboundMessage, ask_back.inbound_id) if ask_back.inbound_id else None
        )
        close_answered(ask_back, self.inbound)
        self._attribute(ask_back.participant)
        self._mean("clarification")
        if original is None:
            return
        if ask_back.kind == "cancel_what":
            self._resolve_cancel_what(ask_back.participant, option, original)
        elif ask_back.kind == "which_person":
            self._resolve_which_person(option, original)
        else:
            self._resolve_which_prompt(ask_back, option, original)

    def _resolve_cancel_what(
        self, person: Participant, option: dict[str, Any], original: InboundMessage
    ) -> None:
        if option.get("action") == "stop":
            opt_out_phone(self.people, self.reply_key)
            _record_meaning(original, "stop")
            return
        contact = db.session.get(Contact, option.get("contact"))
        if (
            contact is not None
            and contact.status in CONFIRMABLE_STATUSES
            and contact.starts_at > now()
        ):
            decline_session(contact, self.reply_key)
            _record_meaning(original, "decline", contact)
            return
        _idle_reply(person, "unknown")

    def _resolve_which_person(self, option: dict[str, Any], original: InboundMessage) -> None:
        chosen = db.session.get(Participant, option.get("participant"))
        if chosen is None:
            return
        original.participant_id = chosen.id
        # the original reply, read again as his alone (commands and risk words were
        # already acted on for the whole phone)
        again = Conversation([chosen], original)
        again.reply_key = self.reply_key
        again._read_as_answer(open_prompts([chosen.id], again.moment), None)

    def _resolve_which_prompt(
        self, ask_back: Prompt, option: dict[str, Any], original: InboundMessage
    ) -> None:
        """The original reply, as of when it came, answers the prompt he chose."""
        for other in ask_back.options or []:
            if other is not option and other.get("alert"):
                alert = db.session.get(Alert, other["alert"])
                if alert is not None:
                    clear_possible_crisis(alert)
        chosen = db.session.get(Prompt, option.get("prompt"))
        if chosen is None or chosen.closed_at is not None:
            return
        again = Conversation([chosen.participant], original)
        again.reply_key = self.reply_key
        fit = again._fit(chosen)
        started = chosen.kind == "attendance" and (
            chosen.contact is None or chosen.contact.starts_at <= now()
        )
        if fit is None or started:
            _idle_reply(chosen.participant, "unknown")
            return
        again._apply(fit)

    # ---- crisis ---------------------------------------------------------------------------------

    def _risk_words(self) -> None:
        for index, person in enumerate(self.people):
            raise_crisis(
                person,
                dedupe_key=f"crisis:sms:{self.inbound.provider_sid}:{person.id}",
                reason="risk_words",
                reply_key=self.reply_key if index == 0 else None,
            )
        self._mean("crisis")

    def _possible_crisis(self, fit: Fit) -> Alert:
        """One reading of this reply is a crisis sign: the crisis path runs now, before asking."""
        contact = fit.prompt.contact
        assert contact is not None and fit.question is not None
        # its own alert: if he then says the reply was not the crisis answer, a later
        # real one must still raise an alert (and an escalation) of its own
        return raise_crisis(
            fit.prompt.participant,
            contact=contact,
            dedupe_key=f"{crisis_alert_key(contact, fit.question)}:ambiguous:{self.inbound.id}",
            reason=f"ambiguous_reply:{fit.question.id}",
            reply_key=f"contact:{contact.id}:crisis",
        )

    # ---- bookkeeping ----------------------------------------------------------------------------

    def _attribute(self, person: Participant) -> None:
        if self.inbound.participant_id is None:
            self.inbound.participant_id = person.id

    def _mean(self, meaning: str, contact: Contact | None = None) -> None:
        _record_meaning(self.inbound, meaning, contact)


def _record_meaning(inbound: InboundMessage, meaning: str, contact: Contact | None = None) -> None:
    inbound.meaning = meaning
    if contact is not None:
        inbound.contact_id = contact.id


def _already_answered(contact: Contact, question_id: str) -> bool:
    found = db.session.scalar(
        select(CheckinAnswer.id).where(
            CheckinAnswer.contact_id == contact.id, CheckinAnswer.question_id == question_id
        )
    )
    return found is not None


def _idle_reply(participant: Participant, kind: str) -> None:
    """Answer text nobody asked for, at most once a day (his local day)."""
    day = now().astimezone(ZoneInfo(participant.timezone)).date().isoformat()
    queue_message(
        participant,
        purpose="keyword_reply",
        key=f"idle:{participant.id}:{day}",
        params={"kind": kind},
    )


def opt_out(participant: Participant, reply_key: str, *, confirm: bool = True) -> bool:
    """BAJA/STOP: no more SMS from now on, one last confirmation, the team told.

    His own choice, never the system's failure: the team must reach him another way.
    Returns False when he was out already (he gets no second confirmation).
    """
    if participant.sms_opted_out_at is not None:
        return False
    moment = now()
    participant.sms_opted_out_at = moment
    if confirm:
        queue_message(participant, purpose="optout_confirmation", key=reply_key)
    raise_alert(
        participant=participant,
        kind="reachability",
        severity="warning",
        audience="team",
        dedupe_key=opt_out_alert_key(participant.id, moment),
        reason="sms_opted_out",
    )
    return True


def opt_out_phone(people: Sequence[Participant], reply_key: str) -> None:
    """Stop every participant on one phone; the phone gets one confirmation."""
    confirmed = False
    for person in people:
        confirmed = opt_out(person, reply_key, confirm=not confirmed) or confirmed


def opt_in(participant: Participant, reply_key: str, *, confirm: bool = True) -> None:
    """ALTA/START: SMS resume; he is told so."""
    participant.sms_opted_out_at = None
    db.session.flush()
    if confirm:
        queue_message(
            participant, purpose="keyword_reply", key=reply_key, params={"kind": "resumed"}
        )


def confirm_session(contact: Contact, reply_key: str) -> None:
    """He will come. The latest answer counts; both times stay as evidence."""
    if contact.status != "confirmed":
        contact.status = "confirmed"
        contact.confirmed_at = now()
        db.session.flush()
        publish_contact(contact, contact.participant)
    queue_message(
        contact.participant,
        purpose="keyword_reply",
        key=reply_key,
        contact=contact,
        params={"kind": "confirmed"},
    )


def decline_session(contact: Contact, reply_key: str) -> None:
    """He will not make it: a reschedule request to the team, not a miss."""
    if contact.status != "declined":
        contact.status = "declined"
        contact.declined_at = now()
        db.session.flush()
        publish_contact(contact, contact.participant)
    raise_alert(
        participant=contact.participant,
        contact=contact,
        kind="reschedule_request",
        severity="info",
        audience="team",
        dedupe_key=f"declined:{contact.id}",
        reason="declined_by_sms",
    )
    queue_message(
        contact.participant,
        purpose="keyword_reply",
        key=reply_key,
        contact=contact,
        params={"kind": "declined"},
    )
