"""Twilio delivery status callbacks: a message's status only ever moves forward.

Twilio posts ``queued``, ``sending``, ``sent``, then one of ``delivered``,
``undelivered`` or ``failed``, but callbacks can arrive late and out of order.
A status is applied only when it is further along than the stored one, so a late
``sent`` after ``delivered`` changes nothing, and ``delivered``, ``undelivered`` and
``failed`` are terminal. Twilio's ``sending`` is not stored: in the outbox
``sending`` means "claimed by a dispatcher", and a provider ``sending`` says
nothing the watcher could use. ``needs_review`` (a send interrupted by a crash)
is the lowest rank on purpose: a callback for it is the proof that the message
left, which settles the review.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from telejt.clock import now
from telejt.extensions import db
from telejt.sms.backends import is_permanent
from telejt.sms.delivery import record_permanent_failure
from telejt.sms.models import TERMINAL_STATUSES, OutboundMessage

log = logging.getLogger(__name__)

#: how far along each stored status is
STATUS_RANK = {
    "needs_review": 0,
    "pending": 0,
    "sending": 0,
    "queued": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
}
#: Twilio's status names → the stored status (None: nothing to store)
PROVIDER_STATUSES: dict[str, str | None] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": None,
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}


@dataclass(frozen=True)
class StatusOutcome:
    """What a callback did: ``found`` the message, ``changed`` its status."""

    found: bool
    changed: bool


def record_delivery_status(
    provider_sid: str, provider_status: str, error_code: str | None = None
) -> StatusOutcome:
    """Apply one status callback to the message it names; the caller commits."""
    message = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.provider_sid == provider_sid)
    )
    if message is None:
        log.warning("status callback for unknown message %s (%s)", provider_sid, provider_status)
        return StatusOutcome(found=False, changed=False)
    status = PROVIDER_STATUSES.get((provider_status or "").strip().lower())
    if status is None:
        log.info("status %r for message %s not stored", provider_status, message.id)
        return StatusOutcome(found=True, changed=False)
    current = message.status
    if current in TERMINAL_STATUSES or STATUS_RANK[status] <= STATUS_RANK.get(current, 0):
        return StatusOutcome(found=True, changed=False)
    message.status = status
    message.status_at = now()
    if status in ("undelivered", "failed"):
        code = (error_code or "").strip() or None
        message.error_code = code
        message.status_reason = f"provider: {status}" + (f" {code}" if code else "")
        if is_permanent(code):
            record_permanent_failure(message)
    db.session.flush()
    return StatusOutcome(found=True, changed=True)
