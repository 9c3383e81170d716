"""Staff accounts and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from telejt.auth.models import (
    COURT_POSITIONS,
    ROLES,
    TOKEN_SCOPES,
    ApiToken,
    StaffSession,
    StaffUser,
)
from telejt.auth.passwords import MIN_PASSWORD_LENGTH, password_problem
from telejt.auth.sessions import end_all_sessions
from telejt.clock import now
from telejt.courts.models import Court
from telejt.extensions import db

_hasher = PasswordHasher()
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: what each password_problem code means, for errors raised here (pages say it in words)
PASSWORD_PROBLEMS = {
    "too_short": f"at least {MIN_PASSWORD_LENGTH} characters",
    "too_long": "at most 200 characters",
    "common": "one of the passwords people try first",
    "pattern": "a repetition or a keyboard sequence",
    "personal": "contains the account's name or email",
}


class AccountError(ValueError):
    """A staff account request that cannot be carried out; the message says why."""

    def __init__(self, field: str, message: str, code: str = "") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        #: a machine-readable reason where pages say it in their own words
        self.code = code


def hash_password(password: str) -> str:
    """An argon2 hash of a password."""
    return _hasher.hash(password)


def verify_password(user: StaffUser, password: str) -> bool:
    """Whether the password matches; rehashes when argon2 parameters changed."""
    if not user.password_hash:
        return False
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def create_staff_user(
    *,
    email: str,
    role: str,
    name: str | None = None,
    court_ids: list[int] | tuple[int, ...] = (),
    password: str | None = None,
    court_position: str | None = None,
    locale: str | None = None,
) -> StaffUser:
    """Add a staff account (not committed); admins need no court, everyone else at least one."""
    email = email.strip().lower()
    if not EMAIL_PATTERN.fullmatch(email):
        raise AccountError("email", f"not an email address: {email!r}")
    if role not in ROLES:
        raise AccountError("role", f"must be one of {', '.join(ROLES)}")
    if db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        raise AccountError("email", f"{email} already has an account")
    if court_position is not None and (role != "court" or court_position not in COURT_POSITIONS):
        raise AccountError("court_position", f"court users only: {', '.join(COURT_POSITIONS)}")
    courts = []
    for court_id in dict.fromkeys(court_ids):
        court = db.session.get(Court, court_id)
        if court is None:
            raise AccountError("court", f"no court with id {court_id}")
        courts.append(court)
    if role != "admin" and not courts:
        raise AccountError("court", f"a {role} must belong to at least one court")
    if password is not None:
        check_password_policy(password, email=email, name=name or "")
    user = StaffUser(
        email=email,
        name=name or email.split("@")[0],
        role=role,
        court_position=court_position,
        locale=locale,
        password_hash=hash_password(password) if password else None,
        courts=courts,
    )
    db.session.add(user)
    db.session.flush()
    return user


def token_digest(token: str) -> str:
    """sha256 of a token: tokens are random and long, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_policy(password: str, *, email: str, name: str = "") -> None:
    """Refuse a password that is short, common, a pattern or the account's own name."""
    problem = password_problem(password, email=email, name=name)
    if problem is not None:
        raise AccountError("password", PASSWORD_PROBLEMS[problem], code=problem)


def create_api_token(
    user: StaffUser,
    *,
    days: int | None = None,
    scope: str = "full",
    label: str | None = None,
) -> tuple[ApiToken, str]:
    """A new API token for a staff member; the plain token is returned once, never stored.

    It expires after ``days`` (default ``TELEJT_API_TOKEN_DAYS``); a ``read`` token
    may only read (GET), whatever the staff member's role allows.
    """
    if scope not in TOKEN_SCOPES:
        raise AccountError("scope", f"must be one of {', '.join(TOKEN_SCOPES)}")
    limit = current_app.config["TELEJT_API_TOKEN_DAYS"]
    days = limit if days is None else days
    if not 1 <= days <= limit:
        raise AccountError("days", f"from 1 to {limit} days")
    token = "tjt_" + secrets.token_urlsafe(32)
    moment = now()
    row = ApiToken(
        staff_id=user.id,
        token_hash=token_digest(token),
        prefix=token[:10],
        created_at=moment,
        expires_at=moment + timedelta(days=days),
        scope=scope,
        label=(label or "").strip()[:100] or None,
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def token_for(token: str) -> ApiToken | None:
    """The usable API token row of an active staff member for a bearer token, or None."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    moment = now()
    if row is None or not row.is_usable(moment) or not row.staff.is_active:
        return None
    row.last_used_at = moment
    return row


def user_for_token(token: str) -> StaffUser | None:
    """The active staff member a usable bearer token belongs to, or None."""
    row = token_for(token)
    return None if row is None else row.staff


def set_password(
    user: StaffUser, password: str, *, keep_session: StaffSession | None = None
) -> int:
    """Give a staff member a new password (not committed).

    Clears his login locks and ends every session of the account (but ``keep_session``,
    the one he changed it from); returns how many sessions ended.
    """
    from telejt.auth.throttle import clear_locks

    check_password_policy(password, email=user.email, name=user.name)
    user.password_hash = hash_password(password)
    clear_locks(user)
    return end_all_sessions(user, "password_change", keep=keep_session)


def deactivate_staff_user(user: StaffUser) -> None:
    """Close an account: no more logins, its sessions end, its API tokens stop (not committed)."""
    user.is_active = False
    for token in db.session.scalars(
        select(ApiToken).where(ApiToken.staff_id == user.id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now()
    end_all_sessions(user, "deactivated")


def revoke_api_token(token: ApiToken) -> None:
    """Revoke a token once; later calls change nothing (not committed)."""
    if token.revoked_at is None:
        token.revoked_at = now()


RESET_SALT = "telejt.password-reset"
RESET_MAX_AGE_SECONDS = 3600


class _ClockTimestampSigner(TimestampSigner):
    """Signs with telejt's clock, so link expiry follows the clock tests and ticks set."""

    def get_timestamp(self) -> int:
        """Seconds since the epoch, from telejt.clock."""
        return int(now().timestamp())


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=RESET_SALT, signer=_ClockTimestampSigner
    )


def _password_fingerprint(user: StaffUser) -> str:
    # Binding the link to the current hash makes it single-use: setting a password changes it.
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:20]


def password_reset_token(user: StaffUser) -> str:
    """A signed link token to set a new password: one hour, single use."""
    return _reset_serializer().dumps({"staff": user.id, "pw": _password_fingerprint(user)})


def user_for_reset_token(token: str) -> StaffUser | None:
    """The active staff member a reset token was made for, if still valid and unused."""
    try:
        data = _reset_serializer().loads(token, max_age=RESET_MAX_AGE_SECONDS)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(StaffUser, data.get("staff"))
    if user is None or not user.is_active or data.get("pw") != _password_fingerprint(user):
        return None
    return user
