"""Sessions he joined whose outcome nobody recorded: the watcher tells the team, never decides.

A phone session has no link to join: the therapist calls, and only the marking
says whether he answered. So the deadline watcher never settles a phone session
as missed (a miss would reach the court while the call may be going on); an
unmarked phone session raises the same team alert after its end and grace.

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
from sqlalchemy import ColumnElement, Select, String, cast, exists, func, literal, select

from telejt.alerts.models import Alert
from telejt.alerts.services import acknowledge_alert, raise_alert
from telejt.auth.models import StaffUser
from telejt.clock import now
from telejt.extensions import db
from telejt.planning.batches import in_claimed_batches
from telejt.planning.models import Contact

#: the status of a session he joined and nobody has marked yet
AWAITING_OUTCOME_STATUS = "in_progress"
#: a phone session's status until the therapist marks it: there is no link to join,
#: the therapist calls, so only the therapist knows whether he answered
AWAITING_CALL_STATUSES = ("scheduled", "confirmed")
ALERT_KIND = "outcome_pending"
#: the alert's reason: his joins are recorded, the outcome is not
ALERT_REASON = "joined_outcome_not_recorded"
#: the alert's reason for a phone session: the call's outcome is not recorded
PHONE_ALERT_REASON = "phone_outcome_not_recorded"
_KEY_PREFIX = "outcome_pending:"


def outcome_grace() -> timedelta:
    """How long after a session's planned end its outcome may wait before the team is told."""
    return timedelta(minutes=current_app.config["TELEJT_OUTCOME_GRACE_MINUTES"])


def outcome_alert_key(contact_id: int) -> str:
    """The dedupe key of a session's outcome alert: one per session."""
    return f"{_KEY_PREFIX}{contact_id}"


def is_outcome_pending(contact: Contact, at: datetime) -> bool:
    """Whether a session is over, he joined it (or it was by phone), and no outcome is recorded."""
    awaiting = contact.status == AWAITING_OUTCOME_STATUS or (
        contact.modality == "phone" and contact.status in AWAITING_CALL_STATUSES
    )
    return contact.kind == "session" and awaiting and contact.ends_at <= at


def reported_status(contact: Contact, at: datetime) -> str:
    """A contact's status as figures and reports show it: "outcome_pending" for such a session.

    "In progress" would read as if the session were still on; it is over, he came,
    and what to count it as is not known until the therapist marks it.
    """
    return "outcome_pending" if is_outcome_pending(contact, at) else contact.status


def awaiting_call() -> ColumnElement[bool]:
    """Phone sessions not marked yet: the deadline watcher never settles these as missed."""
    return (
        (Contact.kind == "session")
        & (Contact.modality == "phone")
        & Contact.status.in_(AWAITING_CALL_STATUSES)
    )


def awaiting_outcome() -> ColumnElement[bool]:
    """Sessions whose outcome only the therapist can record: joined, or by phone."""
    return ((Contact.kind == "session") & (Contact.status == AWAITING_OUTCOME_STATUS)) | (
        awaiting_call()
    )


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
        reason=ALERT_REASON if contact.status == AWAITING_OUTCOME_STATUS else PHONE_ALERT_REASON,
    )


def alert_unrecorded_outcomes(limit: int = 500) -> int:
    """Alert once for every session still unmarked a grace period after its end; how many."""

    def query() -> Select[Contact]:
        return (
            select(Contact)
            .where(awaiting_outcome(), Contact.ends_at <= now() - outcome_grace(), _not_alerted())
            .order_by(Contact.ends_at, Contact.id)
            .limit(limit)
        )

    def alert(contacts: list[Contact]) -> None:
        for contact in contacts:
            # raise_alert looks the key up again: a process that committed it first wins
            raise_outcome_alert(contact)

    return in_claimed_batches(query, alert)


def next_outcome_deadline_at() -> datetime | None:
    """When the next unmarked session's grace period ends (None without any)."""
    first_end = db.session.scalar(
        select(func.min(Contact.ends_at)).where(awaiting_outcome(), _not_alerted())
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
