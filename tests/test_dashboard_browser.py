"""End to end in headless Chromium: a missed session's alert appears on two open
dashboards without a reload, with its attribution, and an acknowledgement on one
shows on the other; the participant's compliance row follows each change.

Uses Debian's Chromium (``apt-get install chromium``); never downloads a browser.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from test_live_redis import LiveServer, free_port, session_cookie

from telejt import clock, create_app
from telejt.auth.models import StaffUser
from telejt.auth.services import create_staff_user
from telejt.courts.services import create_court
from telejt.extensions import db, socketio
from telejt.participants.services import enroll_participant
from telejt.planning.models import Contact
from telejt.scheduler.runner import run_once
from telejt.sessions.services import mark_outcome

CHROMIUM = os.environ.get("TELEJT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ENROLLED_AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday, 09:00 in Monterrey
#: Tuesday 10:00 Monterrey session: its join window closed at 10:15 (16:15 UTC)
AFTER_DEADLINE = datetime(2026, 3, 3, 16, 20, tzinfo=UTC)

OPEN_ALERTS_CELL = "table.compliance tr[data-participant-id] .open-alerts"
LAST_KEPT_CELL = "table.compliance tr[data-participant-id] .last-kept"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def browser_app(app, app_config) -> Iterator[Any]:
    """An app whose public URL is the local server's, so Socket.IO accepts the page's origin."""
    saved_server, saved_options = socketio.server, dict(socketio.server_options)  # type: ignore[attr-defined]  # not in the stubs
    saved_middleware = getattr(socketio, "sockio_mw", None)
    application = create_app({**app_config, "TELEJT_PUBLIC_URL": f"http://127.0.0.1:{free_port()}"})
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        socketio.server = saved_server  # type: ignore[attr-defined]  # not in the stubs
        socketio.server_options.clear()  # type: ignore[attr-defined]  # not in the stubs
        socketio.server_options.update(saved_options)  # type: ignore[attr-defined]  # not in the stubs
        socketio.sockio_mw = saved_middleware  # type: ignore[attr-defined]  # not in the stubs


def _seed() -> dict[str, int]:
    court = create_court(name="Juzgado de Prueba", state="Nuevo León", timezone="America/Monterrey")
    db.session.flush()
    therapist = create_staff_user(
        email="t@prueba.example.mx", role="therapist", court_ids=[court.id]
    )
    judge = create_staff_user(
        email="juez@prueba.example.mx", role="court", court_ids=[court.id], court_position="judge"
    )
    coordinator = create_staff_user(
        email="enlace@prueba.example.mx", role="coordinator", court_ids=[court.id]
    )
    db.session.flush()
    enroll_participant(
        court_id=court.id,
        case_number="CP-0042/2026",
        name="Eva Sintética",
        phone="+52 81 5555 0042",
        therapist_id=therapist.id,
        protocol_id="remote-outpatient",
        phase_id="2",
        session_slots=[{"weekday": "tue", "time": "10:00"}],
        consents={"sms": True, "telehealth": True, "share_with_court": True},
    )
    ids = {"judge": judge.id, "coordinator": coordinator.id, "therapist": therapist.id}
    db.session.commit()
    return ids


def wait_for_text(page: Any, selector: str, text: str) -> None:
    """Wait until the element's text is exactly ``text`` (a live update, not a reload).

    Through Playwright's own locator (not ``wait_for_function``, whose predicate the
    page's Content Security Policy rightly refuses to evaluate).
    """
    expect(page.locator(selector).first).to_have_text(text, timeout=10_000)


def _open_dashboard(browser: Any, app: Any, url: str, staff_id: int) -> Any:
    context = browser.new_context(locale="es-MX", viewport={"width": 1280, "height": 900})
    name, value = session_cookie(app, staff_id).split("=", 1)
    context.add_cookies([{"name": name, "value": value, "url": url}])
    page = context.new_page()
    page.goto(f"{url}/dashboard")
    page.wait_for_selector("#live-status.is-online", timeout=10_000)
    page.evaluate("window.loadedOnce = 'yes'")  # gone if the page ever reloads
    return page


def test_missed_session_alert_appears_live_and_ack_spreads(committed_db, browser_app):
    with browser_app.app_context():
        clock.freeze(ENROLLED_AT)
        try:
            ids = _seed()
        finally:
            clock.freeze(None)
    server = LiveServer(browser_app)
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                judge = _open_dashboard(browser, browser_app, server.url, ids["judge"])
                coordinator = _open_dashboard(browser, browser_app, server.url, ids["coordinator"])
                assert judge.locator("#alert-rows .alert-row").count() == 0
                assert judge.locator(OPEN_ALERTS_CELL).inner_text() == "0"

                # the scheduler's pass once the join window closed, in the server's process
                with browser_app.app_context():
                    clock.freeze(AFTER_DEADLINE)
                    try:
                        run_once()
                    finally:
                        clock.freeze(None)

                row = judge.locator("#alert-rows .alert-row").first
                row.wait_for(timeout=10_000)
                assert "Eva Sintética" in row.inner_text()
                assert "Falla del sistema" in row.inner_text()  # no reminder ever reached her
                assert row.locator(".attr-system").count() == 1
                assert judge.locator("#alert-count").inner_text() != "0"
                wait_for_text(judge, OPEN_ALERTS_CELL, "1")  # her row follows, no reload
                assert judge.evaluate("window.loadedOnce") == "yes"
                coordinator.locator("#alert-rows .alert-row").first.wait_for(timeout=10_000)
                ARTIFACTS.mkdir(exist_ok=True)
                judge.screenshot(path=str(ARTIFACTS / "dashboard-live-alert.png"), full_page=True)

                alert_id = row.get_attribute("data-alert-id")
                row.locator("input[name=note]").fill("Se tratará en la audiencia del viernes")
                row.locator(".ack-form button[type=submit]").click()

                on_coordinator = coordinator.locator(f"#alert-{alert_id}.is-acknowledged")
                on_coordinator.wait_for(timeout=10_000)
                assert "Se tratará en la audiencia del viernes" in on_coordinator.inner_text()
                assert coordinator.evaluate("window.loadedOnce") == "yes"
                judge.locator(f"#alert-{alert_id}.is-acknowledged").wait_for(timeout=10_000)
                wait_for_text(coordinator, OPEN_ALERTS_CELL, "0")

                # a correction that raises no alert: only contact.updated tells the page
                assert judge.locator(LAST_KEPT_CELL).inner_text() == "—"
                with browser_app.app_context():
                    clock.freeze(AFTER_DEADLINE)
                    try:
                        session = db.session.scalars(
                            select(Contact).where(Contact.status == "missed")
                        ).one()
                        therapist = db.session.get(StaffUser, ids["therapist"])
                        mark_outcome(session, "attended", therapist)
                        db.session.commit()
                    finally:
                        clock.freeze(None)
                expect(judge.locator(LAST_KEPT_CELL)).not_to_have_text("—", timeout=10_000)
                assert "2026" in judge.locator(LAST_KEPT_CELL).inner_text()
                assert judge.evaluate("window.loadedOnce") == "yes"
                coordinator.screenshot(
                    path=str(ARTIFACTS / "dashboard-acknowledged.png"), full_page=True
                )
            finally:
                browser.close()
    finally:
        server.stop()


def test_an_unverified_miss_reaches_the_prosecutor_only_once_verified(committed_db, browser_app):
    """The judge sees the miss live, unverified; the prosecutor and the defender do not,
    until the coordinator verified it: then their open dashboards show it, no reload."""
    with browser_app.app_context():
        clock.freeze(ENROLLED_AT)
        try:
            ids = _seed()
            court_ids = db.session.get(StaffUser, ids["judge"]).court_ids
            for position in ("prosecutor", "defender"):
                user = create_staff_user(
                    email=f"{position}@prueba.example.mx",
                    role="court",
                    court_ids=court_ids,
                    court_position=position,
                )
                db.session.flush()
                ids[position] = user.id
            db.session.commit()
        finally:
            clock.freeze(None)
    server = LiveServer(browser_app)
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                pages = {
                    name: _open_dashboard(browser, browser_app, server.url, ids[name])
                    for name in ("judge", "prosecutor", "defender", "coordinator")
                }
                with browser_app.app_context():
                    clock.freeze(AFTER_DEADLINE)
                    try:
                        run_once()
                    finally:
                        clock.freeze(None)

                judge_row = pages["judge"].locator("#alert-rows .alert-row").first
                judge_row.wait_for(timeout=10_000)
                expect(judge_row.locator(".verification-cell")).to_contain_text(
                    "Contacto no realizado, sin verificar"
                )
                assert judge_row.locator(".verify-form").count() == 0  # a judge does not verify
                coordinator_row = pages["coordinator"].locator("#alert-rows .alert-row").first
                coordinator_row.wait_for(timeout=10_000)
                alert_id = coordinator_row.get_attribute("data-alert-id")
                # the same event has reached every open page by now: not theirs
                pages["prosecutor"].wait_for_timeout(1_000)
                for name in ("prosecutor", "defender"):
                    assert pages[name].locator("#alert-rows .alert-row").count() == 0, name
                    assert pages[name].locator("#alert-count").inner_text() == "0", name
                ARTIFACTS.mkdir(exist_ok=True)
                pages["prosecutor"].screenshot(
                    path=str(ARTIFACTS / "dashboard-prosecutor-unverified.png"), full_page=True
                )

                # the coordinator verifies it: no reminder ever reached her
                form = coordinator_row.locator(".verify-form")
                form.locator("select[name=outcome]").select_option("system_failure")
                form.locator("input[name=note]").fill("Ningún recordatorio le llegó")
                form.locator("button[type=submit]").click()
                pages["coordinator"].wait_for_load_state()

                for name in ("prosecutor", "defender"):
                    row = pages[name].locator(f"#alert-{alert_id}")
                    row.wait_for(timeout=10_000)
                    expect(row.locator(".verification-cell")).to_contain_text("Verificada")
                    expect(row.locator(".verification-cell")).to_contain_text("Falla del sistema")
                    assert "Ningún recordatorio le llegó" in row.inner_text()
                    assert row.locator(".verify-form").count() == 0
                    assert pages[name].evaluate("window.loadedOnce") == "yes", name
                # the judge's row follows in place
                expect(
                    pages["judge"].locator(f"#alert-{alert_id} .verification-cell")
                ).to_contain_text("Verificada", timeout=10_000)
                assert pages["judge"].evaluate("window.loadedOnce") == "yes"
                pages["defender"].screenshot(
                    path=str(ARTIFACTS / "dashboard-defender-verified.png"), full_page=True
                )
            finally:
                browser.close()
    finally:
        server.stop()


def test_figures_seen_by_and_progress_follow_a_verification_live(committed_db, browser_app):
    """Before verification the judge's row counts the miss in his run, said unverified,
    and the prosecutor's does not; the coordinator verifies it as his on the
    participant's page; both open dashboards follow without a reload, and the judge's
    "seen" reaches the coordinator's row. Progress columns sort in the browser."""
    with browser_app.app_context():
        clock.freeze(ENROLLED_AT)
        try:
            ids = _seed()
            court_ids = db.session.get(StaffUser, ids["judge"]).court_ids
            user = create_staff_user(
                email="mp@prueba.example.mx",
                role="court",
                court_ids=court_ids,
                court_position="prosecutor",
            )
            db.session.flush()
            ids["prosecutor"] = user.id
            participant_id = db.session.scalars(select(Contact.participant_id)).first()
            db.session.commit()
        finally:
            clock.freeze(None)
    server = LiveServer(browser_app)
    consecutive = "table.compliance tr[data-participant-id] td.consecutive .count"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                pages = {
                    name: _open_dashboard(browser, browser_app, server.url, ids[name])
                    for name in ("judge", "prosecutor", "coordinator")
                }
                with browser_app.app_context():
                    clock.freeze(AFTER_DEADLINE)
                    try:
                        run_once()
                        missed = db.session.scalars(
                            select(Contact).where(Contact.status == "missed")
                        ).one()
                        # the evidence shows a delivered reminder: his, unverified
                        missed.attribution = "participant"
                        missed.attribution_reason = "reminder_delivered"
                        db.session.commit()
                        missed_id = missed.id
                    finally:
                        clock.freeze(None)
                for page in pages.values():
                    page.reload()
                    page.wait_for_selector("#live-status.is-online", timeout=10_000)
                    page.evaluate("window.loadedOnce = 'yes'")
                wait_for_text(pages["judge"], consecutive, "1")
                expect(pages["judge"].locator("td.consecutive")).to_contain_text("1 sin verificar")
                wait_for_text(pages["prosecutor"], consecutive, "0")
                expect(pages["prosecutor"].locator(".verified-only")).to_be_visible()
                assert pages["judge"].locator(".verified-only").count() == 0

                # the judge marks the alert seen: the coordinator's row says so, live
                judge_row = pages["judge"].locator("#alert-rows .alert-row").first
                judge_row.locator(".seen-form button").click()
                pages["judge"].wait_for_load_state()  # his own form reloads his page
                pages["judge"].wait_for_selector("#live-status.is-online", timeout=10_000)
                pages["judge"].evaluate("window.loadedOnce = 'yes'")
                coordinator_row = pages["coordinator"].locator("#alert-rows .alert-row").first
                expect(coordinator_row.locator(".seen-by")).to_contain_text(
                    "Visto por", timeout=10_000
                )
                assert pages["coordinator"].evaluate("window.loadedOnce") == "yes"

                # the coordinator verifies the miss as his, on the participant's page
                coordinator = pages["coordinator"].context.new_page()
                coordinator.goto(f"{server.url}/dashboard/participants/{participant_id}")
                form = coordinator.locator(
                    f"form[action='/dashboard/contacts/{missed_id}/verification']"
                )
                form.locator("select[name=outcome]").select_option("participant")
                form.locator("input[name=note]").fill("Le llamamos: no se conectó")
                form.locator("button[type=submit]").click()
                coordinator.wait_for_load_state()
                expect(coordinator.get_by_text("Falta verificada.")).to_be_visible(timeout=10_000)

                wait_for_text(pages["prosecutor"], consecutive, "1")
                expect(pages["judge"].locator("td.consecutive")).not_to_contain_text(
                    "sin verificar", timeout=10_000
                )
                for name in ("judge", "prosecutor"):
                    assert pages[name].evaluate("window.loadedOnce") == "yes", name
                    expect(pages[name].locator("table.compliance td.streak").first).to_have_text(
                        "0"
                    )
                # progress columns sort (a link in the header)
                pages["prosecutor"].goto(f"{server.url}/dashboard?sort=streak&dir=desc")
                expect(
                    pages["prosecutor"].locator("table.compliance td.streak").first
                ).to_have_text("0")
                ARTIFACTS.mkdir(exist_ok=True)
                pages["prosecutor"].screenshot(
                    path=str(ARTIFACTS / "dashboard-prosecutor-verified-figures.png"),
                    full_page=True,
                )
            finally:
                browser.close()
    finally:
        server.stop()
