"""Replies as people write them, through signed Twilio webhooks: each with what it must mean.

Every reply here is invented, written the way participants answer a text from a
friend. Each is posted as Twilio posts it (signed by twilio's own
``RequestValidator``), and the test checks both what telejt understood and what it
did about it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from webhooks import configure_twilio, sms_in

from telejt.alerts.models import Alert
from telejt.checkins.models import CheckinAnswer
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.sms.models import InboundMessage, OutboundMessage

MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)  # 06:00 in Monterrey

CONFIRMS = [
    "1", "Si", "sí", "SI!!", "siii", "Sí gracias", "Sí, ahí estaré", "ok", "Ok 👍", "va",
    "sale", "Sale y vale", "simón", "Simon", "claro", "Claro que sí", "de acuerdo", "👍",
    "👍🏽", "✅", "👌", "Confirmo", "confirmado", "ahi estare", "Ahí nos vemos", "si voy",
    "Yes", "yes I'll be there", "Órale", "dale", "Listo", "Ci", "Sip", "sí, ahí me conecto",
]  # fmt: skip
DECLINES = [
    "2", "No", "NO.", "nooo", "no puedo", "2 no puedo ir", "No voy a poder",
    "No podré ir, tengo trabajo", "nel", "Nop", "👎", "❌", "Lo siento, no llego",
    "Quiero reprogramar", "¿Podemos verlo otro día?", "can't make it", "No, no puedo",
    "No alcanzo a llegar", "Sí, pero no voy a poder",
]  # fmt: skip
STOPS = [
    "BAJA", "baja por favor", "Ya no me manden mensajes", "Stop please", "STOP", "alto",
    "No me manden más mensajes", "Dejen de mandarme mensajes", "UNSUBSCRIBE",
    "quiero darme de baja", "ya no quiero recibir mensajes",
]  # fmt: skip
HELPS = ["AYUDA", "ayuda por favor", "HELP"]
CANCELS = ["Cancelar", "CANCELAR", "cancelar por favor"]
ACKNOWLEDGEMENTS = ["gracias", "Muchas gracias", "🙏", "buenas noches"]
UNCLEAR = ["tal vez", "no sé", "a lo mejor", "jaja", "1 o 2"]
MESSAGES = [
    "Hola buenas tardes, quería preguntar si puedo llevar a mi hijo a la cita",
    "Disculpe, ¿me puede marcar mi terapeuta cuando tenga tiempo? gracias",
]
CRIES = [
    "ya no quiero vivir", "me quiero morir", "Kiero morirme", "pienso en suicidarme",
    "no aguanto más", "I want to kill myself",
]  # fmt: skip
REPLIES_TO_A_REMINDER = (
    [(body, "confirm") for body in CONFIRMS]
    + [(body, "decline") for body in DECLINES]
    + [(body, "stop") for body in STOPS]
    + [(body, "help") for body in HELPS]
    + [(body, "ask_back") for body in CANCELS]
    + [(body, "acknowledgement") for body in ACKNOWLEDGEMENTS]
    + [(body, "unclear") for body in UNCLEAR]
    + [(body, "unknown") for body in MESSAGES]
    + [(body, "crisis") for body in CRIES]
)


@pytest.fixture
def twilio(app, monkeypatch) -> None:
    configure_twilio(app, monkeypatch)


@pytest.fixture
def court(make_court) -> Any:
    return make_court(team_phone="81 2000 3000", on_call_phone="81 9000 1000")


def sessions_of(participant: Any) -> list[Contact]:
    return list(
        db.session.scalars(
            select(Contact)
            .where(Contact.participant_id == participant.id, Contact.kind == "session")
            .order_by(Contact.starts_at)
        )
    )


def checkins_of(participant: Any) -> list[Contact]:
    return list(
        db.session.scalars(
            select(Contact)
            .where(Contact.participant_id == participant.id, Contact.kind == "checkin")
            .order_by(Contact.starts_at)
        )
    )


def last_inbound() -> InboundMessage:
    return db.session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()


def alerts(kind: str) -> list[Alert]:
    return list(db.session.scalars(select(Alert).where(Alert.kind == kind).order_by(Alert.id)))


def sent_since(sms: Any, mark: int) -> list[str]:
    return [m["body"] for m in sms.sent[mark:]]


@pytest.fixture
def reminded(frozen_clock, court, make_participant, sms, run_until) -> Any:
    """Phase 2: the 24 h reminder of Tuesday's session ("1 to confirm, 2 if not") was sent."""
    frozen_clock.set(MONDAY)
    participant = make_participant(court=court)
    session = sessions_of(participant)[0]
    run_until(session.starts_at - timedelta(hours=23))
    assert any("Responde 1 para confirmar" in m["body"] for m in sms.sent)
    return participant, session


