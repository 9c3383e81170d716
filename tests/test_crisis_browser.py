"""In headless Chromium, keyboard only: the skip link, a crisis alert acknowledged without a
mouse with the focus kept where the person was, a new crisis said in words by the page's
live region, and the alert sound switched on once and remembered.

Uses Debian's Chromium; never downloads a browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from test_dashboard_browser import (  # noqa: F401  (fixture)
    CHROMIUM,
    CHROMIUM_ARGS,
    browser_app,
)
from test_live_redis import LiveServer, session_cookie

from telejt.alerts.services import raise_alert
from telejt.auth.services import create_staff_user
from telejt.conversation.crisis import raise_crisis
from telejt.courts.services import create_court
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.participants.services import enroll_participant

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]
sync_api = pytest.importorskip("playwright.sync_api")


def _eva_and_iker(court_id: int, therapist_id: int, case: str, phone: str) -> list[Participant]:
    """Two invented participants, numbered 1 and 2 after ``case`` and ``phone``."""
    return [
        enroll_participant(
            court_id=court_id,
            case_number=f"{case}{n}/2026",
            name=name,
            phone=f"{phone}{n}",
            therapist_id=therapist_id,
            protocol_id="remote-outpatient",
            phase_id="2",
            session_slots=[{"weekday": "tue", "time": "10:00"}],
            consents={"sms": True, "telehealth": True, "share_with_court": True},
        )
        for n, name in ((1, "Eva Sintética"), (2, "Iker Sintético"))
    ]


def _seed() -> dict[str, int]:
    court = create_court(name="Juzgado de Prueba", state="Nuevo León", timezone="America/Monterrey")
    db.session.flush()
    therapist = create_staff_user(
        email="t@prueba.example.mx", role="therapist", court_ids=[court.id]
    )
    coordinator = create_staff_user(
        email="enlace@prueba.example.mx", role="coordinator", court_ids=[court.id]
    )
    db.session.flush()
    people = _eva_and_iker(court.id, therapist.id, case="CP-00", phone="+52 81 5555 004")
    alert = raise_crisis(
        people[0], dedupe_key="crisis:browser:1", reason="risk_words", reply_key=None
    )
    db.session.commit()
    return {
        "coordinator": coordinator.id,
        "therapist": therapist.id,
        "alert": alert.id,
        "second": people[1].id,
    }


@contextmanager
def staff_page(app: Any, staff_id: int) -> Iterator[tuple[Any, str, list[str]]]:
    """A served app and a Chromium page signed in as this staff member: (page, the
    server's URL, the URLs of the WebSockets the page opened)."""
    server = LiveServer(app)
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                context = browser.new_context(
                    locale="es-MX", viewport={"width": 1280, "height": 900}
                )
                name, value = session_cookie(app, staff_id).split("=", 1)
                context.add_cookies([{"name": name, "value": value, "url": server.url}])
                page = context.new_page()
                sockets: list[str] = []
                page.on("websocket", lambda ws: sockets.append(ws.url))
                yield page, server.url, sockets
            finally:
                browser.close()
    finally:
        server.stop()


def _tab_until(page: Any, selector: str, most: int = 15) -> None:
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_crisis_acknowledgement_keeps_the_focus(committed_db, browser_app) -> None:  # noqa: F811
    with browser_app.app_context():
        ids = _seed()
    with staff_page(browser_app, ids["coordinator"]) as (page, url, sockets):
        page.goto(f"{url}/dashboard")
        page.wait_for_selector("#live-status.is-online", timeout=10_000)
        # the crisis panel and the dashboard share the page's one connection
        assert len(sockets) == 1, sockets

        # the first Tab reaches the skip link; Enter moves past the navigation
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"

        # the sound: one key press turns it on; the browser remembers it
        _tab_until(page, "#alert-sound")
        page.keyboard.press("Enter")
        expect(page.locator("#alert-sound")).to_have_attribute("aria-pressed", "true")

        # the crisis comes first: its phone link, then its note
        alert_id = ids["alert"]
        _tab_until(page, f"#crisis-{alert_id} a[href^='tel:']")
        _tab_until(page, f"#crisis-note-{alert_id}")
        page.keyboard.type("Lo llamé: está a salvo, mañana lo ve su terapeuta")
        page.keyboard.press("Enter")
        status = page.locator(f"#crisis-{alert_id} .crisis-status")
        expect(status).to_contain_text("Lo llamé: está a salvo", timeout=10_000)
        expect(status).to_be_focused(timeout=5_000)
        # and the same alert's row below says so too, without a reload
        expect(page.locator(f"#alert-{alert_id}.is-acknowledged")).to_have_count(1)

        # a new crisis is said in words, assertively, not just counted
        with browser_app.app_context():
            person = db.session.get(Participant, ids["second"])
            raise_crisis(person, dedupe_key="crisis:browser:2", reason="risk_words", reply_key=None)
            db.session.commit()
        urgent = page.locator("#live-announcer-urgent")
        expect(urgent).to_contain_text("Alerta de crisis: Iker Sintético", timeout=10_000)
        expect(urgent).to_contain_text("Escribió palabras de riesgo")
        expect(page.locator(".crisis-card:not(.is-acknowledged)")).to_have_count(1)

        page.reload()
        expect(page.locator("#alert-sound")).to_have_attribute("aria-pressed", "true")


def test_a_judge_acknowledges_a_missed_contact_by_keyboard(committed_db, browser_app) -> None:  # noqa: F811
    with browser_app.app_context():
        court = create_court(
            name="Juzgado de Prueba", state="Nuevo León", timezone="America/Monterrey"
        )
        db.session.flush()
        therapist = create_staff_user(
            email="t@prueba.example.mx", role="therapist", court_ids=[court.id]
        )
        judge = create_staff_user(
            email="juez@prueba.example.mx",
            role="court",
            court_ids=[court.id],
            court_position="judge",
        )
        db.session.flush()
        people = _eva_and_iker(court.id, therapist.id, case="CP-01", phone="+52 81 5555 006")
        first = raise_alert(
            participant=people[0],
            kind="missed_contact",
            severity="warning",
            attribution="participant",
            dedupe_key="missed:browser:1",
            reason="reminder_delivered",
        )
        db.session.commit()
        ids = {"judge": judge.id, "alert": first.id, "second": people[1].id}
    with staff_page(browser_app, ids["judge"]) as (page, url, _sockets):
        page.goto(f"{url}/dashboard")
        page.wait_for_selector("#live-status.is-online", timeout=10_000)
        assert page.locator("#crisis-alerts").count() == 0  # never for the court

        _tab_until(page, f"#note-{ids['alert']}", most=25)
        page.keyboard.type("Se verá en la audiencia")
        page.keyboard.press("Enter")
        row = page.locator(f"#alert-{ids['alert']}.is-acknowledged")
        expect(row).to_have_count(1, timeout=10_000)
        expect(row.locator(".acknowledged")).to_be_focused(timeout=5_000)

        # a new alert is said politely, with its words
        with browser_app.app_context():
            raise_alert(
                participant=db.session.get(Participant, ids["second"]),
                kind="missed_contact",
                severity="warning",
                attribution="system",
                dedupe_key="missed:browser:2",
                reason="sms_undelivered:30006",
            )
            db.session.commit()
        polite = page.locator("#live-announcer")
        expect(polite).to_contain_text(
            "Nueva alerta: Contacto no cumplido, Iker Sintético.", timeout=10_000
        )
        expect(polite).to_contain_text("Falla del sistema")
        # the focus stayed where it was
        expect(row.locator(".acknowledged")).to_be_focused()


def test_the_therapist_agenda_gets_a_new_crisis_live(committed_db, browser_app) -> None:  # noqa: F811
    with browser_app.app_context():
        ids = _seed()
    with staff_page(browser_app, ids["therapist"]) as (page, url, sockets):
        page.goto(f"{url}/therapist")
        expect(page.locator(f"#crisis-{ids['alert']}")).to_be_visible()
        page.wait_for_timeout(1000)  # let the page connect
        assert len(sockets) == 1, sockets  # day.js and alerts.js share it

        with browser_app.app_context():
            person = db.session.get(Participant, ids["second"])
            raise_crisis(person, dedupe_key="crisis:browser:3", reason="risk_words", reply_key=None)
            db.session.commit()
        expect(page.locator(".crisis-card")).to_have_count(2, timeout=10_000)
        first_card = page.locator(".crisis-card").first
        expect(first_card).to_contain_text("Iker Sintético")
        expect(first_card.locator("a[href='tel:+528155550042']")).to_have_count(1)
        expect(page.locator("#live-announcer-urgent")).to_contain_text(
            "Alerta de crisis: Iker Sintético"
        )
