"""Each participant's stored runs follow every change of his contacts' outcomes.

The dashboard reads runs of misses, streaks and last kept contacts from
``participant_runs`` instead of scanning a court's history per request; they must be
the figures' own definition at every moment: after each way an outcome changes, after
two transactions change the same man's contacts at once, and after a bulk write and
``telejt figures rebuild``.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.orm import Session
from test_dashboard_views import add_contact

from telejt.clock import now
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.reports import runs
from telejt.reports.models import ParticipantRuns

DAY = timedelta(days=1)


def stored(participant_id: int) -> dict[str, Any]:
    row = db.session.get(ParticipantRuns, participant_id, populate_existing=True)
    assert row is not None
    return {name: getattr(row, name) for name in runs.RUN_VALUES}


def live(participant_id: int) -> dict[str, Any]:
    row = db.session.execute(runs.runs_query([participant_id])).one()
    return {name: getattr(row, name) or (None if name.endswith("_at") else 0)
            for name in runs.RUN_VALUES}  # fmt: skip


def test_runs_follow_each_way_an_outcome_changes(
    app_ctx, frozen_clock, make_participant, make_staff
) -> None:
    from telejt.planning.justification import justify_miss
    from telejt.planning.verification import verify_miss

    person = make_participant()
    coordinator = make_staff("coordinator", courts=[person.court])
    db.session.query(Contact).filter(Contact.participant_id == person.id).delete()
    kept = add_contact(person, now() - 9 * DAY, "attended")
    first = add_contact(person, now() - 7 * DAY, "missed", "participant")
    second = add_contact(person, now() - 5 * DAY, "missed", "participant")
    db.session.commit()
    assert stored(person.id) == live(person.id)
    assert stored(person.id)["consecutive_misses"] == 2
    assert stored(person.id)["consecutive_unverified"] == 2
    assert stored(person.id)["last_kept_at"] == kept.deadline_at

    verify_miss(first, coordinator, "participant", "Llamamos: no vino.")
    db.session.commit()
    assert stored(person.id) == live(person.id)
    assert stored(person.id)["consecutive_unverified"] == 1
    assert stored(person.id)["last_missed_at"] == first.deadline_at

    justify_miss(second, coordinator, "Hospitalizado.")
    db.session.commit()
    assert stored(person.id) == live(person.id)
    assert stored(person.id)["consecutive_misses"] == 1

    late = add_contact(person, now() - 3 * DAY, "scheduled")
    db.session.commit()
    late.status = "attended"  # the therapist's marking, through the ORM
    db.session.commit()
    assert stored(person.id) == live(person.id)
    assert (stored(person.id)["consecutive_misses"], stored(person.id)["streak"]) == (0, 1)

    db.session.delete(late)
    db.session.commit()
    assert stored(person.id) == live(person.id)


def test_a_bulk_write_is_caught_up_by_the_rebuild_command(
    runner, frozen_clock, make_participant
) -> None:
    person = make_participant()
    add_contact(person, now() - 4 * DAY, "attended")
    db.session.commit()
    before = stored(person.id)
    db.session.execute(
        insert(Contact),
        [
            {
                "participant_id": person.id, "kind": "session", "plan_key": "bulk:1",
                "starts_at": now() - 2 * DAY, "ends_at": now() - 2 * DAY + timedelta(hours=1),
                "deadline_at": now() - 2 * DAY + timedelta(minutes=15), "status": "missed",
                "attribution": "participant", "protocol_id": person.protocol_id,
                "protocol_version": person.protocol_version, "phase_id": person.phase_id,
                "join_token": "bulk-token-1",
            }
        ],
    )  # fmt: skip
    db.session.commit()
    assert stored(person.id) == before  # past the hook
    assert live(person.id)["consecutive_misses"] == 1
    from telejt.cli import cli

    result = runner.invoke(cli, ["figures", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "runs recomputed" in result.output
    assert stored(person.id) == live(person.id)


def test_two_transactions_at_once_count_with_each_other(committed_db) -> None:
    """PostgreSQL: the second waits for the first's lock, then counts with its change."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite lets one writer at a time")
    from factories import enroll_court

    _court, _therapist, (person,) = enroll_court(1, tag="Carrera")
    one = add_contact(person, now() - 6 * DAY, "scheduled")
    two = add_contact(person, now() - 4 * DAY, "scheduled")
    db.session.commit()
    pid, one_id, two_id = person.id, one.id, two.id
    db.session.remove()

    first = Session(db.engine)
    second = Session(db.engine)
    try:
        first.get(Contact, one_id).status = "attended"
        first.flush()
        # what its commit does first: lock his runs row and recompute (held until commit)
        runs.refresh_runs(first.connection(), [pid])
        done = threading.Event()

        def change_the_other() -> None:
            contact = second.get(Contact, two_id)
            assert contact is not None
            contact.status, contact.attribution = "missed", "participant"
            second.commit()
            done.set()

        worker = threading.Thread(target=change_the_other)
        worker.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the second waits on the lock
            with db.engine.connect() as probe:
                waiting = probe.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                )
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the second transaction never waited for the first"
        assert not done.is_set()
        first.commit()
        worker.join(10)
        assert done.is_set()
    finally:
        first.close()
        second.close()
    assert stored(pid) == live(pid)
    assert stored(pid)["consecutive_misses"] == 1 and stored(pid)["kept_ever"] == 1
