"""The dashboard's aggregate queries: a whole court's compliance in one statement.

A court may follow 2,000 participants; each figure is computed by one GROUP BY
over the court's contacts (and one over its open alerts), joined to the
participants the viewer may see, never by a query per row.

Attendance rate: kept contacts (attended, late, completed) over kept contacts
plus misses attributed to the participant. Misses that were the system's and
excused contacts are left out on purpose: a court must not read the system's
failure as the participant's. A session he joined that is over and whose outcome
the therapist has not recorded is neither: it is counted apart, as outcome pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, Select, and_, case, cast, func, or_, select
from sqlalchemy.orm import selectinload

from telejt.alerts.models import Alert
from telejt.auth.access import visible_participants
from telejt.auth.models import StaffUser
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.planning.outcomes import AWAITING_OUTCOME_STATUS

KEPT_STATUSES = ("attended", "late", "completed")
#: statuses of a contact whose window is over and whose outcome is known
SETTLED_STATUSES = ("attended", "late", "completed", "missed", "excused", "incomplete")
RATE_WINDOW = timedelta(days=30)
SORT_KEYS = ("name", "case_number", "rate", "consecutive_misses", "last_kept_at", "open_alerts")
PAGE_SIZE = 200


@dataclass(frozen=True)
class ComplianceFilters:
    """What the viewer asked for: search, phase, status, flags, sort and page."""

    search: str = ""
    phase_id: str = ""
    status: str = "active"
    only_with_alerts: bool = False
    min_consecutive_misses: int = 0
    sort: str = "consecutive_misses"
    descending: bool = True
    page: int = 1
    #: narrow to one participant (his own page shows the same figures)
    participant_id: int | None = None


@dataclass(frozen=True)
class ComplianceRow:
    """One participant's line on the dashboard."""

    participant_id: int
    name: str
    case_number: str
    status: str
    timezone: str
    protocol_id: str
    protocol_version: int
    phase_id: str
    kept_30d: int
    missed_participant_30d: int
    missed_system_30d: int
    excused_30d: int
    consecutive_misses: int
    last_kept_at: datetime | None
    open_alerts: int
    #: sessions he joined, now over, whose outcome nobody has recorded (any date)
    outcome_pending: int = 0

    @property
    def attendance_rate(self) -> float | None:
        """Kept over kept plus the participant's misses in 30 days; None without any."""
        counted = self.kept_30d + self.missed_participant_30d
        return None if counted == 0 else self.kept_30d / counted


def alert_audiences(user: StaffUser) -> tuple[str, ...]:
    """Which alert audiences a staff member may see: court users never see team matters."""
    return ("court",) if user.role == "court" else ("court", "team")


def visible_alerts(user: StaffUser) -> Select[Any]:
    """Alerts of the participants this user may see, in audiences he may see."""
    participant_ids = visible_participants(user).with_only_columns(Participant.id)
    return select(Alert).where(
        Alert.participant_id.in_(participant_ids.scalar_subquery()),
        Alert.audience.in_(alert_audiences(user)),
    )


def open_alert_count(user: StaffUser) -> int:
    """How many open alerts this user may see."""
    query = visible_alerts(user).where(Alert.acknowledged_at.is_(None))
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def open_alerts(user: StaffUser, limit: int = 50) -> list[Alert]:
    """The open alerts this user may see, newest first."""
    query = (
        visible_alerts(user)
        .where(Alert.acknowledged_at.is_(None))
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(limit)
        # names and contacts of the alerts in one query each, not one per row (a join
        # would make PostgreSQL join every open alert before keeping the newest); the
        # participants' consents, loaded eagerly by default, are not shown here
        .options(
            selectinload(Alert.participant).lazyload(Participant.consents),
            selectinload(Alert.contact),
        )
    )
    return list(db.session.scalars(query))


def _contact_stats(user: StaffUser, at: datetime) -> Any:
    """One GROUP BY over the settled contacts of the visible participants (a single scan).

    The last kept contact, and the last contact that ends a run of misses, are plain
    aggregates of the same pass; the misses after it are counted per participant
    afterwards (:func:`_consecutive_misses`), through the index on (participant,
    status, deadline), which touches only those few rows. A first version joined the
    scan to a second GROUP BY for the last kept contact: two scans of the contacts,
    and PostgreSQL's parallel worker built that second aggregate once more.
    """
    since = at - RATE_WINDOW
    scope = visible_participants(user).with_only_columns(Participant.id).scalar_subquery()
    recent = and_(Contact.deadline_at > since, Contact.deadline_at <= at)

    def count_where(*conditions: Any) -> Any:
        return func.count().filter(and_(*conditions))

    return (
        select(
            Contact.participant_id.label("participant_id"),
            count_where(recent, Contact.status.in_(KEPT_STATUSES)).label("kept_30d"),
            count_where(
                recent, Contact.status == "missed", Contact.attribution == "participant"
            ).label("missed_participant_30d"),
            count_where(recent, Contact.status == "missed", Contact.attribution == "system").label(
                "missed_system_30d"
            ),
            count_where(recent, Contact.status == "excused").label("excused_30d"),
            count_where(
                Contact.kind == "session",
                Contact.status == AWAITING_OUTCOME_STATUS,
                Contact.ends_at <= at,
            ).label("outcome_pending"),
            func.max(Contact.deadline_at)
            .filter(Contact.status.in_(KEPT_STATUSES))
            .label("last_kept_at"),
            # a session he joined ends a run of misses even before its outcome is recorded:
            # what it will be counted as is the therapist's to say, never presumed against him
            func.max(Contact.deadline_at)
            .filter(Contact.status.in_((*KEPT_STATUSES, "incomplete", AWAITING_OUTCOME_STATUS)))
            .label("run_broken_at"),
        )
        .where(
            Contact.participant_id.in_(scope),
            Contact.status.in_((*SETTLED_STATUSES, AWAITING_OUTCOME_STATUS)),
        )
        .group_by(Contact.participant_id)
        .subquery("stats")
    )


