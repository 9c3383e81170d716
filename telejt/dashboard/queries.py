"""The dashboard's aggregate queries: a whole court's compliance in one statement.

A court may follow 2,000 participants; each figure is computed by one GROUP BY
over the court's contacts (and one over its open alerts), joined to the
participants the viewer may see, never by a query per row.

Every figure is defined in :mod:`telejt.reports.figures`, which the API and the
status-hearing report count with too: the dashboard only chooses the period (the
last 30 days) and the participants.
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
from telejt.courts import visibility
from telejt.courts.models import Court
from telejt.courts.visibility import viewer_of
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.reports import figures
from telejt.reports.figures import Figures, Progress
from telejt.reports.models import ParticipantRuns

RATE_WINDOW = timedelta(days=30)
SORT_KEYS = (
    "name",
    "case_number",
    "rate",
    "consecutive_misses",
    "last_kept_at",
    "open_alerts",
    "streak",
    "phase_weeks",
)
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
    """One participant's line on the dashboard: his figures over the last 30 days."""

    participant_id: int
    name: str
    case_number: str
    status: str
    timezone: str
    protocol_id: str
    protocol_version: int
    phase_id: str
    #: sessions and check-ins apart (telejt.reports.figures), over the last 30 days
    figures: Figures
    open_alerts: int

    @property
    def kept_30d(self) -> int:
        """Contacts kept in 30 days."""
        return self.figures.total.kept

    @property
    def missed_participant_30d(self) -> int:
        """His own misses in 30 days."""
        return self.figures.total.missed_participant

    @property
    def missed_system_30d(self) -> int:
        """The system's misses in 30 days."""
        return self.figures.total.missed_system

    @property
    def missed_unconfirmed_30d(self) -> int:
        """Misses whose only reminders had no delivery receipt, in 30 days."""
        return self.figures.total.missed_unconfirmed

    @property
    def excused_30d(self) -> int:
        """Excused contacts in 30 days."""
        return self.figures.total.excused

    @property
    def outcome_pending(self) -> int:
        """Sessions over in 30 days, joined or by phone, whose outcome nobody recorded."""
        return self.figures.total.outcome_pending

    @property
    def consecutive_misses(self) -> int:
        """His latest run of misses."""
        return self.figures.consecutive_misses

    @property
    def last_kept_at(self) -> datetime | None:
        """When his last kept contact closed."""
        return self.figures.last_kept_at

    @property
    def attendance_rate(self) -> float | None:
        """Kept over kept plus the participant's misses in 30 days; None without any."""
        return self.figures.attendance_rate

    @property
    def progress(self) -> Progress:
        """His streak, weeks in the phase and milestones (telejt.reports.figures)."""
        return self.figures.progress


def alert_audiences(user: StaffUser) -> tuple[str, ...]:
    """Which alert audiences a staff member may see: court users never see team matters."""
    return visibility.alert_audiences(viewer_of(user))


def unverified_courts(user: StaffUser) -> list[int] | None:
    """The courts in which this user sees unverified notices (None: wherever he sees
    participants, as the treatment team does)."""
    viewer = viewer_of(user)
    if not viewer.is_court:
        return None
    courts = db.session.scalars(select(Court).where(Court.id.in_(user.court_ids)))
    return [
        court.id
        for court in courts
        if visibility.sees_unverified(viewer, court.unverified_position_set)
    ]


def alert_scope(user: StaffUser) -> Any:
    """The condition on alerts this user may see by kind and audience (telejt.courts.visibility)."""
    viewer = viewer_of(user)
    scope = and_(
        Alert.audience.in_(visibility.alert_audiences(viewer)),
        Alert.kind.in_(visibility.visible_alert_kinds(viewer)),
    )
    # unverified notices: only in the courts that let his position see them
    seeing = unverified_courts(user)
    if seeing is None:
        return scope
    return and_(
        scope,
        or_(
            Alert.verification.is_(None),
            Alert.verification != "unverified",
            Alert.court_id.in_(seeing),
        ),
    )


