"""Typed readers for the values of a protocol file, collecting every problem they meet.

Each reader returns the value it read, or None after recording a Finding; the
callers build the model from whatever was valid and carry on, so that one run
reports every problem of a file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from datetime import date, time, timedelta
from typing import Any, TypeVar

from telejt.protocols.document import Document, FieldPath, Finding, format_path
from telejt.protocols.model import LocalizedText
from telejt.protocols.wording import forbidden_words_in

SLUG = re.compile(r"[a-z0-9-]+")
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
# At most 6 digits a part, which keeps timedelta() from overflowing.
_DURATION = re.compile(r"(?:([0-9]{1,6})d)?(?:([0-9]{1,6})h)?(?:([0-9]{1,6})m)?")
LANGUAGES = ("es", "en")

T = TypeVar("T")


def describe(value: Any) -> str:
    """A value as YAML read it, for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the decimal number {value}"
    if isinstance(value, str):
        return f'the text "{value}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    return type(value).__name__  # pragma: no cover


class Checker:
    """Collects the findings of one document."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.findings: list[Finding] = list(document.problems)

    def fail(self, path: FieldPath, message: str, *, at_key: bool = False) -> None:
        """Record a problem of the field at ``path``."""
        line = self.document.line(path, of_key=at_key)
        self.findings.append(Finding(format_path(path), line, message))

    def shown(self, path: FieldPath, value: Any) -> str:
        """A value for an error message, as written when YAML read it as something else."""
        written = self.document.plain_text.get(path)
        if written is None or isinstance(value, str) or value is None:
            return describe(value)
        as_read = str(value).lower() if isinstance(value, bool) else str(value)
        if written == as_read:
            return describe(value)
        return f"{written} (which YAML reads as {describe(value)})"

    def expected(self, path: FieldPath, what: str, value: Any, hint: str = "") -> None:
        """Record that a field holds the wrong kind of value."""
        self.fail(path, f"expected {what}, got {self.shown(path, value)}{hint}")

    def mapping(
        self,
        path: FieldPath,
        value: Any,
        required: Iterable[str],
        optional: Iterable[str] = (),
    ) -> Fields | None:
        """A mapping with exactly these keys; unknown keys and missing required ones fail."""
        required = tuple(required)
        allowed = (*required, *optional)
        if not isinstance(value, dict):
            self.expected(path, f"a mapping with keys {', '.join(allowed)}", value)
            return None
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f'did you mean "{close[0]}"? ' if close else ""
                self.fail(
                    (*path, key), f"unknown key; {hint}allowed: {', '.join(allowed)}", at_key=True
                )
        for key in required:
            if key not in value:
                self.fail((*path, key), "required field is missing")
        return Fields(self, path, value)

    def integer(
        self, path: FieldPath, value: Any, low: int | None = None, high: int | None = None
    ) -> int | None:
        """A whole number within ``low``..``high`` (inclusive, either may be open)."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.expected(path, "a whole number", value)
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                bounds = f"between {low} and {high}"
            else:
                bounds = f"at least {low}" if low is not None else f"at most {high}"
            self.fail(path, f"must be {bounds}, got {value}")
            return None
        return value

    def boolean(self, path: FieldPath, value: Any) -> bool | None:
        """true or false."""
        if not isinstance(value, bool):
            self.expected(path, "true or false", value)
            return None
        return value

    def text(self, path: FieldPath, value: Any) -> str | None:
        """A non-empty text, without surrounding whitespace."""
        if not isinstance(value, str):
            quote = "; put it in quotes" if path in self.document.plain_text else ""
            self.expected(path, "text", value, quote)
            return None
        if not value.strip():
            self.fail(path, "must not be empty")
            return None
        return value.strip()

    def slug(self, path: FieldPath, value: Any) -> str | None:
        """An identifier of lowercase letters, digits and hyphens."""
        text = self.text(path, value)
        if text is not None and not SLUG.fullmatch(text):
            self.fail(path, f'must use only a-z, 0-9 and "-", got "{text}"')
            return None
        return text

    def one_of(self, path: FieldPath, value: Any, options: Iterable[str]) -> str | None:
        """One of a fixed set of words."""
        options = tuple(options)
        if not isinstance(value, str) or value not in options:
            self.expected(path, f"one of {', '.join(options)}", value)
            return None
        return value

    def scalar_text(self, path: FieldPath, value: Any) -> str | None:
        """A scalar as written in the file (an unquoted ``19:00`` or ``1`` stays text)."""
        if isinstance(value, str):
            return value
        if path in self.document.plain_text and not isinstance(value, bool | type(None)):
            return self.document.plain_text[path]
        return None

    def clock_time(self, path: FieldPath, value: Any) -> time | None:
        """A local time written "HH:MM" on a 24-hour clock."""
        text = self.scalar_text(path, value)
        match = _TIME.fullmatch(text) if text is not None else None
        if match is None:
            self.fail(
                path,
                f'expected a time "HH:MM" (24-hour, e.g. "07:30"), got {describe(text or value)}',
            )
            return None
        return time(int(match[1]), int(match[2]))

    def duration(self, path: FieldPath, value: Any) -> timedelta | None:
        """A duration written like ``7d``, ``24h``, ``90m`` or ``1h30m``."""
        match = _DURATION.fullmatch(value) if isinstance(value, str) and value else None
        if match is None:
            self.fail(
                path,
                f"expected a duration like 7d, 24h, 90m or 1h30m, got {self.shown(path, value)}",
            )
            return None
        days, hours, minutes = (int(group or 0) for group in match.groups())
        return timedelta(days=days, hours=hours, minutes=minutes)

    def items(self, path: FieldPath, value: Any, *, non_empty: bool = False) -> list[Any] | None:
        """A list (optionally non-empty)."""
        if not isinstance(value, list):
            self.expected(path, "a list", value)
            return None
        if non_empty and not value:
            self.fail(path, "must not be empty")
            return None
        return value

    def localized(self, path: FieldPath, value: Any) -> LocalizedText | None:
        """A text in every language: ``{es: ..., en: ...}``."""
        fields = self.mapping(path, value, LANGUAGES)
        if fields is None:
            return None
        es = fields.read("es", self.text)
        en = fields.read("en", self.text)
        if es is None or en is None:
            return None
        return LocalizedText(es=es, en=en)

    def sms_text(self, path: FieldPath, value: Any) -> LocalizedText | None:
        """A localized text that may be sent by SMS: it names no court, offence, substance or
        addiction treatment (telejt.protocols.wording)."""
        text = self.localized(path, value)
        if text is None:
            return None
        clean = True
        for language in LANGUAGES:
            words = forbidden_words_in(getattr(text, language))
            if words:
                quoted = ", ".join(f'"{word}"' for word in words)
                message = (
                    "SMS texts must not name a court, an offence, a substance or addiction "
                    f"treatment: {quoted}"
                )
                self.fail((*path, language), message)
                clean = False
        return text if clean else None

    def unique(
        self,
        path: FieldPath,
        items: list[Any],
        key: Callable[[Any], Any],
        what: str,
        field: str | None = None,
    ) -> bool:
        """Fail each item of a list whose key repeats an earlier one's; True if all differ.

        ``items`` are the items as read (None for the failed ones, which are skipped);
        ``field`` names the key inside each item, to point at its line.
        """
        seen: dict[Any, int] = {}
        distinct = True
        for index, item in enumerate(items):
            if item is None:
                continue
            value = key(item)
            if value in seen:
                here: FieldPath = (*path, index, field) if field else (*path, index)
                first: FieldPath = (*path, seen[value], field) if field else (*path, seen[value])
                self.fail(here, f"duplicate {what} (first at line {self.document.line(first)})")
                distinct = False
            else:
                seen[value] = index
        return distinct