@pytest.mark.parametrize(("body", "meaning"), REPLIES_TO_A_REMINDER)
def test_reply_to_a_reminder(client, twilio, reminded, body: str, meaning: str) -> None:
    participant, session = reminded
    assert sms_in(client, participant.phone, body).status_code == 200
    inbound = last_inbound()
    assert (inbound.body, inbound.meaning) == (body, meaning)
    db.session.refresh(session)
    db.session.refresh(participant)
    expected_status = {"confirm": "confirmed", "decline": "declined"}.get(meaning, "scheduled")
    assert session.status == expected_status
    assert (participant.sms_opted_out_at is not None) == (meaning == "stop")
    assert bool(alerts("reschedule_request")) == (meaning == "decline")
    crisis = alerts("crisis")
    assert bool(crisis) == (meaning == "crisis")
    assert all(a.audience == "team" for a in crisis)


def test_the_reply_table_is_long_and_varied() -> None:
    assert len(REPLIES_TO_A_REMINDER) >= 60
    assert len({meaning for _body, meaning in REPLIES_TO_A_REMINDER}) == 9


# ---- answers to check-in questions ---------------------------------------------------------


@pytest.fixture
def checkin_started(frozen_clock, court, make_participant, sms, run_until) -> Any:
    """Phase 2, Tuesday's 19:00 check-in: its first question ("a slip? 1=Sí 2=No") was sent."""
    frozen_clock.set(MONDAY)
    participant = make_participant(court=court)
    session, checkin = sessions_of(participant)[0], checkins_of(participant)[0]
    run_until(session.starts_at - timedelta(minutes=1))
    from telejt.conversation.engine import confirm_session

    confirm_session(session, "test:confirmed")  # no reminder waits for an answer
    db.session.commit()
    run_until(checkin.starts_at)
    db.session.refresh(checkin)
    assert checkin.pending_question_id == "use"
    return participant, checkin


def answer(client: Any, participant: Any, body: str, run_until: Any, frozen_clock: Any) -> None:
    sms_in(client, participant.phone, body)
    run_until(frozen_clock.now())


def recorded(checkin: Contact) -> dict[str, str]:
    return {
        a.question_id: a.value
        for a in db.session.scalars(
            select(CheckinAnswer).where(CheckinAnswer.contact_id == checkin.id)
        )
    }


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ("Sí", "yes"), ("si", "yes"), ("Siii", "yes"), ("1", "yes"), ("claro que sí", "yes"),
        ("No", "no"), ("nel", "no"), ("Nop", "no"), ("2", "no"), ("no, nada", "no"),
        ("Para nada", "no"), ("2 no", "no"),
        # not a yes or a no: asked again, nothing recorded
        ("ok", None), ("👍", None), ("no sé", None), ("sí y no", None),
    ],
)  # fmt: skip
def test_yes_no_answers(
    client, twilio, checkin_started, run_until, frozen_clock, body: str, value: str | None
) -> None:
    participant, checkin = checkin_started
    answer(client, participant, body, run_until, frozen_clock)
    assert recorded(checkin).get("use") == value
    last = db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc())).first()
    if value is None:
        assert (last.params or {}).get("retry") == 1  # asked again with a hint
    else:
        assert (last.params or {}).get("question") == "craving"  # the next question


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ("7", "7"), ("siete", "7"), ("un 8", "8"), ("7/10", "7"), ("como un 5", "5"),
        ("nada", "0"), ("cero", "0"), ("Nada!!", "0"), ("mucho", "10"), ("10", "10"),
        ("diez", "10"), ("0", "0"),
        ("11", None), ("5 o 6", None), ("no mucho", None), ("muchísimo", None),
    ],
)  # fmt: skip
def test_scale_answers_in_words_and_numbers(
    client, twilio, checkin_started, run_until, frozen_clock, body: str, value: str | None
) -> None:
    participant, checkin = checkin_started
    answer(client, participant, "2", run_until, frozen_clock)
    answer(client, participant, body, run_until, frozen_clock)
    assert recorded(checkin).get("craving") == value


