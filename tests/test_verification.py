"""Verification before a breach is asserted (CNPP art. 174/198).

A miss reaches the court unverified, and only the positions the court names (by
default the judge and the supervision officer) see it before the coordinator or the
supervision officer verified it; verifying says whose the miss was, and a justified
miss or the system's failure stops counting against him everywhere. Each court user
marks an alert as seen for himself only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from test_api_access import call
from test_dashboard_views import add_contact, login
from test_fair_attribution import reminder, scheduled

from telejt.alerts import services as alert_services
from telejt.alerts.models import Alert, AlertRead
from telejt.audit.models import AuditEvent
from telejt.auth.models import COURT_POSITIONS
from telejt.auth.services import create_api_token
from telejt.cli import cli
from telejt.clock import now
from telejt.courts.models import Court
from telejt.extensions import db
from telejt.live import court_position_room, court_room
from telejt.planning.verification import AlreadyVerified, verify_alert, verify_miss
from telejt.planning.watcher import settle_contact
from telejt.reports.figures import figures_of
from telejt.reports.report import build_report

DAY = timedelta(days=1)


@pytest.fixture
def court(app_ctx, frozen_clock, make_court, make_staff, make_participant):
    place = make_court()
    staff = {
        "coordinator": make_staff("coordinator", courts=[place], password=None, name="Coord Uno"),
        "therapist": make_staff("therapist", courts=[place], password=None),
        "admin": make_staff("admin", password=None),
        **{
            position: make_staff(
                "court", courts=[place], court_position=position, password=None,
                name=f"Persona {position}",
            )
            for position in COURT_POSITIONS
        },
    }  # fmt: skip
    person = make_participant(court=place, therapist=staff["therapist"], name="Rosa Sintética")
    tokens = {name: create_api_token(user)[1] for name, user in staff.items()}
    db.session.commit()
    return {"staff": staff, "person": person, "tokens": tokens, "court": place}


def a_miss(person: Any, days_ago: int = 2) -> Alert:
    """A missed session whose one reminder was delivered: his miss, alerted at once
    when it is the protocol's threshold (here his misses in a row)."""
    for back in range(days_ago + 4, days_ago, -1):
        add_contact(person, now() - back * DAY, "missed", attribution="participant")
    contact = scheduled(person, now() - days_ago * DAY)
    reminder(contact, "delivered")
    settle_contact(contact)
    assert contact.attribution == "participant"
    db.session.commit()
    alert = db.session.scalar(select(Alert).where(Alert.contact_id == contact.id))
    assert alert is not None
    return alert


def listed_ids(client: Any, token: str) -> set[int]:
    response = call(client, token, "GET", "/alerts")
    assert response.status_code == 200
    return {a["id"] for a in response.get_json()}


def test_a_miss_starts_unverified_and_only_some_positions_see_it(client, court) -> None:
    alert = a_miss(court["person"])
    assert alert.kind == "missed_contact"
    assert alert.verification == "unverified"
    for position in COURT_POSITIONS:
        seen = alert.id in listed_ids(client, court["tokens"][position])
        assert seen is (position in ("judge", "supervision_officer")), position
    assert alert.id in listed_ids(client, court["tokens"]["coordinator"])
    assert alert.id in listed_ids(client, court["tokens"]["therapist"])
    login(client, court["staff"]["prosecutor"])
    assert client.get(f"/dashboard/alerts/{alert.id}/row").status_code == 404
    page = client.get("/dashboard").get_data(True)
    assert f'id="alert-{alert.id}"' not in page
    login(client, court["staff"]["judge"])
    page = client.get("/dashboard").get_data(True)
    assert f'id="alert-{alert.id}"' in page
    assert "Contacto no realizado, sin verificar" in page
    assert 'class="verify-form"' not in page  # a judge does not verify


