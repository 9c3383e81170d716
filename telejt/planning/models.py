"""Contacts: the planned sessions and check-ins of each participant."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telejt.clock import now
from telejt.extensions import Base
from telejt.sqltypes import UTCDateTime

if TYPE_CHECKING:
    from telejt.participants.models import Participant

CONTACT_KINDS = ("session", "checkin")
CONTACT_STATUSES = (
    "scheduled",
    "confirmed",
    "declined",
    "in_progress",
    "attended",
    "late",
    "missed",
    "excused",
    "cancelled",
    "completed",
    # a check-in answered in part by its deadline: neither kept nor missed
    "incomplete",
)
#: statuses in which the contact's window is still open to the participant
OPEN_STATUSES = ("scheduled", "confirmed", "in_progress")
#: who a miss is attributed to: him (reached, did not come), the system (could not reach
#: him, or failed), nobody known (``unconfirmed``: the reminders went out and no receipt
#: came back), his own choice (``opted_out`` of SMS: the team must reach him another
#: way), or excused (declined ahead, or justified by staff)
ATTRIBUTIONS = ("participant", "system", "unconfirmed", "opted_out", "excused")
ATTRIBUTION_CHECK = "attribution IS NULL OR attribution IN ({})".format(
    ", ".join(f"'{a}'" for a in ATTRIBUTIONS)
)


class Contact(Base):
    """One remote session or check-in, with its window and what became of it."""

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint("kind IN ('session', 'checkin')", name="kind"),
        CheckConstraint(
            "status IN ('scheduled', 'confirmed', 'declined', 'in_progress', 'attended', "
            "'late', 'missed', 'excused', 'cancelled', 'completed', 'incomplete')",
            name="status",
        ),
        CheckConstraint(ATTRIBUTION_CHECK, name="attribution"),
        CheckConstraint("ends_at > starts_at", name="window"),
        # the deadline watcher's query: open contacts by deadline
        Index("ix_contacts_open_deadline", "deadline_at", "status"),
        # compliance figures: each participant's contacts by status over a period
        Index("ix_contacts_participant_status_deadline", "participant_id", "status", "deadline_at"),
        # the outcome watcher's query: sessions in progress by their end
        Index("ix_contacts_status_end", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    #: what planned it: "plan:session:2026-12-01T10:00" for a weekly slot (local
    #: time), "extra:<uuid>" for a one-off session. Unique, so re-planning never
    #: duplicates a contact.
    plan_key: Mapped[str] = mapped_column(String(120), unique=True)
    #: session: its start; check-in: when the questions are sent
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: session: its planned end; check-in: its answer deadline
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: when the window closes: session start + join window; check-in deadline
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: session: minutes from the start after which a join counts as late
    late_after_min: Mapped[int | None] = mapped_column(Integer)
    #: session: individual/group/family
    session_kind: Mapped[str | None] = mapped_column(String(20))
    #: session: video or phone
    modality: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    #: why it was cancelled or excused: "replanned", "rescheduled", "withdrawn", …
    status_reason: Mapped[str | None] = mapped_column(String(200))
    #: who a miss (or excuse) is attributed to
    attribution: Mapped[str | None] = mapped_column(String(20))
    #: why, in a few words, for the evidence trail
    attribution_reason: Mapped[str | None] = mapped_column(String(200))
    protocol_id: Mapped[str] = mapped_column(String(60))
    protocol_version: Mapped[int] = mapped_column(Integer)
    phase_id: Mapped[str] = mapped_column(String(20))
    #: the rule of the protocol version that planned it, as a path in that protocol:
    #: "<phase id>/sessions/<index>" or "<phase id>/checkins/<index>" (a one-off session
    #: names the rule it borrowed); None for contacts planned before rules were stored
    protocol_rule: Mapped[str | None] = mapped_column(String(60))
    #: random part of the participant's signed link (/s/… or /c/…)
    join_token: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: check-in: the protocol's question ids, copied when planned, and how they are asked
    #: ("sms" one by one, or "link" to the web form)
    question_ids: Mapped[list[str] | None] = mapped_column(JSON)
    delivery: Mapped[str | None] = mapped_column(String(5))
    #: check-in: the question awaiting an answer, and invalid replies to it so far
    pending_question_id: Mapped[str | None] = mapped_column(String(60))
    invalid_replies: Mapped[int] = mapped_column(Integer, default=0)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    #: a miss staff justified afterwards: the reason in his words (court-visible: it
    #: says why the miss is not held against him), who and when; the audit log keeps
    #: what the attribution was before
    justification: Mapped[str | None] = mapped_column(Text)
    justified_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    justified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a miss of his confirmed as his by the coordinator or the supervision officer
    #: (telejt.planning.verification): until then it is an unverified notice, which
    #: the positions that see only verified notices never read; who, when and why
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    verification_note: Mapped[str | None] = mapped_column(Text)
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    participant: Mapped[Participant] = relationship()

    @property
    def is_open(self) -> bool:
        """Whether the participant can still keep this contact."""
        return self.status in OPEN_STATUSES

    @property
    def is_unverified_miss(self) -> bool:
        """A miss attributed to him that no person verified yet: a notice, not yet a
        breach (telejt.reports.figures.is_unverified_miss says the same in SQL)."""
        return (
            self.status == "missed"
            and self.attribution == "participant"
            and self.verified_at is None
        )