# ---- crisis ----------------------------------------------------------------------------------


def test_a_free_text_cry_for_help_reaches_a_person(
    client, twilio, reminded, sms, run_until, frozen_clock
) -> None:
    participant, session = reminded
    mark = len(sms.sent)
    sms_in(client, participant.phone, "ya no quiero vivir, perdón")
    run_until(frozen_clock.now())
    (crisis,) = alerts("crisis")
    assert (crisis.severity, crisis.audience, crisis.reason) == ("urgent", "team", "risk_words")
    (reply,) = sent_since(sms, mark)
    assert "Linea de la Vida 800 911 2000" in reply and "81 2000 3000" in reply
    assert "911" in reply
    db.session.refresh(session)
    assert session.status == "scheduled"  # read as a cry, not as "no"

    # nobody acknowledges: 15 minutes later the on-call phone gets a text
    mark = len(sms.sent)
    run_until(frozen_clock.now() + timedelta(minutes=14))
    assert sent_since(sms, mark) == []
    run_until(frozen_clock.now() + timedelta(minutes=2))
    (escalation,) = [m for m in sms.sent[mark:]]
    assert escalation["to"] == "+528190001000"
    assert "URGENTE" in escalation["body"] and str(participant.id) in escalation["body"]
    assert participant.name not in escalation["body"]


def test_an_acknowledged_crisis_is_not_escalated(
    client, twilio, reminded, sms, run_until, frozen_clock, make_staff
) -> None:
    from telejt.alerts.services import acknowledge_alert

    participant, _session = reminded
    sms_in(client, participant.phone, "me quiero morir")
    (crisis,) = alerts("crisis")
    frozen_clock.advance(minutes=5)
    acknowledge_alert(crisis, make_staff("coordinator"), "Le llamé; está con su hermana.")
    db.session.commit()
    mark = len(sms.sent)
    run_until(frozen_clock.now() + timedelta(minutes=30))
    assert all(m["to"] != "+528190001000" for m in sms.sent[mark:])
    escalation = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.purpose == "crisis_escalation")
    )
    assert (escalation.status, escalation.status_reason) == ("skipped", "acknowledged")


def test_help_gives_the_crisis_line_and_the_teams_phone(
    client, twilio, reminded, sms, run_until, frozen_clock
) -> None:
    participant, _session = reminded
    mark = len(sms.sent)
    sms_in(client, participant.phone, "AYUDA")
    run_until(frozen_clock.now())
    (text,) = sent_since(sms, mark)
    assert "Linea de la Vida 800 911 2000" in text and "81 2000 3000" in text
    assert "BAJA" in text


@pytest.fixture
def evening(frozen_clock, court, make_participant, sms, run_until) -> Any:
    """Phase 1: Monday's 19:00 check-in begins while Tuesday's reminder still waits for "1"."""
    frozen_clock.set(MONDAY)
    participant = make_participant(
        court=court,
        phase_id="1",
        session_slots=[{"weekday": "tue", "time": "10:00"}, {"weekday": "thu", "time": "10:00"}],
    )
    session, checkin = sessions_of(participant)[0], checkins_of(participant)[0]
    assert checkin.starts_at < session.starts_at
    run_until(checkin.starts_at + timedelta(minutes=1))  # 19:01
    return participant, session, checkin


