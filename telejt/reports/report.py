"""The status-hearing report: what happened with each contact of a date range, with evidence.

The report is a court document whatever the viewer's role: it never carries
clinical notes, and a check-in answer appears only where the protocol shares
that question with the court and the participant currently consents to it.
Every figure is read from the contacts' stored statuses, through
:mod:`telejt.reports.figures` (the dashboard and the API count with it too);
nothing is inferred. A
session he joined whose outcome the therapist has not recorded is shown as what it
is, "outcome pending": neither kept nor missed, never guessed either way.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.checkins.models import CheckinAnswer
from telejt.clock import now
from telejt.courts.visibility import COURT_DOCUMENT, visible_purposes
from telejt.extensions import db
from telejt.inputs import iso_day
from telejt.participants.models import Participant, consent_in_force
from telejt.planning.models import Contact
from telejt.planning.outcomes import reported_status
from telejt.reports import formatting, labels
from telejt.reports.answers import answer_line
from telejt.reports.figures import MISS_ATTRIBUTIONS, Figures, figures_of
from telejt.sessions.models import PresenceEvent
from telejt.sms.models import OutboundMessage
from telejt.sms.purposes import PURPOSES

#: the longest range one report covers (a year and a bit: hearings are months apart)
MAX_RANGE_DAYS = 400
#: message statuses that mean the participant's phone got it, or the carrier took it
DELIVERED_STATUSES = ("delivered",)
SENT_STATUSES = ("queued", "sent", "delivered", "undelivered", "failed")


def _reaches(message: OutboundMessage) -> bool:
    declared = PURPOSES.get(message.purpose)
    return declared is not None and declared.reaches_participant


@dataclass
class ContactEvidence:
    """One contact with the SMS sent for it and the joins and leaves recorded."""

    contact: Contact
    #: its status as the report shows it ("outcome_pending" for an unmarked session)
    status: str = ""
    messages: list[OutboundMessage] = field(default_factory=list)
    presence: list[PresenceEvent] = field(default_factory=list)
    answers: list[CheckinAnswer] = field(default_factory=list)
    #: its alert's verification ("unverified": nobody confirmed yet that it is his breach)
    verification: str | None = None
    #: an unverified miss of his, read by a position that sees only verified notices:
    #: no attribution or reason shown, only that it is being verified
    withheld: bool = False

    @property
    def shown_attribution(self) -> str | None:
        """The attribution its reader may read (None while withheld)."""
        return None if self.withheld else self.contact.attribution

    @property
    def attribution_words(self) -> str:
        """The attribution in words, or that the miss is being verified."""
        if self.withheld:
            return labels.withheld_note()
        return labels.label(labels.ATTRIBUTION_LABELS, self.contact.attribution)

    @property
    def reminders_sent(self) -> int:
        """Messages for this contact that left telejt."""
        return sum(1 for m in self.messages if m.status in SENT_STATUSES)

    @property
    def reminders_delivered(self) -> int:
        """Messages the carrier reported delivered to his phone."""
        return sum(1 for m in self.messages if m.status in DELIVERED_STATUSES)

    @property
    def reminders_failed(self) -> int:
        """Messages the carrier reported undelivered or failed."""
        return sum(1 for m in self.messages if m.status in ("undelivered", "failed"))

    @property
    def reached_by(self) -> OutboundMessage | None:
        """The last message that told him of this contact and was delivered before its deadline."""
        delivered = [
            m
            for m in self.messages
            if m.status in DELIVERED_STATUSES
            and _reaches(m)
            and (m.status_at or m.sent_at or m.due_at) <= self.contact.deadline_at
        ]
        return max(
            delivered, key=lambda m: (m.status_at or m.sent_at or m.due_at, m.id), default=None
        )

    @property
    def sent_unconfirmed(self) -> OutboundMessage | None:
        """The last message about this contact that went out with no receipt."""
        sent = [
            m for m in self.messages if m.status in ("queued", "sent", "sending") and _reaches(m)
        ]
        return max(sent, key=lambda m: (m.sent_at or m.due_at, m.id), default=None)

    def reason_in_words(self, timezone: str, *, in_viewer_zone: bool = True) -> str:
        """Why the miss is attributed as it is, from its evidence (a justification first),
        and whether a miss of his is still unverified (CNPP art. 174/198: not yet a
        breach). Times in the viewer's zone, labelled, like the page; or, for a document
        stated in the participant's zone (CSV, PDF), in his (``in_viewer_zone=False``)."""
        if self.withheld:
            return labels.unverified_note()
        words = self._reason_in_words(timezone, in_viewer_zone)
        if self.verification == "unverified" and self.contact.attribution == "participant":
            return f"{words}. {labels.unverified_note()}"
        return words

    def _reason_in_words(self, timezone: str, in_viewer_zone: bool) -> str:
        contact = self.contact

        def local_when(moment: datetime | None, zone: str) -> str:
            return formatting.local_when(
                moment, zone, in_viewer_zone=in_viewer_zone, labelled=in_viewer_zone
            )

        if contact.justification:
            when = local_when(contact.justified_at, timezone)
            return labels.justification_note(contact.justification, when)
        words = labels.reason_label(contact.attribution_reason)
        if contact.attribution == "participant" and self.reached_by is not None:
            message = self.reached_by
            at = message.status_at or message.sent_at or message.due_at
            return f"{words}. {labels.reached_note(message.purpose, local_when(at, timezone))}"
        if contact.attribution == "unconfirmed" and self.sent_unconfirmed is not None:
            message = self.sent_unconfirmed
            at = message.sent_at or message.due_at
            return f"{words}. {labels.unconfirmed_note(message.purpose, local_when(at, timezone))}"
        return words

    @property
    def participant_joins(self) -> list[PresenceEvent]:
        """The participant's own joins and reconnections."""
        return [
            p
            for p in self.presence
            if p.actor == "participant" and p.event in ("join", "reconnect")
        ]


