"""Alerts to the treatment and judicial teams."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
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
SEVERITIES = ("info", "warning", "urgent")
#: who may see an alert: the court and the team, or the treatment team only
AUDIENCES = ("court", "team")


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
    audience: Mapped[str] = mapped_column(String(10), default="court")
    #: one alert per fact: "missed:<contact id>", "optout:<participant>:<time>", …
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    #: short machine-readable reason, e.g. "reminders_delivered", "sms_undelivered:30006"
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    ack_note: Mapped[str | None] = mapped_column(Text)

    participant: Mapped[Participant] = relationship()
    contact: Mapped[Contact | None] = relationship()
    #: who acknowledged it: whether a court user may read the note depends on his role
    acknowledged_by: Mapped[StaffUser | None] = relationship()
