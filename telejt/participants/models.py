"""Participants and their consents."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telejt.clock import now
from telejt.extensions import Base
from telejt.sqltypes import UTCDateTime

if TYPE_CHECKING:
    from telejt.auth.models import StaffUser
    from telejt.courts.models import Court

PARTICIPANT_STATUSES = ("active", "graduated", "withdrawn", "returned_to_court")
CONSENT_KINDS = ("sms", "telehealth", "share_with_court")
LOCALES = ("es_MX", "en")


class Participant(Base):
    """A person in the program, supervised by one court."""

    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("court_id", "case_number"),
        CheckConstraint(
            "status IN ('active', 'graduated', 'withdrawn', 'returned_to_court')", name="status"
        ),
        CheckConstraint("locale IN ('es_MX', 'en')", name="locale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    court_id: Mapped[int] = mapped_column(ForeignKey("courts.id"), index=True)
    #: the court's case number (carpeta / causa penal)
    case_number: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    #: E.164, e.g. +528112345678
    phone: Mapped[str] = mapped_column(String(20), index=True)
    #: the coordinator knows this phone is also another participant's (a family phone):
    #: replies from it are asked whose they are, and BAJA from it stops them all
    is_phone_shared: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(10), default="es_MX")
    #: IANA zone name; contacts are planned in this zone
    timezone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="active")
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    protocol_id: Mapped[str] = mapped_column(String(60))
    #: the version he was enrolled on (or moved to); never changes by itself
    protocol_version: Mapped[int] = mapped_column(Integer)
    phase_id: Mapped[str] = mapped_column(String(20))
    phase_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    #: weekly session slots in local time: [{"weekday": "tue", "time": "10:00"}]
    session_slots: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: set when he texted BAJA/STOP (or the provider reported he did); cleared by ALTA/START
    sms_opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)
    #: set when personal data was removed after the retention period
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    court: Mapped[Court] = relationship()
    therapist: Mapped[StaffUser | None] = relationship()
    consents: Mapped[list[Consent]] = relationship(
        back_populates="participant", order_by="Consent.id", lazy="selectin"
    )

    def has_consent(self, kind: str) -> bool:
        """Whether a consent of this kind is given and not revoked."""
        return any(c.kind == kind and c.revoked_at is None for c in self.consents)

    @property
    def is_sms_reachable(self) -> bool:
        """Whether telejt may text him at all."""
        return self.status == "active" and self.sms_opted_out_at is None and self.has_consent("sms")


class Consent(Base):
    """A consent given by a participant, and its revocation, with who recorded each."""

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint("kind IN ('sms', 'telehealth', 'share_with_court')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    given_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    participant: Mapped[Participant] = relationship(back_populates="consents")


def consent_in_force(participant_id: Any, kind: str, moment: Any) -> Any:
    """SQL: a consent of ``kind`` was in force for the participant at ``moment``.

    Each grant is a row and its revocation a time on it, so the history is kept: what
    the court may read of an answer follows the consent in force when he gave it, not
    today's (a later revocation does not hide it retroactively, a later grant does not
    reveal what he said without it).
    """
    return (
        select(Consent.id)
        .where(
            Consent.participant_id == participant_id,
            Consent.kind == kind,
            Consent.given_at <= moment,
            or_(Consent.revoked_at.is_(None), Consent.revoked_at > moment),
        )
        .exists()
    )
