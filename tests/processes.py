"""Real scheduler processes for tests: start, read what they print, stop, kill.

Every name, number and case in what they are given is invented.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from factories import enroll_court
from sqlalchemy import update

from telejt.clock import now
from telejt.extensions import db
from telejt.sms.models import OutboundMessage

ZONE = "America/Monterrey"
#: dispatch loops per process on PostgreSQL (one on SQLite)
THREADS = 2


def seed_welcomes(count: int) -> None:
    """Participants whose welcome SMS are due now (committed, for other processes)."""
    enroll_court(count, tag="Procesos", zone=ZONE)
    # the welcome waits for the end of quiet hours when the test runs at night
    db.session.execute(
        update(OutboundMessage).where(OutboundMessage.purpose == "welcome").values(due_at=now())
    )
    db.session.commit()


class SchedulerProcess:
    """One ``telejt scheduler run`` child process, its printed SMS collected as it runs."""

    def __init__(
        self,
        database_url: str,
        protocols_dir: Path,
        lease_seconds: int = 120,
        extra_env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
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
        env.update(extra_env or {})
        telejt = Path(sys.executable).with_name("telejt")
        self._log = log_path.open("w") if log_path is not None else None
        self.process = subprocess.Popen(
            [str(telejt), "scheduler", "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._log if self._log is not None else subprocess.DEVNULL,
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

    def terminate(self) -> float:
        """SIGTERM, and the seconds until the process exited (killed after 30)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        elapsed = time.monotonic() - started
        self._finish()
        return elapsed

    def _finish(self) -> None:
        self._reader.join(timeout=10)
        if self.process.stdout is not None and not self.process.stdout.closed:
            self.process.stdout.close()
        if self._log is not None and not self._log.closed:
            self._log.close()


def wait_until(condition, timeout: float = 300, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError("timed out waiting for the schedulers")
