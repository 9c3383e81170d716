"""Every figure a court reads, defined once: the dashboard, the API and the report count here.

A contact belongs to a period by its start. Within a period, per kind of contact
(sessions and check-ins apart, never blended):

- ``kept``: attended, late (sessions) or completed (check-ins);
- ``missed``, by whom: ``participant`` (reached, did not come), ``system`` (telejt
  could not reach him, or the platform failed), ``unconfirmed`` (the only
  reminders went out without a delivery receipt: not counted against him) and
  ``opted_out`` (he had asked for no more SMS: his choice, counted apart);
- ``excused``: declined ahead, or justified by staff;
- ``outcome_pending``: a session over, joined (or by phone), whose outcome nobody
  recorded: neither kept nor missed until the therapist marks it.

The attendance rate is kept over kept plus his own misses: the system's misses, the
unconfirmed ones, those after an opt-out, excused contacts and pending outcomes are
left out on purpose, since a court must not read the system's failure, or a guess,
as his.

Consecutive misses are his latest run, whatever the period: his misses since the
last contact he kept or joined (a session he joined ends a run even before its
outcome is recorded; excused contacts and misses with another attribution neither
break nor extend it).

Everything is SQL aggregates: one GROUP BY over the contacts of every participant
asked for, so a court of 2,000 participants costs one statement, never one per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.planning.outcomes import AWAITING_OUTCOME_STATUS, awaiting_call, awaiting_outcome

KEPT_STATUSES = ("attended", "late", "completed")
#: statuses of a contact whose window is over and whose outcome is known
SETTLED_STATUSES = ("attended", "late", "completed", "missed", "excused", "incomplete")
#: who a miss is attributed to, in the order figures show them
MISS_ATTRIBUTIONS = ("participant", "system", "unconfirmed", "opted_out")
KINDS = ("session", "checkin")
#: the counts kept per kind, in the order they are shown and returned
COUNTS = (
    "kept",
    "missed_participant",
    "missed_system",
    "missed_unconfirmed",
    "missed_opted_out",
    "excused",
    "outcome_pending",
    "incomplete",
)
#: statuses that end a run of misses: kept, a check-in answered in part, or joined and
#: not marked yet
RUN_BREAKING_STATUSES = (*KEPT_STATUSES, "incomplete", AWAITING_OUTCOME_STATUS)


@dataclass(frozen=True)
class KindFigures:
    """One kind of contact's figures over a period."""

    kept: int = 0
    missed_participant: int = 0
    missed_system: int = 0
    missed_unconfirmed: int = 0
    missed_opted_out: int = 0
    excused: int = 0
    outcome_pending: int = 0
    #: check-ins answered in part by their deadline: neither kept nor missed
    incomplete: int = 0

    @property
    def missed(self) -> int:
        """Every miss, whoever it is attributed to."""
        return (
            self.missed_participant
            + self.missed_system
            + self.missed_unconfirmed
            + self.missed_opted_out
        )

    @property
    def counted(self) -> int:
        """What the rate is taken over: kept plus his own misses."""
        return self.kept + self.missed_participant

    @property
    def attendance_rate(self) -> float | None:
        """Kept over kept plus his own misses; None without any."""
        return None if self.counted == 0 else self.kept / self.counted

    def __add__(self, other: KindFigures) -> KindFigures:
        return KindFigures(*(getattr(self, n) + getattr(other, n) for n in COUNTS))

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (API)."""
        return {
            **{name: getattr(self, name) for name in COUNTS},
            "missed": self.missed,
            "attendance_rate": self.attendance_rate,
        }


@dataclass(frozen=True)
class Figures:
    """A participant's court-facing figures: per kind over a period, and his latest run."""

    sessions: KindFigures
    checkins: KindFigures
    consecutive_misses: int = 0
    consecutive_system_misses: int = 0
    last_kept_at: datetime | None = None

    @property
    def total(self) -> KindFigures:
        """Sessions and check-ins together (a court reads them apart; a rate of both is kept)."""
        return self.sessions + self.checkins

    @property
    def attendance_rate(self) -> float | None:
        """Kept over kept plus his own misses, sessions and check-ins together."""
        return self.total.attendance_rate

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (API)."""
        return {
            "sessions": self.sessions.as_dict(),
            "checkins": self.checkins.as_dict(),
            "total": self.total.as_dict(),
        }


# ---- the definitions, as SQL conditions ---------------------------------------------------


def is_kept() -> Any:
    """A contact he kept."""
    return Contact.status.in_(KEPT_STATUSES)


def is_missed_by(attribution: str) -> Any:
    """A miss attributed to ``participant``, ``system``, ``unconfirmed`` or ``opted_out``."""
    return and_(Contact.status == "missed", Contact.attribution == attribution)


def is_excused() -> Any:
    """A contact excused: declined ahead or justified by staff."""
    return Contact.status == "excused"


def is_outcome_pending(at: datetime) -> Any:
    """A session over at ``at`` whose outcome only the therapist can record, not recorded.

    The same rule as :func:`telejt.planning.outcomes.is_outcome_pending`, in SQL.
    """
    return and_(awaiting_outcome(), Contact.ends_at <= at)


def _conditions(at: datetime) -> dict[str, Any]:
    return {
        "kept": is_kept(),
        "missed_participant": is_missed_by("participant"),
        "missed_system": is_missed_by("system"),
        "missed_unconfirmed": is_missed_by("unconfirmed"),
        "missed_opted_out": is_missed_by("opted_out"),
        "excused": is_excused(),
        "outcome_pending": is_outcome_pending(at),
        "incomplete": Contact.status == "incomplete",
    }


def counted_contacts(at: datetime) -> Any:
    """The contacts any figure may count: settled, joined, or awaiting their outcome.

    What a GROUP BY over figures filters on: scheduled contacts in the future never
    count, so they are not read.
    """
    # a phone session still scheduled is the only one awaiting its outcome outside these
    return or_(Contact.status.in_((*SETTLED_STATUSES, AWAITING_OUTCOME_STATUS)), awaiting_call())


def figures_subquery(participants: Any, start: datetime, end: datetime, at: datetime) -> Any:
    """Per participant (``participants``: a condition on contacts): ``session_kept`` …
    ``checkin_outcome_pending`` over [start, end), and ``last_kept_at`` and
    ``run_broken_at`` (any date), what the runs of misses are counted from.

    One scan of the contacts grouped by participant and kind (six counts a row,
    not twelve: each kind's counts need no test of the kind), then one row per
    participant from those few groups.
    """
    in_period = and_(Contact.starts_at >= start, Contact.starts_at < end)
    by_kind = (
        select(
            Contact.participant_id.label("participant_id"),
            Contact.kind.label("kind"),
            *(
                func.count().filter(and_(in_period, condition)).label(name)
                for name, condition in _conditions(at).items()
            ),
            func.max(Contact.deadline_at).filter(is_kept()).label("last_kept_at"),
            func.max(Contact.deadline_at)
            .filter(Contact.status.in_(RUN_BREAKING_STATUSES))
            .label("run_broken_at"),
        )
        .where(participants, counted_contacts(at))
        .group_by(Contact.participant_id, Contact.kind)
        .subquery("figures_by_kind")
    )
    # one row per participant and kind: max() picks it (None when he has no such contact)
    return (
        select(
            by_kind.c.participant_id,
            *(
                func.max(by_kind.c[name]).filter(by_kind.c.kind == kind).label(f"{kind}_{name}")
                for kind in KINDS
                for name in COUNTS
            ),
            func.max(by_kind.c.last_kept_at).label("last_kept_at"),
            func.max(by_kind.c.run_broken_at).label("run_broken_at"),
        )
        .group_by(by_kind.c.participant_id)
        .subquery("stats")
    )


def consecutive_misses_column(
    participant_id: Any, run_broken_at: Any, attribution: str = "participant"
) -> Any:
    """His misses (with that attribution) since the run was last broken, all if it never was.

    Two correlated counts rather than one with ``run_broken_at IS NULL OR …``: with
    the OR PostgreSQL cannot bound the index scan by the deadline and reads every
    contact of the participant.
    """
    misses = (
        select(func.count())
        .select_from(Contact)
        .where(
            Contact.participant_id == participant_id,
            Contact.status == "missed",
            Contact.attribution == attribution,
        )
    )
    return case(
        (run_broken_at.is_(None), misses.scalar_subquery()),
        else_=misses.where(Contact.deadline_at > run_broken_at).scalar_subquery(),
    )


def kind_figures(row: Any, kind: str, positions: Mapping[str, int]) -> KindFigures:
    """One kind's figures from a row holding :func:`figures_subquery`'s columns, read by
    position (``positions``: column name → index; building a row's mapping 400 times a
    page cost more than the rest of the page's Python). None counts as 0."""
    return KindFigures(*(row[positions[f"{kind}_{name}"]] or 0 for name in COUNTS))


def column_positions(result: Any) -> dict[str, int]:
    """Each column's index in a result's rows."""
    return {name: index for index, name in enumerate(result.keys())}


def consecutive_misses(participant_id: int, attribution: str = "participant") -> int:
    """How many of his latest settled contacts in a row were missed (with that attribution)."""
    run_broken_at = (
        select(func.max(Contact.deadline_at))
        .where(
            Contact.participant_id == participant_id,
            Contact.status.in_(RUN_BREAKING_STATUSES),
        )
        .scalar_subquery()
    )
    return (
        db.session.scalar(
            select(consecutive_misses_column(participant_id, run_broken_at, attribution))
        )
        or 0
    )


def figures_for(
    participant_ids: Sequence[int], start: datetime, end: datetime, at: datetime
) -> dict[int, Figures]:
    """Each participant's figures over [start, end) as of ``at``: one grouped statement."""
    if not participant_ids:
        return {}
    stats = figures_subquery(Contact.participant_id.in_(participant_ids), start, end, at)
    query = select(
        stats,
        consecutive_misses_column(stats.c.participant_id, stats.c.run_broken_at).label(
            "consecutive_misses"
        ),
        consecutive_misses_column(stats.c.participant_id, stats.c.run_broken_at, "system").label(
            "consecutive_system_misses"
        ),
    )
    result_rows = db.session.execute(query)
    positions = column_positions(result_rows)
    found = {row.participant_id: row for row in result_rows}
    empty = Figures(KindFigures(), KindFigures())
    result: dict[int, Figures] = {}
    for participant_id in participant_ids:
        row = found.get(participant_id)
        result[participant_id] = (
            empty
            if row is None
            else Figures(
                sessions=kind_figures(row, "session", positions),
                checkins=kind_figures(row, "checkin", positions),
                consecutive_misses=row.consecutive_misses or 0,
                consecutive_system_misses=row.consecutive_system_misses or 0,
                last_kept_at=row.last_kept_at,
            )
        )
    return result


def figures_of(participant_id: int, start: datetime, end: datetime, at: datetime) -> Figures:
    """One participant's figures over [start, end) as of ``at``."""
    return figures_for([participant_id], start, end, at)[participant_id]
