"""Liveness and readiness probes."""

from __future__ import annotations

from datetime import timedelta

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


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """The database answers and some scheduler beat recently."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
        last_beat = db.session.scalar(select(func.max(SchedulerHeartbeat.beat_at)))
    except SQLAlchemyError as exc:
        db.session.rollback()
        checks["database"] = f"error: {exc.__class__.__name__}"
        last_beat = None
    if last_beat is None:
        checks["scheduler"] = "no heartbeat"
    elif now() - last_beat > HEARTBEAT_STALE_AFTER:
        checks["scheduler"] = f"stale since {last_beat.isoformat()}"
    else:
        checks["scheduler"] = "ok"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503
