"""Connects the receivers of the SMS channel's signals (imported once by ``create_app``).

Each module below connects its receivers when imported; importing them here makes
sure they are connected in every process (web, scheduler, command line), whether
or not anything else imported them.
"""

from __future__ import annotations


def connect_receivers() -> None:
    """Import the modules whose receivers answer :mod:`telejt.sms.signals`."""
    from telejt.conversation import crisis, engine, prompts  # noqa: F401
    from telejt.sessions import services  # noqa: F401
