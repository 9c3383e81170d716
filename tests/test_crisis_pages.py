"""Crisis first on the team's pages: pinned on the coordinator's dashboard and the
therapist's agenda with the phone to call and the next steps; never on the court's."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import sign_in
from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.conversation.crisis import raise_crisis
from telejt.extensions import db


@pytest.fixture
def crisis(make_court, make_staff, make_participant) -> dict[str, Any]:
    court = make_court()
    therapist = make_staff("therapist", courts=[court])
    person = make_participant(court=court, therapist=therapist, phone="+52 81 5555 0107")
    alert = raise_crisis(
        person, dedupe_key="crisis:test:1", reason="risk_words", reply_key="test:crisis:1"
    )
    db.session.commit()
    return {
        "alert": alert,
        "participant": person,
        "therapist": therapist,
        "coordinator": make_staff("coordinator", courts=[court]),
        "judge": make_staff("court", courts=[court], court_position="judge"),
    }


def _page(client: Any, user: Any, path: str) -> str:
    sign_in(client, user)
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_coordinator_sees_the_crisis_first_with_a_phone_to_call(client, crisis) -> None:
    page = _page(client, crisis["coordinator"], "/dashboard")
    pinned = page.index('id="crisis-alerts"')
    assert pinned < page.index('id="live-alerts"')  # above every other alert
    assert 'href="tel:+528155550107"' in page
    assert "Qué hacer ahora" in page and "911" in page and "800 911 2000" in page
    assert "Escribió palabras de riesgo en un mensaje" in page
    assert f'action="/crisis/{crisis["alert"].id}/ack"' in page


def test_the_therapist_sees_it_on_his_agenda(client, crisis) -> None:
    page = _page(client, crisis["therapist"], "/therapist")
    assert (
        'id="crisis-alerts"' in page and "hidden" not in page.split('id="crisis-alerts"')[1][:200]
    )
    assert 'href="tel:+528155550107"' in page
    assert page.index('id="crisis-alerts"') < page.index('id="sessions"')


def test_the_court_never_sees_a_crisis(client, crisis) -> None:
    page = _page(client, crisis["judge"], "/dashboard")
    assert 'id="crisis-alerts"' not in page and "tel:+528155550107" not in page
    assert client.get(f"/crisis/{crisis['alert'].id}").status_code == 403


def test_the_team_reads_what_he_wrote(client, make_court, make_staff, make_participant) -> None:
    from telejt.conversation.engine import receive_sms

    court = make_court()
    person = make_participant(court=court, phone="+52 81 5555 0108")
    receive_sms(
        provider_sid="SMtest0001", from_phone=person.phone, body="ya no aguanto, me quiero morir"
    )
    db.session.commit()
    page = _page(client, make_staff("coordinator", courts=[court]), "/dashboard")
    assert (
        '<blockquote class="crisis-words" lang="es-MX"><p>ya no aguanto, me quiero morir</p>'
        in page
    )


def test_the_therapist_acknowledges_without_javascript(client, crisis) -> None:
    sign_in(client, crisis["therapist"])
    alert_id = crisis["alert"].id
    response = client.post(f"/crisis/{alert_id}/ack", data={"note": "Lo llamé; está a salvo."})
    assert response.status_code == 302 and response.headers["Location"].endswith("/therapist")
    alert = db.session.scalars(select(Alert).where(Alert.id == alert_id)).one()
    assert alert.acknowledged_at is not None and alert.ack_note == "Lo llamé; está a salvo."
    page = client.get("/therapist").get_data(as_text=True)
    assert "tel:+528155550107" not in page  # no longer pinned


def test_every_staff_page_has_a_skip_link_and_live_regions(client, crisis) -> None:
    for user, path in (
        (crisis["coordinator"], "/dashboard"),
        (crisis["coordinator"], "/participants"),
        (crisis["therapist"], "/therapist"),
        (crisis["judge"], "/dashboard"),
        (crisis["coordinator"], "/account"),
    ):
        page = _page(client, user, path)
        assert '<a class="skip-link" href="#main">' in page, path
        assert 'id="main" tabindex="-1"' in page, path
        assert 'aria-live="polite"' in page and 'role="alert"' in page, path