def visible_alerts(user: StaffUser) -> Select[Alert]:
    """Alerts of the participants this user may see, of kinds and audiences he may see."""
    participant_ids = visible_participants(user).with_only_columns(Participant.id)
    return select(Alert).where(
        Alert.participant_id.in_(participant_ids.scalar_subquery()), alert_scope(user)
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
    """One GROUP BY over the last 30 days' contacts of the visible participants.

    The counts are :mod:`telejt.reports.figures`' own columns; the runs and the anchors
    of progress, which need every contact he ever had, are read from
    :class:`telejt.reports.models.ParticipantRuns`, kept up to date as contacts change
    (telejt.reports.runs): no request scans a court's history.
    """
    scope = visible_participants(user).with_only_columns(Participant.id).scalar_subquery()
    return figures.period_subquery(Contact.participant_id.in_(scope), at - RATE_WINDOW, at, at)


def _total(stats: Any, name: str) -> Any:
    """A count over both kinds of contact (0 for a participant without any)."""
    return sum(
        (func.coalesce(getattr(stats.c, f"{kind}_{name}"), 0) for kind in figures.KINDS[1:]),
        func.coalesce(getattr(stats.c, f"{figures.KINDS[0]}_{name}"), 0),
    )


def _alert_counts(user: StaffUser) -> Any:
    return (
        select(Alert.participant_id, func.count(Alert.id).label("open_alerts"))
        .where(Alert.acknowledged_at.is_(None), alert_scope(user))
        .group_by(Alert.participant_id)
        .subquery("open_alert_counts")
    )


def compliance_rows(
    user: StaffUser, at: datetime, filters: ComplianceFilters
) -> tuple[list[ComplianceRow], int]:
    """The page of compliance rows the filters ask for, and how many rows match in all."""
    stats = _contact_stats(user, at)
    alerts = _alert_counts(user)
    seeing = unverified_courts(user)
    runs: list[Any] = [
        func.coalesce(getattr(ParticipantRuns, name), 0).label(name)
        for name in ("consecutive_misses", "consecutive_unverified", "consecutive_system_misses")
    ]
    kept = _total(stats, "kept")
    missed = _total(stats, "missed_participant")
    consecutive: Any = runs[0]
    if seeing is not None:
        # sorted and filtered by what he reads: where he sees only verified notices, the
        # unverified misses are neither in his rate nor in his run of misses
        sees = Participant.court_id.in_(seeing)
        missed = case((sees, missed), else_=missed - _total(stats, "missed_unverified"))
        consecutive = case((sees, runs[0]), else_=runs[0] - runs[1])
    rate = cast(kept, Float) / func.nullif(kept + missed, 0)
    streak = func.coalesce(ParticipantRuns.streak, 0)
    progress = [
        streak.label("streak"),
        ParticipantRuns.last_missed_at,
        ParticipantRuns.last_unverified_at,
        *figures.participant_progress_columns(),
    ]
    alert_count = func.coalesce(alerts.c.open_alerts, 0)
    counts = [
        func.coalesce(getattr(stats.c, f"{kind}_{name}"), 0).label(f"{kind}_{name}")
        for kind in figures.KINDS
        for name in figures.COUNTS
    ]
    query = (
        visible_participants(user)
        .with_only_columns(
            Participant.id.label("participant_id"),
            Participant.name,
            Participant.case_number,
            Participant.status,
            Participant.timezone,
            Participant.court_id,
            *counts,
            *runs,
            ParticipantRuns.last_kept_at,
            alert_count.label("open_alerts"),
            *progress,
            # the number of matching rows, from the same pass (no second aggregate query)
            func.count().over().label("matching"),
        )
        .outerjoin(stats, stats.c.participant_id == Participant.id)
        .outerjoin(ParticipantRuns, ParticipantRuns.participant_id == Participant.id)
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
        "last_kept_at": ParticipantRuns.last_kept_at,
        "open_alerts": alert_count,
        "streak": streak,
        "phase_weeks": Participant.phase_started_at,
    }[filters.sort if filters.sort in SORT_KEYS else "consecutive_misses"]
    # more weeks in the phase is an earlier start: that sort runs the other way
    descending = filters.descending != (filters.sort == "phase_weeks")
    ordered = sort_column.desc() if descending else sort_column.asc()
    query = (
        query.order_by(ordered.nulls_last(), Participant.name, Participant.id)
        .limit(PAGE_SIZE)
        .offset((max(filters.page, 1) - 1) * PAGE_SIZE)
    )
    rows, total = [], 0
    result = db.session.execute(query)
    positions = figures.column_positions(result)
    for row in result:
        total = row.matching
        rows.append(
            ComplianceRow(
                participant_id=row.participant_id,
                name=row.name,
                case_number=row.case_number,
                status=row.status,
                timezone=row.timezone,
                protocol_id=row.protocol_id,
                protocol_version=row.protocol_version,
                phase_id=row.phase_id,
                figures=figures.figures_from_row(row, positions, at).as_seen(
                    seeing is None or row.court_id in seeing
                ),
                open_alerts=row.open_alerts,
            )
        )
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
