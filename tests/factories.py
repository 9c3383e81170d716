"""Synthetic worlds for tests that commit (other threads and processes read them).

Every name, case number and phone here is invented.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def enroll_court(
    count: int,
    *,
    tag: str,
    zone: str = "America/Monterrey",
    state: str = "Nuevo León",
    exchange: str = "81 5700",
) -> tuple[Any, Any, list[Any]]:
    """A court, its therapist, and ``count`` phase-2 participants (Tuesday 10:00 sessions).

    ``exchange`` is the phone's first six digits (area code and block); each
    participant's last four are his number in the list. Not committed.
    """
    from telejt.auth.services import create_staff_user
    from telejt.courts.services import create_court
    from telejt.participants.services import enroll_participant

    assert count <= 10_000
    court = create_court(name=f"Juzgado {tag}", state=state, timezone=zone)
    therapist = create_staff_user(
        email=f"t@{tag.lower().replace(' ', '-')}.example.mx",
        role="therapist",
        court_ids=[court.id],
    )
    participants = [
        enroll_participant(
            court_id=court.id,
            case_number=f"{tag[:3].upper()}-{n:05d}",
            name=f"Sintético {n}",
            phone=f"+52 {exchange} {n:04d}",
            therapist_id=therapist.id,
            protocol_id="remote-outpatient",
            phase_id="2",
            session_slots=[{"weekday": "tue", "time": "10:00"}],
            consents={"sms": True, "telehealth": True},
        )
        for n in range(count)
    ]
    return court, therapist, participants


def at_once(app: Any, count: int, job: Callable[[], T], timeout: float = 120) -> list[T]:
    """Run ``job`` in ``count`` threads released together, each in its own app context
    (its own database session), as several scheduler processes would; their results.

    An exception in any thread is raised here, not lost in the thread.
    """
    start = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        from telejt.extensions import db

        with app.app_context():
            try:
                start.wait()
                results.append(job())
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    assert len(results) == count, "a thread did not finish in time"
    return results
