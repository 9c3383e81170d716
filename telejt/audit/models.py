"""The append-only audit log of staff access to participant records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column

from telejt.clock import now
from telejt.extensions import Base
from telejt.sqltypes import UTCDateTime


class AuditEvent(Base):
    """Who read or changed what, when and from where. Rows are never updated or deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_participant_at", "participant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    #: e.g. participant.read, participant.update, report.export
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(40))
    #: no foreign key: the log outlives what it speaks of
    participant_id: Mapped[int | None] = mapped_column()
    #: page or api
    channel: Mapped[str] = mapped_column(String(10))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or remove an audit event."""


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_changes(mapper: Any, connection: Any, target: AuditEvent) -> None:
    # The log is evidence of who saw a participant's record: no code path may rewrite it.
    raise AuditLogIsAppendOnly(f"audit event {target.id} cannot be changed or deleted")
