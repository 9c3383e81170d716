"""The API blueprint and the ``operation`` decorator that routes, checks and documents a call.

One declaration per call says its method, path, roles, query parameters, body
schema and answer. The decorator enforces all of it (role → 403, malformed JSON →
400, schema → 422) and the OpenAPI document is generated from the same list, so
what is documented is what is enforced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask_babel import gettext as _

from telejt.api.auth import api_user, authenticate_request, require_role
from telejt.api.errors import ApiError, register_error_handlers
from telejt.api.idempotency import run_once
from telejt.api.jsonschema import JsonSchema, Schema, integral, parse_instant
from telejt.api.schemas import MAX_ID
from telejt.errors import NotFound
from telejt.extensions import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)
register_error_handlers(bp)

ALL_ROLES = ("admin", "coordinator", "therapist", "court")
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class QueryParameter:
    """A query-string parameter: its JSON Schema and whether it is required."""

    name: str
    schema: JsonSchema
    description: str = ""
    required: bool = False

    def parse(self, raw: str) -> Any:
        """The parameter's value from its text; ValueError when it does not fit the schema."""
        if self.schema.get("type") == "integer":
            if not re.fullmatch(r"-?\d{1,18}", raw):
                raise ValueError(raw)
            value: Any = int(raw)
            if not self.schema.get("minimum", value) <= value <= self.schema.get("maximum", value):
                raise ValueError(raw)
        elif self.schema.get("format") == "date-time":
            value = parse_instant(raw)
        else:
            value = raw
        if "enum" in self.schema and value not in self.schema["enum"]:
            raise ValueError(raw)
        return value


@dataclass(frozen=True)
class Operation:
    """One documented, enforced API call."""

    method: str
    rule: str
    endpoint: str
    summary: str
    description: str
    roles: tuple[str, ...]
    body: Schema | None
    query: tuple[QueryParameter, ...]
    response: Schema | None
    status: int
    many: bool
    conflicts: bool
    path_parameters: tuple[str, ...] = field(default=())


OPERATIONS: list[Operation] = []


def operation(
    method: str,
    rule: str,
    *,
    summary: str,
    description: str = "",
    roles: tuple[str, ...] = ALL_ROLES,
    body: Schema | None = None,
    query: tuple[QueryParameter, ...] = (),
    response: Schema | None = None,
    status: int = 200,
    many: bool = False,
    conflicts: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Response]]:
    """Declare, route and enforce one API call; the view gets ``body=`` and ``query=``."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Response]:
        @wraps(view)
        def wrapped(**path_values: Any) -> Response:
            g.pop("api_headers", None)  # g outlives a request where an app context is reused
            require_role(*roles)
            if any(value > MAX_ID for value in path_values.values()):
                raise NotFound(_("No encontrado."))
            kwargs: dict[str, Any] = dict(path_values)
            parsed = _parse_query(query)  # also refuses unknown parameters, typos included
            if query:
                kwargs["query"] = parsed
            if body is not None:
                kwargs["body"] = _parse_body(body)
            if method == "POST":
                once = run_once(api_user().id, lambda: (view(**kwargs), status))
                if once is not None:
                    db.session.commit()  # the change and its stored answer together
                    return once
            payload = view(**kwargs)
            db.session.commit()  # the audit rows and the token's last use, with the change
            response = jsonify(payload)
            response.status_code = status
            response.headers.update(g.pop("api_headers", {}))  # a list's Link: rel="next"
            return response

        OPERATIONS.append(
            Operation(
                method=method,
                rule=rule,
                endpoint=view.__name__,
                summary=summary,
                description=description,
                roles=roles,
                body=body,
                query=query,
                response=response,
                status=status,
                many=many,
                conflicts=conflicts,
                path_parameters=tuple(re.findall(r"<int:(\w+)>", rule)),
            )
        )
        bp.add_url_rule(rule, view.__name__, wrapped, methods=[method])
        return wrapped

    return decorator


def _parse_query(parameters: tuple[QueryParameter, ...]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    known = {parameter.name for parameter in parameters}
    for name in request.args:
        if name not in known:
            errors[name[:60]] = _("Campo desconocido.")
    for parameter in parameters:
        given = request.args.getlist(parameter.name)
        if len(given) > 1:
            errors[parameter.name] = _("Indique este parámetro una sola vez.")
            continue
        raw = given[0] if given else None
        if raw is None:
            if parameter.required:
                errors[parameter.name] = _("Campo obligatorio.")
            values[parameter.name] = None
            continue
        try:
            values[parameter.name] = parameter.parse(raw)
        except ValueError:
            errors[parameter.name] = (
                _("Fecha y hora ISO-8601 con zona horaria, p. ej. 2026-03-03T10:00:00-06:00.")
                if parameter.schema.get("format") == "date-time"
                else _("Valor no válido.")
            )
    if errors:
        raise ApiError(422, _("Datos no válidos."), errors)
    return values


def _parse_body(schema: Schema) -> Any:
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, _("El cuerpo de la solicitud es demasiado grande."))
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, _("El cuerpo no es JSON válido.")) from None
    errors = schema.validate(value)
    if errors:
        raise ApiError(422, _("Datos no válidos."), errors)
    return integral(value)
