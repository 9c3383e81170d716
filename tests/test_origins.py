"""Socket.IO origins, SMS links and Twilio's signature URL all follow TELEJT_PUBLIC_URL;
outside production, a developer's own machine on any port works too."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, _seed
from test_live_redis import free_port, session_cookie
from werkzeug.serving import make_server

from telejt.extensions import db
from telejt.origins import origin_check

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def test_production_takes_only_the_public_origin() -> None:
    allowed = origin_check(
        {"TELEJT_ENV": "production", "TELEJT_PUBLIC_URL": "https://telejt.example.mx"}
    )
    environ = {"wsgi.url_scheme": "http", "HTTP_HOST": "10.0.0.7:8000"}
    assert allowed("https://telejt.example.mx", environ)
    assert allowed("https://TELEJT.example.mx", environ)
    for origin in ("http://telejt.example.mx", "https://evil.example", "http://localhost:5000",
                   "http://10.0.0.7:8000"):  # fmt: skip
        assert not allowed(origin, environ), origin


def test_development_also_takes_this_machine_on_any_port() -> None:
    allowed = origin_check(
        {"TELEJT_ENV": "development", "TELEJT_PUBLIC_URL": "http://127.0.0.1:5000"}
    )
    environ = {"wsgi.url_scheme": "http", "HTTP_HOST": "192.168.1.20:8080"}
    for origin in ("http://localhost:8080", "http://127.0.0.1:9000", "http://[::1]:5000",
                   "http://192.168.1.20:8080"):  # fmt: skip
        assert allowed(origin, environ), origin
    assert not allowed("https://evil.example", environ)


def test_the_handshake_refuses_a_foreign_origin(client, make_staff) -> None:
    from conftest import sign_in

    sign_in(client, make_staff("coordinator"))  # the socket gate lets only staff through
    assert client.get(HANDSHAKE, headers={"Origin": "http://localhost:8123"}).status_code == 200
    assert client.get(HANDSHAKE, headers={"Origin": "https://evil.example"}).status_code == 400


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
def test_the_dashboard_goes_live_on_another_port_opened_as_localhost(
    committed_db, app_config
) -> None:
    """The public URL says :5000; the server listens elsewhere; the page says localhost."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from telejt import create_app
    from telejt.extensions import socketio

    saved_server, saved_options = socketio.server, dict(socketio.server_options)  # type: ignore[attr-defined]  # not in the stubs
    saved_middleware = getattr(socketio, "sockio_mw", None)
    application = create_app({**app_config, "TELEJT_PUBLIC_URL": "http://127.0.0.1:5000"})
    port = free_port()
    server = make_server("127.0.0.1", port, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with application.app_context():
            ids = _seed()
        url = f"http://localhost:{port}"
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(locale="es-MX")
                name, value = session_cookie(application, ids["coordinator"]).split("=", 1)
                context.add_cookies([{"name": name, "value": value, "url": url}])
                page = context.new_page()
                page.goto(f"{url}/dashboard")
                page.wait_for_selector("#live-status.is-online", timeout=15_000)
            finally:
                browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        socketio.server = saved_server  # type: ignore[attr-defined]  # not in the stubs
        socketio.server_options.clear()  # type: ignore[attr-defined]  # not in the stubs
        socketio.server_options.update(saved_options)  # type: ignore[attr-defined]  # not in the stubs
        socketio.sockio_mw = saved_middleware  # type: ignore[attr-defined]  # not in the stubs
