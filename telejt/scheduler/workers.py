"""Who a scheduler process is: its name on claims and heartbeats."""

from __future__ import annotations

import os
import socket


def worker_name() -> str:
    """host:pid, to know who claimed what."""
    return f"{socket.gethostname()}:{os.getpid()}"