def test_a_checkin_asks_an_open_confirmation_first(
    client, twilio, evening, sms, run_until, frozen_clock
) -> None:
    """The reminder's "1 to confirm" and the check-in's "1=Sí" are never open together."""
    participant, session, checkin = evening
    start = sms.sent[-1]["body"]
    assert "Es hora de tu reporte breve. Antes, tu cita del martes 3 de marzo" in start
    assert "1 para confirmar" in start and "tropiezo" not in start
    mark = len(sms.sent)
    sms_in(client, participant.phone, "1")
    run_until(frozen_clock.now())
    db.session.refresh(session)
    assert session.status == "confirmed"
    assert recorded(checkin) == {}  # nothing clinical
    texts = sent_since(sms, mark)
    assert any("confirmamos tu cita" in t for t in texts)
    assert "tropiezo" in texts[-1]  # the first question follows at once
    sms_in(client, participant.phone, "1")
    assert recorded(checkin) == {"use": "yes"}


def test_an_ambiguous_1_is_asked_back_and_records_nothing_clinical(
    client, twilio, evening, sms, run_until, frozen_clock
) -> None:
    participant, session, checkin = evening
    run_until(frozen_clock.now() + timedelta(minutes=10))  # no answer: the question goes anyway
    assert "tropiezo" in sms.sent[-1]["body"]
    mark = len(sms.sent)
    sms_in(client, participant.phone, "1")
    run_until(frozen_clock.now())
    assert last_inbound().meaning == "ask_back"
    assert recorded(checkin) == {}  # nothing clinical, nothing shared with the court
    db.session.refresh(session)
    assert session.status == "scheduled"
    (question,) = sent_since(sms, mark)
    assert "Tu mensaje puede responder a dos cosas" in question
    assert "confirmar tu cita del martes 3 de marzo" in question
    # he says which: the option that names the appointment
    option = "1" if question.index("confirmar tu cita") < question.index("reporte") else "2"
    sms_in(client, participant.phone, option)
    run_until(frozen_clock.now())
    db.session.refresh(session)
    assert session.status == "confirmed"
    assert recorded(checkin) == {}
    # the question still waits: his next "1" answers it alone
    sms_in(client, participant.phone, "1")
    assert recorded(checkin) == {"use": "yes"}


def test_an_outright_confirmation_needs_no_asking_back(
    client, twilio, evening, sms, run_until, frozen_clock
) -> None:
    participant, session, checkin = evening
    run_until(frozen_clock.now() + timedelta(minutes=10))
    sms_in(client, participant.phone, "Sí, confirmo mi cita de mañana")
    db.session.refresh(session)
    assert session.status == "confirmed" and recorded(checkin) == {}


@pytest.mark.parametrize("minutes_late", [2, 40])
def test_a_late_crisis_answer_is_honoured(
    client, twilio, evening, sms, run_until, frozen_clock, minutes_late: int
) -> None:
    """The check-in closed at 21:00; "1" (yes, at risk) at 21:02 or 21:40 reaches a person."""
    participant, _session, checkin = evening
    for body in ("1", "2", "3", "6"):  # the confirmation, then three answers
        answer(client, participant, body, run_until, frozen_clock)
    assert set(recorded(checkin)) == {"use", "craving", "mood"}
    frozen_clock.set(checkin.deadline_at + timedelta(minutes=minutes_late))
    run_until(frozen_clock.now())
    mark = len(sms.sent)
    sms_in(client, participant.phone, "1")
    run_until(frozen_clock.now())
    (crisis,) = alerts("crisis")
    assert crisis.audience == "team" and crisis.contact_id == checkin.id
    assert recorded(checkin)["safe"] == "yes"
    texts = sent_since(sms, mark)
    assert any("Linea de la Vida 800 911 2000" in t for t in texts)
    assert not any("confirmamos tu cita" in t for t in texts)