def test_verifying_as_his_miss_shows_it_to_every_position(client, court, monkeypatch) -> None:
    heard: list[tuple[str, dict[str, Any], list[str]]] = []
    monkeypatch.setattr(
        alert_services, "publish", lambda name, payload, rooms: heard.append((name, payload, rooms))
    )
    alert = a_miss(court["person"])
    court_id = court["person"].court_id
    created = [rooms for name, _p, rooms in heard if name == "alert.created"]
    court_rooms = {room for rooms in created for room in rooms if room.startswith("court:")}
    assert court_rooms == {
        court_position_room(court_id, "judge"),
        court_position_room(court_id, "supervision_officer"),
    }
    response = call(
        client, court["tokens"]["supervision_officer"], "POST",
        f"/alerts/{alert.id}/verification",
        {"outcome": "participant", "note": "Confirmado: no se presentó."},
    )  # fmt: skip
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["verification"] == "verified"
    assert body["verification_outcome"] == "participant"
    assert body["verification_note"] == "Confirmado: no se presentó."
    db.session.refresh(alert)
    assert alert.verified_by_id == court["staff"]["supervision_officer"].id
    assert alert.contact.attribution == "participant"
    verified = [rooms for name, _p, rooms in heard if name == "alert.verified"]
    assert verified and court_room(court_id) in verified[-1]
    for position in COURT_POSITIONS:
        assert alert.id in listed_ids(client, court["tokens"][position]), position
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alert.verify"))
    assert audit is not None and audit.object_id == str(alert.id)
    assert audit.detail["outcome"] == "participant"
    # the first verification stands
    again = call(
        client, court["tokens"]["coordinator"], "POST", f"/alerts/{alert.id}/verification",
        {"outcome": "justified", "note": "otra"},
    )  # fmt: skip
    assert again.status_code == 409


def test_verifying_as_justified_or_system_failure_changes_whose_miss_it_is(client, court) -> None:
    person = court["person"]
    first = a_miss(person, days_ago=8)
    db.session.refresh(first)
    coordinator = court["staff"]["coordinator"]
    verify_alert(first, coordinator, "justified", "Constancia de hospital")
    db.session.commit()
    contact = first.contact
    assert (contact.status, contact.attribution) == ("excused", "excused")
    assert contact.justification == "Constancia de hospital"
    assert first.acknowledged_at is not None  # the justification closes the team's task
    assert first.attribution == "excused"

    second = a_miss(person, days_ago=2)
    verify_alert(second, court["staff"]["supervision_officer"], "system_failure", "Caída de SMS")
    db.session.commit()
    contact = second.contact
    assert (contact.status, contact.attribution) == ("missed", "system")
    assert contact.attribution_reason == "system_failure_verified"
    assert second.attribution == "system"
    figures = figures_of(person.id, now() - 30 * DAY, now(), now())
    assert figures.sessions.missed_system == 1
    assert figures.sessions.excused == 1
    # neither counts against him: the others in his runs are his (four before each)
    assert figures.sessions.missed_participant == 8
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"alert.verify", "contact.justify", "contact.attribute_to_system"} <= actions
    with pytest.raises(AlreadyVerified):
        verify_alert(second, coordinator, "participant", "x")


def test_who_may_verify(client, court) -> None:
    alert = a_miss(court["person"])
    body = {"outcome": "participant", "note": "visto"}
    path = f"/alerts/{alert.id}/verification"
    for name in ("judge", "prosecutor", "defender", "therapist", "admin"):
        assert call(client, court["tokens"][name], "POST", path, body).status_code == 403, name
    bad = call(client, court["tokens"]["coordinator"], "POST", path, {"outcome": "x", "note": "y"})
    assert bad.status_code == 422
    empty = call(client, court["tokens"]["coordinator"], "POST", path, {**body, "note": " "})
    assert empty.status_code == 422
    db.session.refresh(alert)
    assert alert.verification == "unverified"
    # the page action, for the coordinator
    login(client, court["staff"]["judge"])
    assert client.post(f"/dashboard{path}", data=body).status_code == 403
    login(client, court["staff"]["coordinator"])
    assert 'class="verify-form"' in client.get("/dashboard").get_data(True)
    response = client.post(f"/dashboard{path}", data=body)
    assert response.status_code == 302
    db.session.refresh(alert)
    assert alert.verification == "verified"


