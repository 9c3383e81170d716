"""Liveness and readiness probes, and the scheduler's health.

``/healthz``: the process answers. ``/readyz``: this web instance can serve (its
database answers); a load balancer takes it out of rotation only for that. The
schedulers' heartbeats are reported beside it, but a dead scheduler does not make
the web instances unready (that would take every one of them out at once):
``telejt scheduler status`` checks them, and metrics carry their age.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from telejt.clock import now
from telejt.extensions import db
from telejt.scheduler.models import SchedulerHeartbeat

bp = Blueprint("health", __name__)

#: a scheduler beats every few seconds; older than this, it is presumed dead
HEARTBEAT_STALE_AFTER = timedelta(seconds=60)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is alive."""
    return jsonify(status="ok")


def scheduler_state(last_beat: datetime | None) -> str:
    """ "ok", "no heartbeat" or "stale since …" for the latest scheduler heartbeat."""
    if last_beat is None:
        return "no heartbeat"
    if now() - last_beat > HEARTBEAT_STALE_AFTER:
        return f"stale since {last_beat.isoformat()}"
    return "ok"


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """The database answers; the schedulers' state is told, and does not decide."""
    checks: dict[str, str] = {}
    last_beat = None
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
        last_beat = db.session.scalar(select(func.max(SchedulerHeartbeat.beat_at)))
    except SQLAlchemyError as exc:
        db.session.rollback()
        checks["database"] = f"error: {exc.__class__.__name__}"
    ready = checks["database"] == "ok"
    body = {
        "status": "ready" if ready else "not ready",
        "checks": checks,
        "scheduler": scheduler_state(last_beat) if ready else "unknown",
    }
    return jsonify(body), 200 if ready else 503
