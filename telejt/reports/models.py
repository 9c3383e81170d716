"""What the figures keep per participant so that no page scans a court's history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from telejt.clock import now
from telejt.extensions import Base
from telejt.sqltypes import UTCDateTime


class ParticipantRuns(Base):
    """His latest runs and the anchors of his progress, as of his contacts' stored outcomes.

    Kept up to date in the transaction that changes any of his contacts' outcomes
    (telejt.reports.runs), from the same definitions as :mod:`telejt.reports.figures`;
    none of these values depends on the time of reading, only on stored outcomes.
    """

    __tablename__ = "participant_runs"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    #: when his last kept contact closed
    last_kept_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when his last contact that ends a run of misses closed (kept, answered in part, joined)
    run_broken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when his latest verified miss closed, and his latest unverified one
    last_missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_unverified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: contacts he ever kept
    kept_ever: Mapped[int] = mapped_column(Integer, default=0)
    #: his latest run of misses (his, of them unverified, the system's)
    consecutive_misses: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_unverified: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_system_misses: Mapped[int] = mapped_column(Integer, default=0)
    #: kept contacts since his latest verified miss
    streak: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
