"""The waiting room in headless Chromium: every state he can reach says what is happening
and what to do next, with his team's phone; every failure reaches the therapist too.

Same set-up as ``test_sessions_browser``: the app served for real, the therapist logged
in at his console, the participant on his link, Chromium's fake camera. Failures are
made as a network or a phone would make them: WebSockets refused (Playwright's
WebSocket routing), the camera refused (getUserMedia rejects), ICE that cannot find
a path (relay-only with no relay), a dropped connection (the transport closed under
the page), a second tab.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from conftest import PASSWORD
from test_sessions_browser import (  # noqa: F401  (fixtures)
    CHROMIUM,
    CHROMIUM_ARGS,
    live_server,
    people,
)

from telejt.extensions import db, socketio
from telejt.planning.models import Contact
from telejt.sessions import services, signaling, waiting
from telejt.sessions.rooms import ROOM_NAMESPACE
from telejt.sessions.signaling import forget_session_peers

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
TEAM_PHONE = "+528112345678"
#: a camera and microphone the person refused
DENY_MEDIA = """navigator.mediaDevices.getUserMedia = () =>
    Promise.reject(new DOMException("Permission denied", "NotAllowedError"));"""
#: relay only, and no relay: ICE finds no path, as behind a strict firewall
NO_ICE_PATH = """(() => {
    const Real = window.RTCPeerConnection;
    window.RTCPeerConnection = function (config) {
        return new Real(Object.assign({}, config, {iceServers: [], iceTransportPolicy: "relay"}));
    };
    window.RTCPeerConnection.prototype = Real.prototype;
})();"""
CONNECTED = 20_000  # ms: loopback video on a loaded 2-core machine


@pytest.fixture
def no_leftover_peers() -> Iterator[None]:
    """Forget the connections of an earlier test's browser.

    A closed page on long-polling is noticed by the server only at its ping timeout: its
    leave would land on this test's session, which has the same id once tables are emptied.
    """
    forget_session_peers()
    yield
    forget_session_peers()


@pytest.fixture
def room(no_leftover_peers, live_server, people) -> Iterator[dict[str, Any]]:  # noqa: F811
    """A browser, the therapist at his console, and a way to open the participant's link."""
    from playwright.sync_api import sync_playwright

    contact = people["contact"]
    contact.participant.court.team_phone = TEAM_PHONE
    db.session.commit()
    info = {
        "contact_id": contact.id,
        "token": contact.join_token,
        "email": people["therapist"].email,
        "base": live_server,
    }
    db.session.close()  # hold no transaction while the server writes
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield {**info, "browser": browser}
        finally:
            # end every room connection now, so that no late leave reaches the next test
            for sid in list(signaling._peers):
                socketio.server.disconnect(sid, namespace=ROOM_NAMESPACE)  # type: ignore[attr-defined]  # not in the stubs
            browser.close()


