"""Every figure a court reads, defined once: the dashboard, the API and the report count here.

A contact belongs to a period by its start. Within a period, per kind of contact
(sessions and check-ins apart, never blended):

- ``kept``: attended, late (sessions) or completed (check-ins);
- ``missed``, by whom: ``participant`` (reached, did not come), ``system`` (telejt
  could not reach him, or the platform failed), ``unconfirmed`` (the only
  reminders went out without a delivery receipt: not counted against him) and
  ``opted_out`` (he had asked for no more SMS: his choice, counted apart);
- ``missed_unverified``: of his own misses, those no person verified yet (a subset of
  ``missed_participant``, not an extra bucket). A miss is a notice until the
  coordinator or the supervision officer verifies it; the positions that see only
  verified notices (by default the prosecutor and the defender) read figures without
  them (:meth:`Figures.as_seen`): neither in his misses, nor in his rate, nor in his
  run of misses;
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

Progress is counted as carefully as misses (:class:`Progress`), and only a verified
miss of his counts against it (milestones are days without a verified miss):

- the streak is his kept contacts since his own latest verified miss (all of them if
  he never missed). Only a verified miss of his breaks it; one awaiting verification,
  an excused contact, a miss of the system, an unconfirmed one, one after an opt-out,
  a check-in answered in part and a session awaiting its outcome neither break it
  nor extend it: the streak is about what he did, and nobody else's failure, or a
  guess, may take it from him;
- days without a miss of his run from his latest verified miss, or from his enrolment
  when he never missed; milestones are 30, 60 and 90 of those days. While a miss of
  his in that run awaits verification, nothing is recognised (no milestone SMS, no
  phase review): telejt does not celebrate, nor propose, what a person may yet undo;
- weeks in the phase are whole weeks since his phase started, shown against the
  phase's ``min_weeks``; he is ready for phase review when he has those weeks, no
  verified miss of his in the phase's ``review.no_misses_days`` (30 by default) and
  none awaiting verification.

Everything is SQL aggregates: one GROUP BY over the contacts of every participant
asked for, so a court of 2,000 participants costs one statement, never one per row.
The runs and the anchors of progress, which read every contact he ever had, are also
stored per participant and kept current as contacts change (:mod:`telejt.reports.runs`,
from these same definitions): the dashboard reads them there and scans only the
period's contacts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, or_, select

from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.planning.outcomes import AWAITING_OUTCOME_STATUS, awaiting_call, awaiting_outcome
from telejt.protocols.current import protocol_for

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
    "missed_unverified",
)
#: statuses that end a run of misses: kept, a check-in answered in part, or joined and
#: not marked yet
RUN_BREAKING_STATUSES = (*KEPT_STATUSES, "incomplete", AWAITING_OUTCOME_STATUS)
#: days without a miss of his that are recognised, in order
MILESTONE_DAYS = (30, 60, 90)
WEEK = timedelta(days=7)


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
    #: of ``missed_participant``, those no person verified yet
    missed_unverified: int = 0

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

    def without_unverified(self) -> KindFigures:
        """These figures as a position that sees only verified notices reads them."""
        return replace(
            self,
            missed_participant=self.missed_participant - self.missed_unverified,
            missed_unverified=0,
        )

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
class Progress:
    """What he has achieved as of a moment: streak, phase weeks, days without a miss of his."""

    #: kept contacts since his own latest miss (see the module's docstring)
    streak: int = 0
    #: when his own latest verified miss closed (None: none)
    last_missed_at: datetime | None = None
    #: whole days since then, or since his enrolment when he never missed
    days_without_miss: int = 0
    #: a miss of his since then awaits verification: nothing is recognised meanwhile
    awaiting_verification: bool = False
    phase_id: str = ""
    #: whole weeks since his current phase started, and the weeks the phase asks for
    weeks_in_phase: int = 0
    min_weeks: int | None = None
    #: the phase's criterion: no miss of his in this many days
    review_no_misses_days: int = 30

    @property
    def milestone(self) -> int | None:
        """The latest milestone reached (30, 60 or 90 days without a miss of his)."""
        reached = [days for days in MILESTONE_DAYS if self.days_without_miss >= days]
        return reached[-1] if reached else None

    @property
    def is_ready_for_review(self) -> bool:
        """The phase's weeks are done, he has no verified miss of his in the review's days
        and none awaits verification.

        Only the team is told (a ``phase_review`` alert); pages a court reads show the
        figures, never this judgement.
        """
        return (
            self.min_weeks is not None
            and self.weeks_in_phase >= self.min_weeks
            and self.days_without_miss >= self.review_no_misses_days
            and not self.awaiting_verification
        )

    @property
    def recognisable_milestone(self) -> int | None:
        """The milestone he may be told of: none while a miss of his awaits verification."""
        return None if self.awaiting_verification else self.milestone

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (API)."""
        return {
            "streak": self.streak,
            "last_missed_at": self.last_missed_at,
            "days_without_miss": self.days_without_miss,
            "milestone": self.milestone,
            "awaiting_verification": self.awaiting_verification,
            "phase_id": self.phase_id,
            "weeks_in_phase": self.weeks_in_phase,
            "min_weeks": self.min_weeks,
        }


