"""Check-ins answered by SMS, one question at a time, and crisis answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.alerts.services import alert_rooms
from telejt.checkins.models import CheckinAnswer
from telejt.checkins.services import parse_answer
from telejt.conversation.engine import receive_sms
from telejt.extensions import db
from telejt.live import court_room, team_room, therapist_room
from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for
from telejt.sms.models import OutboundMessage

MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
_sids = iter(range(1, 100_000))


def reply(participant, body: str) -> Any:
    """An inbound SMS through the same service the webhook uses."""
    outcome = receive_sms(
        provider_sid=f"SMtest{next(_sids):06d}", from_phone=participant.phone, body=body
    )
    db.session.commit()
    return outcome


def first_checkin(participant) -> Contact:
    return db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "checkin")
        .order_by(Contact.starts_at)
    ).first()


@pytest.fixture
def started(frozen_clock, make_participant, sms, run_until) -> Any:
    """A participant whose first SMS check-in has just started (its first question sent)."""
    frozen_clock.set(MONDAY)
    participant = make_participant()
    checkin = first_checkin(participant)
    assert checkin.delivery == "sms"
    run_until(checkin.starts_at)
    db.session.refresh(checkin)
    assert checkin.pending_question_id == "use"
    sms.sent.clear()
    return participant, checkin


def deliver(run_until, frozen_clock, sms) -> list[str]:
    """Send whatever is due now; the texts sent."""
    sms.sent.clear()
    run_until(frozen_clock.now())
    return [m["body"] for m in sms.sent]


def test_parse_answers_as_people_write_them(app_ctx) -> None:
    protocol = protocol_for("remote-outpatient", 1)
    use, craving = protocol.question("use"), protocol.question("craving")
    for text in ("Sí", " si. ", "SI!!", "1", "sí 👍", "yes"):
        assert parse_answer(use, text) == "yes"
    for text in ("no", "2", "No."):
        assert parse_answer(use, text) == "no"
    for text in ("7", " 7 ", "7/10", "7 / 10.", "siete", "un 7", "7 de 10", "Como 7"):
        assert parse_answer(craving, text) == "7"
    for text in ("nada", "cero", "Nada!!", "none"):
        assert parse_answer(craving, text) == "0"  # the question offers "0=nada"
    assert parse_answer(craving, "mucho") == "10"
    for text in ("11", "-1", "7.5", "", "3 o 4", "no mucho", "más o menos"):
        assert parse_answer(craving, text) is None
    assert parse_answer(use, "tal vez") is None


def test_complete_sms_checkin_with_one_invalid_answer(
    started, frozen_clock, sms, run_until
) -> None:
    participant, checkin = started
    reply(participant, "2")
    (text,) = deliver(run_until, frozen_clock, sms)
    assert "Del 0 al 10" in text
    reply(participant, "muchísimo")  # not a number the question offers: asked again, with a hint
    (text,) = deliver(run_until, frozen_clock, sms)
    assert "No entendimos tu respuesta. Contesta del 0 al 10, por ejemplo 5." in text
    reply(participant, "3/10")
    deliver(run_until, frozen_clock, sms)
    frozen_clock.advance(minutes=2)
    reply(participant, " 8 ")
    deliver(run_until, frozen_clock, sms)
    reply(participant, "No")
    texts = deliver(run_until, frozen_clock, sms)
    assert texts[-1].endswith("Gracias, recibimos tu reporte completo.")
    db.session.refresh(checkin)
    assert checkin.status == "completed" and checkin.closed_at is not None
    assert checkin.pending_question_id is None
    answers = {a.question_id: a for a in db.session.scalars(select(CheckinAnswer))}
    assert {q: a.value for q, a in answers.items()} == {
        "use": "no",
        "craving": "3",
        "mood": "8",
        "safe": "no",
    }
    assert answers["craving"].raw_text == "3/10"
    assert answers["use"].is_shared_with_court and not answers["mood"].is_shared_with_court
    assert {a.via for a in answers.values()} == {"sms"}
    assert not any(a.is_crisis for a in answers.values())
    keys = set(
        db.session.scalars(
            select(OutboundMessage.idempotency_key).where(OutboundMessage.contact_id == checkin.id)
        )
    )
    assert {
        f"contact:{checkin.id}:q:craving",
        f"contact:{checkin.id}:q:craving:retry1",
        f"contact:{checkin.id}:q:safe",
        f"contact:{checkin.id}:done",
    } <= keys
    # the watcher leaves a completed check-in alone
    run_until(checkin.deadline_at + timedelta(minutes=1))
    db.session.refresh(checkin)
    assert checkin.status == "completed"


def test_crisis_answer_alerts_the_team_never_the_court(
    started, frozen_clock, sms, run_until
) -> None:
    participant, checkin = started
    for text in ("2", "9", "1"):
        reply(participant, text)
        deliver(run_until, frozen_clock, sms)
    reply(participant, "Sí")  # "are you at risk of hurting yourself?" yes
    texts = deliver(run_until, frozen_clock, sms)
    crisis = [t for t in texts if "Linea de la Vida 800 911 2000" in t]
    assert len(crisis) == 1
    alert = db.session.scalar(select(Alert).where(Alert.kind == "crisis"))
    assert (alert.severity, alert.audience, alert.contact_id) == ("urgent", "team", checkin.id)
    rooms = alert_rooms(alert, participant)
    assert court_room(participant.court_id) not in rooms
    assert team_room(participant.court_id) in rooms
    assert therapist_room(participant.therapist_id) in rooms
    answer = db.session.scalar(select(CheckinAnswer).where(CheckinAnswer.question_id == "safe"))
    assert answer.is_crisis and not answer.is_shared_with_court


def test_crisis_alert_reaches_live_rooms_of_the_team_only(
    started, monkeypatch, frozen_clock, sms, run_until
) -> None:
    import telejt.live as live

    emitted: list[tuple[str, str]] = []
    monkeypatch.setattr(
        live, "_emit_now", lambda name, payload, rooms: emitted.extend((name, r) for r in rooms)
    )
    participant, _checkin = started
    for text in ("2", "9", "1", "1"):
        reply(participant, text)
        deliver(run_until, frozen_clock, sms)
    crisis_rooms = {room for name, room in emitted if name == "alert.created"}
    assert crisis_rooms == {
        team_room(participant.court_id),
        therapist_room(participant.therapist_id),
    }


def test_unanswerable_question_is_skipped_after_max_reasks(
    started, frozen_clock, sms, run_until
) -> None:
    participant, checkin = started
    reply(participant, "1")
    texts = deliver(run_until, frozen_clock, sms)
    for text in ("bastante", "quién sabe", "no sé"):  # max_reasks = 2: two re-asks, then move on
        reply(participant, text)
        texts += deliver(run_until, frozen_clock, sms)
    assert sum("No entendimos" in t for t in texts) == 2
    assert "Pasamos a la siguiente pregunta." in texts[-1] and "te has sentido" in texts[-1]
    reply(participant, "5")
    deliver(run_until, frozen_clock, sms)
    reply(participant, "2")
    text = deliver(run_until, frozen_clock, sms)[-1]
    assert f"/c/{checkin.join_token}" in text  # finish on the web form
    db.session.refresh(checkin)
    assert checkin.status == "scheduled" and checkin.pending_question_id is None
    reply(participant, "7")  # the conversation is over: no longer read as an answer
    assert (
        db.session.scalar(select(CheckinAnswer).where(CheckinAnswer.question_id == "craving"))
        is None
    )
    run_until(checkin.deadline_at + timedelta(seconds=1))
    db.session.refresh(checkin)
    # settled by the watcher: answered in part, incomplete (no miss); the three answers stay
    assert (checkin.status, checkin.attribution) == ("incomplete", None)
    assert len(db.session.scalars(select(CheckinAnswer)).all()) == 3


def test_keywords_still_work_during_a_checkin(started, frozen_clock, sms, run_until) -> None:
    participant, checkin = started
    reply(participant, "AYUDA")
    db.session.refresh(checkin)
    assert checkin.pending_question_id == "use" and checkin.invalid_replies == 0
    reply(participant, "BAJA")
    db.session.refresh(participant)
    assert participant.sms_opted_out_at is not None


def test_reply_in_the_grace_after_the_deadline_is_kept(started, frozen_clock, run_until) -> None:
    """An SMS sent a minute before the deadline arrives after it: it still answers."""
    participant, checkin = started
    frozen_clock.set(checkin.deadline_at + timedelta(minutes=1))
    outcome = reply(participant, "2")
    assert outcome.meaning == "answer"
    answer = db.session.scalar(select(CheckinAnswer))
    assert (answer.question_id, answer.value) == ("use", "no")


def test_reply_after_the_grace_is_not_an_answer(started, frozen_clock, run_until) -> None:
    participant, checkin = started
    frozen_clock.set(checkin.deadline_at + timedelta(minutes=31))
    outcome = reply(participant, "2")
    assert outcome.meaning == "unknown"  # nothing to decline or answer any more: kept, not guessed
    assert db.session.scalar(select(CheckinAnswer)) is None
