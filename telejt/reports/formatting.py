"""Dates and labels for the dashboard and report templates, in the viewer's language."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask_babel import get_locale

from telejt.clock import now
from telejt.i18n import babel_locale
from telejt.planning.models import Contact
from telejt.planning.outcomes import reported_status
from telejt.reports import labels


def viewer_locale() -> str:
    """The staff member's interface locale as a string ("es_MX" or "en")."""
    return str(get_locale() or "es_MX")


def local_when(moment: datetime | None, timezone: str, with_weekday: bool = True) -> str:
    """An instant as the participant's clock showed it: "mar 3 mar 2026, 10:00"."""
    if moment is None:
        return "—"
    pattern = "EEE d MMM y, HH:mm" if with_weekday else "d MMM y, HH:mm"
    return format_datetime(
        moment, pattern, tzinfo=ZoneInfo(timezone), locale=babel_locale(viewer_locale())
    )


def long_day(day: date) -> str:
    """A calendar day in full: "3 de marzo de 2026"."""
    return format_date(day, "long", locale=babel_locale(viewer_locale()))


def percent(rate: float | None) -> str:
    """A rate as a whole percentage, or a dash without data."""
    return "—" if rate is None else f"{round(rate * 100)} %"


def shown_status(contact: Contact) -> str:
    """A contact's status as a page shows it now ("outcome_pending" for an unmarked session)."""
    return reported_status(contact, now())


def template_helpers() -> dict[str, Any]:
    """What the dashboard and report templates use."""
    return {
        "local_when": local_when,
        "long_day": long_day,
        "percent": percent,
        "label": labels.label,
        "shown_status": shown_status,
        "outcome_pending_note": labels.outcome_pending_note,
        "reason_label": labels.reason_label,
        "report_disclaimer": labels.REPORT_DISCLAIMER,
        "viewer_locale": viewer_locale,
        "kind_labels": labels.CONTACT_KIND_LABELS,
        "contact_status_labels": labels.CONTACT_STATUS_LABELS,
        "attribution_labels": labels.ATTRIBUTION_LABELS,
        "alert_kind_labels": labels.ALERT_KIND_LABELS,
        "severity_labels": labels.SEVERITY_LABELS,
        "message_status_labels": labels.MESSAGE_STATUS_LABELS,
        "message_purpose_labels": labels.MESSAGE_PURPOSE_LABELS,
        "presence_labels": labels.PRESENCE_LABELS,
        "presence_actor_labels": labels.PRESENCE_ACTOR_LABELS,
    }
