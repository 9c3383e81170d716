"""Sockets against the web process: who answers /healthz and Twilio's webhook under load.

    PYTHONPATH=. .venv/bin/python bench/bench_sockets.py --worker both \\
        [--bare 600] [--dashboards 1000] [--seconds 30] [--threads 1100]

The web process as production runs it (gunicorn, one worker, telejt.wsgi:app), with
a gthread worker, a gevent worker, or both one after the other. Two loads, each
while a probe measures ``GET /healthz`` and a signed ``POST /twilio/sms`` (an SMS
from an unknown number: signature check, one inbound row, a TwiML reply) every
100 ms:

- **bare**: ``--bare`` clients open Socket.IO WebSockets without a cookie, again and
  again, for ``--seconds`` (the attack of issue 12: 600 of them took every thread);
- **dashboards**: ``--dashboards`` logged-in staff hold a /live WebSocket open each
  (one staff session per socket, all from 127.0.0.1, so the per-address cap is
  raised), answering pings, for ``--seconds``.

The clients are asyncio coroutines speaking Engine.IO 4 over WebSocket (wsproto),
so 1,000 of them cost this process little. Printed per worker and load: the
probe's p50/p95/max and failures, sockets held or refused, and the web process's
resident memory and CPU seconds. Exit 1 if a probe request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))  # the asyncio Engine.IO client the load test uses too
os.environ["TELEJT_ENV"] = "testing"

import benchlib  # noqa: E402
from engineio_client import run_load  # noqa: E402

ACCOUNT = "AC" + "6" * 32
AUTH_TOKEN = "7" * 32
SECRET_KEY = "bench-sockets-" + secrets.token_hex(16)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_and_cpu(pid: int) -> tuple[float, float]:
    """Resident MB and CPU seconds of a process and its children (the gunicorn worker)."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    rss = cpu = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for one in pids:
        try:
            status = Path(f"/proc/{one}/status").read_text()
            rss += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, AttributeError):
            continue
    return rss, cpu


