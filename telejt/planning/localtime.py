"""Wall-clock times in a participant's own zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A local wall-clock time on a day, as an aware datetime in that zone.

    A time skipped by a daylight-saving jump (02:30 on the spring-forward night in
    Tijuana) is moved forward by the jump, as a wall clock would be; a time that
    happens twice on the fall-back night is the first of the two.
    """
    local = datetime.combine(day, at, tzinfo=zone)
    round_trip = local.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != local.replace(tzinfo=None):
        return round_trip
    return local
