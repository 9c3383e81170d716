"""Alerts to the treatment and judicial teams."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telejt.clock import now
from telejt.extensions import Base
from telejt.planning.models import ATTRIBUTION_CHECK
from telejt.sqltypes import UTCDateTime

if TYPE_CHECKING:
    from telejt.auth.models import StaffUser
    from telejt.participants.models import Participant
    from telejt.planning.models import Contact

ALERT_KINDS = (
    "missed_contact",
    "reachability",
    "crisis",
    "reschedule_request",
    "technical_failure",
    "outcome_pending",
    "phase_review",
)
#: alert kinds that assert a breach: raised unverified, verified by the coordinator or the
#: supervision officer before the positions that see only verified notices read them
VERIFIED_KINDS = ("missed_contact",)
#: what the verification found: his own miss, a justified absence, or the system's failure
VERIFICATION_OUTCOMES = ("participant", "justified", "system_failure")


class Alert(Base):
    """Something the team must know now; acknowledged with a note, never deleted."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('missed_contact', 'reachability', 'crisis', 'reschedule_request', "
            "'technical_failure', 'outcome_pending', 'phase_review')",
            name="kind",
        ),
        CheckConstraint("severity IN ('info', 'warning', 'urgent')", name="severity"),
        CheckConstraint("audience IN ('court', 'team')", name="audience"),
        CheckConstraint(ATTRIBUTION_CHECK, name="attribution"),
        CheckConstraint(
            "verification IS NULL OR verification IN ('unverified', 'verified')",
            name="verification",
        ),
        CheckConstraint(
            "verification_outcome IS NULL OR verification_outcome IN "
            "('participant', 'justified', 'system_failure')",
            name="verification_outcome",
        ),
        Index("ix_alerts_court_open", "court_id", "acknowledged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    court_id: Mapped[int] = mapped_column(ForeignKey("courts.id"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    attribution: Mapped[str | None] = mapped_column(String(20))
    #: who may see it: "court" (the court and the team) or "team" (the treatment team only)
    audience: Mapped[str] = mapped_column(String(10), default="court")
    #: one alert per fact: "missed:<contact id>", "optout:<participant>:<time>", …
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    #: short machine-readable reason, e.g. "reminders_delivered", "sms_undelivered:30006"
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    ack_note: Mapped[str | None] = mapped_column(Text)
    #: "unverified" or "verified" for a kind that asserts a breach (VERIFIED_KINDS), else None
    verification: Mapped[str | None] = mapped_column(String(12))
    #: what the verification found (VERIFICATION_OUTCOMES)
    verification_outcome: Mapped[str | None] = mapped_column(String(20))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    #: why the verifier decided so (court business: every position that sees the alert reads it)
    verification_note: Mapped[str | None] = mapped_column(Text)

    participant: Mapped[Participant] = relationship()
    contact: Mapped[Contact | None] = relationship()
    #: who acknowledged it: whether a court user may read the note depends on his role
    acknowledged_by: Mapped[StaffUser | None] = relationship(foreign_keys=[acknowledged_by_id])
    verified_by: Mapped[StaffUser | None] = relationship(foreign_keys=[verified_by_id])
    #: who marked it as seen, each for himself (the team's acknowledgement is apart)
    reads: Mapped[list[AlertRead]] = relationship(
        order_by="AlertRead.read_at", lazy="selectin", passive_deletes=True
    )

    @property
    def is_unverified(self) -> bool:
        """A breach asserted by the system and not yet verified by a person."""
        return self.verification == "unverified"


class AlertRead(Base):
    """One staff member saw an alert: recorded for him only, never for the team."""

    __tablename__ = "alert_reads"
    __table_args__ = (UniqueConstraint("alert_id", "staff_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    staff_user: Mapped[StaffUser] = relationship(lazy="joined")
