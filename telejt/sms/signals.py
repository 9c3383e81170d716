"""What the SMS channel tells the rest of telejt, and asks it, without importing it.

The ``sms`` package sits below the domain packages: the conversation, check-ins and
sessions queue messages through :mod:`telejt.sms.outbox`, and the channel must not
reach back up into them. Where the dispatcher or the webhook needs them, it sends
one of these blinker signals; the packages that care connect their receivers at
import, and ``create_app`` imports them (see ``telejt.receivers``).

A signal that asks something (``*_wanted``, ``inbound_received``) collects its
receivers' answers with :func:`answers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from blinker import Namespace, Signal

_signals = Namespace()

#: a claimed message is about to be rendered and sent (sender: the OutboundMessage);
#: a receiver may fill in what its text needs (a check-in's first question)
message_sending = _signals.signal("sms.message-sending")
#: a message was handed to the provider (sender: the OutboundMessage)
message_sent = _signals.signal("sms.message-sent")
#: asks why a message to a court's on-call phone must not go now (sender: the
#: OutboundMessage); a receiver answers a reason or None
on_call_skip_wanted = _signals.signal("sms.on-call-skip-wanted")
#: asks until when a conversation with him goes on that a new question would cut into
#: (sender: the OutboundMessage, ``moment``); a receiver answers an instant or None
conversation_until_wanted = _signals.signal("sms.conversation-until-wanted")
#: an inbound SMS arrived (sender: where from, "twilio" or "dev_page"; ``provider_sid``,
#: ``from_phone``, ``body``); its one receiver records and acts on it and answers an
#: :class:`InboundOutcome`
inbound_received = _signals.signal("sms.inbound-received")


@dataclass(frozen=True)
class InboundOutcome:
    """What telejt made of one inbound SMS."""

    meaning: str | None
    duplicate: bool = False
    participant_id: int | None = None
    contact_id: int | None = None
    #: a reply to give in the webhook's own answer (only for unknown senders)
    direct_reply: str | None = None


def answers(signal: Signal, sender: Any, **kwargs: Any) -> list[Any]:
    """What the receivers of a signal answered, leaving out those that had nothing to say."""
    return [value for _, value in signal.send(sender, **kwargs) if value is not None]


def hand_over_inbound(
    sender: Any, *, provider_sid: str, from_phone: str, body: str
) -> InboundOutcome:
    """Give an inbound SMS to the one receiver that acts on it; what it made of it."""
    found = answers(
        inbound_received, sender, provider_sid=provider_sid, from_phone=from_phone, body=body
    )
    if len(found) != 1:
        raise RuntimeError(f"one receiver of inbound SMS expected, {len(found)} answered")
    outcome: InboundOutcome = found[0]
    return outcome
