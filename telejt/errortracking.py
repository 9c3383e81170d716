"""Optional error tracking with Sentry's SDK, when ``SENTRY_DSN`` is set.

Nothing personal leaves: no request bodies, cookies, headers, user data or local
variables are sent, and phone numbers are masked in whatever text remains (messages,
exception values, breadcrumbs). An error report says where the code failed, not who
was in the program.
"""

from __future__ import annotations

from typing import Any, cast

from telejt.logmask import mask_phones

#: request fields dropped before an event is sent
_DROPPED_REQUEST_FIELDS = ("data", "cookies", "headers", "query_string", "env")


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_phones(value)
    if isinstance(value, dict):
        return {key: _mask(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item) for item in value]
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Remove what could identify a person from a Sentry event (its ``before_send``)."""
    request = event.get("request")
    if isinstance(request, dict):
        for field in _DROPPED_REQUEST_FIELDS:
            request.pop(field, None)
    event.pop("user", None)
    for exception in (event.get("exception") or {}).get("values", []) or []:
        for frame in (exception.get("stacktrace") or {}).get("frames", []) or []:
            frame.pop("vars", None)
    scrubbed: dict[str, Any] = _mask(event)
    return scrubbed


def init_error_tracking(dsn: str | None, environment: str, **options: Any) -> bool:
    """Start Sentry when a DSN is given; True if it was started."""
    if not dsn:
        return False
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        data_collection={
            "user_info": False,
            "http_bodies": [],
            "stack_frame_variables": False,
            "database_query_data": False,
        },
        before_send=cast(Any, scrub_event),
        before_breadcrumb=cast(Any, lambda crumb, hint: _mask(crumb)),
        **options,
    )
    return True