def test_a_late_crisis_answer_that_could_confirm_takes_the_crisis_path_then_asks(
    client, twilio, court, make_participant, sms, run_until, frozen_clock
) -> None:
    """Monday's question "at risk?" went unanswered; Tuesday a reminder asks "1 to confirm".
    A "1" could be either: the crisis path runs at once, then he is asked which."""
    frozen_clock.set(MONDAY)
    participant = make_participant(
        court=court,
        phase_id="1",
        session_slots=[{"weekday": "wed", "time": "10:00"}, {"weekday": "fri", "time": "10:00"}],
    )
    session, checkin = sessions_of(participant)[0], checkins_of(participant)[0]
    run_until(checkin.starts_at)
    for body in ("2", "3", "6"):
        answer(client, participant, body, run_until, frozen_clock)
    run_until(session.starts_at - timedelta(hours=23, minutes=55))  # Tuesday 10:05
    mark = len(sms.sent)
    sms_in(client, participant.phone, "1")
    run_until(frozen_clock.now())
    (crisis,) = alerts("crisis")
    assert crisis.reason == "ambiguous_reply:safe" and crisis.audience == "team"
    texts = sent_since(sms, mark)
    assert any("Linea de la Vida" in t for t in texts)
    (question,) = [t for t in texts if "puede responder a dos cosas" in t]
    assert "safe" not in recorded(checkin)  # nothing clinical until he says
    db.session.refresh(session)
    assert session.status == "scheduled"
    option = "1" if question.index("confirmar tu cita") < question.index("reporte") else "2"
    sms_in(client, participant.phone, option)  # it was for the appointment
    db.session.refresh(session)
    db.session.refresh(crisis)
    assert session.status == "confirmed" and "safe" not in recorded(checkin)
    assert crisis.reason.endswith(":clarified_other")  # the team still sees it
    escalation = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.purpose == "crisis_escalation")
    )
    assert (escalation.status, escalation.status_reason) == ("skipped", "clarified_not_crisis")


def test_a_crisis_answer_before_any_ambiguity_is_recorded(
    client, twilio, evening, sms, run_until, frozen_clock
) -> None:
    participant, _session, checkin = evening
    for body in ("Sí confirmo", "2", "3", "6", "Sí"):  # the confirmation asked first, then
        answer(client, participant, body, run_until, frozen_clock)
    assert recorded(checkin)["safe"] == "yes"
    (crisis,) = alerts("crisis")
    assert crisis.reason == "checkin_answer:safe"


# ---- cancelling, a shared phone, several replies at once ----------------------------------------


def test_cancelar_is_asked_back_then_cancels_the_appointment(
    client, twilio, reminded, sms, run_until, frozen_clock
) -> None:
    participant, session = reminded
    mark = len(sms.sent)
    sms_in(client, participant.phone, "CANCELAR")
    run_until(frozen_clock.now())
    (question,) = sent_since(sms, mark)
    assert "cancelar tu cita del martes 3 de marzo" in question
    assert "dejar de recibir todos los mensajes" in question
    db.session.refresh(participant)
    assert participant.sms_opted_out_at is None  # not a stop by itself
    sms_in(client, participant.phone, "1")
    db.session.refresh(session)
    assert session.status == "declined"
    assert len(alerts("reschedule_request")) == 1


def test_cancelar_then_2_stops_every_message(client, twilio, reminded) -> None:
    participant, _session = reminded
    sms_in(client, participant.phone, "Cancelar")
    sms_in(client, participant.phone, "2")
    db.session.refresh(participant)
    assert participant.sms_opted_out_at is not None


def test_a_phone_in_use_is_refused_unless_shared(
    court, make_court, make_participant, frozen_clock
) -> None:
    from telejt.errors import InvalidInput

    frozen_clock.set(MONDAY)
    first = make_participant(court=court, phone="+52 81 4444 7777")
    elsewhere = make_court(name="Juzgado de Otro Estado", state="Jalisco")
    with pytest.raises(InvalidInput) as refused:
        make_participant(court=elsewhere, phone="81 4444 7777")
    message = refused.value.fields["phone"]
    assert "compartido" in message
    assert first.name not in message and first.case_number not in message
    assert elsewhere.name not in message and court.name not in message
    db.session.rollback()
    second = make_participant(court=elsewhere, phone="81 4444 7777", is_phone_shared=True)
    assert second.phone == first.phone


