"""Eight weeks of invented history for the demo court, replayed through telejt's own services.

The clock is set back to the enrolment day and moved forward a week at a time: the
planner plans, and each contact whose window closed gets a fate chosen here (kept,
late, his miss, a system failure, declined ahead, excused by the therapist). Misses
are settled by the deadline watcher itself, so every attribution and alert is the one
telejt would have made. Each week ends with the scheduler's recognition of progress, so
Ana (all kept, phase 1 of 8 weeks) earns her 30-day milestone SMS and the team's
phase-review alert as telejt would give them. Then "now": an open crisis, a reschedule
request, and a participant in the waiting room.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from telejt import clock
from telejt.alerts.models import Alert
from telejt.alerts.services import acknowledge_alert
from telejt.auth.models import StaffUser
from telejt.checkins.services import checkin_questions, parse_answer, record_answer
from telejt.conversation.engine import decline_session, receive_sms
from telejt.extensions import db
from telejt.live import discard_pending
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.planning.progress import recognise_progress
from telejt.planning.services import add_session, plan_all
from telejt.planning.verification import verify_alert
from telejt.planning.watcher import settle_contact
from telejt.sessions.services import admit, mark_outcome, participant_joined, participant_left
from telejt.sms.models import OutboundMessage

HISTORY_WEEKS = 8
#: alerts older than this were verified by the team; newer ones are still open
OPEN_ALERT_DAYS = 7
#: what a carrier answers for a phone that is off or out of coverage (Twilio)
UNREACHABLE_HANDSET = "30006"
#: typical answers to the check-in questions: "2" is "no" on a yes/no question
ORDINARY_REPLIES = {"yesno": "2", "scale": "3"}
EXCUSE_NOTE = "Cita médica comprobada (demostración)"
#: the SMS that opens the demo's crisis (invented, in the words the risk lexicon reads)
CRISIS_WORDS = "ya no aguanto, a veces siento que quiero morirme"
CRISIS_SMS_SID = "SMDEMO0000000000000000000000000001"
FATES = ("kept", "late", "participant", "system", "declined", "excused", "technical")


@dataclass(frozen=True)
class Story:
    """How one participant's weeks went: the chance of each fate, and forced ones."""

    #: weights of kept, late, participant, system, declined, excused, technical failure
    weights: tuple[int, int, int, int, int, int, int]
    #: his last N settled contacts were his misses (a run the court must see)
    final_misses: int = 0
    #: weeks ago (inclusive range) when his phone could not be reached
    unreachable_weeks: tuple[int, int] | None = None


#: by the participant's number in telejt.demo.DEMO_PARTICIPANTS (1-based)
STORIES = {
    1: Story((95, 5, 0, 0, 0, 0, 0)),
    2: Story((70, 5, 20, 0, 5, 0, 0), final_misses=3),
    3: Story((80, 5, 5, 5, 0, 5, 0), unreachable_weeks=(3, 4)),
    4: Story((60, 5, 5, 5, 10, 10, 5)),
    5: Story((90, 5, 5, 0, 0, 0, 0)),
    6: Story((75, 5, 15, 5, 0, 0, 0)),
}
ORDINARY = Story((85, 5, 5, 3, 1, 1, 1))


def fate_of(contact: Contact, number: int, weeks_ago: int, left_to_settle: int) -> str:
    """The fate of one contact, the same on every run and database."""
    story = STORIES.get(number, ORDINARY)
    if left_to_settle < story.final_misses:
        return "participant"
    if (
        story.unreachable_weeks
        and story.unreachable_weeks[0] <= weeks_ago <= (story.unreachable_weeks[1])
    ):
        return "system"
    # seeded by what the contact is, not by database ids (a PostgreSQL sequence moves
    # on between runs): the same story on every database and every run
    seed = f"{number}:{contact.kind}:{contact.starts_at.isoformat()}"
    fate = random.Random(seed).choices(FATES, weights=story.weights)[0]
    if contact.kind == "checkin" and fate in ("late", "declined", "excused", "technical"):
        return "kept"  # a check-in is answered or not; only sessions are declined or excused
    return fate


def _finish_messages(contact_id: int | None, up_to: datetime, status: str) -> None:
    """Give the messages due by ``up_to`` the carrier's final word (one contact's, or all)."""
    query = select(OutboundMessage).where(
        OutboundMessage.status == "pending", OutboundMessage.due_at <= up_to
    )
    if contact_id is not None:
        query = query.where(OutboundMessage.contact_id == contact_id)
    for message in db.session.scalars(query):
        message.status = status
        message.sent_at = message.status_at = message.due_at
        message.to_phone = message.participant.phone
        message.attempts = 1
        message.error_code = UNREACHABLE_HANDSET if status == "undelivered" else None


def _answer_checkin(contact: Contact) -> None:
    for question in checkin_questions(contact):
        reply = ORDINARY_REPLIES.get(question.type, "1")
        value = parse_answer(question, reply)
        if value is not None:
            record_answer(contact, question, value, reply, via="sms")
    contact.status = "completed"
    contact.closed_at = clock.now()


def _settle(contact: Contact, fate: str, therapist: StaffUser) -> None:
    """Play one contact's fate at its deadline, through the services that record it."""
    if fate == "declined":
        with clock.frozen_at(contact.starts_at - timedelta(days=1)):
            decline_session(contact, f"demo:{contact.id}:decline")
    if contact.kind == "session" and fate in ("kept", "late", "technical"):
        _attend(contact, fate, therapist)
        return
    _finish_messages(
        contact.id, contact.deadline_at, "undelivered" if fate == "system" else "delivered"
    )
    if fate == "kept":
        with clock.frozen_at(contact.starts_at + timedelta(minutes=40)):
            _answer_checkin(contact)
    elif fate == "excused":
        with clock.frozen_at(contact.ends_at):
            mark_outcome(contact, "excused", therapist, note=EXCUSE_NOTE)
    else:  # his miss, the system's, or declined ahead: the watcher decides and alerts
        with clock.frozen_at(contact.deadline_at + timedelta(seconds=5)):
            settle_contact(contact)


