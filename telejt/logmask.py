"""Logs never hold a whole phone number.

A phone number in a log line (an unknown sender, a provider's refusal, a
library's debug line) would put a participant's number, and so his link to a
court program, in every log store and support ticket. Every log record's message
passes through :func:`mask_phones` when it is formatted, whichever logger made it:
a number keeps its last two digits, enough to tell two apart in an incident.
SMS bodies are kept out of logs at the source (telejt never logs one, and the
``twilio`` package's request log is silenced), since no pattern can find them.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

#: +52 81 5555 0001, +528155550001, whatsapp:+5218155550001 (7 to 15 digits after the +)
_E164 = re.compile(r"\+\d(?:[\s.-]?\d){6,14}")
#: a bare ten-digit Mexican number (not part of a longer run of digits or a decimal)
_TEN_DIGITS = re.compile(r"(?<![\d.])\d{10}(?![\d.])")
_installed = False
_lock = threading.Lock()


def _masked(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    prefix = "+" if match.group(0).startswith("+") else ""
    return f"{prefix}{'•' * (len(digits) - 2)}{digits[-2:]}"


def mask_phones(text: str) -> str:
    """The text with every phone number reduced to its last two digits."""
    return _TEN_DIGITS.sub(_masked, _E164.sub(_masked, text))


def mask_phone(phone: str | None) -> str:
    """One phone number as logs show it (``+52••••••••01``)."""
    return mask_phones(phone or "")


class MaskedLogRecord(logging.LogRecord):
    """A log record whose formatted message has its phone numbers masked."""

    def getMessage(self) -> str:
        """The message with its arguments, numbers masked."""
        return mask_phones(super().getMessage())


def _masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    return MaskedLogRecord(*args, **kwargs)


def install_log_masking() -> None:
    """Mask numbers in every log record of this process (once), and quiet twilio's request log."""
    global _installed
    with _lock:
        if _installed:
            return
        logging.setLogRecordFactory(_masked_record)
        # its INFO lines print each request's form: the recipient and the SMS text
        logging.getLogger("twilio").setLevel(logging.WARNING)
        _installed = True