def wait_until(condition: Any, seconds: float = 10) -> None:
    """Poll the server's side (its handlers run on their own threads)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.05)


def wait_in_page(page: Any, expression: str, timeout: int = 10_000) -> None:
    """Wait until ``expression`` is truthy in the page.

    Polled through ``evaluate`` (the DevTools protocol): ``wait_for_function`` evaluates its
    predicate as a string inside the page, which the page's Content Security Policy rightly
    refuses.
    """
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(f"Boolean({expression})"):
        assert time.monotonic() < deadline, f"the page never got to {expression}"
        page.wait_for_timeout(50)


def open_console(room: dict[str, Any]) -> Any:
    """The therapist, logged in, at the session's console."""
    page = room["browser"].new_context(locale="es-MX").new_page()
    page.goto(f"{room['base']}/login")
    page.fill("input[name=email]", room["email"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{room['base']}/therapist")
    page.goto(f"{room['base']}/sessions/{room['contact_id']}")
    page.evaluate("window.consoleMarker = 'not reloaded'")
    return page


def open_link(room: dict[str, Any], init_script: str | None = None, context: Any = None) -> Any:
    """His link, in a new phone-sized context (or a new tab of ``context``)."""
    if context is None:
        context = room["browser"].new_context(
            locale="es-MX", viewport={"width": 360, "height": 740}
        )
        if init_script:
            context.add_init_script(init_script)
    page = context.new_page()
    page.goto(f"{room['base']}/s/{room['token']}")
    return page


def expect_state(page: Any, state: str, timeout: int = 10_000) -> None:
    """He reads the words of ``state``, a next step, and his team's phone as a tel: link."""
    from playwright.sync_api import expect

    expect(page.locator("#status")).to_have_attribute("data-state", state, timeout=timeout)
    assert page.locator("#status").inner_text().strip()
    assert page.locator("#next").inner_text().strip()
    link = page.locator("#help-line a[href^='tel:']")
    expect(link).to_be_visible()
    assert link.get_attribute("href") == f"tel:{TEAM_PHONE}"
    assert link.inner_text() == "81 1234 5678"


def admit(console: Any) -> None:
    from playwright.sync_api import expect

    expect(console.locator("#admit")).to_be_enabled()
    console.click("#admit")


def troubles(contact_id: int) -> list[str | None]:
    db.session.expire_all()
    contact = db.session.get(Contact, contact_id)
    return [e.detail for e in services.presence_events(contact) if e.event == "trouble"]


def events(contact_id: int) -> list[tuple[str, str]]:
    db.session.expire_all()
    contact = db.session.get(Contact, contact_id)
    return [(e.actor, e.event) for e in services.presence_events(contact)]


def test_camera_denied_is_said_to_both_and_offers_listening_or_a_call(room) -> None:
    from playwright.sync_api import expect

    console = open_console(room)
    day = console.context.new_page()  # his day page, where he may be instead
    day.goto(f"{room['base']}/therapist")
    him = open_link(room, DENY_MEDIA)
    expect_state(him, "waiting")
    admit(console)
    expect_state(him, "media_denied")
    expect(day.locator(f"tr[data-contact-id='{room['contact_id']}'] .trouble")).to_contain_text(
        "No pudo usar su cámara"
    )
    assert "No pudimos usar tu cámara ni tu micrófono" in him.locator("#status").inner_text()
    for button in ("#retry", "#listen-only", "#call-me"):
        expect(him.locator(button)).to_be_visible()
    expect(console.locator("#trouble [data-trouble=media_denied]")).to_contain_text(
        "No pudo usar su cámara ni su micrófono"
    )
    # he goes on listening: he sees and hears the therapist, who knows to call him
    him.click("#listen-only")
    expect_state(him, "connected", timeout=CONNECTED)
    assert troubles(room["contact_id"]) == ["media_denied"]


def test_websockets_blocked_the_room_opens_over_long_polling(room) -> None:
    console = open_console(room)
    context = room["browser"].new_context(locale="es-MX", viewport={"width": 360, "height": 740})
    refused: list[str] = []

    def refuse(ws: Any) -> None:  # a network that refuses every WebSocket
        refused.append(ws.url)
        ws.close()

    context.route_web_socket(re.compile(r".*/socket\.io/.*"), refuse)
    him = open_link(room, context=context)
    expect_state(him, "waiting")
    admit(console)
    expect_state(him, "connected", timeout=CONNECTED)
    assert him.evaluate("window.telejtRoom.socket.io.engine.transport.name") == "polling"
    assert refused  # the upgrade was tried and refused; the room never depended on it


def test_websockets_silent_the_room_opens_over_long_polling(room, monkeypatch) -> None:
    # the room tries WebSocket first; a network that neither opens nor refuses it (the
    # socket stays silent) must not keep him from the room beyond the WebSocket limit
    monkeypatch.setitem(waiting.ROOM_TIMEOUTS, "websocket", 2)
    context = room["browser"].new_context(locale="es-MX", viewport={"width": 360, "height": 740})
    silent: list[str] = []
    context.route_web_socket(re.compile(r".*/socket\.io/.*"), lambda ws: silent.append(ws.url))
    him = open_link(room, context=context)
    expect_state(him, "waiting")
    assert him.evaluate("window.telejtRoom.socket.io.engine.transport.name") == "polling"
    assert silent


def test_ice_failure_ends_in_a_next_step_and_tells_the_therapist(room, monkeypatch) -> None:
    from playwright.sync_api import expect

    monkeypatch.setitem(waiting.ROOM_TIMEOUTS, "ice", 4)
    console = open_console(room)
    him = open_link(room, NO_ICE_PATH)
    expect_state(him, "waiting")
    admit(console)
    expect_state(him, "video_failed", timeout=CONNECTED)
    expect(him.locator("#retry")).to_be_visible()
    expect(console.locator("#trouble [data-trouble=video_failed]")).to_be_visible()
    him.click("#call-me")
    expect_state(him, "call_requested")
    expect(console.locator("#trouble [data-trouble=call_me]")).to_contain_text("Pide que le llame")
    assert troubles(room["contact_id"]) == ["video_failed", "call_me"]


def test_the_end_of_the_session_reaches_him_while_he_waits(room) -> None:
    from playwright.sync_api import expect

    console = open_console(room)
    him = open_link(room)
    expect_state(him, "waiting")
    console.check("input[name=outcome][value=excused]")
    console.click("#outcome-form button[type=submit]")
    expect(console.locator("#outcome-form .flash-info")).to_be_visible()
    expect_state(him, "ended")
    assert "Tu sesión terminó" in him.locator("#status").inner_text()
    assert him.locator("#remote").is_hidden()
    assert console.evaluate("window.consoleMarker") == "not reloaded"


def test_a_drop_and_he_is_back_in_the_call_without_a_new_admission(room) -> None:
    from playwright.sync_api import expect

    console = open_console(room)
    him = open_link(room)
    expect_state(him, "waiting")
    admit(console)
    expect_state(him, "connected", timeout=CONNECTED)
    # the network drops: his video dies and his connection to the room closes under the page
    him.evaluate("window.telejtRoom.closePeer(); window.telejtRoom.socket.io.engine.close()")
    expect_state(him, "reconnecting")
    expect_state(him, "connected", timeout=CONNECTED)
    expect(console.locator("#connection")).to_have_attribute(
        "data-state", "connected", timeout=CONNECTED
    )
    recorded = events(room["contact_id"])
    assert recorded.count(("therapist", "admit")) == 1  # nobody admitted him again
    assert recorded[-2:] == [("participant", "leave"), ("participant", "reconnect")]


def test_a_drop_of_the_room_alone_leaves_the_video_running(room) -> None:
    console = open_console(room)
    him = open_link(room)
    admit(console)
    expect_state(him, "connected", timeout=CONNECTED)
    him.evaluate("window.telejtRoom.socket.io.engine.close()")
    wait_in_page(him, "window.telejtStates.length && window.telejtRoom.socket.connected")
    him.wait_for_timeout(500)
    assert "reconnecting" not in him.evaluate("window.telejtStates")  # he noticed nothing
    assert him.evaluate("window.telejtPeer.connectionState") == "connected"
    assert console.evaluate("window.telejtPeer.connectionState") == "connected"
    assert events(room["contact_id"])[-1] == ("participant", "reconnect")


def test_a_second_tab_takes_over_and_the_therapist_never_sees_him_leave(room) -> None:
    from playwright.sync_api import expect

    console = open_console(room)
    first = open_link(room)
    expect_state(first, "waiting")
    admit(console)
    expect_state(first, "connected", timeout=CONNECTED)
    second = open_link(room, context=first.context)
    expect_state(first, "elsewhere")
    expect(first.locator("#take-over")).to_be_visible()
    expect_state(second, "connected", timeout=CONNECTED)  # no new admission
    first.close()
    wait_until(lambda: len(signaling._peers) == 2)  # the therapist and the second tab
    expect(console.locator("#presence")).not_to_have_attribute("data-state", "left")
    recorded = events(room["contact_id"])
    assert ("participant", "leave") not in recorded
    assert recorded.count(("therapist", "admit")) == 1


def test_leaving_asks_first_and_he_can_come_back(room) -> None:
    from playwright.sync_api import expect

    console = open_console(room)
    him = open_link(room)
    admit(console)
    expect_state(him, "connected", timeout=CONNECTED)
    him.click("#leave")
    expect(him.locator("#leave-confirm")).to_be_visible()
    him.click("#leave-no")
    expect_state(him, "connected")
    him.click("#leave")
    him.click("#leave-yes")
    expect_state(him, "left")
    expect(console.locator("#status")).to_have_attribute("data-state", "participant_left")
    him.click("#rejoin")
    expect_state(him, "connected", timeout=CONNECTED)  # within the grace period


def test_without_javascript_the_page_still_says_what_to_do(room) -> None:
    from playwright.sync_api import expect

    context = room["browser"].new_context(locale="es-MX", java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{room['base']}/s/{room['token']}")
    expect(page.locator("noscript, [data-state=noscript]").first).to_be_attached()
    assert "JavaScript está desactivado" in page.content()
    expect(page.locator("#room")).to_be_hidden()
    expect(page.locator("#help-line a[href^='tel:']")).to_be_visible()


def test_the_console_keeps_the_video_while_saving(room, frozen_clock) -> None:
    from playwright.sync_api import expect

    contact_id = room["contact_id"]
    starts_at = db.session.get(Contact, contact_id).starts_at
    db.session.close()
    frozen_clock.set(starts_at - timedelta(minutes=3))  # before the start: early saves
    console = open_console(room)
    him = open_link(room)
    admit(console)
    expect_state(him, "connected", timeout=CONNECTED)
    console.check("input[name=identity_confirmed]")
    console.fill("input[name=location]", "Su casa, colonia Centro")
    console.click("#identity-form button[type=submit]")
    expect(console.locator("#checks")).to_contain_text("colonia Centro")
    # an early outcome is refused and what he typed stays
    console.check("input[name=outcome][value=attended]")
    console.fill("textarea[name=note]", "Llegó puntual, buena disposición")
    console.click("#outcome-form button[type=submit]")
    expect(console.locator("#outcome-form .flash-error")).to_contain_text("aún no empieza")
    assert console.input_value("textarea[name=note]") == "Llegó puntual, buena disposición"
    assert console.evaluate("window.consoleMarker") == "not reloaded"
    assert console.evaluate("window.telejtPeer.connectionState") == "connected"
    expect_state(him, "connected")
    assert ("therapist", "leave") not in events(contact_id)


def test_switching_to_phone_turns_off_both_cameras(room) -> None:
    from playwright.sync_api import expect

    console = open_console(room)
    him = open_link(room)
    admit(console)
    expect_state(him, "connected", timeout=CONNECTED)
    live_cameras = (
        "() => window.telejtRoom.stream === null ? 0 : window.telejtRoom.stream"
        ".getVideoTracks().filter((t) => t.readyState === 'live').length"
    )
    assert console.evaluate(live_cameras) == 1 and him.evaluate(live_cameras) == 1
    console.click("#phone-switch")
    expect_state(him, "phone")
    expect(console.locator("#status")).to_have_attribute("data-state", "phone")
    expect(console.locator("#modality")).to_have_text("Teléfono")
    assert console.evaluate(live_cameras) == 0 and him.evaluate(live_cameras) == 0
    assert him.locator("#remote").is_hidden()


#: what he sends: the resolution and frame rate of his video, from getStats()
SENT_VIDEO_JS = """() => window.telejtPeer.getStats().then((report) => {
    let found = null;
    report.forEach((s) => { if (s.type === "outbound-rtp" && s.kind === "video") { found = {
        width: s.frameWidth || 0, height: s.frameHeight || 0, fps: s.framesPerSecond || 0,
        targetBitrate: s.targetBitrate || 0}; } });
    return found;
})"""
#: IPv4 + UDP headers, which getStats() leaves out of its byte counts but the carrier bills
PACKET_HEADERS = 28
#: the voice cap of room.js, each way: Chromium's fake microphone beeps, mostly silence,
#: so its voice costs less than speech would; the figure counts the voice at its cap
VOICE_CAP_BYTES_PER_SECOND = 2 * 16_000 / 8
FIFTY_MINUTES = 50 * 60
BUDGET_BYTES = 60_000_000
MEASURE_SECONDS = 30


def _wire(page: Any) -> dict[str, float]:
    """Bytes his phone sent and received so far (ICE transport, headers included), the
    voice's payload among them, and when."""
    stats = page.evaluate("window.telejtRoom.transportBytes()")
    packets = stats["packetsSent"] + stats["packetsReceived"]
    return {
        "bytes": stats["bytesSent"] + stats["bytesReceived"] + packets * PACKET_HEADERS,
        "voice": stats["audioPayload"],
        "at": time.monotonic(),
    }


def _rate(first: dict[str, float], last: dict[str, float]) -> tuple[float, float]:
    """Bytes per second as measured, and with the voice at its cap (speech all the time)."""
    seconds = last["at"] - first["at"]
    measured = (last["bytes"] - first["bytes"]) / seconds
    voice = (last["voice"] - first["voice"]) / seconds
    return measured, measured + max(0.0, VOICE_CAP_BYTES_PER_SECOND - voice)


def test_a_low_data_session_stays_under_60_mb_for_50_minutes(room) -> None:
    """Measured on his side, both ways, over a shortened run, then extrapolated."""
    from playwright.sync_api import expect

    console = open_console(room)
    him = open_link(room)
    admit(console)
    expect_state(him, "connected", timeout=CONNECTED)
    start = _wire(him)
    him.wait_for_timeout(5_000)  # the encoder settles under its caps
    settled = _wire(him)
    him.wait_for_timeout(MEASURE_SECONDS * 1000)
    end = _wire(him)
    sent_video = him.evaluate(SENT_VIDEO_JS)
    steady, steady_speech = _rate(settled, end)
    _, whole_speech = _rate(start, end)
    print(
        f"low-data video, both ways: {steady * 8 / 1000:.1f} kbit/s measured, "
        f"{steady_speech * 8 / 1000:.1f} kbit/s with the voice at its cap; 50 min = "
        f"{steady * FIFTY_MINUTES / 1e6:.1f} MB measured, "
        f"{steady_speech * FIFTY_MINUTES / 1e6:.1f} MB with the voice at its cap, "
        f"{whole_speech * FIFTY_MINUTES / 1e6:.1f} MB counting the start; sent {sent_video}"
    )
    assert max(steady_speech, whole_speech) * FIFTY_MINUTES <= BUDGET_BYTES
    assert sent_video["width"] <= 320 and sent_video["height"] <= 240

    # one tap: sound only, both ways
    him.click("#audio-only")
    expect_state(him, "audio_only")
    expect(console.locator("#trouble [data-trouble=audio_only]")).to_be_visible()
    him.wait_for_timeout(5_000)
    settled = _wire(him)
    him.wait_for_timeout(15_000)
    audio, audio_speech = _rate(settled, _wire(him))
    print(
        f"audio only, both ways: {audio * 8 / 1000:.1f} kbit/s measured, "
        f"{audio_speech * 8 / 1000:.1f} kbit/s with the voice at its cap; 50 min = "
        f"{audio_speech * FIFTY_MINUTES / 1e6:.1f} MB"
    )
    assert audio_speech < steady_speech / 2
