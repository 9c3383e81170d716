"""Socket.IO connections: who may open one, how many, and closing those whose session ended."""

from __future__ import annotations

import sys
from typing import Any, Literal

#: Engine.IO settings of the web's Socket.IO server
SOCKET_OPTIONS: dict[str, Any] = {
    # the largest message a client may send (a video offer is a few kB)
    "max_http_buffer_size": 64 * 1024,
    # a silent socket (a closed laptop, a dropped network) is closed after 20 + 20 s
    "ping_interval": 20,
    "ping_timeout": 20,
}


def async_mode() -> Literal["threading", "gevent"]:
    """``gevent`` under a gevent worker (its sockets are patched), else ``threading``.

    Chosen from what the process is, never left to Flask-SocketIO's guess (which
    would pick an installed eventlet).
    """
    if "gevent" in sys.modules:
        from gevent import monkey

        if monkey.is_module_patched("socket"):
            return "gevent"
    return "threading"