def test_the_openapi_document_describes_the_verification(client, court) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/alerts/{alert_id}/verification"]["post"]
    schema = document["components"]["schemas"]["AlertVerification"]
    assert set(schema["properties"]) == {"outcome", "note"}
    assert operation["requestBody"]
    assert "unverified_positions" in document["components"]["schemas"]["CourtUpdate"]["properties"]


def test_a_coordinator_chooses_who_sees_unverified_notices(client, court) -> None:
    alert = a_miss(court["person"])
    path = f"/courts/{court['court'].id}"
    response = call(
        client, court["tokens"]["coordinator"], "PATCH", path,
        {"unverified_positions": ["judge", "prosecutor"]},
    )  # fmt: skip
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["unverified_positions"] == ["judge", "prosecutor"]
    assert alert.id in listed_ids(client, court["tokens"]["prosecutor"])
    assert alert.id not in listed_ids(client, court["tokens"]["supervision_officer"])
    # the phones stay the admin's
    phones = call(client, court["tokens"]["coordinator"], "PATCH", path, {"team_phone": ""})
    assert phones.status_code == 403
    assert (
        call(
            client, court["tokens"]["judge"], "PATCH", path, {"unverified_positions": []}
        ).status_code
        == 403
    )
    bad = call(
        client, court["tokens"]["admin"], "PATCH", path, {"unverified_positions": ["bailiff"]}
    )
    assert bad.status_code == 422
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "court.unverified_positions")
    )


def test_the_cli_sets_who_sees_unverified_notices(runner, court) -> None:
    court_id = court["court"].id
    result = runner.invoke(
        cli, ["courts", "unverified", "--court", str(court_id), "--positions", "judge,defender"]
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Court, court_id).unverified_position_set == {"judge", "defender"}
    result = runner.invoke(
        args=["courts", "unverified", "--court", str(court_id), "--positions", "x"]
    )
    assert result.exit_code != 0


def test_each_user_marks_an_alert_seen_for_himself(client, court) -> None:
    alert = a_miss(court["person"])
    judge, officer = court["staff"]["judge"], court["staff"]["supervision_officer"]
    login(client, judge)
    assert client.post(f"/dashboard/alerts/{alert.id}/seen").status_code == 302
    assert client.post(f"/dashboard/alerts/{alert.id}/seen").status_code == 302  # once
    reads = list(db.session.scalars(select(AlertRead).where(AlertRead.alert_id == alert.id)))
    assert [r.staff_user_id for r in reads] == [judge.id]
    db.session.refresh(alert)
    assert alert.acknowledged_at is None  # seen by him is not the team's acknowledgement
    login(client, officer)
    row = client.get(f"/dashboard/alerts/{alert.id}/row").get_data(True)
    assert "Visto por: Persona judge" in row
    assert 'class="seen-form"' in row  # the officer has not seen it yet
    login(client, court["staff"]["prosecutor"])  # cannot see it: cannot mark it
    assert client.post(f"/dashboard/alerts/{alert.id}/seen").status_code == 404


def test_seen_by_reaches_open_dashboards_live(client, court, monkeypatch) -> None:
    """The judge's "seen" updates the officer's open dashboard (its row is fetched again)."""
    heard: list[tuple[str, dict[str, Any], list[str]]] = []
    monkeypatch.setattr(
        alert_services, "publish", lambda name, payload, rooms: heard.append((name, payload, rooms))
    )
    alert = a_miss(court["person"])
    login(client, court["staff"]["judge"])
    assert client.post(f"/dashboard/alerts/{alert.id}/seen").status_code == 302
    client.post(f"/dashboard/alerts/{alert.id}/seen")  # once: no second event
    seen = [(payload, rooms) for name, payload, rooms in heard if name == "alert.seen"]
    assert len(seen) == 2  # the team's rooms and the court's, once each
    court_id = court["person"].court_id
    rooms = {room for _payload, targets in seen for room in targets}
    assert court_position_room(court_id, "supervision_officer") in rooms
    assert court_position_room(court_id, "prosecutor") not in rooms  # unverified: not his
    assert all(p["seen_by"][0]["name"] == "Persona judge" for p, _rooms in seen)