@pytest.fixture
def shared(frozen_clock, court, make_court, make_participant, sms, run_until) -> Any:
    """Two participants of two courts on one family phone, both reminded of a session."""
    frozen_clock.set(MONDAY)
    first = make_participant(court=court, name="Juan Sintético", phone="+52 81 4444 8888")
    other_court = make_court(name="Juzgado Vecino")
    second = make_participant(
        court=other_court,
        name="Pedro Sintético",
        phone="+52 81 4444 8888",
        is_phone_shared=True,
        session_slots=[{"weekday": "tue", "time": "12:00"}],
    )
    run_until(sessions_of(second)[0].starts_at - timedelta(hours=23))
    return first, second


def test_a_shared_phone_is_asked_whose_reply_it_is(
    client, twilio, shared, sms, run_until, frozen_clock
) -> None:
    first, second = shared
    mark = len(sms.sent)
    sms_in(client, first.phone, "sí")
    run_until(frozen_clock.now())
    (question,) = sent_since(sms, mark)
    assert "Juan" in question and "Pedro" in question
    assert "Sintético" not in question  # first names only
    inbound = last_inbound()
    assert inbound.participant_id is None and inbound.meaning == "ask_back"
    option = "1" if question.index("Juan") > question.index("Pedro") else "2"  # Pedro's
    sms_in(client, first.phone, option)
    db.session.refresh(inbound)
    assert inbound.participant_id == second.id and inbound.meaning == "confirm"
    assert sessions_of(second)[0].status == "confirmed"
    assert sessions_of(first)[0].status == "scheduled"


def test_baja_from_a_shared_phone_stops_everyone_on_it(
    client, twilio, shared, sms, run_until, frozen_clock
) -> None:
    first, _second = shared
    mark = len(sms.sent)
    sms_in(client, first.phone, "BAJA")
    run_until(frozen_clock.now())
    for person in shared:
        db.session.refresh(person)
        assert person.sms_opted_out_at is not None
    assert len(sent_since(sms, mark)) == 1  # one confirmation to the one phone
    assert len(alerts("reachability")) == 2  # each team must reach its participant


def test_a_cry_from_a_shared_phone_alerts_both_teams(client, twilio, shared) -> None:
    sms_in(client, shared[0].phone, "me quiero matar")
    assert {a.participant_id for a in alerts("crisis")} == {p.id for p in shared}


def test_concurrent_replies_from_one_phone_are_taken_one_at_a_time(
    committed_db, monkeypatch, sms
) -> None:
    """ "1" and "2" from one phone arrive at the same moment: both kept, read in turn."""
    import threading

    from factories import at_once, enroll_court

    from telejt import clock
    from telejt.sms.dispatch import dispatch_due_messages

    configure_twilio(committed_db, monkeypatch)
    clock.freeze(MONDAY)
    try:
        _court, _therapist, (participant,) = enroll_court(1, tag="Concurrencia")
        db.session.commit()
        session = sessions_of(participant)[0]
        clock.freeze(session.starts_at - timedelta(hours=23))
        dispatch_due_messages()  # the 24 h reminder leaves: its prompt opens
        phone, session_id = participant.phone, session.id
        db.session.remove()  # hold no transaction (on SQLite, no write lock) while they run
        bodies = iter(("1", "2"))
        lock = threading.Lock()

        def reply() -> int:
            with lock:
                body = next(bodies)
            return int(sms_in(committed_db.test_client(), phone, body).status_code)

        assert at_once(committed_db, 2, reply) == [200, 200]
        db.session.remove()
        first, second = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id))
        # the first to be read answered the reminder; the second found it answered
        assert first.meaning == {"1": "confirm", "2": "decline"}[first.body]
        assert second.meaning == "unknown"
        status = db.session.get(Contact, session_id).status
        assert status == {"1": "confirmed", "2": "declined"}[first.body]
        replies = db.session.scalars(
            select(OutboundMessage.params).where(OutboundMessage.purpose == "keyword_reply")
        ).all()
        assert sorted(str(r["kind"]) for r in replies) == sorted(
            [{"1": "confirmed", "2": "declined"}[first.body], "nothing_to_confirm"]
        )
    finally:
        clock.freeze(None)


