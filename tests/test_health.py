"""Liveness and readiness."""

from __future__ import annotations

from datetime import timedelta

from telejt.scheduler.runner import beat


def test_healthz(client) -> None:
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_needs_a_fresh_scheduler_heartbeat(client, frozen_clock) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "scheduler": "no heartbeat"}
    beat()
    assert client.get("/readyz").status_code == 200
    frozen_clock.advance(minutes=5)
    stale = client.get("/readyz")
    assert stale.status_code == 503 and stale.json["checks"]["scheduler"].startswith("stale")
    frozen_clock.advance(seconds=-timedelta(minutes=5).total_seconds())