@dataclass
class StatusReport:
    """Everything a status hearing needs about one participant for a date range."""

    participant: Participant
    first_day: date
    last_day: date
    start: datetime
    end: datetime
    contacts: list[ContactEvidence]
    by_status: Counter[str]
    #: sessions and check-ins apart, as the dashboard and the API count them
    figures: Figures

    @property
    def misses_by_attribution(self) -> Counter[str]:
        """Misses in the range by whom they are attributed to (only those with any)."""
        total = self.figures.total
        counts = {who: getattr(total, f"missed_{who}") for who in MISS_ATTRIBUTIONS}
        return Counter({who: count for who, count in counts.items() if count})

    @property
    def misses(self) -> list[ContactEvidence]:
        """Missed contacts, with their evidence."""
        return [c for c in self.contacts if c.contact.status == "missed"]

    @property
    def justified(self) -> list[ContactEvidence]:
        """Misses staff justified afterwards, with the reason."""
        return [c for c in self.contacts if c.contact.justification]

    @property
    def system_misses(self) -> list[ContactEvidence]:
        """Misses that were the system's failure, not the participant's."""
        return [c for c in self.misses if c.contact.attribution == "system"]

    @property
    def outcome_pending(self) -> list[ContactEvidence]:
        """Sessions he joined, now over, whose outcome the therapist has not recorded."""
        return [c for c in self.contacts if c.status == "outcome_pending"]

    @property
    def confirmations(self) -> list[ContactEvidence]:
        """Contacts he confirmed ahead."""
        return [c for c in self.contacts if c.contact.confirmed_at is not None]

    @property
    def declines(self) -> list[ContactEvidence]:
        """Contacts he said ahead he would not make."""
        return [c for c in self.contacts if c.contact.declined_at is not None]

    @property
    def answers(self) -> list[tuple[Contact, CheckinAnswer]]:
        """Check-in answers shared with the court, by contact."""
        return [(c.contact, a) for c in self.contacts for a in c.answers]

    def answers_in_words(self, locale: str) -> list[tuple[Contact, str, str]]:
        """Shared answers as (check-in, question as asked, answer as meant)."""
        return [
            (contact, *answer_line(self.participant, answer, locale))
            for contact, answer in self.answers
        ]

    @property
    def sessions(self) -> list[ContactEvidence]:
        """The sessions of the range, with their evidence."""
        return [c for c in self.contacts if c.contact.kind == "session"]

    @property
    def checkins(self) -> list[ContactEvidence]:
        """The check-ins of the range, with their evidence."""
        return [c for c in self.contacts if c.contact.kind == "checkin"]

    @property
    def kept(self) -> int:
        """Contacts kept (attended, late, answered)."""
        return self.figures.total.kept

    @property
    def attendance_rate(self) -> float | None:
        """Kept over kept plus the participant's own misses; system misses do not count."""
        return self.figures.attendance_rate


