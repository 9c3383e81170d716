"""Real scheduler processes: two at once send each message once; a SIGKILL loses nothing.

These tests start ``telejt scheduler run`` as separate processes against the test
database, with the console SMS backend, which prints every SMS it sends on its
standard output. Every participant gets one welcome, due now whatever the hour:
the processes read the protocol with its quiet hours moved three hours ahead (at
night they would rightly hold every SMS until morning). A line ``(phone, text)``
printed twice is a message sent twice. Other messages the
processes may send meanwhile (a check-in that falls due during the test) are
different texts and do not count as repeats.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from processes import THREADS, SchedulerProcess, seed_welcomes, wait_until
from sqlalchemy import func, select

from telejt.extensions import db
from telejt.scheduler.models import SchedulerHeartbeat
from telejt.sms.models import OutboundMessage

pytestmark = pytest.mark.slow

PARTICIPANTS = 200
#: enough welcomes that a dispatcher (a few ms each) is surely mid-claim when killed
KILLED_AMID = 1000


def _unsettled() -> int:
    db.session.expire_all()
    count = db.session.scalar(
        select(func.count())
        .select_from(OutboundMessage)
        .where(
            OutboundMessage.purpose == "welcome",
            OutboundMessage.status.in_(("pending", "sending")),
        )
    )
    db.session.commit()
    return int(count or 0)


def _beating() -> int:
    count = db.session.scalar(select(func.count()).select_from(SchedulerHeartbeat))
    db.session.commit()
    return int(count or 0)


def _printed(processes: list[SchedulerProcess]) -> Counter[tuple[str, str]]:
    """How often each (phone, text) was printed by the processes, all told."""
    return Counter(sent for proc in processes for sent in proc.sent)


def test_two_schedulers_send_each_message_once(
    processes, database_url: str, protocols_dir: Path
) -> None:
    processes.extend(
        [
            SchedulerProcess(database_url, protocols_dir),
            SchedulerProcess(database_url, protocols_dir),
        ]
    )
    wait_until(lambda: _beating() == 2)  # both up and looking for work: now it arrives
    seed_welcomes(PARTICIPANTS)
    wait_until(lambda: _unsettled() == 0)
    for proc in processes:
        proc.stop()
    printed = _printed(processes)
    assert len({phone for phone, _ in printed}) == PARTICIPANTS
    assert max(printed.values()) == 1, printed.most_common(3)
    delivered = db.session.scalar(
        select(func.count())
        .select_from(OutboundMessage)
        .where(OutboundMessage.purpose == "welcome", OutboundMessage.status == "delivered")
    )
    assert delivered == PARTICIPANTS


def test_sigkill_mid_batch_loses_nothing_and_duplicates_nothing(
    processes, database_url: str, protocols_dir: Path
) -> None:
    seed_welcomes(KILLED_AMID)
    first = SchedulerProcess(database_url, protocols_dir, lease_seconds=2)
    processes.append(first)
    wait_until(lambda: len(first.sent) >= 30, timeout=60, every=0.02)
    first.kill()
    assert _unsettled() > 0, "the kill came too late to be mid-batch"

    second = SchedulerProcess(database_url, protocols_dir, lease_seconds=2)
    processes.append(second)
    wait_until(lambda: _unsettled() == 0)
    second.stop()

    printed = _printed([first, second])
    assert max(printed.values()) == 1, printed.most_common(3)
    rows = db.session.execute(
        select(OutboundMessage.to_phone, OutboundMessage.status, OutboundMessage.body).where(
            OutboundMessage.purpose == "welcome"
        )
    ).all()
    statuses = Counter(status for _, status, _ in rows)
    # at most the one message in flight per dispatch loop at the kill awaits review
    loops = THREADS if db.engine.dialect.name == "postgresql" else 1
    assert statuses["needs_review"] <= loops
    assert statuses["delivered"] + statuses["needs_review"] == KILLED_AMID
    for phone, status, body in rows:
        if status == "delivered":
            assert printed[(phone, body)] == 1