def _consecutive_misses(run_broken_at: Any) -> Any:
    """His misses since the run was last broken (all of them if it never was).

    Two correlated counts rather than one with ``run_broken_at IS NULL OR …``: with
    the OR PostgreSQL cannot bound the index scan by the deadline and reads every
    contact of the participant.
    """
    misses = (
        select(func.count())
        .select_from(Contact)
        .where(
            Contact.participant_id == Participant.id,
            Contact.status == "missed",
            Contact.attribution == "participant",
        )
    )
    return case(
        (run_broken_at.is_(None), misses.scalar_subquery()),
        else_=misses.where(Contact.deadline_at > run_broken_at).scalar_subquery(),
    )


def _alert_counts(user: StaffUser) -> Any:
    return (
        select(Alert.participant_id, func.count(Alert.id).label("open_alerts"))
        .where(Alert.acknowledged_at.is_(None), Alert.audience.in_(alert_audiences(user)))
        .group_by(Alert.participant_id)
        .subquery("open_alert_counts")
    )


def compliance_rows(
    user: StaffUser, at: datetime, filters: ComplianceFilters
) -> tuple[list[ComplianceRow], int]:
    """The page of compliance rows the filters ask for, and how many rows match in all."""
    stats = _contact_stats(user, at)
    alerts = _alert_counts(user)
    kept = func.coalesce(stats.c.kept_30d, 0)
    missed = func.coalesce(stats.c.missed_participant_30d, 0)
    rate = cast(kept, Float) / func.nullif(kept + missed, 0)
    consecutive = _consecutive_misses(stats.c.run_broken_at)
    alert_count = func.coalesce(alerts.c.open_alerts, 0)
    query = (
        visible_participants(user)
        .with_only_columns(
            Participant.id.label("participant_id"),
            Participant.name,
            Participant.case_number,
            Participant.status,
            Participant.timezone,
            Participant.protocol_id,
            Participant.protocol_version,
            Participant.phase_id,
            kept.label("kept_30d"),
            missed.label("missed_participant_30d"),
            func.coalesce(stats.c.missed_system_30d, 0).label("missed_system_30d"),
            func.coalesce(stats.c.excused_30d, 0).label("excused_30d"),
            consecutive.label("consecutive_misses"),
            stats.c.last_kept_at,
            alert_count.label("open_alerts"),
            func.coalesce(stats.c.outcome_pending, 0).label("outcome_pending"),
            # the number of matching rows, from the same pass (no second aggregate query)
            func.count().over().label("matching"),
        )
        .outerjoin(stats, stats.c.participant_id == Participant.id)
        .outerjoin(alerts, alerts.c.participant_id == Participant.id)
    )
    if filters.participant_id is not None:
        query = query.where(Participant.id == filters.participant_id)
    if filters.search:
        pattern = f"%{filters.search.lower()}%"
        query = query.where(
            or_(
                func.lower(Participant.name).like(pattern),
                func.lower(Participant.case_number).like(pattern),
            )
        )
    if filters.phase_id:
        query = query.where(Participant.phase_id == filters.phase_id)
    if filters.status:
        query = query.where(Participant.status == filters.status)
    if filters.only_with_alerts:
        query = query.where(alert_count > 0)
    if filters.min_consecutive_misses > 0:
        query = query.where(consecutive >= filters.min_consecutive_misses)
    sort_column = {
        "name": Participant.name,
        "case_number": Participant.case_number,
        "rate": rate,
        "consecutive_misses": consecutive,
        "last_kept_at": stats.c.last_kept_at,
        "open_alerts": alert_count,
    }[filters.sort if filters.sort in SORT_KEYS else "consecutive_misses"]
    ordered = sort_column.desc() if filters.descending else sort_column.asc()
    query = (
        query.order_by(ordered.nulls_last(), Participant.name, Participant.id)
        .limit(PAGE_SIZE)
        .offset((max(filters.page, 1) - 1) * PAGE_SIZE)
    )
    rows, total = [], 0
    for row in db.session.execute(query):
        fields = row._asdict()
        total = fields.pop("matching")
        rows.append(ComplianceRow(**fields))
    if not rows and filters.page > 1:  # past the last page: count without a page
        total = (
            db.session.scalar(
                select(func.count()).select_from(query.limit(None).offset(None).subquery())
            )
            or 0
        )
    return rows, total


def compliance_row(user: StaffUser, participant_id: int, at: datetime) -> ComplianceRow | None:
    """One participant's compliance figures, by the dashboard's own query."""
    filters = ComplianceFilters(status="", participant_id=participant_id)
    rows, _ = compliance_rows(user, at, filters)
    return rows[0] if rows else None
