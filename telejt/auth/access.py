"""Who may see what: the one place where staff queries are scoped.

Every query for participants (and through them contacts, messages, alerts,
notes and reports) starts from :func:`visible_participants`, so a view cannot
forget the rule. Outside a user's courts a participant does not exist (404).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select, false, select

from telejt.auth.models import StaffUser
from telejt.extensions import db
from telejt.participants.models import Participant

P = ParamSpec("P")
R = TypeVar("R")

#: roles that may read clinical notes
CLINICAL_ROLES = ("therapist", "coordinator")


def visible_participants(user: StaffUser) -> Select[Participant]:
    """Participants this staff member may see: his courts; a therapist, only his own."""
    query = select(Participant)
    if user.role == "admin":
        # admins keep courts, staff and tokens (DESIGN), not the cases
        return query.where(false())
    query = query.where(Participant.court_id.in_(user.court_ids or [-1]))
    if user.role == "therapist":
        query = query.where(Participant.therapist_id == user.id)
    return query


def participant_or_404(user: StaffUser, participant_id: int) -> Participant:
    """A participant the user may see, else 404 (outside his courts he does not exist)."""
    participant = db.session.scalar(
        visible_participants(user).where(Participant.id == participant_id)
    )
    if participant is None:
        abort(404)
    return participant


def may_read_clinical_notes(user: StaffUser) -> bool:
    """Court users never read clinical notes."""
    return user.role in CLINICAL_ROLES


def roles_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A view for logged-in staff of these roles (403 for the others)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        @login_required
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
