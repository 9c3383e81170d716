"""Session pages: the participant's link, the console, the therapist's day, the calendar feed."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta

import pytest
from conftest import PASSWORD
from flask import g
from icalendar import Calendar
from sqlalchemy import select
from test_sessions_services import MONDAY, TUESDAY_SESSION, first_session

from telejt.audit.models import AuditEvent
from telejt.extensions import db
from telejt.sessions import services
from telejt.sessions.models import ClinicalNote, PresenceEvent

#: the participant page's budget before video starts: HTML + CSS + JS
PAGE_BUDGET_BYTES = 150_000


@pytest.fixture
def session(frozen_clock, make_participant):
    """A planned session, the clock at its start."""
    frozen_clock.set(MONDAY)
    contact = first_session(make_participant())
    frozen_clock.set(TUESDAY_SESSION)
    return contact


def login(client, user) -> None:
    g.pop("_login_user", None)
    client.post("/logout", data={})
    answer = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert answer.status_code == 302


def test_participant_page_records_nothing_and_is_private(client, session) -> None:
    answer = client.get(f"/s/{session.join_token}")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert 'lang="es-MX"' in page
    assert "Tu sesión en línea" in page
    assert "tu terapeuta puede llamarte" in page.lower()  # what to do if the video fails
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    # a link preview fetching the page is not evidence that he came
    assert db.session.scalar(select(PresenceEvent)) is None
    db.session.refresh(session)
    assert session.status == "scheduled"


def test_participant_page_follows_his_language_not_the_browsers(
    client, frozen_clock, make_participant
) -> None:
    frozen_clock.set(MONDAY)
    contact = first_session(make_participant(locale="en"))
    frozen_clock.set(contact.starts_at)
    page = client.get(f"/s/{contact.join_token}", headers={"Accept-Language": "es-MX"})
    assert 'lang="en"' in page.get_data(as_text=True)
    assert "Tuesday, March 3" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("moment", "status", "words"),
    [
        (TUESDAY_SESSION - timedelta(minutes=16), 200, "Tu sesión todavía no empieza"),
        (TUESDAY_SESSION + timedelta(minutes=20), 410, "Ya pasó el tiempo"),
        (TUESDAY_SESSION + timedelta(minutes=50), 410, "ya terminó"),
    ],
)
def test_link_outside_its_time(client, session, frozen_clock, moment, status, words) -> None:
    frozen_clock.set(moment)
    answer = client.get(f"/s/{session.join_token}")
    assert answer.status_code == status
    assert words in answer.get_data(as_text=True)
    assert db.session.scalar(select(PresenceEvent)) is None


def test_unknown_link(client, session) -> None:
    forged = ("A" if session.join_token[0] != "A" else "B") + session.join_token[1:]
    answer = client.get(f"/s/{forged}")
    assert answer.status_code == 404
    assert "Revisa que el enlace esté completo" in answer.get_data(as_text=True)
    assert "responde AYUDA" in answer.get_data(as_text=True)


def test_participant_page_weight_is_under_budget(client, session) -> None:
    page = client.get(f"/s/{session.join_token}").get_data()
    assets = re.findall(rb'(?:src|href)="(/static/[^"]+)"', page)
    # nothing to fetch but the stylesheet used only without JavaScript: its stylesheet,
    # the Socket.IO client, the room and the waiting room's state machine are in the page
    assert [path for path in assets if b"noscript" not in path] == []
    assert b"TelejtRoom" in page and b"Socket.IO" in page
    assert len(page) < PAGE_BUDGET_BYTES, len(page)
    packed = client.get(f"/s/{session.join_token}", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()).startswith(b"\n<!doctype html>")
    assert len(packed.get_data()) < len(page) / 2


def test_console_is_for_his_therapist_and_the_courts_coordinators(
    client, session, make_staff
) -> None:
    participant = session.participant
    court = participant.court
    url = f"/sessions/{session.id}"
    for outsider in (
        make_staff("therapist", courts=[court]),
        make_staff("court", courts=[court], court_position="judge"),
        make_staff("coordinator"),
    ):
        login(client, outsider)
        assert client.get(url).status_code == 404
    login(client, make_staff("coordinator", courts=[court]))
    page = client.get(url).get_data(as_text=True)
    assert participant.phone in page and 'id="admit"' not in page  # sees it, runs no video
    login(client, participant.therapist)
    page = client.get(url).get_data(as_text=True)
    assert 'id="admit"' in page and f"tel:{participant.phone}" in page


def test_console_prompts_a_call_after_the_nudge(client, session, frozen_clock) -> None:
    login(client, session.participant.therapist)
    assert "Llámele ahora" not in client.get(f"/sessions/{session.id}").get_data(as_text=True)
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=6))
    assert "Llámele ahora" in client.get(f"/sessions/{session.id}").get_data(as_text=True)


def test_marking_the_outcome_and_the_identity_check_from_the_console(client, session) -> None:
    login(client, session.participant.therapist)
    services.participant_joined(session)
    db.session.commit()
    answer = client.post(
        f"/sessions/{session.id}/identity",
        data={"identity_confirmed": "on", "location": "Su casa, colonia Centro"},
    )
    assert answer.status_code == 302
    note = db.session.scalar(select(ClinicalNote).where(ClinicalNote.contact_id == session.id))
    assert "colonia Centro" in note.body
    answer = client.post(
        f"/sessions/{session.id}/outcome", data={"outcome": "attended", "note": "Buena sesión"}
    )
    assert answer.status_code == 302
    db.session.refresh(session)
    assert (session.status, session.outcome_note) == ("attended", "Buena sesión")
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "colonia Centro" in page


def test_a_court_user_never_reaches_the_identity_check(client, session, make_staff) -> None:
    services.confirm_identity_and_location(
        session,
        session.participant.therapist,
        identity_confirmed=True,
        location="Calle secreta 1",
        private_place=True,
        callback_confirmed=True,
    )
    db.session.commit()
    login(client, make_staff("court", courts=[session.participant.court], court_position="judge"))
    assert client.get(f"/sessions/{session.id}").status_code == 404
    assert client.post(
        f"/sessions/{session.id}/outcome", data={"outcome": "no_show"}
    ).status_code in (403, 404)


def test_therapist_day_lists_his_sessions(client, session, make_participant) -> None:
    therapist = session.participant.therapist
    someone_else = make_participant(court=session.participant.court)
    login(client, therapist)
    page = client.get("/therapist").get_data(as_text=True)
    assert session.participant.name in page
    assert someone_else.name not in page
    assert f'href="/sessions/{session.id}"' in page
    # the day's list shows participants' records: the read is audited
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "therapist.day"))
    assert event.staff_id == therapist.id and session.id in event.detail["contact_ids"]
    assert event.detail["participant_ids"] == [session.participant_id]


def test_calendar_feed_issue_read_and_revoke(client, session) -> None:
    therapist = session.participant.therapist
    login(client, therapist)
    page = client.post("/therapist/calendar", data={"action": "issue"}).get_data(as_text=True)
    url = re.search(
        r'<code id="feed-url">https://telejt\.example\.mx(/calendar/[^<]+)</code>', page
    ).group(1)
    client.post("/logout", data={})
    feed = client.get(url)
    assert feed.status_code == 200
    assert feed.headers["Content-Type"].startswith("text/calendar")
    body = feed.get_data(as_text=True)
    assert session.participant.name not in body
    assert session.participant.case_number not in body
    events = [c for c in Calendar.from_ical(feed.get_data()).walk("VEVENT")]
    assert str(events[0]["SUMMARY"]) == f"Sesión telejt #{session.id}"
    assert events[0].decoded("DTSTART") == TUESDAY_SESSION
    login(client, therapist)
    client.post("/therapist/calendar", data={"action": "issue"})  # rotate: old URL dies
    assert client.get(url).status_code == 404
    client.post("/therapist/calendar", data={"action": "revoke"})
    db.session.refresh(therapist)
    assert therapist.calendar_token_hash is None


def test_a_phone_session_page_says_he_will_be_called(client, session) -> None:
    session.modality = "phone"
    db.session.commit()
    answer = client.get(f"/s/{session.join_token}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Esta sesión es por teléfono" in page
    assert "room.js" not in page
