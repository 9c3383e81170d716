"""The deadline watcher reaches dashboards fast: it wakes at the deadline itself, settles a
burst a few contacts per commit (each commit sends its alerts), and several schedulers
share a burst without settling any contact twice."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from telejt import clock
from telejt.alerts.models import Alert
from telejt.extensions import db
from telejt.planning import watcher
from telejt.planning.models import Contact
from telejt.scheduler import runner

MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)


def test_wakes_at_a_deadline_even_a_few_milliseconds_away(frozen_clock) -> None:
    moment = frozen_clock.set(MONDAY)
    soon = moment + timedelta(milliseconds=30)
    assert runner._wake_time(soon) == soon
    assert runner._wake_time(moment + timedelta(seconds=3)) == moment + timedelta(seconds=3)
    assert runner._wake_time(moment + timedelta(hours=1)) == moment + runner.MAX_SLEEP
    assert runner._wake_time(None) == moment + runner.MAX_SLEEP


def test_due_work_left_to_another_scheduler_is_looked_at_again_without_spinning(
    frozen_clock,
) -> None:
    moment = frozen_clock.set(MONDAY)
    assert runner._wake_time(moment - timedelta(seconds=1)) == moment + runner.MIN_SLEEP
    assert runner._wake_time(moment) == moment + runner.MIN_SLEEP


def _overdue_contacts(make_participant, frozen_clock, participants: int = 4) -> list[Contact]:
    frozen_clock.set(MONDAY)
    for _ in range(participants):
        make_participant()
    contacts = list(
        db.session.scalars(select(Contact).where(Contact.status.in_(watcher.WATCHED_STATUSES)))
    )
    frozen_clock.set(max(c.deadline_at for c in contacts) + timedelta(seconds=1))
    return contacts


def test_a_burst_is_committed_a_few_contacts_at_a_time(
    app_ctx, make_participant, frozen_clock, monkeypatch
) -> None:
    contacts = _overdue_contacts(make_participant, frozen_clock)
    assert len(contacts) > 2 * watcher.WATCH_BATCH
    journal: list[tuple[str, Any]] = []
    settle = watcher.settle_contact

    def settle_and_record(contact, messages=None):
        journal.append(("settle", contact.id))
        return settle(contact, messages)

    monkeypatch.setattr(watcher, "settle_contact", settle_and_record)
    monkeypatch.setattr(
        "telejt.live._emit_now",
        lambda name, payload, rooms: journal.append((name, payload["id"])),
    )

    assert watcher.watch_deadlines() == len(contacts)

    settled = [ident for what, ident in journal if what == "settle"]
    alerted = [ident for what, ident in journal if what == "alert.created"]
    updated = Counter(ident for what, ident in journal if what == "contact.updated")
    assert sorted(settled) == sorted(c.id for c in contacts)
    assert updated == Counter({c.id: 1 for c in contacts})
    assert len(set(alerted)) == len(contacts)  # none excused: all alert
    # each twice: the team's rooms get the alert whole, the court's room the court's cut
    assert set(Counter(alerted).values()) == {2}
    # the first batch's alerts went out before the rest of the burst was settled
    first_alert = journal.index(("alert.created", alerted[0]))
    settled_before = sum(1 for what, _ in journal[:first_alert] if what == "settle")
    assert settled_before == watcher.WATCH_BATCH
    # and contacts are settled oldest deadline first
    deadlines = {c.id: c.deadline_at for c in contacts}
    assert [deadlines[i] for i in settled] == sorted(deadlines[i] for i in settled)


def test_a_deadline_that_passes_during_the_pass_is_settled_in_the_same_run(
    app_ctx, make_participant, frozen_clock, monkeypatch
) -> None:
    frozen_clock.set(MONDAY)
    make_participant()
    first, second = db.session.scalars(select(Contact).order_by(Contact.deadline_at).limit(2)).all()
    frozen_clock.set(first.deadline_at)
    rearmed: list[datetime | None] = []
    monkeypatch.setattr(runner, "_rearm", lambda job_id, next_at: rearmed.append(next_at))
    watch = watcher.watch_deadlines
    calls: list[int] = []

    def watch_then_time_passes(limit: int = watcher.WATCH_BATCH) -> int:
        settled = watch(limit)
        if not calls:  # the second deadline passes between the last claim and the re-arm
            frozen_clock.set(second.deadline_at)
        calls.append(settled)
        return settled

    monkeypatch.setattr(watcher, "watch_deadlines", watch_then_time_passes)
    runner._watch_and_rearm()

    db.session.expire_all()
    assert calls[:2] == [1, 1]
    assert {first.status, second.status} <= {"missed", "excused"}
    assert rearmed and (rearmed[-1] is None or rearmed[-1] > clock.now())


def test_due_contacts_another_scheduler_holds_end_the_run(frozen_clock, monkeypatch) -> None:
    moment = frozen_clock.set(MONDAY)
    calls: list[int] = []
    rearmed: list[datetime | None] = []

    def watch_deadlines() -> int:
        calls.append(0)
        return 0

    monkeypatch.setattr(watcher, "watch_deadlines", watch_deadlines)
    monkeypatch.setattr(watcher, "next_deadline_at", lambda: moment - timedelta(seconds=2))
    monkeypatch.setattr(runner, "_rearm", lambda job_id, next_at: rearmed.append(next_at))
    runner._watch_and_rearm()
    assert calls == [0]
    assert rearmed == [moment - timedelta(seconds=2)]  # _wake_time makes it MIN_SLEEP


def test_two_schedulers_share_a_burst_and_settle_each_contact_once(
    committed_db, is_postgres
) -> None:
    if not is_postgres:
        pytest.skip("several schedulers at once run on PostgreSQL")
    from factories import at_once, enroll_court

    clock.freeze(MONDAY)
    try:
        enroll_court(8, tag="Ráfagas", exchange="81 5600")
        db.session.commit()
        total = db.session.scalar(select(func.count()).select_from(Contact))
        latest = db.session.scalar(select(func.max(Contact.deadline_at)))
        db.session.commit()
        assert total and total > 4 * watcher.WATCH_BATCH
        clock.freeze(latest + timedelta(seconds=1))

        counts = at_once(committed_db, 2, watcher.watch_deadlines)
        assert sum(counts) == total
        open_left = db.session.scalar(
            select(func.count())
            .select_from(Contact)
            .where(Contact.status.in_(watcher.WATCHED_STATUSES))
        )
        per_contact = Counter(db.session.scalars(select(Alert.contact_id)))
        assert open_left == 0
        assert len(per_contact) == total and max(per_contact.values()) == 1
    finally:
        clock.freeze(None)
