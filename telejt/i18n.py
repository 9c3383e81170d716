"""Languages: the staff locale selector, and texts in a participant's own language and zone."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from flask import current_app, has_request_context, request
from flask_babel import force_locale, lazy_gettext
from flask_login import current_user

SUPPORTED_LOCALES = ("es_MX", "en")


def select_locale() -> str:
    """Staff locale: the user's preference, then the browser's, then the default."""
    default: str = current_app.config["TELEJT_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    preferred = getattr(current_user, "locale", None)
    if preferred in SUPPORTED_LOCALES:
        return str(preferred)
    # Browsers send "es-MX", "es" or "en-US"; any Spanish is served as es_MX.
    best = request.accept_languages.best_match(["es-MX", "es", "en"])
    if best is None:
        return default
    return "en" if best == "en" else "es_MX"


def lazy_label(message: str, **variables: Any) -> str:
    """``lazy_gettext`` for WTForms labels, choices and messages, typed as the ``str`` they take.

    WTForms only formats and renders them, in the locale of the request that renders the
    form. Imported as ``_l`` so that the catalog extractor finds the strings.
    """
    # a LazyString is no str, but it formats and renders as one, which is all WTForms does
    return cast(str, lazy_gettext(message, **variables))


def sms_safe(text: str) -> str:
    """Replace the no-break spaces CLDR puts in times ("5:05 p.m."), which force UCS-2."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@contextmanager
def participant_locale(locale: str) -> Iterator[None]:
    """Render gettext strings in a participant's locale, also outside a request.

    Needs an app context: ``force_locale`` does nothing without one.
    """
    with force_locale(locale if locale in SUPPORTED_LOCALES else "es_MX"):
        yield


@functools.lru_cache(maxsize=8)
def babel_locale(identifier: str) -> Locale:
    """Babel's locale object, parsed once per identifier.

    Babel parses a locale given by name on every call (about 40 µs): a good part of
    rendering an SMS, and of a dashboard page that formats some 300 instants.
    """
    return Locale.parse(identifier)


def local_datetime(moment: datetime, timezone: str, locale: str) -> str:
    """A UTC instant as the participant reads it: "lunes 9 de marzo, 5:05 p.m."."""
    return sms_safe(
        format_datetime(
            moment,
            "EEEE d 'de' MMMM, h:mm a" if locale.startswith("es") else "EEEE, MMMM d, h:mm a",
            tzinfo=ZoneInfo(timezone),
            locale=babel_locale(locale),
        )
    )


def local_day(moment: datetime, timezone: str, locale: str) -> str:
    """Only the day of an instant as the participant reads it: "lunes 9 de marzo"."""
    return format_date(
        moment.astimezone(ZoneInfo(timezone)).date(),
        "EEEE d 'de' MMMM" if locale.startswith("es") else "EEEE, MMMM d",
        locale=babel_locale(locale),
    )


def local_time(moment: datetime, timezone: str, locale: str) -> str:
    """Only the wall-clock time of an instant in the participant's zone: "5:05 p.m."."""
    return sms_safe(
        format_time(moment, "short", tzinfo=ZoneInfo(timezone), locale=babel_locale(locale))
    )
