"""What the API stores of its own: the answers given under an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from telejt.clock import now
from telejt.extensions import Base
from telejt.sqltypes import UTCDateTime

MAX_KEY_LENGTH = 200


class IdempotencyKey(Base):
    """One API write done under a client's Idempotency-Key, and the answer it got."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("staff_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    #: sha256 of method, path and body: the same key must name the same request
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
