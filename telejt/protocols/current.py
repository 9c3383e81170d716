"""The protocols the running app loaded at start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from telejt.protocols.loader import ProtocolRegistry
    from telejt.protocols.model import Protocol


def registry() -> ProtocolRegistry:
    """The registry loaded by ``create_app``."""
    loaded: ProtocolRegistry = current_app.extensions["telejt.protocols"]
    return loaded


def protocol_for(protocol_id: str, version: int) -> Protocol:
    """A participant's protocol, at the version he is on."""
    return registry().get(protocol_id, version)
