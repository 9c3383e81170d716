"""Live fan-out: N Socket.IO clients on one web process all receive an alert (run by hand).

    BENCH_REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/bench_live_fanout.py \\
        [--clients 500] [--alerts 5] [--server werkzeug|gunicorn] [--threads 600]

One web process serves /live: ``werkzeug`` is what ``socketio.run`` does in threading
mode (a thread per connection); ``gunicorn`` is ``gunicorn -k gthread -w 1 --threads
N``. In threading mode every WebSocket holds one server thread for as long as it is
open, so gunicorn needs ``--threads`` above the number of clients. The alert is
raised and committed by this process, as the scheduler would, and reaches the web
process through Redis. Every client is a real python-socketio client over
WebSocket with a judge's session cookie; the time from the commit to each
client's receipt is measured on this process's clock.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TELEJT_ENV", "testing")

import socketio as socketio_client  # noqa: E402

SECRET_KEY = "bench-live-fanout-secret-0123456789"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    kind: str, env: dict[str, str], port: int, threads: int
) -> subprocess.Popen[bytes]:
    """The web process."""
    python = sys.executable
    if kind == "gunicorn":
        command = [
            str(Path(python).with_name("gunicorn")),
            "-k", "gthread", "-w", "1", "--threads", str(threads),
            "-b", f"127.0.0.1:{port}", "--log-level", "warning", "telejt:create_app()",
        ]  # fmt: skip
    else:
        command = [
            python,
            "-c",
            "from telejt import create_app; from telejt.extensions import socketio; "
            f"socketio.run(create_app(), host='127.0.0.1', port={port}, "
            "allow_unsafe_werkzeug=True, log_output=False)",
        ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("the web process did not start")


class Receiver:
    """One judge's browser: a real client that notes when each alert arrives."""

    def __init__(self) -> None:
        self.client = socketio_client.Client(reconnection=False)
        self.arrivals: dict[int, float] = {}
        self.client.on("alert.created", self._on_alert, namespace="/live")

    def _on_alert(self, payload: dict[str, Any]) -> None:
        self.arrivals[payload["id"]] = time.perf_counter()

    def connect(self, url: str, cookie: str) -> None:
        """Open the WebSocket with the login cookie."""
        self.client.connect(
            url, namespaces=["/live"], headers={"Cookie": cookie}, transports=["websocket"],
            wait_timeout=30,
        )  # fmt: skip


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of the values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    """Seed, start the web process, connect the clients, raise alerts, measure."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--alerts", type=int, default=5)
    parser.add_argument("--server", choices=("werkzeug", "gunicorn"), default="werkzeug")
    parser.add_argument("--threads", type=int, default=600)
    args = parser.parse_args()
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    database = Path(tempfile.mkdtemp()) / "fanout.db"
    database_url = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{database}")
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "TELEJT_ENV": "testing",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TELEJT_PUBLIC_URL": public_url,
    }
    os.environ.update({k: env[k] for k in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")})
    os.environ["TELEJT_PUBLIC_URL"] = public_url

    from flask_migrate import upgrade

    from telejt import create_app
    from telejt.alerts.services import raise_alert
    from telejt.auth.services import create_staff_user
    from telejt.courts.services import create_court
    from telejt.extensions import db
    from telejt.participants.services import enroll_participant

    app = create_app()
    with app.app_context():
        upgrade()
        court = create_court(
            name="Juzgado de Carga", state="Nuevo León", timezone="America/Monterrey"
        )
        db.session.flush()
        therapist = create_staff_user(
            email="t@carga.example.mx", role="therapist", court_ids=[court.id]
        )
        judge = create_staff_user(
            email="juez@carga.example.mx",
            role="court",
            court_ids=[court.id],
            court_position="judge",
        )
        db.session.flush()
        participant = enroll_participant(
            court_id=court.id, case_number="CARGA-1", name="Participante Sintético",
            phone="+52 81 5555 0001", therapist_id=therapist.id, protocol_id="remote-outpatient",
            phase_id="2", session_slots=[{"weekday": "tue", "time": "10:00"}],
            consents={"sms": True, "telehealth": True},
        )  # fmt: skip
        db.session.commit()
        judge_id, participant_id = judge.id, participant.id
    from benchlib import login_cookie

    cookie = login_cookie(app, judge_id)

    server = start_server(args.server, env, port, args.threads)
    receivers = [Receiver() for _ in range(args.clients)]
    try:
        started = time.perf_counter()
        failures = []
        with ThreadPoolExecutor(max_workers=50) as pool:
            for outcome in pool.map(lambda r: _try_connect(r, public_url, cookie), receivers):
                if outcome:
                    failures.append(outcome)
        connected = [r for r in receivers if r.client.connected]
        print(f"{len(connected)}/{args.clients} connected in {time.perf_counter() - started:.1f} s"
              + (f"; first failure: {failures[0]}" if failures else ""))  # fmt: skip
        time.sleep(2)  # let every join settle
        results = []
        for n in range(args.alerts):
            with app.app_context():
                from telejt.participants.models import Participant

                person = db.session.get(Participant, participant_id)
                alert = raise_alert(
                    participant=person, kind="missed_contact", severity="warning",
                    attribution="system", dedupe_key=f"bench:{time.time_ns()}:{n}",
                    reason="sms_undelivered:30006",
                )  # fmt: skip
                sent_at = time.perf_counter()
                db.session.commit()  # emitted after the commit, through Redis
                alert_id = alert.id
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                if all(alert_id in r.arrivals for r in connected):
                    break
                time.sleep(0.01)
            latencies = [
                (r.arrivals[alert_id] - sent_at) * 1000 for r in connected if alert_id in r.arrivals
            ]
            results.append(latencies)
            print(
                f"alert {n + 1}: {len(latencies)}/{len(connected)} received; "
                f"median {statistics.median(latencies):.0f} ms, "
                f"p95 {percentile(latencies, 0.95):.0f} ms, all by {max(latencies):.0f} ms"
            )
            time.sleep(1)
        every = [value for latencies in results for value in latencies]
        print(
            f"{platform.node()} · {os.cpu_count()} CPUs · {args.server} · "
            f"{datetime.now(UTC).isoformat(timespec='seconds')}"
        )
        print(
            f"overall: median {statistics.median(every):.0f} ms, "
            f"p95 {percentile(every, 0.95):.0f} ms, max {max(every):.0f} ms "
            f"over {len(results)} alerts × {len(connected)} clients"
        )
    finally:
        for receiver in receivers:
            threading.Thread(target=receiver.client.disconnect, daemon=True).start()
        time.sleep(1)
        server.terminate()
        server.wait(timeout=10)


def _try_connect(receiver: Receiver, url: str, cookie: str) -> str | None:
    try:
        receiver.connect(url, cookie)
    except Exception as error:  # reported, not fatal: the count of connected clients is a result
        return repr(error)
    return None


if __name__ == "__main__":
    main()