def test_a_prosecutor_back_online_catches_up_on_a_verification(court, frozen_clock) -> None:
    from telejt.dashboard.live import missed_alerts

    alert = a_miss(court["person"])
    prosecutor = court["staff"]["prosecutor"]
    loaded_at = now()
    assert missed_alerts(prosecutor, alert.id, loaded_at)["verified"] == []
    frozen_clock.advance(minutes=5)
    verify_alert(alert, court["staff"]["coordinator"], "participant", "Confirmado")
    db.session.commit()
    answer = missed_alerts(prosecutor, alert.id, loaded_at)
    assert [a["id"] for a in answer["verified"]] == [alert.id]
    assert answer["verified"][0]["verification"] == "verified"


def test_the_participant_page_verifies_and_comes_back(client, court) -> None:
    alert = a_miss(court["person"])
    person = court["person"]
    login(client, court["staff"]["judge"])
    page = client.get(f"/dashboard/participants/{person.id}").get_data(True)
    assert "Contacto no realizado, sin verificar" in page
    assert 'class="verify-form"' not in page
    login(client, court["staff"]["supervision_officer"])
    page = client.get(f"/dashboard/participants/{person.id}").get_data(True)
    assert 'class="verify-form"' in page
    response = client.post(
        f"/dashboard/alerts/{alert.id}/verification",
        data={"outcome": "justified", "note": "Audiencia el mismo día", "back": "participant"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/dashboard/participants/{person.id}")
    page = client.get(f"/dashboard/participants/{person.id}").get_data(True)
    assert "Audiencia el mismo día" in page
    assert f"/dashboard/alerts/{alert.id}/verification" not in page
    assert alert.contact is not None
    assert f"/dashboard/contacts/{alert.contact.id}/verification" not in page
    login(client, court["staff"]["defender"])
    page = client.get(f"/participants/{person.id}").get_data(True)
    assert "Verificada: Justificada" in page


def test_the_api_marks_an_alert_seen_for_the_caller_only(client, court) -> None:
    alert = a_miss(court["person"])
    judge = court["staff"]["judge"]
    response = call(client, court["tokens"]["judge"], "POST", f"/alerts/{alert.id}/seen")
    assert response.status_code == 200, response.get_json()
    assert [s["staff_user_id"] for s in response.get_json()["seen_by"]] == [judge.id]
    assert response.get_json()["acknowledged_at"] is None
    again = call(client, court["tokens"]["judge"], "POST", f"/alerts/{alert.id}/seen")
    assert len(again.get_json()["seen_by"]) == 1
    hidden = call(client, court["tokens"]["prosecutor"], "POST", f"/alerts/{alert.id}/seen")
    assert hidden.status_code == 404
    listed = call(client, court["tokens"]["coordinator"], "GET", "/alerts").get_json()
    mine = next(a for a in listed if a["id"] == alert.id)
    assert [s["name"] for s in mine["seen_by"]] == ["Persona judge"]


def test_the_report_says_a_miss_is_not_verified_yet(court) -> None:
    person = court["person"]
    alert = a_miss(person)
    day = alert.contact.starts_at.astimezone(ZoneInfo(person.timezone)).date()
    report = build_report(person, day - 7 * DAY, day)
    (evidence,) = [e for e in report.contacts if e.contact.id == alert.contact_id]
    assert "Sin verificar todavía" in evidence.reason_in_words(person.timezone)
    verify_alert(alert, court["staff"]["coordinator"], "participant", "Confirmado")
    db.session.commit()
    report = build_report(person, day - 7 * DAY, day)
    (evidence,) = [e for e in report.contacts if e.contact.id == alert.contact_id]
    assert "Sin verificar" not in evidence.reason_in_words(person.timezone)


def test_a_miss_below_the_alert_threshold_is_verified_on_its_own(
    client, court, monkeypatch
) -> None:
    """One miss, below the protocol's threshold, raises no alert; it is still a notice
    the prosecutor reads in no figure until the coordinator verifies it on his page."""
    from telejt.planning import missed

    monkeypatch.setattr(missed, "alert_threshold", lambda contact: 2)
    person, staff, tokens = court["person"], court["staff"], court["tokens"]
    contact = scheduled(person, now() - 2 * DAY)
    reminder(contact, "delivered")
    settle_contact(contact)
    db.session.commit()
    assert contact.status == "missed" and contact.attribution == "participant"
    assert db.session.scalar(select(Alert).where(Alert.contact_id == contact.id)) is None

    def his_misses(position: str) -> int:
        body = call(client, tokens[position], "GET", f"/participants/{person.id}/compliance")
        return int(body.get_json()["figures"]["total"]["missed_participant"])

    assert (his_misses("judge"), his_misses("prosecutor"), his_misses("defender")) == (1, 0, 0)
    listed = call(client, tokens["prosecutor"], "GET", f"/participants/{person.id}/contacts")
    (shown,) = [c for c in listed.get_json() if c["id"] == contact.id]
    assert shown["verification"] == "unverified"
    assert shown["attribution"] is None and shown["attribution_reason"] is None  # not his yet
    listed = call(client, tokens["judge"], "GET", f"/participants/{person.id}/contacts")
    (shown,) = [c for c in listed.get_json() if c["id"] == contact.id]
    assert (shown["verification"], shown["attribution"]) == ("unverified", "participant")

    # the judge may not verify; the form on his page, for the coordinator
    for position in ("judge", "prosecutor", "defender"):
        refused = call(
            client, tokens[position], "POST", f"/contacts/{contact.id}/verification",
            {"outcome": "participant", "note": "x"},
        )  # fmt: skip
        assert refused.status_code == 403, position
    login(client, staff["coordinator"])
    page = client.get(f"/dashboard/participants/{person.id}").get_data(True)
    assert f'action="/dashboard/contacts/{contact.id}/verification"' in page
    assert 'data-contact-verification="unverified"' in page
    empty = client.post(
        f"/dashboard/contacts/{contact.id}/verification", data={"outcome": "participant"}
    )
    assert empty.status_code == 302 and contact.verified_at is None
    done = client.post(
        f"/dashboard/contacts/{contact.id}/verification",
        data={"outcome": "participant", "note": "Le llamamos: no se conectó."},
    )
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/dashboard/participants/{person.id}")
    db.session.expire_all()
    assert contact.verified_at is not None
    assert contact.verified_by_id == staff["coordinator"].id
    assert (his_misses("judge"), his_misses("prosecutor"), his_misses("defender")) == (1, 1, 1)
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "contact.verify", AuditEvent.object_id == str(contact.id)
        )
    )
    again = call(
        client, tokens["coordinator"], "POST", f"/contacts/{contact.id}/verification",
        {"outcome": "justified", "note": "otra vez"},
    )  # fmt: skip
    assert again.status_code == 409
    assert contact.status == "missed"  # the first verification stands


