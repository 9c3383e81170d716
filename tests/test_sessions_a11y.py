"""axe-core on the participant's pages and the therapist's session console: no serious or
critical violation, in the states a person actually sees (waiting, in the call, a failure,
the end) and on each page a link can lead to (too early, too late, unknown)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from a11y import serious_violations
from test_sessions_browser import CHROMIUM, live_server, people  # noqa: F401  (fixtures)
from test_sessions_waiting_browser import (  # noqa: F401  (fixtures)
    CONNECTED,
    DENY_MEDIA,
    admit,
    expect_state,
    no_leftover_peers,
    open_console,
    open_link,
    room,
)

from telejt.extensions import db
from telejt.planning.models import Contact

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def assert_accessible(page: Any, where: str) -> None:
    found = serious_violations(page)
    assert found == [], f"{where}: {found}"


def test_the_waiting_room_and_the_call_and_the_console(room) -> None:  # noqa: F811 (fixture)
    console = open_console(room)
    assert_accessible(console, "console, before he comes")
    him = open_link(room)
    expect_state(him, "waiting")
    assert_accessible(him, "waiting room")
    admit(console)
    expect_state(him, "connected", timeout=CONNECTED)
    assert_accessible(him, "in the call")
    him.click("#leave")
    assert_accessible(him, "asked to confirm leaving")
    assert_accessible(console, "console, in the call")


def test_a_failure_state_and_the_end(room) -> None:  # noqa: F811 (fixture)
    console = open_console(room)
    him = open_link(room, DENY_MEDIA)
    admit(console)
    expect_state(him, "media_denied")
    assert_accessible(him, "camera denied")
    assert_accessible(console, "console with a trouble notice")
    console.check("input[name=outcome][value=excused]")
    console.click("#outcome-form button[type=submit]")
    expect_state(him, "ended")
    assert_accessible(him, "session ended")
    assert_accessible(console, "console after saving")


def test_the_pages_a_link_leads_to_outside_its_time(room, frozen_clock) -> None:  # noqa: F811 (fixture)
    contact = db.session.get(Contact, room["contact_id"])
    starts_at, ends_at = contact.starts_at, contact.ends_at
    db.session.close()
    page = room["browser"].new_context(locale="es-MX", viewport={"width": 360, "height": 740})
    page = page.new_page()
    for moment, where in (
        (starts_at - timedelta(hours=1), "too early"),
        (starts_at + timedelta(minutes=20), "join window closed"),
        (ends_at + timedelta(minutes=1), "ended"),
    ):
        frozen_clock.set(moment)
        page.goto(f"{room['base']}/s/{room['token']}")
        assert_accessible(page, where)
    page.goto(f"{room['base']}/s/AAAAAAAAAAAAAAAA")
    assert_accessible(page, "unknown link")
