"""Outbound and inbound SMS. The outbound table is the dispatcher's queue."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telejt.clock import now
from telejt.extensions import Base, db
from telejt.sqltypes import UTCDateTime

if TYPE_CHECKING:
    from telejt.participants.models import Participant
    from telejt.planning.models import Contact

OUTBOUND_STATUSES = (
    # planned, waiting for due_at (or next_attempt_at after a transient error)
    "pending",
    # claimed by a dispatcher and being handed to the provider
    "sending",
    # accepted by the provider; the provider's statuses follow
    "queued",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    # never sent, on purpose: quiet hours left no useful time, no consent, opted out…
    "skipped",
    # the contact it was for was cancelled or re-planned before it was due
    "cancelled",
    # a send was interrupted and it is unknown whether it left: a person decides
    "needs_review",
)
#: provider statuses after which nothing changes any more
TERMINAL_STATUSES = ("delivered", "undelivered", "failed", "skipped", "cancelled")


class OutboundMessage(Base):
    """One SMS telejt sends (or decided not to send), with its whole delivery history."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sending', 'queued', 'sent', 'delivered', 'undelivered', "
            "'failed', 'skipped', 'cancelled', 'needs_review')",
            name="status",
        ),
        # the dispatcher's query touches only what is still to send
        Index(
            "ix_outbound_messages_pending_due",
            "due_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    #: what it is for: reminder, checkin_question, welcome, crisis_reply, …
    purpose: Mapped[str] = mapped_column(String(40))
    #: contact + purpose (+ offset): the same message is never planned twice
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    #: rendered text; rendered at dispatch for planned reminders
    body: Mapped[str | None] = mapped_column(Text)
    #: template parameters (JSON-able) for rendering at dispatch
    params: Mapped[dict[str, object] | None] = mapped_column(db.JSON)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    #: why it was skipped, cancelled or sent to review
    status_reason: Mapped[str | None] = mapped_column(String(200))
    to_phone: Mapped[str | None] = mapped_column(String(20))
    #: the provider's id (Twilio MessageSid)
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: which dispatcher claimed it and when (a claim older than the lease was interrupted)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    participant: Mapped[Participant] = relationship()
    contact: Mapped[Contact | None] = relationship()


class InboundMessage(Base):
    """One SMS received from a participant (unknown senders are not stored).

    ``participant_id`` is None while a reply from a phone several participants share
    waits for him to say whose it is.
    """

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Twilio MessageSid: a retried webhook with a known sid is a no-op
    provider_sid: Mapped[str] = mapped_column(String(64), unique=True)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    from_phone: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    #: what telejt understood: confirm, decline, answer, stop, start, help, crisis,
    #: acknowledgement, ask_back (asked what he meant), unknown
    meaning: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    participant: Mapped[Participant | None] = relationship()
