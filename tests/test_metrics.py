"""/metrics: Prometheus text, for the token or allowed addresses only."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
def metrics_config(app, monkeypatch):
    monkeypatch.setitem(app.config, "TELEJT_METRICS_TOKEN", TOKEN)
    monkeypatch.setitem(app.config, "TELEJT_METRICS_ALLOW", ())


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_refused_without_the_token_or_an_allowed_address(
    client, metrics_config, monkeypatch, app
) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    monkeypatch.setitem(app.config, "TELEJT_METRICS_TOKEN", None)
    monkeypatch.setitem(app.config, "TELEJT_METRICS_ALLOW", (ipaddress.ip_network("127.0.0.0/8"),))
    assert client.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    monkeypatch.setitem(app.config, "TELEJT_METRICS_ALLOW", (ipaddress.ip_network("10.0.0.0/8"),))
    assert client.get("/metrics").status_code == 404


def test_figures_of_the_outbox_alerts_and_latency(
    client, metrics_config, frozen_clock, make_participant, sms, run_until
) -> None:
    participant = make_participant()
    session = first_session(participant)
    run_until(session.deadline_at + timedelta(seconds=30))
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(
        as_text=True
    )
    figures = samples(text)
    assert figures[("telejt_outbox_messages", (("status", "delivered"),))] >= 2
    assert figures[("telejt_alerts_last_hour", (("kind", "missed_contact"),))] == 1
    latency = figures[("telejt_deadline_alert_latency_seconds", (("quantile", "0.5"),))]
    assert 0 <= latency <= 30  # the watcher's pass ran at the deadline in this test
    assert figures[("telejt_scheduler_heartbeat_age_seconds", ())] == -1
    assert ("telejt_live_sockets", ()) in figures
    assert participant.phone not in text and participant.name not in text


def first_session(participant):
    from sqlalchemy import select

    from telejt.extensions import db
    from telejt.planning.models import Contact

    return db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    ).first()
