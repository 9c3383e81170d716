"""Dates and labels for the dashboard and report templates, in the viewer's language."""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, get_timezone_location
from flask import has_request_context, request
from flask_babel import get_locale, gettext, ngettext
from flask_login import current_user

from telejt.clock import now
from telejt.i18n import babel_locale
from telejt.planning.models import Contact
from telejt.planning.outcomes import reported_status
from telejt.reports import labels
from telejt.reports.figures import Progress

#: the zone of a time shown with nobody's zone to follow
DEFAULT_ZONE = "America/Mexico_City"


_MEMO_KEY = "telejt.formatting_memo"


def _request_memo(key: Any, compute: Any) -> Any:
    """``compute()``, once per request (a page formats hundreds of times with the same
    viewer, language and zones); recomputed outside a request."""
    if not has_request_context():
        return compute()
    memo: dict[Any, Any] = request.environ.setdefault(_MEMO_KEY, {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def viewer_locale() -> str:
    """The staff member's interface locale as a string ("es_MX" or "en")."""
    return str(_request_memo("locale", lambda: str(get_locale() or "es_MX")))


def viewer_zone(subject_zone: str | None = None) -> str:
    """The zone a staff page shows times in: the viewer's own, else his first court's.

    Outside a staff request (a report built for a file, a job), or for an admin with
    no court, the zone of what is shown (the participant's).
    """
    own = _request_memo("viewer_zone", _own_zone)
    return str(own) if own else subject_zone or DEFAULT_ZONE


def _own_zone() -> str | None:
    """The logged-in viewer's zone: his own, else his first court's (None without one)."""
    user = current_user if has_request_context() else None
    if user is not None and getattr(user, "is_authenticated", False):
        own = getattr(user, "timezone", None)
        if own:
            return str(own)
        courts = sorted(getattr(user, "courts", None) or (), key=lambda court: court.id)
        if courts:
            return str(courts[0].timezone)
    return None


@functools.lru_cache(maxsize=64)
def _zone_city(zone: str, locale: str) -> str:
    return str(get_timezone_location(ZoneInfo(zone), locale=babel_locale(locale), return_city=True))


def zone_city(zone: str) -> str:
    """The city that names a zone, in the viewer's language ("Ciudad de México")."""
    return _zone_city(zone, viewer_locale())


def zone_label(zone: str) -> str:
    """A zone as people name it: "hora de Monterrey" (CLDR's Mexican names speak of a
    summer time Mexico no longer keeps, so the city alone)."""
    locale = viewer_locale()
    return str(
        _request_memo(
            ("zone_label", zone, locale),
            lambda: gettext("hora de %(city)s", city=_zone_city(zone, locale)),
        )
    )


def local_when(
    moment: datetime | None,
    timezone: str,
    with_weekday: bool = True,
    *,
    in_viewer_zone: bool = True,
    labelled: bool = True,
) -> str:
    """An instant with its zone: "mar 3 mar 2026, 10:00 (hora de Monterrey)".

    In the viewer's zone by default (``timezone``, the participant's, when the viewer
    has none); a report made in one stated zone passes ``in_viewer_zone=False``.
    """
    if moment is None:
        return "—"
    zone = viewer_zone(timezone) if in_viewer_zone else timezone
    pattern = "EEE d MMM y, HH:mm" if with_weekday else "d MMM y, HH:mm"
    text = format_datetime(
        moment, pattern, tzinfo=ZoneInfo(zone), locale=babel_locale(viewer_locale())
    )
    return f"{text} ({zone_label(zone)})" if labelled else text


def long_day(day: date) -> str:
    """A calendar day in full: "3 de marzo de 2026"."""
    return format_date(day, "long", locale=babel_locale(viewer_locale()))


def percent(rate: float | None) -> str:
    """A rate as a whole percentage, or a dash without data."""
    return "—" if rate is None else f"{round(rate * 100)} %"


def phase_weeks(progress: Progress) -> str:
    """Weeks in the phase against its minimum: "6 de 8 semanas" (just "6 semanas" without one)."""
    if progress.min_weeks is None:
        return ngettext("%(num)s semana", "%(num)s semanas", progress.weeks_in_phase)
    return ngettext(
        "%(weeks)s de %(num)s semana",
        "%(weeks)s de %(num)s semanas",
        progress.min_weeks,
        weeks=progress.weeks_in_phase,
    )


def milestone_words(days: int | None) -> str:
    """The latest milestone reached: "90 días sin faltas", or a dash."""
    return "—" if days is None else gettext("%(days)s días sin faltas", days=days)


def shown_status(contact: Contact) -> str:
    """A contact's status as a page shows it now ("outcome_pending" for an unmarked session)."""
    return reported_status(contact, now())


def template_helpers() -> dict[str, Any]:
    """What the dashboard and report templates use."""
    return {
        "local_when": local_when,
        "zone_city": zone_city,
        "viewer_zone": viewer_zone,
        "zone_label": zone_label,
        "long_day": long_day,
        "percent": percent,
        "phase_weeks": phase_weeks,
        "milestone_words": milestone_words,
        "label": labels.label,
        "shown_status": shown_status,
        "outcome_pending_note": labels.outcome_pending_note,
        "reason_label": labels.reason_label,
        "outbound_heading": labels.outbound_heading,
        "meaning_labels": labels.MEANING_LABELS,
        "report_disclaimer": labels.REPORT_DISCLAIMER,
        "viewer_locale": viewer_locale,
        "kind_labels": labels.CONTACT_KIND_LABELS,
        "contact_status_labels": labels.CONTACT_STATUS_LABELS,
        "attribution_labels": labels.ATTRIBUTION_LABELS,
        "alert_kind_labels": labels.ALERT_KIND_LABELS,
        "severity_labels": labels.SEVERITY_LABELS,
        "verification_labels": labels.VERIFICATION_LABELS,
        "verification_outcome_labels": labels.VERIFICATION_OUTCOME_LABELS,
        "message_status_labels": labels.MESSAGE_STATUS_LABELS,
        "message_purpose_labels": labels.MESSAGE_PURPOSE_LABELS,
        "presence_labels": labels.PRESENCE_LABELS,
        "presence_actor_labels": labels.PRESENCE_ACTOR_LABELS,
    }
