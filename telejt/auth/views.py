"""Staff login session plumbing."""

from __future__ import annotations

from flask import Blueprint

from telejt.auth.models import StaffUser
from telejt.extensions import db, login_manager

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """Flask-Login: the staff member of a session, if still active."""
    user = db.session.get(StaffUser, int(user_id))
    return user if user is not None and user.is_active else None
