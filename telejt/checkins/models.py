"""Answers to check-in questions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from telejt.clock import now
from telejt.extensions import Base
from telejt.sqltypes import UTCDateTime


class CheckinAnswer(Base):
    """A participant's valid answer to one question of one check-in."""

    __tablename__ = "checkin_answers"
    __table_args__ = (
        UniqueConstraint("contact_id", "question_id"),
        CheckConstraint("via IN ('sms', 'web')", name="via"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(60))
    #: normalized value: "yes"/"no", a number as text, or a choice code
    value: Mapped[str] = mapped_column(String(20))
    #: the reply as received
    raw_text: Mapped[str] = mapped_column(Text)
    is_crisis: Mapped[bool] = mapped_column(Boolean, default=False)
    #: copied from the protocol at answer time, so a later protocol edit cannot widen sharing
    is_shared_with_court: Mapped[bool] = mapped_column(Boolean, default=False)
    via: Mapped[str] = mapped_column(String(5))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
