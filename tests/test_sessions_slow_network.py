"""The participant's page on a weak network: Chromium's DevTools "Slow 3G" (2,000 ms round
trip, 50,000 bytes/s each way) and a 4x slower CPU, emulated through the DevTools
protocol. Prints what it measured (docs/benchmarks.md keeps the figures); asserts only
the bytes, which do not depend on how loaded the machine is.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_sessions_browser import CHROMIUM, CHROMIUM_ARGS, live_server, people  # noqa: F401
from test_sessions_waiting_browser import no_leftover_peers, wait_in_page  # noqa: F401

from telejt.extensions import db

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
#: DevTools' "Slow 3G" preset: 500 kbit/s x 0.8 each way, 400 ms x 5 of latency
SLOW_3G = {
    "offline": False,
    "latency": 2000,
    "downloadThroughput": 50_000,
    "uploadThroughput": 50_000,
    "connectionType": "cellular3g",
}
#: what the page costs on the wire, each visit (HTML with its styles and scripts; gzip)
VISIT_BUDGET = 40_000
#: when each milestone happened, in ms from the start of navigation
MILESTONES_JS = """() => {
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource")
        .filter((e) => !e.name.includes("/socket.io/"));
    return {
        firstContentfulPaint: paint ? paint.startTime : null,
        domContentLoaded: nav.domContentLoadedEventEnd,
        bytes: [nav, ...resources].reduce((sum, e) => sum + e.transferSize, 0),
        files: resources.map((e) => [e.name.split("/").pop(), e.transferSize, e.encodedBodySize]),
    };
}"""


#: notes, in the page, when its state machine first sets a state (its scripts run) and
#: when it shows the waiting room: at that moment, not when a poll from here next looks
#: (Playwright's expect polls at up to 1 s intervals)
STATE_TIMES_JS = """
window.__stateTimes = {};
new MutationObserver(function (changes) {
    changes.forEach(function (change) {
        if (change.target.id !== "status") { return; }
        var times = window.__stateTimes;
        if (times.scriptsRunning === undefined) { times.scriptsRunning = performance.now(); }
        var state = change.target.getAttribute("data-state");
        if (state === "waiting" && times.waitingRoom === undefined) {
            times.waitingRoom = performance.now();
        }
    });
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
"""


def _visit(context: Any, url: str) -> dict[str, Any]:
    from playwright.sync_api import expect

    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    page.add_init_script(STATE_TIMES_JS)
    page.goto(url, wait_until="commit")
    # he can read what to do and call: the status, the next step, the phone
    expect(page.locator("#help-line a[href^='tel:']")).to_be_visible(timeout=60_000)
    wait_in_page(page, "window.telejtStates !== undefined", timeout=60_000)
    expect(page.locator("#status")).to_have_attribute("data-state", "waiting", timeout=60_000)
    found = page.evaluate(MILESTONES_JS)
    found.update(page.evaluate("window.__stateTimes"))
    found["transport"] = page.evaluate("window.telejtRoom.socket.io.engine.transport.name")
    page.close()
    return found


def test_the_participant_page_on_slow_3g_with_a_slow_cpu(live_server, people) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    people["contact"].participant.court.team_phone = "+528112345678"
    db.session.commit()
    url = f"{live_server}/s/{people['contact'].join_token}"
    db.session.close()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="es-MX", viewport={"width": 360, "height": 740})
            first = _visit(context, url)
            again = _visit(context, url)  # the same phone, a later session: files cached
        finally:
            browser.close()
    for name, found in (("first visit", first), ("next visit", again)):
        print(
            f"slow 3G, 4x CPU, {name}: {found['bytes']} bytes; first contentful paint "
            f"{found['firstContentfulPaint']:.0f} ms, DOMContentLoaded "
            f"{found['domContentLoaded']:.0f} ms, scripts running {found['scriptsRunning']:.0f}"
            f" ms, in the waiting room {found['waitingRoom']:.0f} ms ({found['transport']});"
            f" files {found['files']}"
        )
    for found in (first, again):
        assert 0 < found["bytes"] < VISIT_BUDGET
        # everything comes in the page: each file fetched would cost one more round trip
        assert found["files"] == []
        assert found["transport"] == "websocket"
