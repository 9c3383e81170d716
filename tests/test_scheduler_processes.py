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

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from factories import enroll_court
from sqlalchemy import func, select, update

from telejt.clock import now
from telejt.extensions import db
from telejt.scheduler.models import SchedulerHeartbeat
from telejt.sms.models import OutboundMessage

pytestmark = pytest.mark.slow

PARTICIPANTS = 200
ZONE = "America/Monterrey"
#: dispatch loops per process on PostgreSQL (one on SQLite)
THREADS = 2


def _seed(count: int) -> None:
    """Participants whose welcome SMS are due now (committed, for other processes)."""
    enroll_court(count, tag="Procesos", zone=ZONE)
    # the welcome waits for the end of quiet hours when the test runs at night
    db.session.execute(
        update(OutboundMessage).where(OutboundMessage.purpose == "welcome").values(due_at=now())
    )
    db.session.commit()


class SchedulerProcess:
    """One ``telejt scheduler run`` child process, its printed SMS collected as it runs."""

    def __init__(self, database_url: str, protocols_dir: Path, lease_seconds: int = 120) -> None:
        env = {
            **os.environ,
            "TELEJT_ENV": "testing",
            "SECRET_KEY": "x" * 32,
            "DATABASE_URL": database_url,
            "TELEJT_SMS_BACKEND": "console",
            "TELEJT_PUBLIC_URL": "https://telejt.example.mx",
            "TELEJT_CLAIM_LEASE_SECONDS": str(lease_seconds),
            "TELEJT_DISPATCH_THREADS": str(THREADS),
            "TELEJT_PROTOCOLS_DIR": str(protocols_dir),
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
        self.sent: list[tuple[str, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("[SMS → "):
                phone, text = line[len("[SMS → ") :].split("] ", 1)
                self.sent.append((phone, text.rstrip("\n")))

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
def protocols_dir(tmp_path: Path) -> Path:
    """The protocols with quiet hours moved away from the next hours.

    The dispatcher holds any SMS found due in quiet hours until morning, so at
    night the welcomes would not go during the test; these processes keep the
    same protocol and version with a quiet hour that starts three hours from now.
    """
    folder = tmp_path / "protocols"
    folder.mkdir()
    local = datetime.now(ZoneInfo(ZONE))
    start, end = local + timedelta(hours=3), local + timedelta(hours=4)
    for source in (Path(__file__).parents[1] / "protocols").glob("*.yaml"):
        text = source.read_text(encoding="utf-8")
        quiet = re.compile(r"^quiet_hours: .*$", re.MULTILINE)
        assert quiet.search(text), f"{source.name} has no one-line quiet_hours"
        moved = f'quiet_hours: {{start: "{start:%H:%M}", end: "{end:%H:%M}"}}'
        (folder / source.name).write_text(quiet.sub(moved, text), encoding="utf-8")
    return folder


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


def _printed(processes: list[SchedulerProcess]) -> Counter[tuple[str, str]]:
    """How often each (phone, text) was printed by the processes, all told."""
    return Counter(sent for proc in processes for sent in proc.sent)


def _wait_until(condition, timeout: float = 300) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the schedulers")


def test_two_schedulers_send_each_message_once(
    processes, database_url: str, protocols_dir: Path
) -> None:
    processes.extend(
        [
            SchedulerProcess(database_url, protocols_dir),
            SchedulerProcess(database_url, protocols_dir),
        ]
    )
    _wait_until(lambda: _beating() == 2)  # both up and looking for work: now it arrives
    _seed(PARTICIPANTS)
    _wait_until(lambda: _unsettled() == 0)
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
    _seed(PARTICIPANTS)
    first = SchedulerProcess(database_url, protocols_dir, lease_seconds=2)
    processes.append(first)
    _wait_until(lambda: len(first.sent) >= 30, timeout=60)
    first.kill()
    assert _unsettled() > 0, "the kill came too late to be mid-batch"

    second = SchedulerProcess(database_url, protocols_dir, lease_seconds=2)
    processes.append(second)
    _wait_until(lambda: _unsettled() == 0)
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
    assert statuses["delivered"] + statuses["needs_review"] == PARTICIPANTS
    for phone, status, body in rows:
        if status == "delivered":
            assert printed[(phone, body)] == 1
