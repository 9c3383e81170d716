"""The participant's side, server half: takeover by a second tab, the way back in after a
drop, why a refused room refuses, trouble reports, the end told live, his phone on every
page, and the console's saves that never reload."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from datetime import timedelta

import pytest
from flask import url_for
from socketio.exceptions import ConnectionRefusedError
from sqlalchemy import select
from test_sessions_pages import login
from test_sessions_room import received, room  # noqa: F401  (fixture)
from test_sessions_services import MONDAY, TUESDAY_SESSION, first_session

from telejt.extensions import db
from telejt.sessions import services, signaling, waiting
from telejt.sessions.models import PresenceEvent
from telejt.sessions.rooms import ROOM_NAMESPACE as NAMESPACE

TEAM_PHONE = "+528112345678"


def test_a_second_tab_takes_over_and_the_first_closing_is_no_leave(room) -> None:  # noqa: F811 (fixture)
    contact, participant, staff = room
    therapist = staff(contact.participant.therapist)
    first = participant()
    therapist.emit("admit", {}, namespace=NAMESPACE, callback=True)
    assert first.emit("enter", {}, namespace=NAMESPACE, callback=True) == {"ok": True}
    second = participant()
    assert received(first, "state")[-1] == {"state": "elsewhere"}
    # no new admission: straight back into the call
    assert received(second, "state") == [{"state": "admitted", "resumed": True}]
    assert second.emit("enter", {}, namespace=NAMESPACE, callback=True) == {"ok": True}
    # the old tab may no longer step in nor relay anything
    assert first.emit("enter", {}, namespace=NAMESPACE, callback=True)["ok"] is False
    therapist.get_received(NAMESPACE)
    first.disconnect(namespace=NAMESPACE)
    assert received(therapist, "participant") == []  # the therapist never reads "salió"
    assert services.presence_state(contact) == "admitted"
    assert [e.event for e in services.presence_events(contact)].count("leave") == 0


def test_back_after_a_drop_within_the_grace_period(room, frozen_clock) -> None:  # noqa: F811 (fixture)
    contact, participant, staff = room
    therapist = staff(contact.participant.therapist)
    him = participant()
    therapist.emit("admit", {}, namespace=NAMESPACE, callback=True)
    him.disconnect(namespace=NAMESPACE)
    frozen_clock.advance(seconds=90)
    back = participant()
    assert received(back, "state") == [{"state": "admitted", "resumed": True}]
    assert received(therapist, "participant")[-1] == {"state": "admitted"}
    assert back.emit("enter", {}, namespace=NAMESPACE, callback=True) == {"ok": True}
    back.disconnect(namespace=NAMESPACE)
    frozen_clock.advance(minutes=3)
    late = participant()
    assert received(late, "state") == [{"state": "waiting"}]  # too long away: admitted again


def test_the_room_says_why_it_refuses_him(room, frozen_clock, app_ctx) -> None:  # noqa: F811 (fixture)
    contact, participant, _ = room
    frozen_clock.set(contact.ends_at + timedelta(seconds=1))
    assert not participant().is_connected(NAMESPACE)
    # the reason travels with the refusal, so that his page can say the session ended
    with app_ctx.test_request_context("/socket.io/"), pytest.raises(ConnectionRefusedError) as no:
        signaling._participant_connects(contact.join_token)
    assert no.value.error_args == {"message": "ended"}


def test_the_therapist_coming_back_is_told_to_his_page(room) -> None:  # noqa: F811 (fixture)
    contact, participant, staff = room
    him = participant()
    staff(contact.participant.therapist)
    assert received(him, "therapist") == [{"state": "joined"}]


def test_trouble_reaches_the_therapist_once_and_stays_as_evidence(room, frozen_clock) -> None:  # noqa: F811 (fixture)
    contact, participant, staff = room
    therapist = staff(contact.participant.therapist)
    him = participant()
    answer = him.emit("trouble", {"what": "media_denied"}, namespace=NAMESPACE, callback=True)
    assert answer == {"ok": True, "recorded": True}
    assert received(therapist, "trouble") == [{"what": "media_denied"}]
    again = him.emit("trouble", {"what": "media_denied"}, namespace=NAMESPACE, callback=True)
    assert again == {"ok": True, "recorded": False}  # a repeat within a minute
    assert him.emit("trouble", {"what": "<script>"}, namespace=NAMESPACE, callback=True) == {
        "ok": True,
        "recorded": False,
    }
    troubles = [e.detail for e in services.presence_events(contact) if e.event == "trouble"]
    assert troubles == ["media_denied"]
    assert services.presence_state(contact) == "waiting"  # evidence, not presence


def test_trouble_over_http_when_the_room_cannot_open(client, frozen_clock, make_participant):
    frozen_clock.set(MONDAY)
    contact = first_session(make_participant())
    frozen_clock.set(TUESDAY_SESSION)
    answer = client.post(f"/s/{contact.join_token}/trouble", json={"what": "no_connection"})
    assert answer.status_code == 204
    event = db.session.scalar(select(PresenceEvent).where(PresenceEvent.event == "trouble"))
    assert (event.actor, event.detail) == ("participant", "no_connection")
    db.session.refresh(contact)
    assert contact.status == "scheduled"  # a report is no join
    forged = ("A" if contact.join_token[0] != "A" else "B") + contact.join_token[1:]
    assert client.post(f"/s/{forged}/trouble", json={"what": "no_connection"}).status_code == 404


def test_the_end_of_the_session_is_told_to_his_page(room) -> None:  # noqa: F811 (fixture)
    contact, participant, _ = room
    him = participant()
    services.mark_outcome(contact, "excused", contact.participant.therapist)
    db.session.commit()
    assert received(him, "state")[-1] == {"state": "ended", "outcome": "excused"}


@pytest.fixture
def session(frozen_clock, make_participant, make_court):
    frozen_clock.set(MONDAY)
    court = make_court(team_phone=TEAM_PHONE)
    contact = first_session(make_participant(court=court))
    frozen_clock.set(TUESDAY_SESSION)
    return contact


def test_every_page_of_his_link_gives_his_teams_phone(client, session, frozen_clock) -> None:
    for moment in (
        TUESDAY_SESSION - timedelta(hours=2),  # too early
        TUESDAY_SESSION,  # the waiting room
        TUESDAY_SESSION + timedelta(minutes=20),  # the join window closed
        TUESDAY_SESSION + timedelta(minutes=51),  # over
    ):
        frozen_clock.set(moment)
        page = client.get(f"/s/{session.join_token}").get_data(as_text=True)
        assert f'href="tel:{TEAM_PHONE}"' in page, moment
        assert "81 1234 5678" in page


def test_too_early_says_when_without_a_double_period(client, session, frozen_clock) -> None:
    frozen_clock.set(TUESDAY_SESSION - timedelta(hours=2))
    answer = client.get(f"/s/{session.join_token}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Tu sesión todavía no empieza" in page
    assert "9:45 a.m." in page.replace("\u202f", " ").replace("\xa0", " ")
    assert "a.m.." not in page and "p.m.." not in page
    reload_in = int(re.search(r'data-reload-in="(\d+)"', page).group(1))
    assert reload_in == 105 * 60 + 1  # opens itself when the link starts to work


def test_without_a_team_phone_he_is_told_to_answer_ayuda_and_given_the_crisis_line(
    client, frozen_clock, make_participant
) -> None:
    frozen_clock.set(MONDAY)
    contact = first_session(make_participant())
    frozen_clock.set(TUESDAY_SESSION)
    page = client.get(f"/s/{contact.join_token}").get_data(as_text=True)
    assert "Responde AYUDA" in page
    assert 'href="tel:8009112000"' in page and "Línea de la Vida" in page


def test_his_page_has_a_noscript_next_step(client, session) -> None:
    answer = client.get(f"/s/{session.join_token}")
    page = answer.get_data(as_text=True)
    noscript = re.search(r"<noscript>\s*<p.*?</noscript>", page, re.S).group(0)
    assert "JavaScript" in noscript and "no cuenta en tu contra" in noscript.lower()
    assert " on" + "click=" not in page
    # the only inline scripts are our files, each allowed by its hash and by nothing looser
    policy = answer.headers["Content-Security-Policy"]
    script_src = next(part for part in policy.split("; ") if part.startswith("script-src "))
    inline = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert inline
    for text in inline:
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    assert "unsafe" not in script_src and len(script_src.split()) == 2 + len(inline)


def test_the_console_saves_as_json_and_keeps_what_was_typed_without_script(
    client, session, frozen_clock
) -> None:
    login(client, session.participant.therapist)
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert not re.search(r'name="outcome"[^>]*checked', page)  # nothing chosen for him
    answer = client.post(
        f"/sessions/{session.id}/identity",
        data={"identity_confirmed": "on", "location": "Casa"},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200
    assert answer.json["ok"] and "Casa" in answer.json["check"]["text"]
    frozen_clock.set(session.starts_at - timedelta(minutes=5))  # not started yet
    answer = client.post(
        f"/sessions/{session.id}/outcome",
        data={"outcome": "attended", "note": "Lo que escribí"},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 422 and not answer.json["ok"]
    # the plain form (no script): the page again, with the note still in it
    answer = client.post(
        f"/sessions/{session.id}/outcome", data={"outcome": "attended", "note": "Lo que escribí"}
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert ">Lo que escribí</textarea>" in page
    assert re.search(r'value="attended"[^>]*checked', page)


def test_static_files_have_hashed_names_a_year_of_cache_and_gzip(client, session) -> None:
    with client.application.test_request_context():
        url = url_for("static", filename="sessions/room.js")
    assert re.fullmatch(r"/static/sessions/room\.[0-9a-f]{10}\.js", url)
    client.get(f"/s/{session.join_token}")  # his browser now has a cookie (his room pass)
    answer = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.headers["Content-Encoding"] == "gzip"
    assert b"TelejtRoom" in gzip.decompress(answer.get_data())
    assert answer.headers["Vary"] == "Accept-Encoding"  # not Cookie: no refetch when it changes
    assert "Set-Cookie" not in answer.headers
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers and b"TelejtRoom" in plain.get_data()
    # an old page's name, or no hash: the current file, revalidated
    stale = client.get("/static/sessions/room.0000000000.js")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/sessions/room.js").headers["Cache-Control"] == "no-cache"
    assert client.get("/static/nothing.js").status_code == 404
    etag = plain.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_trouble_kinds_all_have_words_for_the_therapist(app_ctx) -> None:
    assert set(waiting.trouble_words()) == set(waiting.TROUBLES)
    assert signaling.REFUSAL_REASONS
