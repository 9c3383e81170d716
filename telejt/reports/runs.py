"""His runs, kept up to date as his contacts change, so that no page scans a court's history.

The dashboard sorts a court of thousands by runs of misses, streaks and last kept
contacts, all counted over every contact a participant ever had. Rather than one
aggregate of the court's whole history per request, each participant's values are
stored (:class:`telejt.reports.models.ParticipantRuns`) and refreshed in the very
transaction that changes the outcome of any of his contacts, from the same
definitions as :mod:`telejt.reports.figures` (whose live computation the agreement
test compares with them).

Every outcome changes through the ORM (the watcher, the therapist's marking,
justification, verification), so session hooks see each change: before each flush
they note whose contacts' outcome fields change; just before the transaction commits
they recompute those participants, all at once. On PostgreSQL their runs rows are
locked first, in the order of their ids, so two transactions changing the same man's
contacts at once serialise here and the later one counts with the earlier one's
committed change (its statements start after the lock). Locking only at commit, in
one ordered step, is what keeps two schedulers settling a burst from deadlocking:
a transaction holding one man's runs row never goes on to wait for another's. Contacts
written in bulk (``insert()``: the planner's new scheduled contacts, which no run
counts; a benchmark's seed) do not pass through the hook: ``telejt figures rebuild``
recomputes everyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import bindparam, event, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, UOWTransaction, scoped_session

from telejt.clock import now
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.reports import figures
from telejt.reports.models import ParticipantRuns

#: the contact fields whose change can change a run
TRACKED_FIELDS = ("status", "attribution", "verified_at", "deadline_at", "participant_id")
#: participants whose runs this session's next flush must recompute
_CHANGED_KEY = "telejt.runs_changed"
#: the values refreshed, in the order of :func:`runs_rows`' columns after the id
RUN_VALUES = (
    "last_kept_at",
    "run_broken_at",
    "last_missed_at",
    "last_unverified_at",
    "kept_ever",
    "consecutive_misses",
    "consecutive_unverified",
    "consecutive_system_misses",
    "streak",
)
#: participants recomputed per statement
REFRESH_GROUP = 500


def runs_query(participant_ids: Sequence[int]) -> Any:
    """Each participant's run values, by :mod:`telejt.reports.figures`' definitions."""
    anchors = figures.anchors_subquery(Contact.participant_id.in_(participant_ids))
    return (
        select(
            Participant.id.label("participant_id"),
            *(anchors.c[name] for name in figures.ANCHORS),
            anchors.c.kept_ever,
            *figures.run_columns(Participant.id, anchors),
            figures.streak_column(
                Participant.id, anchors.c.last_missed_at, anchors.c.kept_ever
            ).label("streak"),
        )
        .outerjoin(anchors, anchors.c.participant_id == Participant.id)
        .where(Participant.id.in_(participant_ids))
    )


def _insert(connection: Connection) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(ParticipantRuns)


def refresh_runs(connection: Connection, participant_ids: Iterable[int]) -> int:
    """Recompute these participants' runs on this connection (in its transaction)."""
    ids = sorted(set(participant_ids))
    for start in range(0, len(ids), REFRESH_GROUP):
        group = ids[start : start + REFRESH_GROUP]
        connection.execute(
            _insert(connection).on_conflict_do_nothing(index_elements=["participant_id"]),
            [{"participant_id": pid, "refreshed_at": now()} for pid in group],
        )
        # PostgreSQL: wait for whoever changes the same men's runs, then count afresh
        connection.execute(
            select(ParticipantRuns.participant_id)
            .where(ParticipantRuns.participant_id.in_(group))
            .order_by(ParticipantRuns.participant_id)
            .with_for_update()
        )
        moment = now()
        rows = [
            {
                "pid": row.participant_id,
                **{name: getattr(row, name) or (None if name in figures.ANCHORS else 0)
                   for name in RUN_VALUES},
                "refreshed_at": moment,
            }
            for row in connection.execute(runs_query(group))
        ]  # fmt: skip
        if rows:
            connection.execute(
                update(ParticipantRuns)
                .where(ParticipantRuns.participant_id == bindparam("pid"))
                .values({name: bindparam(name) for name in (*RUN_VALUES, "refreshed_at")}),
                rows,
            )
    return len(ids)


def _outcome_changed(contact: Contact) -> bool:
    state = inspect(contact)
    return any(state.attrs[name].history.has_changes() for name in TRACKED_FIELDS)


@event.listens_for(Session, "before_flush")
def _note_changed_runs(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    """Note whose contacts' outcome fields this flush writes."""
    changed: set[int] = session.info.setdefault(_CHANGED_KEY, set())
    for obj in chain(session.new, session.deleted):
        if isinstance(obj, Contact) and obj.participant_id is not None:
            changed.add(obj.participant_id)
    for obj in session.dirty:
        if isinstance(obj, Contact) and _outcome_changed(obj):
            changed.add(obj.participant_id)
            previous = inspect(obj).attrs["participant_id"].history.deleted
            changed.update(pid for pid in previous if pid is not None)


@event.listens_for(Session, "before_commit")
def _refresh_changed_runs(session: Session) -> None:
    """Recompute the runs of the participants noted, last thing before the commit."""
    session.flush()  # what is still pending is noted too
    changed = session.info.pop(_CHANGED_KEY, None)
    if changed:
        refresh_runs(session.connection(), changed)


@event.listens_for(Session, "after_rollback")
def _forget_changed_runs(session: Session) -> None:
    """A rolled-back change changed nobody's runs."""
    session.info.pop(_CHANGED_KEY, None)


def rebuild_all_runs(session: Session | scoped_session[Any]) -> int:
    """Recompute every participant's runs (after bulk writes, or a new definition)."""
    ids = list(session.scalars(select(Participant.id).order_by(Participant.id)))
    return refresh_runs(session.connection(), ids)
