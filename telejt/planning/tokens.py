"""The unguessable part of a participant's links."""

from __future__ import annotations

import secrets


def new_join_token() -> str:
    """96 random bits, short enough for an SMS link."""
    return secrets.token_urlsafe(12)
