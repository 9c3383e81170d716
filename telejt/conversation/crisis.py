"""Crisis safety: a crisis answer or a cry for help always reaches a person.

Whenever it arrives — a check-in answer the protocol marks as a crisis sign (on
time, late, or in a reply that could mean two things), or risk words in any
message — telejt at once:

1. raises an urgent ``crisis`` alert to the treatment team (the therapist's and
   coordinators' rooms; never the court);
2. answers him with the protocol's crisis line (free, 24 h) and his team's phone;
3. queues an SMS to the court's on-call phone, due ``TELEJT_CRISIS_ESCALATION_MINUTES``
   later; the dispatcher drops it if someone acknowledged the alert by then.

The escalation goes through the outbox like every SMS, so it is sent once, by
one scheduler, and survives restarts.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.alerts.services import raise_alert
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.sms.models import OutboundMessage
from telejt.sms.outbox import queue_message, skip_message
from telejt.sms.signals import on_call_skip_wanted

#: an alert whose crisis reading he later said was not meant (an ambiguous "1")
CLARIFIED_SUFFIX = ":clarified_other"


def escalation_key(alert: Alert) -> str:
    """The outbox key of an alert's escalation SMS."""
    return f"alert:{alert.id}:escalation"


def raise_crisis(
    participant: Participant,
    *,
    dedupe_key: str,
    reason: str,
    reply_key: str | None,
    contact: Contact | None = None,
) -> Alert:
    """Alert the team, answer him with the crisis line, and arm the escalation (once per fact)."""
    alert = raise_alert(
        participant=participant,
        contact=contact,
        kind="crisis",
        severity="urgent",
        audience="team",
        dedupe_key=dedupe_key,
        reason=reason,
    )
    if reply_key is not None:
        queue_message(participant, purpose="crisis_reply", key=reply_key, contact=contact)
    minutes = current_app.config["TELEJT_CRISIS_ESCALATION_MINUTES"]
    queue_message(
        participant,
        purpose="crisis_escalation",
        key=escalation_key(alert),
        contact=contact,
        due_at=alert.created_at + timedelta(minutes=minutes),
        params={"alert_id": alert.id},
    )
    return alert


def clear_possible_crisis(alert: Alert) -> None:
    """He said his ambiguous reply was not the crisis answer: no escalation; the alert stays."""
    if alert.reason and not alert.reason.endswith(CLARIFIED_SUFFIX):
        alert.reason = (alert.reason + CLARIFIED_SUFFIX)[:200]
    pending = db.session.scalar(
        select(OutboundMessage).where(
            OutboundMessage.idempotency_key == escalation_key(alert),
            OutboundMessage.status == "pending",
        )
    )
    if pending is not None:
        skip_message(pending, "clarified_not_crisis")


@on_call_skip_wanted.connect
def escalation_skip_reason(message: OutboundMessage, **_: object) -> str | None:
    """Why an escalation SMS must not go (now acknowledged, clarified, nobody on call)."""
    alert_id = (message.params or {}).get("alert_id")
    alert = db.session.get(Alert, int(str(alert_id))) if alert_id is not None else None
    if alert is None:
        return "alert_gone"
    if alert.acknowledged_at is not None:
        return "acknowledged"
    if alert.reason and alert.reason.endswith(CLARIFIED_SUFFIX):
        return "clarified_not_crisis"
    if not message.participant.court.on_call_phone:
        return "no_on_call_phone"
    return None
