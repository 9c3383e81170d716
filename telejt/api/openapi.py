"""The OpenAPI 3.1 document, generated from the declared operations and their schemas."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify

from telejt.api.jsonschema import JsonSchema
from telejt.api.routing import ALL_ROLES, OPERATIONS, Operation, bp
from telejt.api.schemas import ALL_SCHEMAS, ERROR, ID

ERROR_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing, invalid or revoked token (WWW-Authenticate: Bearer)",
    403: "The caller's role may not do this",
    404: "Not found, or outside the caller's courts",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Body too large",
    422: "Validation failed; `fields` maps each bad field to a message",
}


def _path(rule: str) -> str:
    return re.sub(r"<int:(\w+)>", r"{\1}", rule)


def _error_response(status: int) -> JsonSchema:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/problem+json": {"schema": ERROR.ref()}},
    }


def _operation_document(op: Operation) -> JsonSchema:
    roles = "all roles" if op.roles == ALL_ROLES else ", ".join(op.roles)
    parameters: list[JsonSchema] = [
        {"name": name, "in": "path", "required": True, "schema": ID} for name in op.path_parameters
    ]
    parameters += [
        {
            "name": q.name,
            "in": "query",
            "required": q.required,
            "description": q.description,
            "schema": q.schema,
        }
        for q in op.query
    ]
    if op.method == "POST":
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Any text up to 200 characters, new for each distinct request: "
                "a retry with the same key and body gets the first answer again "
                "(Idempotent-Replayed: true) and changes nothing; with another body, 409. "
                "Kept 24 hours.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            }
        )
    answer = op.response.ref() if op.response else {}
    if op.many:
        answer = {"type": "array", "items": answer}
    responses: dict[str, Any] = {
        str(op.status): {
            "description": "OK" if op.status == 200 else "Created",
            "content": {"application/json": {"schema": answer}},
        }
    }
    statuses = [401, 405]
    if op.roles != ALL_ROLES:
        statuses.append(403)
    if op.path_parameters or op.body is not None or op.query:
        statuses.append(404)
    statuses.append(422)  # unknown query parameters are refused on every call
    if op.query:
        statuses.append(400)  # a query that is not text at all (a NUL byte)
    if op.method == "POST":
        statuses += [400, 409]  # an unusable Idempotency-Key; one already used elsewhere
    if op.body is not None:
        statuses += [400, 413]
    if op.conflicts:
        statuses.append(409)
    for status in sorted(set(statuses)):
        responses[str(status)] = _error_response(status)
    document: JsonSchema = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "description": f"{op.description}\n\nRoles: {roles}.".strip(),
        "security": [{"bearerAuth": []}],
        "responses": responses,
    }
    if parameters:
        document["parameters"] = parameters
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body.ref()}},
        }
    return document


def openapi_document() -> JsonSchema:
    """The whole OpenAPI 3.1 document of /api/v1."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(_path(op.rule), {})[op.method.lower()] = _operation_document(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "telejt API",
            "version": "1",
            "description": "Remote treatment of therapeutic justice programs. Times are "
            "ISO-8601 with an offset and are returned in UTC; a time without an offset is "
            "refused (422). Ids are integers. A token sees only its staff member's courts; "
            "outside them every resource answers 404. Every read of a participant's record "
            "is audited.",
        },
        "servers": [{"url": "/api/v1"}],
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {
            "schemas": {schema.name: schema.json for schema in ALL_SCHEMAS},
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `telejt tokens create --email …`.",
                }
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The API's OpenAPI document (public: it describes, it reveals no data)."""
    return jsonify(openapi_document())
