"""The container files, checked as data (no Docker engine runs where the tests run).

CI lints the Dockerfile with hadolint; these tests hold the promises the README
makes about the image and the compose stack.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_the_image_is_multi_stage_non_root_and_from_the_lock() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM .+$", text, re.MULTILINE)
    assert len(stages) == 2 and " AS build" in stages[0]
    assert "--require-hashes -r requirements/prod.lock" in text
    assert re.search(r"^USER 10001", text, re.MULTILINE)
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "telejt.wsgi:app" in text and "telejt.gunicorn_conf" in text
    for copied in ("migrations", "protocols", "translations"):  # the wheel bundles them
        assert f"COPY {copied} {copied}" in text


def test_compose_runs_the_whole_stack() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"proxy", "web", "scheduler", "release", "postgres", "redis", "coturn"} <= set(services)
    assert services["scheduler"]["deploy"]["replicas"] == 2
    assert services["scheduler"]["command"] == ["telejt", "scheduler", "run"]
    assert services["release"]["command"] == ["telejt", "db", "upgrade"]
    assert services["web"]["depends_on"]["release"]["condition"] == (
        "service_completed_successfully"
    )
    for name in ("web", "scheduler", "release"):
        environment = services[name]["environment"]
        assert environment["REDIS_URL"].startswith("redis://redis")
        assert "${POSTGRES_PASSWORD" in environment["DATABASE_URL"]  # never written here
    text = (ROOT / "compose.yaml").read_text()
    assert "--static-auth-secret=${TELEJT_TURN_SECRET}" in text  # coturn and telejt share it
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "lb_policy cookie" in caddyfile  # Socket.IO needs sticky sessions


def test_no_secret_is_committed_with_the_examples() -> None:
    for name in ("deploy/env.example", ".env.example"):
        for line in (ROOT / name).read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                value = line.split("=", 1)[1]
                assert "change-me" in value or value.startswith(("AC", "MG", "telejt.", "twilio"))
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "deploy/env" in ignored and ".env" in ignored