class InvalidRange(ValueError):
    """The asked dates are not a usable range."""


def parse_range(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """The report's days from ``?from=&to=`` (ISO dates); the last 30 days by default."""
    try:
        last_day = iso_day(last) if last else today
        first_day = iso_day(first) if first else last_day - timedelta(days=29)
    except ValueError as error:
        raise InvalidRange(str(error)) from None
    if first_day > last_day:
        raise InvalidRange("from > to")
    if (last_day - first_day).days > MAX_RANGE_DAYS:
        raise InvalidRange("range too long")
    return first_day, last_day


def court_visible_answers(
    participant: Participant, contact_ids: list[int]
) -> dict[int, list[CheckinAnswer]]:
    """Answers the court may read: shared by the protocol, under the consent in force
    when he answered."""
    if not contact_ids:
        return {}
    rows = db.session.scalars(
        select(CheckinAnswer)
        .where(
            CheckinAnswer.contact_id.in_(contact_ids),
            CheckinAnswer.is_shared_with_court.is_(True),
            consent_in_force(participant.id, "share_with_court", CheckinAnswer.answered_at),
        )
        .order_by(CheckinAnswer.answered_at, CheckinAnswer.id)
    )
    answers: dict[int, list[CheckinAnswer]] = defaultdict(list)
    for answer in rows:
        answers[answer.contact_id].append(answer)
    return answers


def build_report(
    participant: Participant, first_day: date, last_day: date, sees_unverified: bool = True
) -> StatusReport:
    """Gather the contacts of the days (in his time zone) with their evidence: five queries.

    The figures are those its reader reads (``sees_unverified``: whether his position
    sees unverified notices); a miss of his still unverified is listed, said to be
    unverified (not yet a breach), whoever reads.
    """
    zone = ZoneInfo(participant.timezone)
    start = datetime.combine(first_day, time(0), zone)
    end = datetime.combine(last_day + timedelta(days=1), time(0), zone)
    contacts = list(
        db.session.scalars(
            select(Contact)
            .where(
                Contact.participant_id == participant.id,
                Contact.starts_at >= start,
                Contact.starts_at < end,
            )
            .order_by(Contact.starts_at, Contact.id)
        )
    )
    moment = now()
    evidence = {c.id: ContactEvidence(c, reported_status(c, moment)) for c in contacts}
    ids = list(evidence)
    if ids:
        for message in db.session.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.contact_id.in_(ids),
                # a court document: never the crisis line or conversation replies
                OutboundMessage.purpose.in_(visible_purposes(COURT_DOCUMENT)),
            )
            .order_by(OutboundMessage.due_at, OutboundMessage.id)
        ):
            evidence[message.contact_id].messages.append(message)  # type: ignore[index]  # set: the query filters on it
        for event in db.session.scalars(
            select(PresenceEvent)
            .where(PresenceEvent.contact_id.in_(ids))
            .order_by(PresenceEvent.at, PresenceEvent.id)
        ):
            evidence[event.contact_id].presence.append(event)
        for contact_id, answers in court_visible_answers(participant, ids).items():
            evidence[contact_id].answers = answers
        for alert_contact, verification in db.session.execute(
            select(Alert.contact_id, Alert.verification).where(
                Alert.contact_id.in_(ids), Alert.kind == "missed_contact"
            )
        ):
            if alert_contact is not None:
                evidence[alert_contact].verification = verification
        for item in evidence.values():  # the miss itself says whether a person verified it
            contact = item.contact
            if contact.verified_at is not None:
                item.verification = "verified"
            elif contact.is_unverified_miss:
                item.verification = "unverified"
                item.withheld = not sees_unverified
    return StatusReport(
        participant=participant,
        first_day=first_day,
        last_day=last_day,
        start=start,
        end=end,
        contacts=list(evidence.values()),
        by_status=Counter(item.status for item in evidence.values()),
        figures=figures_of(participant.id, start, end, moment).as_seen(sees_unverified),
    )
