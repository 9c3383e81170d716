"""Live events across processes through Redis, and catching up after Redis was away.

Alerts are committed to the database before they are published, so an event that
Redis could not carry is not lost: it is late. What must not happen is a dashboard
that never learns it missed something. So:

- a process whose publish failed owes every dashboard a ``resync``: it sends one
  with its next successful publish, or at its next heartbeat or socket sweep
  (:func:`retry_owed_resync`), whichever comes first;
- a web process whose subscription broke sends ``resync`` to its own sockets as
  soon as it is subscribed again (it may have missed anything meanwhile);
- a dashboard that gets ``resync`` asks ``catch_up`` for what it missed, as after a
  reconnection.

Redis calls have short timeouts, so a Redis that is down or unreachable costs a
request a second or two at most: the web keeps serving (events in this process
still reach this process's sockets).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import socketio

from telejt.extensions import socketio as flask_socketio

log = logging.getLogger(__name__)

RESYNC_EVENT = "resync"
LIVE_NAMESPACE = "/live"
#: short enough that a request publishing while Redis is unreachable is not held long
REDIS_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "health_check_interval": 15,
    "socket_keepalive": True,
}
#: how long the listener waits for a message before looking again (not an error)
LISTEN_POLL_SECONDS = 1.0
MAX_RETRY_SLEEP = 30


class LiveRedisManager(socketio.RedisManager):  # type: ignore[misc]  # python-socketio is untyped
    """Flask-SocketIO's Redis queue, with a memory of what it could not carry."""

    def __init__(self, url: str, channel: str, write_only: bool = False) -> None:
        super().__init__(
            url, channel=channel, write_only=write_only, redis_options=dict(REDIS_OPTIONS)
        )
        self.resync_owed = threading.Event()
        self._publish_lock = threading.Lock()
        self.connected: bool = False

    def _publish(self, data: Any) -> bool:
        with self._publish_lock:
            if self.resync_owed.is_set() and self._publish_once(_RESYNC_MESSAGE):
                self.resync_owed.clear()
                log.info("live events: Redis is back; dashboards told to catch up")
            if self._publish_once(data):
                return True
            self.resync_owed.set()
            return False

    def _publish_once(self, data: Any) -> bool:
        for attempt in range(2):
            try:
                if not self.connected:
                    self._redis_connect()
                self.redis.publish(self.channel, self.json.dumps(data))
                return True
            except Exception as exc:
                self.connected = False
                if attempt:
                    log.warning("live events: cannot publish to Redis (%s)", exc)
        return False

    def flush_owed_resync(self) -> bool:
        """Send the owed ``resync`` now if Redis answers; whether nothing is owed any more."""
        if not self.resync_owed.is_set():
            return True
        with self._publish_lock:
            if self._publish_once(_RESYNC_MESSAGE):
                self.resync_owed.clear()
                log.info("live events: Redis is back; dashboards told to catch up")
                return True
        return False

    def _redis_listen_with_retries(self) -> Iterator[dict[str, Any]]:
        retry_sleep = 1
        subscribed = False
        first = True
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    self.pubsub.subscribe(self.channel)
                    subscribed = True
                    retry_sleep = 1
                    if not first:
                        log.info("live events: subscribed to Redis again")
                        self._resync_local_sockets()
                    first = False
                message = self.pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                if message is not None:
                    yield message
            except Exception as exc:
                log.warning("live events: lost Redis (%s); retrying in %s s", exc, retry_sleep)
                subscribed = False
                time.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, MAX_RETRY_SLEEP)

    def _resync_local_sockets(self) -> None:
        """Tell this process's dashboards to catch up (they may have missed events)."""
        try:
            super(socketio.PubSubManager, self).emit(RESYNC_EVENT, {}, namespace=LIVE_NAMESPACE)
        except Exception:
            log.exception("could not tell the dashboards to catch up")


#: a resync as the queue carries it; its host id is no process's, so every process
#: (the sender's too) hands it to its own dashboards
_RESYNC_MESSAGE = {
    "method": "emit",
    "event": RESYNC_EVENT,
    "data": [{}],
    "binary": False,
    "namespace": LIVE_NAMESPACE,
    "room": None,
    "skip_sid": None,
    "callback": None,
    "host_id": "telejt-resync",
}


def client_manager(url: str | None, channel: str) -> LiveRedisManager | None:
    """The Socket.IO client manager for ``REDIS_URL`` (None: in-process events only)."""
    if not url:
        return None
    return LiveRedisManager(url, channel=channel)


def retry_owed_resync() -> None:
    """If a publish failed earlier in this process, try to send the owed ``resync`` now."""
    server = flask_socketio.server  # type: ignore[attr-defined]  # not in the stubs
    manager = getattr(server, "manager", None)
    if isinstance(manager, LiveRedisManager):
        manager.flush_owed_resync()
