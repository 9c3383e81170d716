"""A rule's refusal that a page did not handle itself: the status its kind names.

Pages that can say more (a form shown again, a message flashed) catch the
refusal themselves; anything else a service raises from telejt.errors becomes the
site's plain error page with that status, after a rollback so nothing half-done
stays. The API answers the same kinds with the same statuses as problem+json
(telejt.api.errors, whose blueprint handler comes first for its own requests).
"""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import BadRequest, default_exceptions
from werkzeug.wrappers import Response

from telejt.errors import TelejtError
from telejt.extensions import db


def _refusal_page(error: TelejtError) -> Response:
    db.session.rollback()
    page = default_exceptions.get(error.status, BadRequest)(description=error.message or None)
    return page.get_response()


def register_error_pages(app: Flask) -> None:
    """Answer an unhandled TelejtError with its status."""
    app.register_error_handler(TelejtError, _refusal_page)
