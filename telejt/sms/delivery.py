"""What a failed delivery means for reaching the participant."""

from __future__ import annotations

import logging

from telejt.alerts.services import opt_out_alert_key, raise_alert
from telejt.clock import now
from telejt.sms.backends import PERMANENT_ERRORS
from telejt.sms.models import OutboundMessage
from telejt.sms.purposes import ON_CALL, purpose

log = logging.getLogger(__name__)


def record_permanent_failure(message: OutboundMessage) -> None:
    """A number that cannot be reached: mark an opt-out if the provider says so, alert the team."""
    participant = message.participant
    code = message.error_code
    if purpose(message.purpose).recipient == ON_CALL:
        # the on-call phone failed, not his: the team must know its escalation did not go
        log.error("on-call SMS %s failed (%s): check the court's on-call phone", message.id, code)
        return
    said_stop = code == "21610"  # he texted STOP to the provider: his choice, not a failure
    if said_stop and participant.sms_opted_out_at is None:
        participant.sms_opted_out_at = now()
    raise_alert(
        participant=participant,
        contact=message.contact,
        kind="reachability",
        severity="warning",
        attribution=None if said_stop else "system",
        audience="team",
        dedupe_key=(
            opt_out_alert_key(participant.id, participant.sms_opted_out_at)
            if said_stop and participant.sms_opted_out_at is not None
            else f"unreachable:{participant.id}:{participant.phone}:{code}"
        ),
        reason=f"sms_{PERMANENT_ERRORS.get(code or '', 'failed')}:{code}",
    )