def test_verifying_a_miss_or_its_alert_verifies_both(client, court) -> None:
    person, tokens = court["person"], court["tokens"]
    first = a_miss(person, days_ago=9)
    second = a_miss(person, days_ago=2)
    # through the alert: the miss is verified with it
    verify_alert(first, court["staff"]["coordinator"], "participant", "Revisado.")
    db.session.commit()
    assert first.contact is not None and first.contact.verified_at is not None
    # through the miss (API): its alert is verified with it, with the same finding
    assert second.contact is not None
    response = call(
        client, tokens["supervision_officer"], "POST",
        f"/contacts/{second.contact.id}/verification",
        {"outcome": "system_failure", "note": "La plataforma falló ese día."},
    )  # fmt: skip
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["verification"] == "verified" and body["attribution"] == "system"
    db.session.expire_all()
    assert second.verification == "verified"
    assert second.verification_outcome == "system_failure"
    assert second.attribution == "system"
    # a contact that is not a miss cannot be verified
    kept = add_contact(person, now() - DAY, "attended")
    db.session.commit()
    response = call(
        client, tokens["coordinator"], "POST", f"/contacts/{kept.id}/verification",
        {"outcome": "participant", "note": "x"},
    )  # fmt: skip
    assert response.status_code == 422


def test_a_coordinator_chooses_on_a_page_who_sees_unverified_notices(client, court) -> None:
    place, staff = court["court"], court["staff"]
    alert = a_miss(court["person"])
    assert alert.id not in listed_ids(client, court["tokens"]["prosecutor"])
    for role in ("judge", "therapist"):
        login(client, staff[role])
        assert client.get("/courts/").status_code == 403
    login(client, staff["coordinator"])
    page = client.get("/courts/").get_data(True)
    assert f'id="pos-{place.id}-judge" name="positions" value="judge" checked' in page
    assert f'id="pos-{place.id}-prosecutor" name="positions" value="prosecutor">' in page
    refused = client.post(
        f"/courts/{place.id}/unverified-positions", data={"positions": ["judge", "bailiff"]}
    )
    assert refused.status_code == 302
    db.session.expire_all()
    assert place.unverified_position_set == {"judge", "supervision_officer"}  # nothing saved
    saved = client.post(
        f"/courts/{place.id}/unverified-positions",
        data={"positions": ["judge", "prosecutor", "supervision_officer"]},
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert place.unverified_position_set == {"judge", "prosecutor", "supervision_officer"}
    assert alert.id in listed_ids(client, court["tokens"]["prosecutor"])
    assert db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "court.unverified_positions", AuditEvent.object_id == str(place.id)
        )
    )
    # another court's settings are not his
    other = Court(name="Otro", state="Sonora", timezone="America/Hermosillo")
    db.session.add(other)
    db.session.commit()
    assert client.post(f"/courts/{other.id}/unverified-positions", data={}).status_code == 404


