"""Cursor pages for the API's lists: ``?limit=&cursor=`` and a ``Link: …; rel="next"``.

A list answers at most ``limit`` items (default 100, at most 500), still as a JSON
array; when more follow, the ``Link`` header gives the next page's URL (RFC 8288),
whose ``cursor`` is opaque to the client. Pages are cut on a stable order (ids, or
time then id), so items changed between two pages are neither skipped nor repeated
by the paging itself; ``updated_since`` asks only for what changed since a moment.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import g, request
from flask_babel import gettext as _
from sqlalchemy import Select, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from telejt.api.errors import ApiError
from telejt.api.jsonschema import parse_instant
from telejt.api.routing import QueryParameter
from telejt.api.schemas import MAX_ID
from telejt.extensions import db

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
PAGE_QUERY = (
    QueryParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        f"items per page (default {DEFAULT_LIMIT})",
    ),
    QueryParameter(
        "cursor",
        {"type": "string", "maxLength": 200},
        'where the page starts: the cursor of the previous page\'s Link rel="next"',
    ),
    QueryParameter(
        "updated_since",
        {"type": "string", "format": "date-time"},
        "only what changed at or after this instant (with offset)",
    ),
)


def _encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, kinds: Sequence[type]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError(cursor)
        decoded: list[Any] = []
        for value, kind in zip(values, kinds, strict=True):
            if kind is datetime:
                decoded.append(parse_instant(str(value)))
            elif (
                kind is int
                and isinstance(value, int)
                and not isinstance(value, bool)
                and 0 <= value <= MAX_ID
            ):
                decoded.append(value)
            else:
                raise ValueError(cursor)
        return decoded
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ApiError(422, _("Datos no válidos."), {"cursor": _("Cursor no válido.")}) from None


def paged(
    statement: Select[Any],
    order: Sequence[InstrumentedAttribute[Any]],
    query: dict[str, Any],
    updated_at: InstrumentedAttribute[Any] | None = None,
) -> list[Any]:
    """One page of ``statement``'s rows in ``order``; sets the next page's Link header."""
    limit = query.get("limit") or DEFAULT_LIMIT
    if query.get("updated_since") is not None and updated_at is not None:
        statement = statement.where(updated_at >= query["updated_since"])
    if query.get("cursor"):
        after = _decode(query["cursor"], [datetime if _is_time(c) else int for c in order])
        bound = [
            literal(value, type_=column.type) for value, column in zip(after, order, strict=True)
        ]
        statement = statement.where(tuple_(*order) > tuple_(*bound))
    rows = list(db.session.scalars(statement.order_by(*order).limit(limit + 1)))
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        cursor = _encode([getattr(last, column.key) for column in order])
        arguments = {k: v for k, v in request.args.items() if k != "cursor"}
        arguments["cursor"] = cursor
        next_url = f"{request.base_url}?{urlencode(arguments)}"
        g.api_headers = {"Link": f'<{next_url}>; rel="next"'}
    return rows


def _is_time(column: InstrumentedAttribute[Any]) -> bool:
    return column.key.endswith("_at")