@dataclass
class Probe:
    """Latencies of /healthz and the signed webhook, measured from a thread."""

    url: str
    healthz: list[float] = field(default_factory=list)
    webhook: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        from twilio.request_validator import RequestValidator

        validator = RequestValidator(AUTH_TOKEN)
        public = "https://telejt.example.mx/twilio/sms"
        n = 0
        while not self.stop.is_set():
            n += 1
            self._timed(self.healthz, urllib.request.Request(f"{self.url}/healthz"))
            form = {
                "MessageSid": "SM" + secrets.token_hex(16),
                "From": f"+5281{n % 100000000:08d}",
                "To": "+528100000000",
                "Body": "hola",
            }
            signature = validator.compute_signature(public, form)
            body = urllib.parse.urlencode(form).encode()
            request = urllib.request.Request(
                f"{self.url}/twilio/sms",
                data=body,
                headers={
                    "X-Twilio-Signature": signature,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            self._timed(self.webhook, request)
            self.stop.wait(0.1)

    def _timed(self, into: list[float], request: urllib.request.Request) -> None:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
                if response.status != 200:
                    self.failures.append(f"{request.full_url}: {response.status}")
        except (urllib.error.URLError, OSError) as error:
            self.failures.append(f"{request.full_url}: {error}")
            return
        into.append((time.monotonic() - started) * 1000)


def summary(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    ordered = sorted(samples)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    return (
        f"n={len(ordered)} p50={statistics.median(ordered):.1f} ms "
        f"p95={p95:.1f} ms max={ordered[-1]:.1f} ms"
    )


def start_web(
    worker: str, port: int, env: dict[str, str], threads: int, logs: Path, code: Path = ROOT
) -> Any:
    bindir = Path(sys.executable).parent
    command = [str(bindir / "gunicorn")]
    if (code / "gunicorn.conf.py").exists():  # a checkout from before it moved into the package
        command += ["--config", str(code / "gunicorn.conf.py")]
    elif (code / "telejt" / "gunicorn_conf.py").exists():
        command += ["--config", "python:telejt.gunicorn_conf"]
    command += ["--bind", f"127.0.0.1:{port}", "--worker-class", worker, "--log-level", "warning"]
    if worker == "gthread":
        command += ["--threads", str(threads)]
    command.append("telejt.wsgi:app")
    process = subprocess.Popen(
        command,
        env={**env, "PYTHONPATH": str(code)},
        cwd=code,
        stdout=subprocess.DEVNULL,
        stderr=(logs / f"web-{worker}.log").open("w"),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the {worker} web process did not start: see {logs}")


def measure(
    worker: str, load: str, args: argparse.Namespace, env: dict[str, str], cookies: list[str]
) -> bool:
    port = free_port()
    logs = Path(tempfile.mkdtemp(prefix="bench-sockets-"))
    web = start_web(worker, port, {**env}, args.threads, logs, args.code)
    try:
        print(f"\n(load average before: {os.getloadavg()[0]:.2f})")
        rss_before, cpu_before = rss_and_cpu(web.pid)
        probe = Probe(f"http://127.0.0.1:{port}")
        thread = threading.Thread(target=probe.run, daemon=True)
        sample: dict[str, Any] = {}
        thread.start()
        tally = asyncio.run(
            run_load(
                port,
                bare=args.bare if load == "bare" else 0,
                cookies=cookies if load == "dashboards" else [],
                seconds=args.seconds,
                sample=sample,
                pause=args.pause,
            )
        )
        rss_after, cpu_after = rss_and_cpu(web.pid)
        probe.stop.set()
        thread.join(timeout=60)
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
    print(f"\n== worker {worker}, load {load}")
    print(f"   /healthz       {summary(probe.healthz)}")
    print(f"   /twilio/sms    {summary(probe.webhook)}")
    print(f"   probe failures {len(probe.failures)} {probe.failures[:3]}")
    print(
        f"   sockets: peak held {sample.get('peak_held', 0)}, opened {tally.opened}, "
        f"refused {dict(tally.refused)}"
    )
    print(
        f"   web process: RSS {rss_before:.0f} → {rss_after:.0f} MB, "
        f"CPU {cpu_after - cpu_before:.1f} s"
    )
    print(f"   load average (1 min): {os.getloadavg()[0]:.2f}")
    return not probe.failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--worker", choices=("gthread", "gevent", "both"), default="both")
    parser.add_argument("--load", choices=("bare", "dashboards", "both"), default="both")
    parser.add_argument("--bare", type=int, default=600)
    parser.add_argument(
        "--pause", type=float, default=1.0, help="a bare client's pause between attempts (s)"
    )
    parser.add_argument("--dashboards", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--threads", type=int, default=1100, help="gthread --threads")
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="serve another checkout of telejt (say, the commit before the socket gate)",
    )
    parser.add_argument(
        "--sqlite-url", default=f"sqlite:///{tempfile.gettempdir()}/bench-sockets.db"
    )
    args = parser.parse_args()

    url = args.sqlite_url
    benchlib.reset_database(url)
    app = benchlib.make_app(url)
    from telejt.auth.services import create_staff_user
    from telejt.courts.services import create_court
    from telejt.extensions import db

    with app.app_context():
        court = create_court(
            name="Juzgado de carga", state="Nuevo León", timezone="America/Monterrey"
        )
        db.session.flush()
        judge = create_staff_user(
            email="jueza@carga.example.mx",
            role="court",
            court_ids=[court.id],
            court_position="judge",
        )
        db.session.commit()
        judge_id = judge.id
    app.config["SECRET_KEY"] = SECRET_KEY
    cookies = [benchlib.login_cookie(app, judge_id) for _ in range(args.dashboards)]
    env = {
        **os.environ,
        "TELEJT_ENV": "testing",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": url,
        "TELEJT_PUBLIC_URL": "https://telejt.example.mx",
        "TELEJT_SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "8" * 32,
        "TELEJT_SOCKETS_MAX": str(max(args.dashboards + 50, 500)),
        "TELEJT_SOCKETS_PER_ADDRESS": str(args.dashboards + 50),
    }
    env.pop("REDIS_URL", None)
    print(
        f"{os.uname().nodename} · {os.cpu_count()} CPUs · {time.strftime('%Y-%m-%d %H:%M:%S')} UTC"
    )
    print(
        f"bare {args.bare} (retrying after {args.pause:g} s), dashboards {args.dashboards}, "
        f"{args.seconds:.0f} s each"
    )
    workers = ("gthread", "gevent") if args.worker == "both" else (args.worker,)
    loads = ("bare", "dashboards") if args.load == "both" else (args.load,)
    ok = True
    for worker in workers:
        for load in loads:
            ok = measure(worker, load, args, env, cookies) and ok
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