def progress_of(
    *,
    at: datetime,
    streak: int,
    last_missed_at: datetime | None,
    enrolled_at: datetime,
    last_unverified_at: datetime | None = None,
    phase_started_at: datetime,
    protocol_id: str,
    protocol_version: int,
    phase_id: str,
) -> Progress:
    """His progress from the columns the figures' statement reads (no query of its own)."""
    try:
        phase = protocol_for(protocol_id, protocol_version).phase(phase_id)
    except KeyError:  # a protocol or phase no longer loaded: weeks without a goal
        min_weeks, review_days = None, 30
    else:
        min_weeks, review_days = phase.min_weeks, phase.review.no_misses_days
    since = last_missed_at if last_missed_at is not None else enrolled_at
    return Progress(
        streak=streak or 0,
        last_missed_at=last_missed_at,
        days_without_miss=max((at - since).days, 0),
        awaiting_verification=last_unverified_at is not None and last_unverified_at > since,
        phase_id=phase_id,
        weeks_in_phase=max((at - phase_started_at) // WEEK, 0),
        min_weeks=min_weeks,
        review_no_misses_days=review_days,
    )


@dataclass(frozen=True)
class Figures:
    """A participant's court-facing figures: per kind over a period, and his latest run."""

    sessions: KindFigures
    checkins: KindFigures
    #: his latest run of misses, verified or not, and of those the unverified ones
    consecutive_misses: int = 0
    consecutive_unverified: int = 0
    consecutive_system_misses: int = 0
    last_kept_at: datetime | None = None
    progress: Progress = field(default_factory=Progress)

    def as_seen(self, sees_unverified: bool) -> Figures:
        """The figures a viewer reads: without the unverified misses for a position that
        sees only verified notices (telejt.courts.visibility.sees_unverified)."""
        if sees_unverified:
            return self
        return replace(
            self,
            sessions=self.sessions.without_unverified(),
            checkins=self.checkins.without_unverified(),
            consecutive_misses=self.consecutive_misses - self.consecutive_unverified,
            consecutive_unverified=0,
        )

    @cached_property
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
            "progress": self.progress.as_dict(),
        }


# ---- the definitions, as SQL conditions ---------------------------------------------------


def is_kept() -> Any:
    """A contact he kept."""
    return Contact.status.in_(KEPT_STATUSES)


def is_missed_by(attribution: str) -> Any:
    """A miss attributed to ``participant``, ``system``, ``unconfirmed`` or ``opted_out``."""
    return and_(Contact.status == "missed", Contact.attribution == attribution)


def is_unverified_miss() -> Any:
    """A miss of his that no person verified yet."""
    return and_(is_missed_by("participant"), Contact.verified_at.is_(None))


def is_verified_miss() -> Any:
    """A miss of his that a person verified as his."""
    return and_(is_missed_by("participant"), Contact.verified_at.is_not(None))


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
        "missed_unverified": is_unverified_miss(),
    }


def counted_contacts(at: datetime) -> Any:
    """The contacts any figure may count: settled, joined, or awaiting their outcome.

    What a GROUP BY over figures filters on: scheduled contacts in the future never
    count, so they are not read.
    """
    # a phone session still scheduled is the only one awaiting its outcome outside these
    return or_(Contact.status.in_((*SETTLED_STATUSES, AWAITING_OUTCOME_STATUS)), awaiting_call())