def _attend(contact: Contact, fate: str, therapist: StaffUser) -> None:
    """He joins (two minutes early, or eight late), is admitted, leaves at the end; marked."""
    joined_at = contact.starts_at + timedelta(minutes=8 if fate == "late" else -2)
    _finish_messages(contact.id, joined_at, "delivered")  # what went out before he came
    with clock.frozen_at(joined_at):
        participant_joined(contact, detail="demo")
        admit(contact, therapist)
    # the nudge to come in, not sent yet, is dropped as the dispatcher would
    for message in db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.contact_id == contact.id,
            OutboundMessage.purpose == "nudge",
            OutboundMessage.status == "pending",
        )
    ):
        message.status, message.status_reason, message.status_at = (
            "skipped",
            "already_joined",
            joined_at,
        )
    outcome = {"kept": "attended", "late": "late", "technical": "technical_failure"}[fate]
    left_at = contact.starts_at + timedelta(minutes=12 if fate == "technical" else 48)
    with clock.frozen_at(left_at):
        participant_left(contact, detail="demo")
        note = "Se cortó el video y no volvió a conectarse" if fate == "technical" else None
        mark_outcome(contact, outcome, therapist, note=note)


def replay_history(
    participants: Sequence[Participant], numbers: dict[int, int], until: datetime
) -> None:
    """Plan and settle every contact between the enrolment (weeks ago) and ``until``."""
    therapists = {p.id: db.session.get_one(StaffUser, p.therapist_id) for p in participants}
    step = until - timedelta(weeks=HISTORY_WEEKS)
    while step < until:
        step = min(step + timedelta(days=7), until)
        with clock.frozen_at(step):
            plan_all()
        closed = db.session.scalars(
            select(Contact)
            .where(Contact.status.in_(("scheduled", "confirmed")), Contact.deadline_at <= step)
            .order_by(Contact.deadline_at, Contact.id)
        ).all()
        left = _left_to_settle(until)
        for contact in closed:
            weeks_ago = (until - contact.deadline_at).days // 7
            left[contact.participant_id] -= 1
            fate = fate_of(
                contact, numbers[contact.participant_id], weeks_ago, left[contact.participant_id]
            )
            _settle(contact, fate, therapists[contact.participant_id])
        with clock.frozen_at(step):
            recognise_progress()  # milestones and phase reviews, as the planner pass would
        _finish_messages(None, step, "delivered")
        discard_pending()  # the past is not news for an open dashboard
        db.session.commit()


def _left_to_settle(until: datetime) -> dict[int, int]:
    """How many contacts each participant has left to settle before ``until``."""
    left: dict[int, int] = {}
    for participant_id in db.session.scalars(
        select(Contact.participant_id).where(
            Contact.status.in_(("scheduled", "confirmed")), Contact.deadline_at <= until
        )
    ):
        left[participant_id] = left.get(participant_id, 0) + 1
    return left


#: how the team verified a past week's miss, by its attribution (the others stay unverified)
VERIFIED_AS = {"participant": "participant", "system": "system_failure"}


def verify_old_alerts(by: StaffUser, until: datetime) -> None:
    """The team verified the alerts of past weeks; the last week's wait on the dashboard,
    unverified (the judge and supervision see them; prosecutor and defender do not yet)."""
    for alert in db.session.scalars(
        select(Alert).where(
            Alert.acknowledged_at.is_(None),
            Alert.created_at < until - timedelta(days=OPEN_ALERT_DAYS),
        )
    ):
        with clock.frozen_at(alert.created_at + timedelta(hours=3)):
            outcome = VERIFIED_AS.get(alert.attribution or "")
            if alert.verification == "unverified" and outcome is not None:
                # the court's positions that see verified notices only get these
                verify_alert(alert, by, outcome, "Revisado con su terapeuta (demostración).")
            acknowledge_alert(alert, by, "Verificado por la coordinación (demostración).")
    discard_pending()
    db.session.commit()


def stage_the_present(
    crisis: Participant, reschedule: Participant, waiting: Participant, at: datetime
) -> None:
    """What is happening as the demo opens: a crisis, a reschedule request, someone waiting."""
    with clock.frozen_at(at - timedelta(minutes=6)):
        # his words reach the team the way any SMS does: read, answered with the crisis line
        receive_sms(provider_sid=CRISIS_SMS_SID, from_phone=crisis.phone, body=CRISIS_WORDS)
    with clock.frozen_at(at - timedelta(minutes=20)):
        session = db.session.scalars(
            select(Contact)
            .where(
                Contact.participant_id == reschedule.id,
                Contact.kind == "session",
                Contact.status.in_(("scheduled", "confirmed")),
                Contact.starts_at > at + timedelta(hours=2),
            )
            .order_by(Contact.starts_at)
        ).first()
        if session is not None:
            decline_session(session, f"demo:{session.id}:decline")
    with clock.frozen_at(at - timedelta(minutes=3)):
        room = add_session(waiting, starts_at=at + timedelta(minutes=2), minutes=50)
        db.session.flush()
        participant_joined(room, detail="demo")
    db.session.commit()
