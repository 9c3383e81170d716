"""A small Engine.IO 4 WebSocket client on asyncio (wsproto): hundreds of sockets, one thread.

python-socketio's client holds a thread or two per connection; load tests and the
socket benchmark open hundreds or a thousand at once, so they speak the protocol
themselves: the WebSocket handshake (with or without a login cookie), Engine.IO's
open packet, joining a Socket.IO namespace, and answering pings.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    RejectConnection,
    Request,
    TextMessage,
)


@dataclass
class Tally:
    """Sockets held now, opened in all, and refusals by kind."""

    held: int = 0
    opened: int = 0
    refused: Counter[str] = field(default_factory=Counter)


async def engineio_socket(
    port: int,
    cookie: str | None,
    tally: Tally,
    hold_until: float,
    namespace: str | None = "/live",
) -> None:
    """One Engine.IO 4 WebSocket: open, join ``namespace``, answer pings until the time.

    Without a namespace it only holds the Engine.IO connection open (answering
    pings): what a bare attacker does to keep a server thread.
    """
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as error:
        tally.refused[f"tcp: {error.__class__.__name__}"] += 1
        return
    ws = WSConnection(ConnectionType.CLIENT)
    headers = [(b"Cookie", cookie.encode())] if cookie else []
    writer.write(
        ws.send(
            Request(
                host=f"127.0.0.1:{port}",
                target="/socket.io/?EIO=4&transport=websocket",
                extra_headers=headers,
            )
        )
    )
    joined = False
    try:
        while True:
            timeout = max(hold_until - time.monotonic(), 0.01)
            data = await asyncio.wait_for(reader.read(65536), timeout=timeout)
            if not data:
                tally.refused["closed by server"] += 1
                return
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, RejectConnection):
                    tally.refused[f"http {event.status_code}"] += 1
                    return
                if isinstance(event, AcceptConnection):
                    tally.opened += 1
                elif isinstance(event, TextMessage):
                    text = event.data
                    if text.startswith("0") and namespace is None:  # hold, join nothing
                        joined = True
                        tally.held += 1
                    elif text.startswith("0"):  # Engine.IO open: join the namespace
                        writer.write(ws.send(TextMessage(data=f"40{namespace},")))
                    elif namespace is not None and text.startswith(f"40{namespace}"):
                        joined = True
                        tally.held += 1
                    elif namespace is not None and text.startswith(f"44{namespace}"):
                        tally.refused["namespace refused"] += 1
                        return
                    elif text == "2":  # ping
                        writer.write(ws.send(TextMessage(data="3")))
                elif isinstance(event, CloseConnection):
                    tally.refused["closed by server"] += 1
                    return
            await writer.drain()
    except TimeoutError:
        return
    except (ConnectionError, OSError):
        tally.refused["connection reset"] += 1
    finally:
        if joined:
            tally.held -= 1
        writer.close()


#: an attacker's pause between attempts: Socket.IO clients reconnect after 1 to 5 s
RETRY_AFTER_SECONDS = 1.0


async def bare_attacker(
    port: int, tally: Tally, until: float, pause: float = RETRY_AFTER_SECONDS
) -> None:
    """Open a cookieless socket and hold it (joining nothing, answering pings); when it is
    refused or closed, try again after ``pause``, until the time is up."""
    while time.monotonic() < until:
        await engineio_socket(port, None, tally, until, namespace=None)
        await asyncio.sleep(pause)


async def run_load(
    port: int,
    *,
    bare: int,
    cookies: list[str],
    seconds: float,
    sample: dict[str, Any],
    pause: float = RETRY_AFTER_SECONDS,
) -> Tally:
    """``bare`` attackers and ``cookies``' dashboards at once for ``seconds``; the tally."""
    tally = Tally()
    until = time.monotonic() + seconds
    tasks = [asyncio.create_task(bare_attacker(port, tally, until, pause)) for _ in range(bare)]
    for start in range(0, len(cookies), 100):  # dashboards open a hundred at a time
        tasks += [
            asyncio.create_task(engineio_socket(port, cookie, tally, until))
            for cookie in cookies[start : start + 100]
        ]
        await asyncio.sleep(0.2)
    while time.monotonic() < until - 1:
        await asyncio.sleep(0.5)
        sample["peak_held"] = max(sample.get("peak_held", 0), tally.held)
    await asyncio.gather(*tasks, return_exceptions=True)
    return tally
