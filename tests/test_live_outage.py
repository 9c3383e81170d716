"""Redis down: live events are late, never lost; the web keeps serving.

A TCP relay between the processes and Redis is cut and restored. While it is cut
the web answers pages and probes; a publish that fails is remembered, and once
Redis is back every dashboard is told to ``resync`` (it then asks ``catch_up`` for
what it missed, from the database). A web process whose subscription broke tells
its own dashboards the same as soon as it is subscribed again.

Needs a Redis server: ``TELEJT_TEST_REDIS_URL``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import socketio as socketio_client
from test_live_redis import LiveServer, app_of_its_own, free_port, seed_judge, session_cookie

from telejt.live import NAMESPACE
from telejt.sockets.redis_queue import RESYNC_EVENT, LiveRedisManager

REDIS_URL = os.environ.get("TELEJT_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="TELEJT_TEST_REDIS_URL is not set")


class CuttableRelay:
    """127.0.0.1:<port> → Redis, byte for byte, until cut (every connection dropped)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                # shutdown wakes the thread blocked in accept (close alone would not)
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.close()


@pytest.fixture
def relay() -> Iterator[tuple[CuttableRelay, str]]:
    parts = urlsplit(str(REDIS_URL))
    relay = CuttableRelay((parts.hostname or "127.0.0.1", parts.port or 6379))
    yield relay, f"redis://127.0.0.1:{relay.port}{parts.path or '/0'}"
    relay.cut()


@pytest.fixture
def web(app, app_config, relay) -> Iterator[Any]:
    """The web app bound to Redis through the relay (the shared Socket.IO object restored)."""
    _relay, url = relay
    settings = {
        **app_config,
        "REDIS_URL": url,
        "TELEJT_LIVE_CHANNEL": f"telejt-outage-{uuid.uuid4().hex[:8]}",
        "TELEJT_PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
    }
    with app_of_its_own(settings) as application:
        yield application


def _judge(app: Any) -> int:
    return seed_judge(app, "jueza@outage.example.mx")


def test_publishing_while_redis_is_away_owes_a_resync_sent_when_it_is_back(relay) -> None:
    cut_relay, url = relay
    channel = f"telejt-owed-{uuid.uuid4().hex[:8]}"
    listener = redis.Redis.from_url(str(REDIS_URL)).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel)
    scheduler = LiveRedisManager(url, channel=channel, write_only=True)
    socketio_client.Server(client_manager=scheduler, async_mode="threading")  # as the scheduler's
    event = {"method": "emit", "event": "alert.created", "data": [{}], "namespace": "/live"}
    assert scheduler._publish(event) is True
    cut_relay.cut()
    started = time.monotonic()
    assert scheduler._publish(event) is False  # lost: remembered
    assert time.monotonic() - started < 10  # short timeouts: a caller is not held long
    assert scheduler.resync_owed.is_set()
    assert scheduler.flush_owed_resync() is False  # still away
    cut_relay.restore()
    assert scheduler.flush_owed_resync() is True
    received: list[Any] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(received) < 2:
        message = listener.get_message(timeout=0.5)
        if message is not None:
            received.append(scheduler.json.loads(message["data"])["event"])
    assert received == ["alert.created", RESYNC_EVENT]
    listener.close()


def test_a_dashboard_keeps_its_page_and_is_told_to_catch_up_after_redis_returns(
    committed_db, web, relay
) -> None:
    cut_relay, _url = relay
    judge_id = _judge(web)
    server = LiveServer(web)
    resyncs = threading.Event()
    client = socketio_client.Client(reconnection=False)
    client.on(RESYNC_EVENT, lambda *_: resyncs.set(), namespace=NAMESPACE)
    try:
        cookie = session_cookie(web, judge_id)
        client.connect(
            server.url,
            namespaces=[NAMESPACE],
            headers={"Cookie": cookie},
            transports=["websocket"],
            wait_timeout=10,
        )
        time.sleep(1.5)  # the web's listener subscribes
        cut_relay.cut()
        http = web.test_client()
        name, value = cookie.split("=", 1)
        http.set_cookie(name, value)
        for path in ("/healthz", "/dashboard"):
            started = time.monotonic()
            response = http.get(path)
            assert response.status_code == 200, path  # the web keeps serving
            assert time.monotonic() - started < 10
        assert client.connected  # the browser's socket to the web is not Redis's
        cut_relay.restore()
        assert resyncs.wait(timeout=15), "no resync after Redis came back"
    finally:
        if client.connected:
            client.disconnect()
        server.stop()