# ---- a whole conversation ---------------------------------------------------------------------


def test_a_whole_conversation(
    client, twilio, court, make_participant, make_staff, sms, run_until, frozen_clock
) -> None:
    """Reminder → reply → session → check-in answered in part → a cry → escalation."""
    from telejt.sessions.services import mark_outcome, participant_joined

    frozen_clock.set(MONDAY)
    participant = make_participant(court=court)
    session, checkin = sessions_of(participant)[0], checkins_of(participant)[0]
    therapist = participant.therapist

    # the 24 h reminder, answered as a friend would
    run_until(session.starts_at - timedelta(hours=23))
    mark = len(sms.sent)
    sms_in(client, participant.phone, "Va, ahí estaré 👍")
    run_until(frozen_clock.now())
    assert "confirmamos tu cita del martes 3 de marzo" in sent_since(sms, mark)[0]
    db.session.refresh(session)
    assert session.status == "confirmed"

    # he comes to the session; the therapist marks it
    run_until(session.starts_at + timedelta(minutes=1))
    participant_joined(session)
    db.session.commit()
    frozen_clock.advance(minutes=50)
    mark_outcome(session, "attended", therapist)
    db.session.commit()

    # the 19:00 check-in: two answers, in words, then silence
    run_until(checkin.starts_at)
    answer(client, participant, "no, nada", run_until, frozen_clock)
    answer(client, participant, "como un 3", run_until, frozen_clock)
    assert recorded(checkin) == {"use": "no", "craving": "3"}
    run_until(checkin.deadline_at + timedelta(minutes=1))
    db.session.refresh(checkin)
    # answered in part: incomplete with the two answers, no miss and nothing to the court
    assert (checkin.status, checkin.attribution) == ("incomplete", None)
    assert recorded(checkin) == {"use": "no", "craving": "3"}
    assert alerts("missed_contact") == []

    # the next morning, a cry for help in his own words
    frozen_clock.set(checkin.deadline_at + timedelta(hours=12))
    mark = len(sms.sent)
    sms_in(client, participant.phone, "perdón por no contestar, ya no aguanto más")
    run_until(frozen_clock.now())
    (crisis,) = alerts("crisis")
    assert (crisis.audience, crisis.severity) == ("team", "urgent")
    (reply,) = sent_since(sms, mark)
    assert "Linea de la Vida" in reply and "81 2000 3000" in reply

    # nobody acknowledges in 15 minutes: the on-call phone gets a text, once
    run_until(frozen_clock.now() + timedelta(minutes=16))
    escalations = [m for m in sms.sent[mark:] if m["to"] == "+528190001000"]
    assert len(escalations) == 1
    run_until(frozen_clock.now() + timedelta(hours=2))
    assert len([m for m in sms.sent[mark:] if m["to"] == "+528190001000"]) == 1

    # the court never sees any of the crisis
    crisis_purposes = {"crisis_reply", "crisis_escalation"}
    from telejt.sms.purposes import purpose

    assert not any(purpose(p).is_court_visible for p in crisis_purposes)


# ---- a check-in answered in part --------------------------------------------------------------


