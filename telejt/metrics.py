"""``/metrics`` in Prometheus's text format: what an operator must see while telejt runs.

Most figures are read from the database at each scrape, so they are the same
whichever web instance answers and they include what the scheduler processes did:
the outbox by status and its oldest due message, provider errors by code, how long
messages waited past their due time, deadline → alert latency, alerts by kind,
scheduler heartbeat age. Open sockets are this web process's own.

Reachable only with ``Authorization: Bearer $TELEJT_METRICS_TOKEN`` or from an
address in ``TELEJT_METRICS_ALLOW``; with neither set, it answers 404 to everyone.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from telejt.alerts.models import Alert
from telejt.clock import now
from telejt.extensions import db, socketio
from telejt.planning.models import Contact
from telejt.scheduler.models import SchedulerHeartbeat
from telejt.sms.models import OUTBOUND_STATUSES, OutboundMessage

bp = Blueprint("metrics", __name__)

#: the window the latency figures and error counts look back over
WINDOW = timedelta(hours=1)
QUANTILES = (0.5, 0.95, 0.99)


def _quantiles(values: list[float]) -> dict[float, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in QUANTILES}


def _latency_family(name: str, documentation: str, values: list[float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["quantile"])
    for quantile, value in _quantiles(values).items():
        family.add_metric([str(quantile)], value)
    return family


class TelejtCollector(Collector):
    """Reads the figures from the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        """One scrape's figures."""
        moment = now()
        since = moment - WINDOW
        outbox = GaugeMetricFamily(
            "telejt_outbox_messages", "Outbound SMS by status", labels=["status"]
        )
        counts = dict(
            db.session.execute(
                select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)
            ).all()
        )
        for status in OUTBOUND_STATUSES:
            outbox.add_metric([status], counts.get(status, 0))
        yield outbox

        oldest = db.session.scalar(
            select(func.min(OutboundMessage.due_at)).where(
                OutboundMessage.status == "pending", OutboundMessage.due_at <= moment
            )
        )
        yield GaugeMetricFamily(
            "telejt_outbox_oldest_due_seconds",
            "How long the oldest message due now has waited (0: none waiting)",
            value=(moment - oldest).total_seconds() if oldest is not None else 0.0,
        )

        errors = GaugeMetricFamily(
            "telejt_provider_errors_last_hour",
            "Messages that failed or went undelivered in the last hour, by provider error code",
            labels=["code"],
        )
        for code, count in db.session.execute(
            select(OutboundMessage.error_code, func.count())
            .where(
                OutboundMessage.status.in_(("failed", "undelivered")),
                OutboundMessage.status_at >= since,
            )
            .group_by(OutboundMessage.error_code)
        ):
            errors.add_metric([code or "none"], count)
        yield errors

        waits = [
            (sent - due).total_seconds()
            for sent, due in db.session.execute(
                select(OutboundMessage.sent_at, OutboundMessage.due_at).where(
                    OutboundMessage.sent_at >= since
                )
            )
            if sent is not None
        ]
        yield _latency_family(
            "telejt_send_delay_seconds",
            "From due time to handed to the provider, messages sent in the last hour",
            waits,
        )

        latencies = [
            (created - deadline).total_seconds()
            for created, deadline in db.session.execute(
                select(Alert.created_at, Contact.deadline_at)
                .join(Contact, Alert.contact_id == Contact.id)
                .where(Alert.kind == "missed_contact", Alert.created_at >= since)
            )
        ]
        yield _latency_family(
            "telejt_deadline_alert_latency_seconds",
            "From a contact's deadline to its missed-contact alert, alerts of the last hour",
            latencies,
        )

        alerts = GaugeMetricFamily(
            "telejt_alerts_last_hour", "Alerts raised in the last hour, by kind", labels=["kind"]
        )
        for kind, count in db.session.execute(
            select(Alert.kind, func.count()).where(Alert.created_at >= since).group_by(Alert.kind)
        ):
            alerts.add_metric([kind], count)
        yield alerts
        open_alerts = GaugeMetricFamily(
            "telejt_alerts_open", "Alerts not yet acknowledged, by kind", labels=["kind"]
        )
        for kind, count in db.session.execute(
            select(Alert.kind, func.count())
            .where(Alert.acknowledged_at.is_(None))
            .group_by(Alert.kind)
        ):
            open_alerts.add_metric([kind], count)
        yield open_alerts

        last_beat = db.session.scalar(select(func.max(SchedulerHeartbeat.beat_at)))
        yield GaugeMetricFamily(
            "telejt_scheduler_heartbeat_age_seconds",
            "Seconds since the freshest scheduler heartbeat (-1: none ever)",
            value=(moment - last_beat).total_seconds() if last_beat is not None else -1.0,
        )
        server = getattr(socketio, "server", None)
        sockets = len(getattr(getattr(server, "eio", None), "sockets", {}) or {})
        yield GaugeMetricFamily(
            "telejt_live_sockets", "Socket.IO connections open on this web process", value=sockets
        )


def _allowed() -> bool:
    config = current_app.config
    token = config.get("TELEJT_METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").strip(), token)
    networks: tuple[Any, ...] = config.get("TELEJT_METRICS_ALLOW") or ()
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


@bp.get("/metrics")
def metrics() -> Response:
    """The figures, for Prometheus; 404 to anyone without the token or an allowed address."""
    if not _allowed():
        abort(404)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TelejtCollector())
    body = generate_latest(registry)
    db.session.rollback()
    return Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8")
