"""Validation of what a coordinator enters about a participant."""

from __future__ import annotations

import re
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from flask_babel import gettext as _

from telejt.errors import InvalidInput
from telejt.protocols.model import WEEKDAYS, Phase, Protocol

TIME_PATTERN = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def normalize_phone(raw: str) -> str:
    """A phone number as E.164; Mexican numbers as +52 and ten digits.

    Accepts what people write: "81 1234 5678", "(81) 1234-5678", "+52 1 81…" (the
    old mobile form with a 1, which phonenumbers rejects, so the 1 is dropped).
    Raises InvalidInput on anything that is not a valid number.
    """
    text = (raw or "").strip()
    digits = re.sub(r"[^\d+]", "", text)
    if re.fullmatch(r"\+?521\d{10}", digits):
        digits = "+52" + digits[-10:]
    elif re.fullmatch(r"0?4[45]\d{10}", digits):  # old 044/045 mobile prefixes
        digits = digits[-10:]
    try:
        number = phonenumbers.parse(digits, "MX")
    except phonenumbers.NumberParseException:
        raise InvalidInput({"phone": _("No es un número de teléfono: %(raw)s", raw=raw)}) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput({"phone": _("Número no válido: %(raw)s", raw=raw)})
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if e164.startswith("+52") and len(e164) != 13:
        raise InvalidInput({"phone": _("Un número de México lleva diez dígitos.")})
    return e164


def validate_timezone(name: str) -> str:
    """An IANA time zone this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            {"timezone": _("Zona horaria desconocida: %(name)s", name=name)}
        ) from None
    return name


def parse_local_time(value: str) -> time:
    """ "HH:MM" on a 24-hour clock."""
    match = TIME_PATTERN.fullmatch(value or "")
    if not match:
        raise ValueError(value)
    return time(int(match[1]), int(match[2]))


def weekly_sessions(phase: Phase) -> int:
    """How many session slots a week the phase asks for."""
    return sum(rule.per_week for rule in phase.sessions)


def validate_slots(slots: Any, protocol: Protocol, phase: Phase) -> list[dict[str, str]]:
    """Weekly session slots, one per session of the phase, none in quiet hours."""
    if not isinstance(slots, list):
        raise InvalidInput({"session_slots": _("Debe ser una lista de horarios.")})
    cleaned: list[dict[str, str]] = []
    for index, slot in enumerate(slots):
        field = f"session_slots[{index}]"
        if not isinstance(slot, dict) or set(slot) != {"weekday", "time"}:
            raise InvalidInput({field: _("Cada horario lleva día (weekday) y hora (time).")})
        weekday = str(slot["weekday"]).lower()
        if weekday not in WEEKDAYS:
            raise InvalidInput({field: _("Día no válido: %(day)s", day=slot["weekday"])})
        try:
            at = parse_local_time(str(slot["time"]))
        except ValueError:
            raise InvalidInput(
                {field: _("Hora no válida (use HH:MM): %(time)s", time=slot["time"])}
            ) from None
        if protocol.quiet_hours.contains(at):
            raise InvalidInput({field: _("La hora cae en el horario de descanso.")})
        cleaned.append({"weekday": weekday, "time": at.strftime("%H:%M")})
    if len({(s["weekday"], s["time"]) for s in cleaned}) != len(cleaned):
        raise InvalidInput({"session_slots": _("Hay horarios repetidos.")})
    expected = weekly_sessions(phase)
    if len(cleaned) != expected:
        raise InvalidInput(
            {
                "session_slots": _(
                    "La fase pide %(n)d sesiones por semana; se dieron %(given)d horarios.",
                    n=expected,
                    given=len(cleaned),
                )
            }
        )
    return sorted(cleaned, key=lambda s: (WEEKDAYS.index(s["weekday"]), s["time"]))