def test_a_checkin_answered_in_part_is_incomplete_not_a_miss(
    client, twilio, checkin_started, run_until, frozen_clock
) -> None:
    from telejt.reports.compliance import compliance_for
    from telejt.reports.figures import consecutive_misses

    participant, checkin = checkin_started
    answer(client, participant, "no", run_until, frozen_clock)
    run_until(checkin.deadline_at + timedelta(minutes=1))
    db.session.refresh(checkin)
    assert (checkin.status, checkin.attribution) == ("incomplete", None)
    assert checkin.attribution_reason == "checkin_incomplete"
    assert checkin.pending_question_id is None
    assert recorded(checkin) == {"use": "no"}
    assert [a for a in alerts("missed_contact") if a.contact_id == checkin.id] == []
    figures = compliance_for(participant, checkin.starts_at, checkin.starts_at + timedelta(hours=1))
    assert figures["by_status"]["incomplete"] == 1
    assert figures["by_status"]["missed"] == 0
    assert figures["last_contact"].id == checkin.id
    # it ends a run of misses: he answered
    assert consecutive_misses(participant.id) == 0


def test_a_protocol_may_count_a_checkin_answered_in_part_as_his_miss(
    client, twilio, checkin_started, run_until, frozen_clock, monkeypatch
) -> None:
    from dataclasses import replace

    from telejt.planning import watcher
    from telejt.protocols.model import MissedRule

    original = watcher.protocol_for  # type: ignore[attr-defined]  # patched where it is looked up

    def strict(protocol_id: str, version: int) -> Any:
        protocol = original(protocol_id, version)
        rule = MissedRule(alert_after_consecutive=1, incomplete_is_missed=True)
        return replace(protocol, phases=tuple(replace(p, missed=rule) for p in protocol.phases))

    monkeypatch.setattr(watcher, "protocol_for", strict)
    participant, checkin = checkin_started
    answer(client, participant, "no", run_until, frozen_clock)
    run_until(checkin.deadline_at + timedelta(minutes=1))
    db.session.refresh(checkin)
    assert (checkin.status, checkin.attribution) == ("missed", "participant")
    assert checkin.attribution_reason == "checkin_incomplete"
    assert recorded(checkin) == {"use": "no"}  # what he answered stays
    assert [a.contact_id for a in alerts("missed_contact")].count(checkin.id) == 1


def test_a_checkin_with_no_answer_at_all_is_still_a_miss(
    client, twilio, checkin_started, run_until, frozen_clock
) -> None:
    _participant, checkin = checkin_started
    run_until(checkin.deadline_at + timedelta(minutes=1))
    db.session.refresh(checkin)
    assert checkin.status == "missed"
    assert recorded(checkin) == {}


def test_a_confirm_reminder_waits_while_he_answers_a_checkin(
    client, twilio, court, make_participant, sms, run_until, frozen_clock
) -> None:
    """Sequenced, not left open together: the reminder follows the check-in's questions."""
    frozen_clock.set(MONDAY)
    participant = make_participant(
        court=court, session_slots=[{"weekday": "wed", "time": "19:30"}]
    )  # phase 2: check-ins Tuesday 19:00; the 24 h reminder is due Tuesday 19:30
    session, checkin = sessions_of(participant)[0], checkins_of(participant)[0]
    run_until(checkin.starts_at + timedelta(minutes=25))
    answer(client, participant, "2", run_until, frozen_clock)
    reminder_due = session.starts_at - timedelta(hours=24)
    run_until(reminder_due + timedelta(minutes=1))
    reminder = db.session.scalars(
        select(OutboundMessage)
        .where(
            OutboundMessage.contact_id == session.id,
            OutboundMessage.purpose == "reminder",
            OutboundMessage.due_at >= reminder_due,
        )
        .order_by(OutboundMessage.due_at)
    ).first()  # the 24 h one (the 1 h one is due the next day)
    assert reminder.params["confirm"]
    assert reminder.status == "pending"  # the check-in's question still waits
    for body in ("3", "6", "no"):
        answer(client, participant, body, run_until, frozen_clock)
    db.session.refresh(checkin)
    assert checkin.status == "completed"
    run_until(frozen_clock.now() + timedelta(minutes=4))
    db.session.refresh(reminder)
    assert reminder.sent_at is not None
    assert reminder.sent_at > checkin.closed_at