def test_a_verified_only_position_reads_an_unverified_miss_as_not_yet_his(client, court) -> None:
    """On both participant pages, the defender reads the miss as being verified, with no
    attribution; the judge reads it as his, unverified; once verified, both read it his."""
    alert = a_miss(court["person"])
    person = court["person"]
    assert alert.contact is not None
    contact_row = 'data-contact-verification="unverified"'
    login(client, court["staff"]["defender"])
    for path in (f"/dashboard/participants/{person.id}", f"/participants/{person.id}"):
        page = client.get(path).get_data(True)
        assert "En verificación por el equipo" in page, path
        assert "attr-participant" not in page, path  # no badge of his
        assert "— Inasistencia del participante" not in page, path  # nor in the calendar
    login(client, court["staff"]["judge"])
    page = client.get(f"/dashboard/participants/{person.id}").get_data(True)
    assert "En verificación por el equipo" not in page and contact_row in page
    assert "Inasistencia del participante" in page
    # every miss of the fixture verified as his: the defender reads them his
    from telejt.planning.models import Contact

    for contact in db.session.scalars(select(Contact).where(Contact.status == "missed")):
        if contact.verified_at is None:
            verify_miss(contact, court["staff"]["coordinator"], "participant", "Revisado.")
    db.session.commit()
    login(client, court["staff"]["defender"])
    page = client.get(f"/participants/{person.id}").get_data(True)
    assert "En verificación por el equipo" not in page
    assert "attr-participant" in page


def test_the_report_withholds_an_unverified_miss_from_a_verified_only_reader(client, court) -> None:
    alert = a_miss(court["person"])
    person = court["person"]
    assert alert.contact is not None
    login(client, court["staff"]["prosecutor"])
    page = client.get(f"/reports/participants/{person.id}").get_data(True)
    miss = page[page.index(f'id="miss-{alert.contact.id}"') :]
    miss = miss[: miss.index("</section>")]
    assert "En verificación por el equipo" in miss and "attr-participant" not in miss
    csv_text = client.get(f"/reports/participants/{person.id}.csv").get_data(True)
    assert "En verificación por el equipo" in csv_text
    assert "Inasistencia del participante" not in csv_text
    login(client, court["staff"]["judge"])
    page = client.get(f"/reports/participants/{person.id}").get_data(True)
    miss = page[page.index(f'id="miss-{alert.contact.id}"') :]
    assert "attr-participant" in miss[: miss.index("</section>")]
