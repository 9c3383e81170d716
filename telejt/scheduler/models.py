"""Scheduler heartbeats, read by /readyz."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from telejt.extensions import Base
from telejt.sqltypes import UTCDateTime


class SchedulerHeartbeat(Base):
    """The last beat of one scheduler process."""

    __tablename__ = "scheduler_heartbeats"

    #: host:pid of the scheduler process
    worker: Mapped[str] = mapped_column(String(80), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
