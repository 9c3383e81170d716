"""Court model."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from telejt.clock import now
from telejt.extensions import Base
from telejt.sqltypes import UTCDateTime


class Court(Base):
    """A court (juzgado) of the therapeutic justice program."""

    __tablename__ = "courts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Mexican state, e.g. "Nuevo León"
    state: Mapped[str] = mapped_column(String(100))
    #: IANA zone name, the default for its participants
    timezone: Mapped[str] = mapped_column(String(64))
    #: the treatment team's phone, E.164: participants are told to call it (crisis, help)
    team_phone: Mapped[str | None] = mapped_column(String(20))
    #: the on-call person's mobile, E.164: an urgent alert nobody acknowledged is texted here
    on_call_phone: Mapped[str | None] = mapped_column(String(20))
    #: court positions that see a missed contact live before it is verified, comma-separated
    #: (telejt.courts.visibility decides with it; the others see only verified ones)
    unverified_positions: Mapped[str] = mapped_column(
        String(200), default="judge,supervision_officer"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    @property
    def unverified_position_set(self) -> frozenset[str]:
        """The positions that see unverified notices."""
        return frozenset(p for p in self.unverified_positions.split(",") if p)
