"""The telejt command line: courts, users, tokens, protocols, demo, tick."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from telejt.auth.models import StaffUser
from telejt.auth.services import user_for_token
from telejt.cli import cli
from telejt.config import PROJECT_ROOT
from telejt.courts.models import Court
from telejt.extensions import db
from telejt.participants.models import Participant


def test_courts_users_and_tokens(runner) -> None:
    result = runner.invoke(
        cli,
        [
            "courts",
            "create",
            "--name",
            "Juzgado Demo",
            "--state",
            "Nuevo León",
            "--timezone",
            "America/Monterrey",
        ],
    )
    assert result.exit_code == 0, result.output
    court_id = int(result.output.strip())
    assert db.session.get(Court, court_id).timezone == "America/Monterrey"

    result = runner.invoke(
        cli,
        [
            "users",
            "create",
            "--email",
            "Coord@Example.mx",
            "--role",
            "coordinator",
            "--court",
            str(court_id),
            "--password-stdin",
        ],
        input="una-clave-larga\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.get(StaffUser, int(result.output.strip()))
    assert user.email == "coord@example.mx" and user.court_ids == [court_id]

    result = runner.invoke(cli, ["tokens", "create", "--email", "coord@example.mx"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert user_for_token(token).id == user.id


def test_bad_input_changes_nothing(runner) -> None:
    before = db.session.scalar(select(func.count()).select_from(Court))
    result = runner.invoke(
        cli,
        ["courts", "create", "--name", "X", "--state", "Nuevo León", "--timezone", "Mars/Olympus"],
    )
    assert result.exit_code == 2 and "timezone" in result.output
    result = runner.invoke(cli, ["users", "create", "--email", "a@b.mx", "--role", "therapist"])
    assert result.exit_code == 2 and "court" in result.output
    assert db.session.scalar(select(func.count()).select_from(Court)) == before


def test_demo_loads_once(runner) -> None:
    first = runner.invoke(cli, ["demo"])
    assert first.exit_code == 0, first.output
    count = db.session.scalar(select(func.count()).select_from(Participant))
    assert count >= 12
    zones = set(db.session.scalars(select(Participant.timezone)))
    assert {"America/Tijuana", "America/Cancun", "America/Hermosillo"} <= zones
    second = runner.invoke(cli, ["demo"])
    assert second.exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(Participant)) == count


def test_protocols_check_reports_file_line_and_field(tmp_path: Path) -> None:
    good = CliRunner().invoke(cli, ["protocols", "check", str(PROJECT_ROOT / "protocols")])
    assert good.exit_code == 0, good.output
    broken = tmp_path / "broken.yaml"
    shutil.copy(PROJECT_ROOT / "protocols" / "remote-outpatient.yaml", broken)
    text = broken.read_text().replace("minutes: 50", 'minutes: "fifty"', 1)
    broken.write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"fifty"' in row)
    result = CliRunner().invoke(cli, ["protocols", "check", str(broken)])
    assert result.exit_code == 1
    assert f"broken.yaml:{line}:" in result.output and "minutes" in result.output


def test_app_refuses_to_start_with_a_broken_protocol(tmp_path: Path, app_config) -> None:
    import pytest

    from telejt import create_app
    from telejt.protocols import ProtocolError

    broken = tmp_path / "p.yaml"
    broken.write_text(
        (PROJECT_ROOT / "protocols" / "remote-outpatient.yaml")
        .read_text()
        .replace('"19:00"', '"25:00"', 1)
        .replace("at: 19:00", "at: 25:00", 1)
    )
    with pytest.raises(ProtocolError) as info:
        create_app({**app_config, "TELEJT_PROTOCOLS_DIR": str(tmp_path)})
    assert "p.yaml" in str(info.value) and "at" in str(info.value)


def test_scheduler_tick_at_rejects_a_bad_instant(runner) -> None:
    result = runner.invoke(cli, ["scheduler", "tick", "--at", "mañana"])
    assert result.exit_code == 2 and "--at" in result.output
    result = runner.invoke(cli, ["scheduler", "tick", "--at", "2026-03-02T10:00"])
    assert result.exit_code == 2  # no offset: refused, not guessed


def test_commands_that_need_no_app_run_without_settings() -> None:
    """`protocols check` and `translate` work on a fresh machine with no settings at all."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEJT_", "SECRET"))}
    telejt = Path(sys.executable).with_name("telejt")
    for args in (["protocols", "check"], ["translate", "compile"]):
        done = subprocess.run([str(telejt), *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_serve_upgrades_loads_demo_and_answers_health(tmp_path: Path) -> None:
    """What `make run` does, on a fresh instance folder: upgrade, demo, serve, /healthz 200."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEJT_", "SECRET"))}
    env.pop("DATABASE_URL", None)
    env.update({"TELEJT_ENV": "development", "TELEJT_INSTANCE_DIR": str(tmp_path)})
    telejt = str(Path(sys.executable).with_name("telejt"))
    for args in (["db", "upgrade"], ["demo"]):
        done = subprocess.run([telejt, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    server = subprocess.Popen(
        [telejt, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None, "telejt serve exited"
                assert time.monotonic() < deadline, "telejt serve did not answer"
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (tmp_path / "telejt.db").exists()


def test_production_entry_point_builds_the_app_and_freezes_its_objects(tmp_path: Path) -> None:
    """The Procfile's ``telejt.wsgi:app`` imports, and start-up objects leave the collector."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEJT_", "SECRET"))}
    env.pop("DATABASE_URL", None)
    env.update({"TELEJT_ENV": "development", "TELEJT_INSTANCE_DIR": str(tmp_path)})
    code = (
        "import gc, flask, telejt.wsgi as w; "
        "assert isinstance(w.app, flask.Flask); print(gc.get_freeze_count())"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 50_000
