"""Every staff page, on the demo's data, in headless Chromium, in Spanish and in English:
axe-core finds no serious or critical violation, and at 683 and 320 CSS px (200 % and
400 % zoom, a phone) nothing scrolls sideways.

Uses Debian's Chromium; never downloads a browser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from a11y import serious_violations
from sqlalchemy import select
from test_dashboard_browser import (  # noqa: F401  (fixture)
    CHROMIUM,
    CHROMIUM_ARGS,
    browser_app,
)
from test_live_redis import LiveServer, session_cookie

from telejt.auth.models import StaffUser
from telejt.demo import load_demo
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.planning.models import Contact

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]
sync_api = pytest.importorskip("playwright.sync_api")


def _pages() -> dict[str, Any]:
    """Each demo account with the pages it opens: the demo's own data, every state in it."""
    staff = {u.email.split("@")[0]: u.id for u in db.session.scalars(select(StaffUser))}
    people = {p.name.split()[0]: p.id for p in db.session.scalars(select(Participant))}
    waiting = db.session.scalars(select(Contact).where(Contact.status == "in_progress")).one()
    carla, hilda = people["Carla"], people["Hilda"]
    return {
        "coordinacion": [
            "/dashboard",
            f"/dashboard/participants/{carla}",
            "/participants",
            f"/participants/{carla}",
            "/participants/new",
            f"/participants/{carla}/edit",
            "/queues/reschedule",
            "/queues/reachability",
            f"/reports/participants/{carla}",
            "/dev/sms",
            "/account",
            "/courts/",
        ],
        "terapia1": ["/therapist", f"/participants/{hilda}", f"/sessions/{waiting.id}"],
        "jueza": [
            "/dashboard",
            f"/dashboard/participants/{carla}",
            f"/reports/participants/{carla}",
        ],
        "admin": ["/admin/staff", f"/admin/staff/{staff['jueza']}", "/audit", "/courts/"],
        "_ids": staff,
    }


def _sideways_overflow(page: Any) -> list[str]:
    """What sticks out past the right edge of a page that should not scroll sideways."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          if (document.documentElement.scrollWidth <= width) { return []; }
          return Array.from(document.querySelectorAll("body *"))
            .filter((el) => el.getBoundingClientRect().right > width + 1)
            .slice(0, 8)
            .map((el) => el.tagName + (el.id ? "#" + el.id : "") + "." + el.className);
        }"""
    )


@pytest.mark.parametrize("language", ["es_MX", "en"])
def test_every_staff_page_is_accessible_and_reflows(
    committed_db,
    browser_app,  # noqa: F811  (fixture)
    language: str,
) -> None:
    with browser_app.app_context():
        load_demo()
        for user in db.session.scalars(select(StaffUser)):
            user.locale = language  # as the header's switch saves it
        db.session.commit()
        pages = _pages()
    ids = pages.pop("_ids")
    server = LiveServer(browser_app)
    problems: dict[str, Any] = {}
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                for account, paths in pages.items():
                    context = browser.new_context(
                        locale="es-MX", viewport={"width": 1280, "height": 900}
                    )
                    name, value = session_cookie(browser_app, ids[account]).split("=", 1)
                    context.add_cookies([{"name": name, "value": value, "url": server.url}])
                    page = context.new_page()
                    for path in paths:
                        page.set_viewport_size({"width": 1280, "height": 900})
                        response = page.goto(f"{server.url}{path}")
                        assert response is not None and response.status == 200, (account, path)
                        lang = page.evaluate("document.documentElement.lang")
                        assert lang == ("en" if language == "en" else "es-MX"), (account, path)
                        found = serious_violations(page)
                        if found:
                            problems[f"{account} {path} axe"] = found
                        # 200 % zoom on a 1366 px laptop, then 400 % zoom or a small phone
                        for width in (683, 320):
                            page.set_viewport_size({"width": width, "height": 640})
                            sideways = _sideways_overflow(page)
                            if sideways:
                                problems[f"{account} {path} at {width} px"] = sideways
                    context.close()
            finally:
                browser.close()
    finally:
        server.stop()
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())