def anchor_aggregates() -> list[Any]:
    """The aggregates, over all of a participant's counted contacts (any date), that his
    runs and progress are counted from: ``last_kept_at``, ``run_broken_at``,
    ``last_missed_at`` (verified), ``last_unverified_at`` and ``kept_ever``."""
    return [
        func.max(Contact.deadline_at).filter(is_kept()).label("last_kept_at"),
        func.max(Contact.deadline_at)
        .filter(Contact.status.in_(RUN_BREAKING_STATUSES))
        .label("run_broken_at"),
        func.max(Contact.deadline_at).filter(is_verified_miss()).label("last_missed_at"),
        func.max(Contact.deadline_at).filter(is_unverified_miss()).label("last_unverified_at"),
        func.count().filter(is_kept()).label("kept_ever"),
    ]


ANCHORS = ("last_kept_at", "run_broken_at", "last_missed_at", "last_unverified_at")


def _pivot(by_kind: Any, with_anchors: bool, name: str) -> Any:
    """One row per participant from his per-kind groups (max() picks each kind's count;
    None when he has no such contact)."""
    anchors = (
        [
            *(func.max(by_kind.c[anchor]).label(anchor) for anchor in ANCHORS),
            # cast: PostgreSQL sums counts as numeric (a Decimal in Python)
            cast(func.sum(by_kind.c.kept_ever), Integer).label("kept_ever"),
        ]
        if with_anchors
        else []
    )
    return (
        select(
            by_kind.c.participant_id,
            *(
                func.max(by_kind.c[count]).filter(by_kind.c.kind == kind).label(f"{kind}_{count}")
                for kind in KINDS
                for count in COUNTS
            ),
            *anchors,
        )
        .group_by(by_kind.c.participant_id)
        .subquery(name)
    )


def figures_subquery(participants: Any, start: datetime, end: datetime, at: datetime) -> Any:
    """Per participant (``participants``: a condition on contacts): ``session_kept`` …
    ``checkin_missed_unverified`` over [start, end), and the anchors of his runs and
    progress over any date (:func:`anchor_aggregates`).

    One scan of the contacts grouped by participant and kind (each kind's counts need no
    test of the kind), then one row per participant from those few groups.
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
            *anchor_aggregates(),
        )
        .where(participants, counted_contacts(at))
        .group_by(Contact.participant_id, Contact.kind)
        .subquery("figures_by_kind")
    )
    return _pivot(by_kind, with_anchors=True, name="stats")


def anchors_subquery(participants: Any) -> Any:
    """Per participant (``participants``: a condition on contacts), only the anchors of
    his runs and progress (:func:`anchor_aggregates`), which no time of reading changes."""
    return (
        select(Contact.participant_id.label("participant_id"), *anchor_aggregates())
        .where(participants, Contact.status.in_((*SETTLED_STATUSES, AWAITING_OUTCOME_STATUS)))
        .group_by(Contact.participant_id)
        .subquery("anchors")
    )


def period_subquery(participants: Any, start: datetime, end: datetime, at: datetime) -> Any:
    """Per participant, only the counts over [start, end) (:func:`figures_subquery`'s,
    without the anchors): it reads only the period's contacts, through the index on
    their start, for a page whose runs come from :mod:`telejt.reports.runs`."""
    by_kind = (
        select(
            Contact.participant_id.label("participant_id"),
            Contact.kind.label("kind"),
            *(
                func.count().filter(condition).label(name)
                for name, condition in _conditions(at).items()
            ),
        )
        .where(
            participants, counted_contacts(at), Contact.starts_at >= start, Contact.starts_at < end
        )
        .group_by(Contact.participant_id, Contact.kind)
        .subquery("period_by_kind")
    )
    return _pivot(by_kind, with_anchors=False, name="period")


def consecutive_misses_column(
    participant_id: Any,
    run_broken_at: Any,
    attribution: str = "participant",
    unverified_only: bool = False,
) -> Any:
    """His misses (with that attribution; only those awaiting verification when
    ``unverified_only``) since the run was last broken, all if it never was.

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
    if unverified_only:
        misses = misses.where(Contact.verified_at.is_(None))
    return case(
        (run_broken_at.is_(None), misses.scalar_subquery()),
        else_=misses.where(Contact.deadline_at > run_broken_at).scalar_subquery(),
    )


