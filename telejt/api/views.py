"""The JSON API blueprint at /api/v1, with every resource module's calls registered."""

from __future__ import annotations

from telejt.api import alerts, courts, openapi, participants, sessions  # noqa: F401  (routes)
from telejt.api.routing import bp
from telejt.extensions import csrf

# Bearer tokens are not cookies: a cross-site page cannot send them, so CSRF does not apply.
csrf.exempt(bp)

__all__ = ["bp"]
