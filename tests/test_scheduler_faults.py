"""Real scheduler processes against a Twilio that hangs or dies, through the real client.

Each test starts ``telejt scheduler run`` with the Twilio backend pointed, through
its own proxy and CA settings (``HTTPS_PROXY``, ``REQUESTS_CA_BUNDLE``), at a
Twilio-shaped HTTPS server on loopback (tests/fake_twilio.py). The server keeps
every message it accepted: a (recipient, text) received twice is a duplicate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_twilio import Answer, FakeTwilio
from processes import SchedulerProcess, seed_welcomes, wait_until
from sqlalchemy import func, select

from telejt.extensions import db
from telejt.sms.models import OutboundMessage
from telejt.sms.provider import SmsProviderOutage

pytestmark = pytest.mark.slow

ACCOUNT = "AC" + "3" * 32
#: SIGTERM to exit, at most (issue: within 10 s)
STOP_WITHIN_SECONDS = 10


@pytest.fixture
def twilio(tmp_path: Path) -> Iterator[FakeTwilio]:
    fake = FakeTwilio(tmp_path)
    yield fake
    fake.stop()


def twilio_env(fake: FakeTwilio, **timeouts: str) -> dict[str, str]:
    """A scheduler with the Twilio backend, reaching the fake through its proxy setting."""
    env = {
        "TELEJT_SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": "4" * 32,
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "5" * 32,
        "HTTPS_PROXY": fake.proxy_url,
        "REQUESTS_CA_BUNDLE": str(fake.ca_bundle),
        "NO_PROXY": "",
        "TELEJT_SMS_CONNECT_TIMEOUT": "1",
        "TELEJT_SMS_READ_TIMEOUT": "2",
        "TELEJT_SMS_SEND_TIMEOUT": "3",
        "TELEJT_SMS_BREAKER_FAILURES": "3",
    }
    env.update(timeouts)
    return env


def statuses() -> Counter[str]:
    rows = db.session.execute(
        select(OutboundMessage.status, func.count())
        .where(OutboundMessage.purpose == "welcome")
        .group_by(OutboundMessage.status)
    ).all()
    db.session.commit()
    return Counter({status: count for status, count in rows})


def outage_count() -> int:
    count = db.session.scalar(select(func.count()).select_from(SmsProviderOutage))
    db.session.commit()
    return int(count or 0)


def loops() -> int:
    return 2 if db.engine.dialect.name == "postgresql" else 1


def test_a_hang_holds_no_claim_and_sigterm_stops_within_ten_seconds(
    processes: list[Any], database_url: str, protocols_dir: Path, twilio: FakeTwilio, tmp_path: Path
) -> None:
    """Twilio accepts the connection and never answers: each send ends at its deadline
    and goes to review (it may have left), the breaker opens after three, nothing
    stays claimed, and SIGTERM ends the process in seconds."""
    twilio.behaviour = Answer(hang=True)
    seed_welcomes(50)
    scheduler = SchedulerProcess(
        database_url,
        protocols_dir,
        extra_env=twilio_env(twilio),
        log_path=tmp_path / "scheduler.log",
    )
    processes.append(scheduler)
    wait_until(lambda: outage_count() == 1, timeout=60)
    wait_until(lambda: statuses()["sending"] == 0, timeout=30)  # no claim held
    counts = statuses()
    assert 3 <= counts["needs_review"] <= 2 + loops()
    assert counts["needs_review"] + counts["pending"] == 50
    assert twilio.messages == []  # nothing was ever accepted

    elapsed = scheduler.terminate()
    assert elapsed < STOP_WITHIN_SECONDS, f"SIGTERM took {elapsed:.1f} s"
    assert statuses()["sending"] == 0


def test_sigterm_during_a_long_hang_stops_within_ten_seconds_and_settles_the_claim(
    processes: list[Any], database_url: str, protocols_dir: Path, twilio: FakeTwilio, tmp_path: Path
) -> None:
    """The production timeouts (30 s a send): SIGTERM mid-hang still ends in seconds; the
    message in flight goes to review, the rest of the claim back to the queue."""
    twilio.behaviour = Answer(hang=True)
    seed_welcomes(50)
    scheduler = SchedulerProcess(
        database_url,
        protocols_dir,
        extra_env=twilio_env(
            twilio,
            TELEJT_SMS_CONNECT_TIMEOUT="5",
            TELEJT_SMS_READ_TIMEOUT="15",
            TELEJT_SMS_SEND_TIMEOUT="30",
        ),
        log_path=tmp_path / "scheduler.log",
    )
    processes.append(scheduler)
    wait_until(lambda: twilio.requests >= loops(), timeout=60, every=0.05)
    elapsed = scheduler.terminate()
    assert elapsed < STOP_WITHIN_SECONDS, f"SIGTERM took {elapsed:.1f} s"
    counts = statuses()
    assert counts["sending"] == 0
    assert 1 <= counts["needs_review"] <= loops()
    assert counts["needs_review"] + counts["pending"] == 50


def test_sigkill_mid_batch_with_twilio_loses_nothing_and_sends_nothing_twice(
    processes: list[Any], database_url: str, protocols_dir: Path, twilio: FakeTwilio, tmp_path: Path
) -> None:
    total = 300
    twilio.behaviour = Answer(delay=0.01)
    seed_welcomes(total)
    env = twilio_env(twilio)
    first = SchedulerProcess(
        database_url,
        protocols_dir,
        lease_seconds=2,
        extra_env=env,
        log_path=tmp_path / "first.log",
    )
    processes.append(first)
    wait_until(lambda: len(twilio.messages) >= 20, timeout=60, every=0.02)
    first.kill()
    assert statuses()["queued"] < total, "the kill came too late to be mid-batch"

    second = SchedulerProcess(
        database_url,
        protocols_dir,
        lease_seconds=2,
        extra_env=env,
        log_path=tmp_path / "second.log",
    )
    processes.append(second)
    wait_until(lambda: statuses()["pending"] + statuses()["sending"] == 0, timeout=120)
    second.stop()

    sent = twilio.sent_count()
    assert max(sent.values()) == 1, sent.most_common(3)  # 0 duplicated
    rows = db.session.execute(
        select(OutboundMessage.to_phone, OutboundMessage.status, OutboundMessage.body).where(
            OutboundMessage.purpose == "welcome"
        )
    ).all()
    counts = Counter(status for _, status, _ in rows)
    assert counts["needs_review"] <= loops()  # at most the send in flight per loop
    assert counts["queued"] + counts["needs_review"] == total  # 0 lost
    for phone, status, body in rows:
        if status == "queued":
            assert sent[(phone, body)] == 1
