"""Prompts: what telejt asked a participant, and until when his reply can answer it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telejt.clock import now
from telejt.extensions import Base
from telejt.sqltypes import UTCDateTime

if TYPE_CHECKING:
    from telejt.participants.models import Participant
    from telejt.planning.models import Contact

#: what a prompt asks:
#: ``attendance`` — will he come to a session (a reminder's "1 to confirm, 2 if not")
#: ``question`` — one check-in question
#: ``which_prompt`` — his reply fits two prompts with different meanings: which one
#: ``which_person`` — a phone several participants share: whose reply it is
#: ``cancel_what`` — "CANCELAR": the appointment, or every message
PROMPT_KINDS = ("attendance", "question", "which_prompt", "which_person", "cancel_what")
#: prompts that ask back about a reply already received (they hold it, and options)
ASK_BACK_KINDS = ("which_prompt", "which_person", "cancel_what")
CLOSE_REASONS = ("answered", "superseded", "withdrawn")


class Prompt(Base):
    """One question put to a participant that his next replies may answer."""

    __tablename__ = "prompts"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('attendance', 'question', 'which_prompt', 'which_person', 'cancel_what')",
            name="kind",
        ),
        CheckConstraint(
            "close_reason IS NULL OR close_reason IN ('answered', 'superseded', 'withdrawn')",
            name="close_reason",
        ),
        CheckConstraint("crisis_until >= answer_until", name="windows"),
        # an inbound reply looks up the open prompts of the participants on its phone
        Index(
            "ix_prompts_open",
            "participant_id",
            "crisis_until",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    #: the message that asked (None until an ask-back message is queued)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(20))
    #: for ``question``: the protocol's question id
    question_id: Mapped[str | None] = mapped_column(String(60))
    #: for the ask-back kinds: the reply waiting for the answer
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="CASCADE")
    )
    #: for the ask-back kinds: option n (1-based) is ``options[n - 1]``
    options: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    #: any answer is taken until then (for a check-in question: its deadline plus a grace)
    answer_until: Mapped[datetime] = mapped_column(UTCDateTime)
    #: an answer that is the protocol's crisis sign is taken until then (until his next
    #: check-in): a late "yes, I feel at risk" is still honoured
    crisis_until: Mapped[datetime] = mapped_column(UTCDateTime)
    #: replies that fitted nothing and made telejt ask this again
    reasks: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(20))
    #: the reply that answered it
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )

    participant: Mapped[Participant] = relationship()
    contact: Mapped[Contact | None] = relationship()

    @property
    def key(self) -> tuple[str, int | None, str | None]:
        """Prompts with the same key ask the same thing (a second reminder, a re-asked question)."""
        return (self.kind, self.contact_id, self.question_id)

    def is_open_at(self, moment: datetime) -> bool:
        """Whether any answer is still taken at that instant."""
        return self.closed_at is None and moment < self.answer_until

    def takes_crisis_at(self, moment: datetime) -> bool:
        """Whether a crisis-sign answer is still taken at that instant."""
        return self.closed_at is None and moment < self.crisis_until
