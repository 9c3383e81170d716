"""``Idempotency-Key`` on the API's POSTs: a retried request is answered, not done again.

A client that did not hear the answer to ``POST /sessions`` (a timeout, a dropped
connection) sends it again with the same ``Idempotency-Key`` header. The first
request's key is written in the same transaction as its change, before the
change, so:

- the same key with the same request (method, path, body) gets the stored answer
  again, with ``Idempotent-Replayed: true``, and nothing is done twice;
- the same key with a different request gets 409 (it names another request);
- two copies racing each other: the second waits on the key's unique index and,
  once the first commits, gets the first one's answer;
- a request that fails stores nothing (its transaction is rolled back), so it
  may be retried with the same key.

Keys belong to one staff member and are kept ``KEY_LIFETIME``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Response, request
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from telejt.api.errors import ApiError
from telejt.api.models import MAX_KEY_LENGTH, IdempotencyKey
from telejt.clock import now
from telejt.extensions import db

HEADER = "Idempotency-Key"
KEY_LIFETIME = timedelta(hours=24)


def _request_hash() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.get_data(cache=True)):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _replay(stored: IdempotencyKey, request_hash: str) -> Response:
    if stored.request_hash != request_hash or stored.status is None:
        raise ApiError(
            409,
            _("Esta Idempotency-Key ya se usó para otra solicitud."),
            {HEADER: _("Use una clave nueva para cada solicitud distinta.")},
        )
    response = Response(stored.response_body, status=stored.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _stored(staff_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.staff_id == staff_id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at >= now() - KEY_LIFETIME,
        )
    )


def run_once(staff_id: int, call: Callable[[], tuple[Any, int]]) -> Response | None:
    """Run a POST's ``call`` under the request's Idempotency-Key; None when it has none.

    ``call`` does the change and returns (payload, status) without committing; the
    caller's transaction commits the change and the stored answer together.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            400,
            _("Idempotency-Key no válida."),
            {HEADER: _("De 1 a 200 caracteres.")},
        )
    request_hash = _request_hash()
    stored = _stored(staff_id, key)
    if stored is not None:
        return _replay(stored, request_hash)
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.staff_id == staff_id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at < now() - KEY_LIFETIME,
        )
    )
    record = IdempotencyKey(staff_id=staff_id, key=key, request_hash=request_hash, created_at=now())
    try:
        with db.session.begin_nested():
            db.session.add(record)  # waits here for a concurrent copy of this request
    except IntegrityError:
        stored = _stored(staff_id, key)
        if stored is None:
            raise ApiError(409, _("Conflicto con el estado actual.")) from None
        return _replay(stored, request_hash)
    payload, status = call()
    record.status = status
    record.response_body = json.dumps(payload, ensure_ascii=False)
    response = Response(record.response_body, status=status, mimetype="application/json")
    return response
