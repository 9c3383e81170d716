"""Logging, set up once at start by the processes (``telejt`` commands, ``telejt.wsgi``).

INFO by default (``TELEJT_LOG_LEVEL``); ``TELEJT_LOG_FORMAT=json`` writes one JSON
object per line, with the request id of web requests (from ``X-Request-ID`` or a
new one, echoed in the response). Whatever any library logs, phone numbers are
masked to their last two digits before a line is written (telejt.logmask): a log
is read by people who must not learn who is in the program. SMS bodies and names
are never logged by telejt's own code.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from telejt.logmask import install_log_masking, mask_phones

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RedactingFilter(logging.Filter):
    """Masks phone numbers in a record's exception text and gives it the request id, if any.

    (Its message is masked by every record itself: telejt.logmask.)
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops a record."""
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_phones(record.exc_text)
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON: time, level, logger, message, request id, exception."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "process": record.process,
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Send every log record, masked, to standard error in the chosen format."""
    install_log_masking()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "telejt", False):
            root.removeHandler(existing)
    handler.telejt = True  # type: ignore[attr-defined]  # our mark on the handler
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler tells every run of every loop (several a second) at INFO: noise
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))


def install_request_ids(app: Flask) -> None:
    """Each request gets an id (the proxy's ``X-Request-ID`` when sane), logged and echoed."""

    @app.before_request
    def assign_request_id() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response
