"""Wall-clock times in a participant's own zone, and his quiet hours in them.

Shared by the planner (reminders are planned outside quiet hours) and the
dispatcher (a message found due inside them waits for morning).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from telejt.protocols.model import QuietHours


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


def quiet_period_start(moment: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime | None:
    """If ``moment`` is inside quiet hours, when that quiet period began; else None."""
    local = moment.astimezone(zone)
    if not quiet.contains(local.time()):
        return None
    day = local.date()
    if quiet.start > quiet.end and local.time() < quiet.end:
        day -= timedelta(days=1)  # after midnight: the quiet period began last evening
    return local_instant(day, quiet.start, zone)


def quiet_period_end(moment: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    """The first allowed instant at or after ``moment``."""
    local = moment.astimezone(zone)
    if not quiet.contains(local.time()):
        return moment
    day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        day += timedelta(days=1)
    return local_instant(day, quiet.end, zone)