def all_or_none(items: list[T | None]) -> tuple[T, ...] | None:
    """The items as a tuple, or None if any of them failed."""
    valid = [item for item in items if item is not None]
    return tuple(valid) if len(valid) == len(items) else None


class Fields:
    """The keys of one mapping of the document, read one at a time."""

    def __init__(self, checker: Checker, path: FieldPath, data: dict[str, Any]) -> None:
        self.checker = checker
        self.path = path
        self.data = data

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def at(self, key: str) -> FieldPath:
        """The path of one key of this mapping."""
        return (*self.path, key)

    def read(self, key: str, reader: Callable[..., T | None], *args: Any) -> T | None:
        """Read a key with one of the Checker's readers; None when the key is absent."""
        if key not in self.data:
            return None
        return reader(self.at(key), self.data[key], *args)

    def integer(
        self, key: str, low: int, high: int | None = None, default: int | None = None
    ) -> int | None:
        """A whole number within bounds, or ``default`` when the key is absent."""
        if key not in self.data:
            return default
        return self.checker.integer(self.at(key), self.data[key], low, high)

    def boolean(self, key: str, default: bool) -> bool | None:
        """A boolean, or ``default`` when the key is absent."""
        if key not in self.data:
            return default
        return self.checker.boolean(self.at(key), self.data[key])

    def one_of(self, key: str, options: Iterable[str], default: str | None = None) -> str | None:
        """One of a fixed set of words, or ``default`` when the key is absent."""
        if key not in self.data:
            return default
        return self.checker.one_of(self.at(key), self.data[key], options)
