"""Writing the audit log. Rows are only ever added."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from flask import has_request_context, request

from telejt.audit.models import AuditEvent
from telejt.clock import now
from telejt.extensions import db
from telejt.spreadsheet import csv_writer

#: the audit export's columns, in order
CSV_COLUMNS = (
    "id",
    "at",
    "staff_id",
    "staff_email",
    "action",
    "object_type",
    "object_id",
    "participant_id",
    "channel",
    "remote_addr",
    "user_agent",
    "detail",
)


def record_access(
    staff_id: int | None,
    action: str,
    object_type: str,
    object_id: int | str | None = None,
    *,
    participant_id: int | None = None,
    channel: str = "page",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event (committed with the caller's transaction)."""
    remote_addr = user_agent = None
    if has_request_context():
        remote_addr = request.remote_addr
        user_agent = (request.user_agent.string or "")[:300] or None
    event = AuditEvent(
        at=now(),
        staff_id=staff_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        participant_id=participant_id,
        channel=channel,
        remote_addr=remote_addr,
        user_agent=user_agent,
        detail=detail,
    )
    db.session.add(event)
    return event


def audit_log_csv(rows: Iterable[Any]) -> str:
    """Audit events (with their staff member's email) as CSV, formula-like cells quoted."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)  # formula-like cells quoted
    writer.writerow(CSV_COLUMNS)
    for event, email in rows:
        writer.writerow(
            [
                event.id,
                event.at.isoformat(),
                event.staff_id,
                email,
                event.action,
                event.object_type,
                event.object_id,
                event.participant_id,
                event.channel,
                event.remote_addr,
                event.user_agent,
                json.dumps(event.detail, ensure_ascii=False) if event.detail else "",
            ]
        )
    return buffer.getvalue()
