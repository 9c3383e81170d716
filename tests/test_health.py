"""Liveness and readiness."""

from __future__ import annotations

from datetime import timedelta

from telejt.scheduler.runner import beat


def test_healthz(client) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_tells_the_scheduler_state_without_failing_on_it(client, frozen_clock) -> None:
    """A dead scheduler must not take every web instance out of the load balancer."""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok"}
    assert response.json["scheduler"] == "no heartbeat"
    beat()
    assert client.get("/readyz").json["scheduler"] == "ok"
    frozen_clock.advance(minutes=5)
    stale = client.get("/readyz")
    assert stale.status_code == 200 and stale.json["scheduler"].startswith("stale")
    frozen_clock.advance(seconds=-timedelta(minutes=5).total_seconds())


def test_readyz_fails_without_the_database(app, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    from telejt.extensions import db

    def refuse(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with app.test_request_context():
        monkeypatch.setattr(db.session, "execute", refuse)
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"].startswith("error")


def test_scheduler_status_is_the_schedulers_own_health_check(runner, frozen_clock) -> None:
    from telejt.cli import cli

    assert runner.invoke(cli, ["scheduler", "status"]).exit_code == 1
    beat()
    result = runner.invoke(cli, ["scheduler", "status", "--this-host"])
    assert result.exit_code == 0 and "\tok\t" in result.output
    frozen_clock.advance(minutes=5)
    stale = runner.invoke(cli, ["scheduler", "status"])
    assert stale.exit_code == 1 and "\tstale\t" in stale.output