def streak_column(participant_id: Any, last_missed_at: Any, kept_ever: Any) -> Any:
    """His kept contacts since his own latest verified miss, all of them if he has none.

    All of them is a count of the figures' own pass (``kept_ever``); after a miss, a
    correlated count through the index on (participant, status, deadline) reads only
    the contacts after it.
    """
    kept_since = (
        select(func.count())
        .select_from(Contact)
        .where(
            Contact.participant_id == participant_id,
            is_kept(),
            Contact.deadline_at > last_missed_at,
        )
        .scalar_subquery()
    )
    return case((last_missed_at.is_(None), func.coalesce(kept_ever, 0)), else_=kept_since)


def progress_columns(participant_id: Any, stats: Any) -> list[Any]:
    """The columns :func:`progress_from_row` reads, beside :func:`figures_subquery`'s."""
    return [
        streak_column(participant_id, stats.c.last_missed_at, stats.c.kept_ever).label("streak"),
        stats.c.last_missed_at.label("last_missed_at"),
        stats.c.last_unverified_at.label("last_unverified_at"),
        *participant_progress_columns(),
    ]


def participant_progress_columns() -> list[Any]:
    """The participant's own columns :func:`progress_from_row` reads."""
    return [
        Participant.created_at.label("enrolled_at"),
        Participant.phase_started_at.label("phase_started_at"),
        Participant.protocol_id.label("protocol_id"),
        Participant.protocol_version.label("protocol_version"),
        Participant.phase_id.label("phase_id"),
    ]


def progress_from_row(row: Any, at: datetime) -> Progress:
    """:class:`Progress` from a row holding :func:`progress_columns`."""
    return progress_of(
        at=at,
        streak=row.streak,
        last_missed_at=row.last_missed_at,
        enrolled_at=row.enrolled_at,
        last_unverified_at=row.last_unverified_at,
        phase_started_at=row.phase_started_at,
        protocol_id=row.protocol_id,
        protocol_version=row.protocol_version,
        phase_id=row.phase_id,
    )


def run_columns(participant_id: Any, stats: Any) -> list[Any]:
    """His latest runs of misses (his, of them unverified, the system's), beside
    :func:`figures_subquery`'s columns."""
    run_broken_at = stats.c.run_broken_at
    return [
        consecutive_misses_column(participant_id, run_broken_at).label("consecutive_misses"),
        consecutive_misses_column(participant_id, run_broken_at, unverified_only=True).label(
            "consecutive_unverified"
        ),
        consecutive_misses_column(participant_id, run_broken_at, "system").label(
            "consecutive_system_misses"
        ),
    ]


def figures_from_row(row: Any, positions: Mapping[str, int], at: datetime) -> Figures:
    """:class:`Figures` from a row holding :func:`figures_subquery`'s counts,
    :func:`run_columns` and :func:`progress_columns`."""
    return Figures(
        sessions=kind_figures(row, "session", positions),
        checkins=kind_figures(row, "checkin", positions),
        consecutive_misses=row.consecutive_misses or 0,
        consecutive_unverified=row.consecutive_unverified or 0,
        consecutive_system_misses=row.consecutive_system_misses or 0,
        last_kept_at=row.last_kept_at,
        progress=progress_from_row(row, at),
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
    query = (
        select(
            Participant.id.label("participant_id"),
            *(
                stats.c[f"{kind}_{name}"].label(f"{kind}_{name}")
                for kind in KINDS
                for name in COUNTS
            ),
            stats.c.last_kept_at,
            *run_columns(Participant.id, stats),
            *progress_columns(Participant.id, stats),
        )
        .outerjoin(stats, stats.c.participant_id == Participant.id)
        .where(Participant.id.in_(participant_ids))
    )
    result_rows = db.session.execute(query)
    positions = column_positions(result_rows)
    found = {row.participant_id: row for row in result_rows}
    result: dict[int, Figures] = {}
    for participant_id in participant_ids:
        row = found.get(participant_id)
        result[participant_id] = (
            Figures(KindFigures(), KindFigures())
            if row is None
            else figures_from_row(row, positions, at)
        )
    return result


def figures_of(participant_id: int, start: datetime, end: datetime, at: datetime) -> Figures:
    """One participant's figures over [start, end) as of ``at``."""
    return figures_for([participant_id], start, end, at)[participant_id]
