"""What a rule refuses, said by kind: invalid input, a conflict with the current state, not found.

Services raise these; nothing else decides the HTTP status. Each kind carries its
status once (``status``): the API answers it as problem+json
(telejt.api.errors), a page that does not handle the refusal itself answers it
with the site's plain error page (telejt.error_pages). ``fields`` maps a field to
what is wrong with it, in the user's language.
"""

from __future__ import annotations


class TelejtError(Exception):
    """A request a rule refuses; ``status`` is its HTTP status, wherever it is answered."""

    status = 400

    def __init__(self, message: str = "", fields: dict[str, str] | None = None) -> None:
        self.fields = dict(fields or {})
        self.message = message or "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        super().__init__(self.message)


class InvalidInput(TelejtError, ValueError):
    """Input that cannot be accepted, whatever the state; ``fields`` says what is wrong."""

    status = 422

    def __init__(self, fields: dict[str, str], message: str = "") -> None:
        super().__init__(message, fields)


class Conflict(TelejtError):
    """Well-formed, but the current state does not allow it (already done, cancelled, too early)."""

    status = 409


class NotFound(TelejtError):
    """What it names does not exist, or is not the caller's to see."""

    status = 404
