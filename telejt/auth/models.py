"""Staff accounts, court memberships and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from telejt.clock import now
from telejt.extensions import Base, db
from telejt.sqltypes import UTCDateTime

if TYPE_CHECKING:
    from telejt.courts.models import Court

ROLES = ("admin", "coordinator", "therapist", "court")
#: what a ``court`` user is in the proceedings
COURT_POSITIONS = ("judge", "prosecutor", "defender", "supervision_officer")

court_memberships = Table(
    "court_memberships",
    db.metadata,
    Column("staff_id", Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True),
    Column("court_id", Integer, ForeignKey("courts.id", ondelete="CASCADE"), primary_key=True),
)


class StaffUser(Base):
    """A member of staff: admin, coordinator, therapist or court user."""

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'coordinator', 'therapist', 'court')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    #: for court users: judge, prosecutor, defender or supervision_officer
    court_position: Mapped[str | None] = mapped_column(String(30))
    #: argon2 hash; None until a password is set
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: preferred interface language; None follows the browser
    locale: Mapped[str | None] = mapped_column(String(10))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: sha256 of the secret in the therapist's iCalendar feed URL
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    courts: Mapped[list[Court]] = relationship(secondary=court_memberships, lazy="selectin")

    @property
    def court_ids(self) -> list[int]:
        """Ids of the courts this staff member belongs to."""
        return sorted(court.id for court in self.courts)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        """Flask-Login: a loaded staff user is authenticated."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Flask-Login: never anonymous."""
        return False

    def get_id(self) -> str:
        """Flask-Login: the session key."""
        return str(self.id)


class ApiToken(Base):
    """A bearer token for the JSON API; only its sha256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the first characters of the token, to tell tokens apart in listings
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff: Mapped[StaffUser] = relationship()
