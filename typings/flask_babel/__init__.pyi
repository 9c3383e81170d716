from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from babel import Locale
from flask import Flask
from flask_babel.speaklater import LazyString

class Babel:
    def __init__(
        self,
        app: Flask | None = None,
        date_formats: dict[str, str | None] | None = None,
        configure_jinja: bool = True,
        *args: Any,
        **kwargs: Any,
    ) -> None: ...
    def init_app(
        self,
        app: Flask,
        default_locale: str = "en",
        default_domain: str = "messages",
        default_translation_directories: str = "translations",
        default_timezone: str = "UTC",
        locale_selector: Callable[[], str | Locale | None] | None = None,
        timezone_selector: Callable[[], str | None] | None = None,
    ) -> None: ...
    def list_translations(self) -> list[Locale]: ...

def get_locale() -> Locale | None: ...
def refresh() -> None: ...
def force_locale(locale: str | Locale) -> AbstractContextManager[None]: ...
def gettext(string: str, **variables: Any) -> str: ...
def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str: ...
def pgettext(context: str, string: str, **variables: Any) -> str: ...
def lazy_gettext(string: str, **variables: Any) -> LazyString: ...
def lazy_ngettext(singular: str, plural: str, num: int, **variables: Any) -> LazyString: ...

__all__ = [
    "Babel",
    "LazyString",
    "force_locale",
    "get_locale",
    "gettext",
    "lazy_gettext",
    "lazy_ngettext",
    "ngettext",
    "pgettext",
    "refresh",
]
