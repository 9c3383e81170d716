"""Checking a staff login: the password (throttled, and as slow for an unknown account as
for a real one), then the second factor's code. The pages keep the browser's session."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select

from telejt.auth import throttle
from telejt.auth.models import StaffUser
from telejt.auth.services import hash_password, verify_password
from telejt.auth.totp import verify_code
from telejt.extensions import db


@dataclass(frozen=True)
class PasswordCheck:
    """What a login's password step came to: ``accepted`` (with the user), ``refused``
    (one answer for a wrong password, an unknown, inactive or locked account) or
    ``address_throttled`` (too many tries from this address)."""

    outcome: str
    user: StaffUser | None = None


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _check_against_dummy_hash(password: str) -> None:
    with contextlib.suppress(VerificationError):
        PasswordHasher().verify(_dummy_hash(), password)


def check_password_login(email: str, password: str, address: str | None) -> PasswordCheck:
    """Check an email and password from an address; every try is recorded (not committed)."""
    if throttle.address_is_throttled(address):
        throttle.record_failed_login(None, "address_throttled")
        return PasswordCheck("address_throttled")
    email = (email or "").strip().lower()
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is not None and not user.is_active:
        user = None
    locked = user is not None and throttle.is_locked(user, address)
    if user is None or locked:
        # Spend the time a real check takes, so timing does not tell accounts apart either.
        _check_against_dummy_hash(password)
    if user is not None and locked:
        throttle.record_failed_login(user, "locked", address)
    elif user is not None and verify_password(user, password):
        throttle.record_successful_login(user, address)
        return PasswordCheck("accepted", user)
    else:
        throttle.record_failed_login(user, "bad_password" if user else "unknown_account", address)
    return PasswordCheck("refused")


def check_login_code(user: StaffUser, code: str, address: str | None) -> str:
    """The second step: ``accepted``, ``refused``, or ``locked`` once the tries ran out
    (recorded, not committed)."""
    if throttle.is_locked(user, address):
        throttle.record_failed_login(user, "locked", address)
    elif verify_code(user, code):
        return "accepted"
    else:
        throttle.record_failed_login(user, "bad_code", address)
    return "locked" if throttle.is_locked(user, address) else "refused"
