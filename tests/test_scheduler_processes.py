"""Real scheduler processes: two at once send each message once; a SIGKILL loses nothing.

These tests start ``telejt scheduler run`` as separate processes against the test
database, with the console SMS backend, which prints every SMS it sends on its
standard output. Every participant gets exactly one message (his welcome), so a
phone number printed twice is a message sent twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from telejt.courts.services import create_court
from telejt.extensions import db
from telejt.participants.services import enroll_participant
from telejt.scheduler.models import SchedulerHeartbeat
from telejt.sms.models import OutboundMessage

pytestmark = pytest.mark.slow

PARTICIPANTS = 200


def _seed(count: int) -> None:
    """Participants whose welcome SMS are due now (committed, for other processes)."""
    from telejt.auth.services import create_staff_user

    court = create_court(
        name="Juzgado de Procesos", state="Nuevo León", timezone="America/Monterrey"
    )
    therapist = create_staff_user(
        email="t@procesos.example.mx", role="therapist", court_ids=[court.id]
    )
    for n in range(count):
        enroll_participant(
            court_id=court.id,
            case_number=f"PROC-{n:05d}",
            name=f"Sintético {n}",
            phone=f"+52 81 57{n // 10000:02d} {n % 10000:04d}",
            therapist_id=therapist.id,
            protocol_id="remote-outpatient",
            phase_id="2",
            session_slots=[{"weekday": "tue", "time": "10:00"}],
            consents={"sms": True, "telehealth": True},
        )
    db.session.commit()


class SchedulerProcess:
    """One ``telejt scheduler run`` child process, its printed SMS collected as it runs."""

    def __init__(self, database_url: str, lease_seconds: int = 120) -> None:
        env = {
            **os.environ,
            "TELEJT_ENV": "testing",
            "SECRET_KEY": "x" * 32,
            "DATABASE_URL": database_url,
            "TELEJT_SMS_BACKEND": "console",
            "TELEJT_PUBLIC_URL": "https://telejt.example.mx",
            "TELEJT_CLAIM_LEASE_SECONDS": str(lease_seconds),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("REDIS_URL", None)
        telejt = Path(sys.executable).with_name("telejt")
        self.process = subprocess.Popen(
            [str(telejt), "scheduler", "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.phones: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("[SMS → "):
                self.phones.append(line[len("[SMS → ") :].split("]", 1)[0])

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._finish()

    def stop(self) -> None:
        """SIGTERM: the scheduler shuts down."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._finish()

    def _finish(self) -> None:
        self._reader.join(timeout=10)
        if self.process.stdout is not None and not self.process.stdout.closed:
            self.process.stdout.close()


@pytest.fixture
def processes(committed_db, database_url: str) -> Iterator[list[SchedulerProcess]]:
    started: list[SchedulerProcess] = []
    yield started
    for proc in started:
        proc.stop()


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


def _wait_until(condition, timeout: float = 300) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the schedulers")


def test_two_schedulers_send_each_message_once(processes, database_url: str) -> None:
    processes.extend([SchedulerProcess(database_url), SchedulerProcess(database_url)])
    _wait_until(lambda: _beating() == 2)  # both up and looking for work: now it arrives
    _seed(PARTICIPANTS)
    _wait_until(lambda: _unsettled() == 0)
    for proc in processes:
        proc.stop()
    printed = Counter(phone for proc in processes for phone in proc.phones)
    assert len(printed) == PARTICIPANTS
    assert max(printed.values()) == 1, printed.most_common(3)
    delivered = db.session.scalar(
        select(func.count())
        .select_from(OutboundMessage)
        .where(OutboundMessage.purpose == "welcome", OutboundMessage.status == "delivered")
    )
    assert delivered == PARTICIPANTS


def test_sigkill_mid_batch_loses_nothing_and_duplicates_nothing(
    processes, database_url: str
) -> None:
    _seed(PARTICIPANTS)
    first = SchedulerProcess(database_url, lease_seconds=2)
    processes.append(first)
    _wait_until(lambda: len(first.phones) >= 30, timeout=60)
    first.kill()
    assert _unsettled() > 0, "the kill came too late to be mid-batch"

    second = SchedulerProcess(database_url, lease_seconds=2)
    processes.append(second)
    _wait_until(lambda: _unsettled() == 0)
    second.stop()

    printed = Counter(phone for proc in (first, second) for phone in proc.phones)
    assert max(printed.values()) == 1, printed.most_common(3)
    rows = db.session.execute(
        select(
            OutboundMessage.to_phone, OutboundMessage.status, OutboundMessage.participant_id
        ).where(OutboundMessage.purpose == "welcome")
    ).all()
    statuses = Counter(status for _, status, _ in rows)
    # at most the one message in flight at the kill awaits a person's review
    assert statuses["needs_review"] <= 1
    assert statuses["delivered"] + statuses["needs_review"] == PARTICIPANTS
    for phone, status, _ in rows:
        if status == "delivered":
            assert printed[phone] == 1
