"""Staff accounts, court memberships and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)
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
        CheckConstraint("locale IS NULL OR locale IN ('es_MX', 'en')", name="locale"),
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
    #: the time zone his pages show times in; None: his first court's
    timezone: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: sha256 of the secret in the therapist's iCalendar feed URL
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    #: base32 secret of his authenticator app (RFC 6238); None: no second factor
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: when the second factor was confirmed with a first code; None while being set up
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the last TOTP time step accepted, so one code cannot be used twice
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

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

    @property
    def has_totp(self) -> bool:
        """Whether a second factor is set up and confirmed."""
        return self.totp_secret is not None and self.totp_enabled_at is not None


#: why a staff session ended
SESSION_END_REASONS = (
    "logout",
    "password_change",
    "deactivated",
    "revoked",
    "second_factor_change",
)


class StaffSession(Base):
    """One login of a staff member: the browser's cookie names it, the server can end it.

    The cookie holds a random key; only its sha256 is stored, so a copy of the
    database cannot be turned into a working cookie. A session ends on logout, on
    a password change or deactivation (every session of the account), when it goes
    unused for ``TELEJT_SESSION_IDLE_MINUTES``, and ``TELEJT_SESSION_MAX_HOURS`` after
    the login at the latest; an ended session is refused on its next request and its
    sockets are closed.
    """

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_staff_open", "staff_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    #: sha256 of the key in the session cookie
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    #: the last request made with it (written at most once a minute)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    #: the absolute end: the login time plus TELEJT_SESSION_MAX_HOURS
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: when the password was followed by a valid second-factor code (None: not yet)
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: logout, password_change, deactivated, revoked, second_factor_change
    end_reason: Mapped[str | None] = mapped_column(String(30))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    staff: Mapped[StaffUser] = relationship()


TOKEN_SCOPES = ("full", "read")


class ApiToken(Base):
    """A bearer token for the JSON API; only its sha256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("scope IN ('full', 'read')", name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the first characters of the token, to tell tokens apart in listings
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: after this instant the token is refused (TELEJT_API_TOKEN_DAYS after its creation)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: ``full`` (what the staff member's role allows) or ``read`` (GET calls only)
    scope: Mapped[str] = mapped_column(String(10), default="full")
    #: what the token is for, as its maker described it ("informe mensual de la UMECA")
    label: Mapped[str | None] = mapped_column(String(100))

    staff: Mapped[StaffUser] = relationship()

    def is_usable(self, moment: datetime) -> bool:
        """Neither revoked nor expired at ``moment``."""
        return self.revoked_at is None and moment < self.expires_at


class LoginThrottle(Base):
    """Consecutive failed logins of one account from one client address, and its lock.

    Keyed on both, so that someone guessing a judge's password from his own address
    locks the account for that address only: the judge, elsewhere, still logs in.
    """

    __tablename__ = "login_throttles"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    remote_addr: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
