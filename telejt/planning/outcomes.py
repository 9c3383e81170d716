"""Sessions he joined whose outcome nobody recorded: the watcher tells the team, never decides.

His first join moves a session to ``in_progress``; only the therapist's marking
(:func:`telejt.sessions.services.mark_outcome`) settles it. A session still in
progress ``TELEJT_OUTCOME_GRACE_MINUTES`` after its planned end raises one
``outcome_pending`` alert to his therapist and the court's coordinators.

The watcher invents no outcome. The joins are evidence, but whether he attended,
came late or the video failed is the therapist's call, and a judge reads it. So
the alert is a team matter (``audience="team"``, never shown to court users),
carries no attribution (it is not a miss, and nothing in it is his), and the
contact keeps its status: figures and reports show it as "outcome pending", and
the therapist's pages keep asking for the marking. Marking the outcome
acknowledges the alert.

One alert per session, whatever the number of scheduler processes: the alert's
``dedupe_key`` is unique, the query leaves out sessions that already have one,
and on PostgreSQL the sessions are claimed with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, String, cast, exists, func, literal, select

from telejt.alerts.models import Alert
from telejt.alerts.services import acknowledge_alert, raise_alert
from telejt.auth.models import StaffUser
from telejt.clock import now
from telejt.extensions import db
from telejt.planning.models import Contact

#: the status of a session he joined and nobody has marked yet
AWAITING_OUTCOME_STATUS = "in_progress"
ALERT_KIND = "outcome_pending"
#: the alert's reason: his joins are recorded, the outcome is not
ALERT_REASON = "joined_outcome_not_recorded"
_KEY_PREFIX = "outcome_pending:"


def outcome_grace() -> timedelta:
    """How long after a session's planned end its outcome may wait before the team is told."""
    return timedelta(minutes=current_app.config["TELEJT_OUTCOME_GRACE_MINUTES"])


def outcome_alert_key(contact_id: int) -> str:
    """The dedupe key of a session's outcome alert: one per session."""
    return f"{_KEY_PREFIX}{contact_id}"


def is_outcome_pending(contact: Contact, at: datetime) -> bool:
    """Whether a session is over, he joined it, and its outcome is not recorded."""
    return (
        contact.kind == "session"
        and contact.status == AWAITING_OUTCOME_STATUS
        and contact.ends_at <= at
    )


def reported_status(contact: Contact, at: datetime) -> str:
    """A contact's status as figures and reports show it: "outcome_pending" for such a session.

    "In progress" would read as if the session were still on; it is over, he came,
    and what to count it as is not known until the therapist marks it.
    """
    return "outcome_pending" if is_outcome_pending(contact, at) else contact.status


def _awaiting_outcome() -> ColumnElement[bool]:
    return (Contact.kind == "session") & (Contact.status == AWAITING_OUTCOME_STATUS)


def _not_alerted() -> ColumnElement[bool]:
    # by the unique dedupe key (indexed), not by contact_id (which has no index)
    key = literal(_KEY_PREFIX, String) + cast(Contact.id, String)
    return ~exists().where(Alert.dedupe_key == key)


def raise_outcome_alert(contact: Contact) -> Alert:
    """Tell the therapist and the coordinators that a session's outcome is missing."""
    return raise_alert(
        participant=contact.participant,
        contact=contact,
        kind=ALERT_KIND,
        severity="warning",
        attribution=None,
        audience="team",
        dedupe_key=outcome_alert_key(contact.id),
        reason=ALERT_REASON,
    )


def alert_unrecorded_outcomes(limit: int = 500) -> int:
    """Alert once for every session still unmarked a grace period after its end; how many."""
    total = 0
    while True:
        query = (
            select(Contact)
            .where(_awaiting_outcome(), Contact.ends_at <= now() - outcome_grace(), _not_alerted())
            .order_by(Contact.ends_at, Contact.id)
            .limit(limit)
        )
        if db.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Contact)
        contacts = db.session.scalars(query).all()
        if not contacts:
            db.session.commit()
            return total
        for contact in contacts:
            # raise_alert looks the key up again: a process that committed it first wins
            raise_outcome_alert(contact)
        db.session.commit()
        total += len(contacts)


def next_outcome_deadline_at() -> datetime | None:
    """When the next unmarked session's grace period ends (None without any)."""
    first_end = db.session.scalar(
        select(func.min(Contact.ends_at)).where(_awaiting_outcome(), _not_alerted())
    )
    return None if first_end is None else first_end + outcome_grace()


def resolve_outcome_alert(contact: Contact, by: StaffUser, note: str) -> Alert | None:
    """The outcome is now recorded: acknowledge the session's outcome alert, if it had one."""
    alert = db.session.scalar(
        select(Alert).where(Alert.dedupe_key == outcome_alert_key(contact.id))
    )
    if alert is not None:
        acknowledge_alert(alert, by, note)
    return alert
