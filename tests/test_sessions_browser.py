"""End to end in headless Chromium: the therapist admits the participant and they reach video.

The app is served for real (``socketio.run`` in a thread, committed database); two
browser contexts play the therapist (logged in through /login) and the participant
(his SMS link). Fake camera and microphone; on loopback no STUN/TURN is needed.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import werkzeug.serving
from conftest import PASSWORD
from sqlalchemy import select

from telejt.extensions import db, socketio

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
#: bytes transferred for the page and its files (Socket.IO traffic itself left out)
PAGE_WEIGHT_JS = """() => performance.getEntriesByType("navigation")
    .concat(performance.getEntriesByType("resource"))
    .filter((entry) => !entry.name.includes("/socket.io/"))
    .reduce((total, entry) => total + entry.transferSize, 0)"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_server(committed_db, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app served by ``socketio.run`` on a free loopback port; stopped afterwards."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    servers: list[Any] = []
    real_make_server = werkzeug.serving.make_server

    def keep_server(*args: Any, **kwargs: Any) -> Any:
        server = real_make_server(*args, **kwargs)
        servers.append(server)  # so that the test can shut it down
        return server

    monkeypatch.setattr(werkzeug.serving, "make_server", keep_server)
    # a CLI test earlier in the run may leave this set; app.run() then refuses to serve
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    # Flask-SocketIO's test_client (used by earlier tests) patches the shared server to
    # keep packets for itself and handle events inline: undo that for real browsers
    # the Socket.IO server this app's requests reach: another app created later in the
    # run (a CLI test) rebinds the shared ``socketio`` to its own server
    server = getattr(committed_db.wsgi_app, "engineio_app", socketio.server)  # type: ignore[attr-defined]  # not in the stubs
    monkeypatch.setattr(socketio, "server", server)
    for patched in ("_send_packet", "_send_eio_packet"):
        if patched in vars(server):
            monkeypatch.delattr(server, patched)
    monkeypatch.setattr(server, "async_handlers", True)
    monkeypatch.setattr(server.eio, "async_handlers", True)
    # (the page's origin is this machine, which Socket.IO accepts outside production)
    thread = threading.Thread(
        target=socketio.run,
        args=(committed_db,),
        kwargs={
            "host": "127.0.0.1",
            "port": port,
            "allow_unsafe_werkzeug": True,
            "use_reloader": False,
            "log_output": False,
        },
        daemon=True,
    )
    thread.start()
    for _ in range(200):
        if servers:
            break
        threading.Event().wait(0.05)
    assert servers, "the test server did not start"
    yield base
    servers[0].shutdown()
    thread.join(timeout=10)


@pytest.fixture
def people(committed_db, frozen_clock) -> dict[str, Any]:
    """A committed court, therapist and participant with a session; the clock at its start."""
    from telejt.auth.services import create_staff_user
    from telejt.courts.services import create_court
    from telejt.participants.services import enroll_participant
    from telejt.planning.models import Contact

    frozen_clock.set(MONDAY)
    court = create_court(
        name="Juzgado de Prueba E2E", state="Nuevo León", timezone="America/Monterrey"
    )
    db.session.flush()
    therapist = create_staff_user(
        email="terapeuta.e2e@staff.example.mx",
        role="therapist",
        name="Terapeuta E2E",
        court_ids=[court.id],
        password=PASSWORD,
    )
    db.session.flush()
    participant = enroll_participant(
        court_id=court.id,
        case_number="CP-9001/2026",
        name="Participante Sintético E2E",
        phone="+52 81 5555 9001",
        therapist_id=therapist.id,
        protocol_id="remote-outpatient",
        phase_id="2",
        session_slots=[{"weekday": "tue", "time": "10:00"}],
        consents={"sms": True, "telehealth": True, "share_with_court": True},
    )
    db.session.commit()
    contact = db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    ).first()
    frozen_clock.set(contact.starts_at + timedelta(minutes=1))
    return {"therapist": therapist, "contact": contact, "participant": participant}


def test_therapist_admits_participant_and_video_connects(live_server, people) -> None:
    from playwright.sync_api import expect, sync_playwright

    from telejt.planning.models import Contact
    from telejt.sessions.services import presence_events
    from telejt.sms.models import OutboundMessage

    contact_id = people["contact"].id
    token = people["contact"].join_token
    email = people["therapist"].email
    # hold no transaction while the server writes: SQLite would make one side wait
    db.session.close()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            staff_context = browser.new_context(locale="es-MX")
            participant_context = browser.new_context(locale="es-MX")
            therapist = staff_context.new_page()
            therapist.goto(f"{live_server}/login")
            therapist.fill("input[name=email]", email)
            therapist.fill("input[name=password]", PASSWORD)
            therapist.click("button[type=submit]")
            therapist.wait_for_url(f"{live_server}/therapist")  # logged in, sent to his day
            therapist.goto(f"{live_server}/sessions/{contact_id}")
            expect(therapist.locator("#status")).to_have_attribute("data-state", "absent")

            participant = participant_context.new_page()
            participant.goto(f"{live_server}/s/{token}")
            expect(participant.locator("#status")).to_have_attribute("data-state", "waiting")
            # what a cheap phone downloads before video starts: HTML + CSS + JS, on the wire
            weight = participant.evaluate(PAGE_WEIGHT_JS)
            print(f"participant page weight before video: {weight} bytes")
            assert 0 < weight < 150_000

            expect(therapist.locator("#admit")).to_be_enabled()
            therapist.click("#admit")
            for page in (therapist, participant):
                expect(page.locator("#connection")).to_have_attribute(
                    "data-state", "connected", timeout=20_000
                )
                assert page.evaluate("window.telejtPeer.connectionState") == "connected"
            therapist.screenshot(path=str(ARTIFACTS / "session-therapist.png"))
            participant.screenshot(path=str(ARTIFACTS / "session-participant.png"))

            participant.click("#leave")
            participant.click("#leave-yes")
            expect(therapist.locator("#status")).to_have_attribute("data-state", "participant_left")
            therapist.check("input[name=outcome][value=attended]")
            therapist.click("form[action$='/outcome'] button[type=submit]")
            expect(therapist.locator(".flash-info")).to_be_visible()
        finally:
            browser.close()

    stored = db.session.get(Contact, contact_id)
    assert stored is not None
    recorded = [(e.actor, e.event) for e in presence_events(stored)]
    assert recorded[:3] == [
        ("therapist", "join"),
        ("participant", "join"),
        ("therapist", "admit"),
    ]
    assert ("participant", "leave") in recorded
    assert stored.status == "attended"
    assert (
        db.session.scalar(
            select(OutboundMessage).where(
                OutboundMessage.idempotency_key == f"contact:{contact_id}:attendance"
            )
        )
        is not None
    )
