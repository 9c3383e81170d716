"""The audit log's retention: the one path allowed to delete audit events.

Audit events are evidence of who read a participant's record, kept as long as
clinical records are (``TELEJT_RETENTION_YEARS``, NOM-004-SSA3-2012) and then
deleted, so the log does not outlive its purpose. On PostgreSQL a trigger refuses
every UPDATE, DELETE and TRUNCATE of ``audit_events`` unless the transaction
declares itself this job (``SET LOCAL telejt.audit_retention``); the purge itself
is audited. A database superuser can always drop a trigger: the trigger makes
tampering deliberate and visible, the database's roles keep it out of reach.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, text

from telejt.audit.models import AuditEvent
from telejt.audit.services import record_access
from telejt.clock import now
from telejt.extensions import db

DAYS_PER_YEAR = 365.25


def retention_cutoff() -> datetime:
    """Audit events older than this are past their retention."""
    years = current_app.config["TELEJT_RETENTION_YEARS"]
    return now() - timedelta(days=round(years * DAYS_PER_YEAR))


def allow_audit_deletion() -> None:
    """Declare this transaction the retention job (PostgreSQL's trigger lets it delete)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL telejt.audit_retention = 'on'"))


def purge_expired_audit_events(before: datetime | None = None) -> int:
    """Delete the audit events older than the retention period, and audit that; how many."""
    cutoff = before or retention_cutoff()
    allow_audit_deletion()
    deleted = db.session.execute(
        delete(AuditEvent)
        .where(AuditEvent.at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # a DELETE gives a CursorResult
    if deleted:
        record_access(
            None,
            "audit.retention_purge",
            "audit_log",
            channel="job",
            detail={"before": cutoff.isoformat(), "deleted": int(deleted)},
        )
    db.session.commit()
    return int(deleted)
