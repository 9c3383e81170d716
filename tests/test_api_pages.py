"""Lists a page at a time (Link: rel="next"), and only what changed since a moment."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from test_api_access import MONDAY, World, build_world, call

from telejt.extensions import db
from telejt.participants.services import update_participant


@pytest.fixture
def world(frozen_clock, make_court, make_staff, make_participant) -> World:
    frozen_clock.set(MONDAY)
    return build_world(make_court, make_staff, make_participant)


def walk(client: Any, token: str, path: str) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list, page by page; and how many pages it took."""
    items: list[dict[str, Any]] = []
    pages = 0
    url: str | None = path
    while url:
        response = call(client, token, "GET", url)
        assert response.status_code == 200, response.get_data(as_text=True)
        items += response.get_json()
        pages += 1
        link = response.headers.get("Link")
        match = re.match(r'<[^>]*/api/v1(/[^>]*)>; rel="next"', link or "")
        url = match.group(1) if match else None
    return items, pages


def test_participants_a_page_at_a_time(client, world, make_participant) -> None:
    court = world.court_a
    for _n in range(5):
        make_participant(court=court, therapist=world.users["therapist"])
    everyone, _pages = walk(client, world.tokens["coordinator"], "/participants?limit=500")
    paged, pages = walk(client, world.tokens["coordinator"], "/participants?limit=2")
    assert [p["id"] for p in paged] == [p["id"] for p in everyone]
    assert pages == -(-len(everyone) // 2)
    assert {p["court_id"] for p in everyone} <= set(world.users["coordinator"].court_ids)


def test_updated_since_lists_only_what_changed(client, world, frozen_clock) -> None:
    token = world.tokens["coordinator"]
    later = frozen_clock.advance(hours=1)
    mine = world.participants["mine"]
    update_participant(mine, {"locale": "en"})
    db.session.commit()
    since = (later - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    changed, _pages = walk(client, token, f"/participants?updated_since={since}")
    assert [p["id"] for p in changed] == [mine.id]


def test_contacts_page_on_time_then_id(client, world) -> None:
    mine = world.participants["mine"].id
    query = "from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z"
    everything, _ = walk(client, world.tokens["court"], f"/participants/{mine}/contacts?{query}")
    paged, pages = walk(
        client, world.tokens["court"], f"/participants/{mine}/contacts?{query}&limit=3"
    )
    assert len(everything) > 3 and pages > 1
    assert [c["id"] for c in paged] == [c["id"] for c in everything]


@pytest.mark.parametrize("cursor", ["nope", "W10", "WyJ4Il0", json.dumps([1]), "!!"])
def test_a_bad_cursor_is_a_clear_error(client, world, cursor: str) -> None:
    response = call(client, world.tokens["coordinator"], "GET", f"/participants?cursor={cursor}")
    assert response.status_code == 422
    assert "cursor" in response.get_json()["error"]["fields"]
