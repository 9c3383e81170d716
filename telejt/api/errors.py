"""API errors as RFC 9457 problem details, keeping telejt's own ``error`` object.

``Content-Type: application/problem+json`` with ``type``, ``title``, ``status`` and
``detail``, plus ``{"error": {"code", "message", "fields"}}`` as before, so clients
written for either read it. Every error rolls the session back first, so a request
that fails writes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from telejt.errors import InvalidInput, TelejtError
from telejt.extensions import db

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
#: the problem types' documentation: the error codes, in the OpenAPI document
PROBLEM_TYPES = "/api/v1/openapi.json"

#: machine-readable codes of the HTTP statuses the API answers with
STATUS_CODES = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    500: "internal_error",
}


class ApiError(Exception):
    """An error the API answers with; ``fields`` maps bad fields to messages."""

    def __init__(
        self, status: int, message: str, fields: dict[str, str] | None = None, code: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.code = code or STATUS_CODES.get(status, "error")


def error_response(
    status: int, message: str, fields: dict[str, str] | None = None, code: str = ""
) -> Response:
    """The JSON error body with its status (and the Bearer challenge on a 401)."""
    code = code or STATUS_CODES.get(status, "error")
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPES}#{code}",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": str(message),
        "error": {
            "code": code,
            "message": str(message),
            "fields": {key: str(value) for key, value in (fields or {}).items()},
        },
    }
    response = jsonify(body)
    response.mimetype = "application/problem+json"
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="telejt"'
    return response


def _http_message(status: int) -> str:
    messages = {
        400: _("Solicitud mal formada."),
        401: _("Falta un token válido (Authorization: Bearer …)."),
        403: _("Su función no permite esta operación."),
        404: _("No encontrado."),
        405: _("Método no permitido para este recurso."),
        409: _("Conflicto con el estado actual."),
        422: _("Datos no válidos."),
    }
    return messages.get(status, _("Error del servidor."))


def _handle_api_error(error: ApiError) -> Response:
    db.session.rollback()
    return error_response(error.status, error.message, error.fields, error.code)


def _handle_refusal(error: TelejtError) -> Response:
    # a rule's refusal (telejt.errors): its kind is its status
    db.session.rollback()
    message = _("Datos no válidos.") if isinstance(error, InvalidInput) else error.message
    return error_response(error.status, message or _http_message(error.status), error.fields)


def _handle_integrity_error(error: IntegrityError) -> Response:
    # A unique constraint beaten by a concurrent request: nothing of this request stays.
    db.session.rollback()
    return error_response(409, _("Conflicto con el estado actual."))


def _handle_unexpected(error: Exception) -> Response:
    db.session.rollback()
    log.exception("API request failed: %s %s", request.method, request.path)
    return error_response(500, _("Error del servidor."))


def _handle_http_exception(error: HTTPException) -> Any:
    if not request.path.startswith(API_PREFIX):
        return error  # the rest of the site keeps its own error pages
    db.session.rollback()
    status = error.code or 500
    response = error_response(status, _http_message(status))
    if status == 405 and error.response is None:
        allowed = getattr(error, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def register_error_handlers(bp: Blueprint) -> None:
    """JSON errors for the API blueprint, and for unmatched URLs under /api/v1."""
    bp.register_error_handler(ApiError, _handle_api_error)
    bp.register_error_handler(TelejtError, _handle_refusal)
    bp.register_error_handler(IntegrityError, _handle_integrity_error)
    bp.register_error_handler(HTTPException, _handle_http_exception)
    bp.register_error_handler(Exception, _handle_unexpected)
    # Routing errors happen before a blueprint is chosen: only app handlers see them.
    bp.app_errorhandler(404)(_handle_http_exception)
    bp.app_errorhandler(405)(_handle_http_exception)
