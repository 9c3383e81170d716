"""What a failed delivery means for reaching the participant."""

from __future__ import annotations

from telejt.alerts.services import raise_alert
from telejt.clock import now
from telejt.sms.backends import PERMANENT_ERRORS
from telejt.sms.models import OutboundMessage


def record_permanent_failure(message: OutboundMessage) -> None:
    """A number that cannot be reached: mark an opt-out if the provider says so, alert the team."""
    participant = message.participant
    code = message.error_code
    if code == "21610" and participant.sms_opted_out_at is None:
        participant.sms_opted_out_at = now()
    raise_alert(
        participant=participant,
        contact=message.contact,
        kind="reachability",
        severity="warning",
        attribution="system",
        audience="team",
        dedupe_key=f"unreachable:{participant.id}:{participant.phone}:{code}",
        reason=f"sms_{PERMANENT_ERRORS.get(code or '', 'failed')}:{code}",
    )
