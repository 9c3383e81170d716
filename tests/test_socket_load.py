"""Load, bounded in count and time: 600 cookieless sockets against the real web process.

The web process as the Procfile starts it (gunicorn with telejt/gunicorn_conf.py: one
gthread worker, TELEJT_SOCKETS_MAX + 100 threads). 600 clients open Socket.IO
WebSockets without a cookie, again and again, for ten seconds (before the gate,
such a load held every thread and /healthz and webhooks timed out for minutes);
meanwhile /healthz and a signed Twilio webhook are asked every 100 ms. Every one
of them must answer, and quickly. The bound asserted here is generous (a shared
2-core machine runs other suites beside this one); bench/bench_sockets.py measures
the same load at length and docs/benchmarks.md has its figures (p95 well under
200 ms).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from engineio_client import Tally, bare_attacker
from test_live_redis import free_port
from twilio.request_validator import RequestValidator

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ATTACKERS = 600
SECONDS = 10
AUTH_TOKEN = "9" * 32
#: generous: the benchmark's figure is the claim (p95 < 200 ms); this catches starvation
P95_BOUND_MS = 1000


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def _timed(request: urllib.request.Request, into: list[float], failures: list[str]) -> None:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            if response.status != 200:
                failures.append(f"{request.full_url} {response.status}")
                return
    except (urllib.error.URLError, OSError) as error:
        failures.append(f"{request.full_url} {error}")
        return
    into.append((time.monotonic() - started) * 1000)


def test_600_cookieless_sockets_leave_health_and_webhooks_answering(
    committed_db, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TELEJT_ENV": "testing",
        "SECRET_KEY": "socket-load-" + secrets.token_hex(16),
        "DATABASE_URL": database_url,
        "TELEJT_PUBLIC_URL": "https://telejt.example.mx",
        "TELEJT_SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": "AC" + "9" * 32,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "9" * 32,
        "PORT": str(port),
    }
    env.pop("REDIS_URL", None)
    log = (tmp_path / "web.log").open("w")
    web = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--config", "python:telejt.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "telejt.wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
                break
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline, (tmp_path / "web.log").read_text()[-2000:]
                time.sleep(0.2)

        healthz: list[float] = []
        webhook: list[float] = []
        failures: list[str] = []
        stop = threading.Event()
        validator = RequestValidator(AUTH_TOKEN)

        def probe() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                _timed(urllib.request.Request(f"{base}/healthz"), healthz, failures)
                form = {"MessageSid": f"SM{n:032x}", "From": f"+5281555500{n % 100:02d}",
                        "To": "+528100000000", "Body": "hola"}  # fmt: skip
                signature = validator.compute_signature(
                    "https://telejt.example.mx/twilio/sms", form
                )
                request = urllib.request.Request(
                    f"{base}/twilio/sms",
                    data=urllib.parse.urlencode(form).encode(),
                    headers={"X-Twilio-Signature": signature},
                )
                _timed(request, webhook, failures)
                stop.wait(0.1)

        thread = threading.Thread(target=probe, daemon=True)
        thread.start()
        tally = Tally()

        async def attack() -> None:
            until = time.monotonic() + SECONDS
            await asyncio.gather(*(bare_attacker(port, tally, until) for _ in range(ATTACKERS)))

        asyncio.run(attack())
        stop.set()
        thread.join(timeout=60)
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
        log.close()

    assert failures == []
    assert tally.held == 0 and tally.opened == 0  # not one socket was let in
    assert tally.refused["http 401"] >= ATTACKERS  # each attacker tried, and was refused
    assert len(healthz) >= 20 and len(webhook) >= 20
    print(
        f"\n600 cookieless sockets ({sum(tally.refused.values())} refused): /healthz p95 "
        f"{_p95(healthz):.0f} ms, webhook p95 {_p95(webhook):.0f} ms"
    )
    assert _p95(healthz) < P95_BOUND_MS and _p95(webhook) < P95_BOUND_MS
