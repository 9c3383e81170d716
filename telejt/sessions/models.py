"""Presence evidence of remote sessions, and clinical notes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from telejt.clock import now
from telejt.extensions import Base
from telejt.sqltypes import UTCDateTime

PRESENCE_EVENTS = ("join", "leave", "reconnect", "admit", "phone_switch", "nudge", "trouble")


class PresenceEvent(Base):
    """A timestamped join, leave, admission or switch: the evidence of attendance."""

    __tablename__ = "presence_events"
    __table_args__ = (
        CheckConstraint("actor IN ('participant', 'therapist', 'system')", name="actor"),
        CheckConstraint(
            "event IN ('join', 'leave', 'reconnect', 'admit', 'phone_switch', 'nudge', 'trouble')",
            name="event",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(12))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    event: Mapped[str] = mapped_column(String(15))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    #: a short client description (browser, network) for the evidence trail; for a
    #: "trouble" event, what failed on his side (see ``telejt.sessions.waiting.TROUBLES``)
    detail: Mapped[str | None] = mapped_column(String(300))


class ClinicalNote(Base):
    """A therapist's clinical note. Never shown to court users."""

    __tablename__ = "clinical_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
