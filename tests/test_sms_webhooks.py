"""Twilio webhooks: signatures, keywords, opt-out, idempotency, status callbacks."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from webhooks import ACCOUNT, PUBLIC, TOKEN, configure_twilio, inbound_params, signed_post, sms_in

from telejt.alerts.models import Alert
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.sms.models import InboundMessage, OutboundMessage

MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)


@pytest.fixture
def twilio_config(app, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app as configured for Twilio (only the webhook side: sending stays recorded)."""
    configure_twilio(app, monkeypatch)


def first_session(participant) -> Contact:
    return db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    ).first()


def replies(participant, purpose: str | None = None) -> list[OutboundMessage]:
    query = select(OutboundMessage).where(
        OutboundMessage.participant_id == participant.id,
        OutboundMessage.idempotency_key.like("inbound:%")
        | OutboundMessage.idempotency_key.like("idle:%"),
    )
    if purpose:
        query = query.where(OutboundMessage.purpose == purpose)
    return list(db.session.scalars(query.order_by(OutboundMessage.id)))


@pytest.fixture
def reminded(frozen_clock, make_participant, sms, run_until) -> Any:
    """A participant whose session reminder asking 1/2 has just been delivered."""
    frozen_clock.set(MONDAY)
    participant = make_participant()
    session = first_session(participant)
    run_until(session.starts_at - timedelta(hours=23))
    assert any("Responde 1 para confirmar" in m["body"] for m in sms.sent)
    return participant, session


# ---- signatures -------------------------------------------------------------------------------


def test_forged_signature_is_refused_and_changes_nothing(client, twilio_config, reminded) -> None:
    participant, _session = reminded
    params = inbound_params(participant.phone, "BAJA")
    forged = RequestValidator("not-the-token-at-all-0000000000").compute_signature(
        PUBLIC + "/twilio/sms", params
    )
    assert (
        client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": forged}).status_code
        == 403
    )
    assert client.post("/twilio/sms", data=params).status_code == 403  # no signature at all
    # signed for the internal URL the app sees, not the public one: refused too
    internal = RequestValidator(TOKEN).compute_signature("http://localhost/twilio/sms", params)
    assert (
        client.post(
            "/twilio/sms", data=params, headers={"X-Twilio-Signature": internal}
        ).status_code
        == 403
    )
    # a field changed after signing
    good = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/sms", params)
    tampered = dict(params, Body="ALTA")
    assert (
        client.post("/twilio/sms", data=tampered, headers={"X-Twilio-Signature": good}).status_code
        == 403
    )
    db.session.refresh(participant)
    assert participant.sms_opted_out_at is None
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0
    assert replies(participant) == []


def test_console_mode_refuses_every_webhook(client, reminded) -> None:
    """No auth token (console backend): nothing to check a signature against, so 403."""
    participant, _session = reminded
    assert sms_in(client, participant.phone, "SI").status_code == 403
    assert (
        signed_post(
            client, "/twilio/status", {"MessageSid": "SMx", "MessageStatus": "failed"}
        ).status_code
        == 403
    )
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_webhooks_need_no_csrf_token(app, client, twilio_config, reminded, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    participant, session = reminded
    assert sms_in(client, participant.phone, "1").status_code == 200
    db.session.refresh(session)
    assert session.status == "confirmed"


# ---- confirmations ----------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["Sí", " si. ", "SI!!", "1", "sí 👍", "YES"])
def test_confirmation_in_every_spelling(client, twilio_config, reminded, body: str) -> None:
    participant, session = reminded
    response = sms_in(client, participant.phone, body)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert "<Message>" not in response.get_data(as_text=True)  # the reply goes via the outbox
    db.session.refresh(session)
    assert session.status == "confirmed"
    assert session.confirmed_at is not None
    (reply,) = replies(participant)
    assert (reply.purpose, reply.params["kind"], reply.contact_id) == (
        "keyword_reply",
        "confirmed",
        session.id,
    )
    inbound = db.session.scalar(select(InboundMessage))
    assert (inbound.meaning, inbound.contact_id, inbound.body) == ("confirm", session.id, body)


@pytest.mark.parametrize("body", ["no", "2", "NO."])
def test_decline_is_a_reschedule_request_not_a_miss(
    client, twilio_config, reminded, sms, run_until, body: str
) -> None:
    participant, session = reminded
    assert sms_in(client, participant.phone, body).status_code == 200
    db.session.refresh(session)
    assert session.status == "declined" and session.declined_at is not None
    alert = db.session.scalar(select(Alert).where(Alert.contact_id == session.id))
    assert (alert.kind, alert.audience, alert.severity) == ("reschedule_request", "team", "info")
    run_until(session.deadline_at + timedelta(seconds=1))
    db.session.refresh(session)
    assert (session.status, session.attribution) == ("excused", "excused")
    assert any("Te llamaremos para buscar otra fecha." in m["body"] for m in sms.sent)


def test_replayed_message_sid_is_done_once(
    client, twilio_config, reminded, sms, run_until, frozen_clock
) -> None:
    participant, _session = reminded
    sid = "SM" + "a" * 32
    for _ in range(3):
        assert sms_in(client, participant.phone, "2", sid=sid).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1
    assert len(replies(participant)) == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(Alert).where(Alert.kind == "reschedule_request")
        )
        == 1
    )
    before = len(sms.sent)
    run_until(frozen_clock.now() + timedelta(seconds=1))
    assert len(sms.sent) == before + 1  # one reply SMS


def test_concurrent_delivery_of_one_sid_is_settled_by_the_unique_constraint(
    twilio_config, reminded, monkeypatch
) -> None:
    """Two deliveries race past the "seen?" check: the unique sid lets only one act."""
    from telejt.conversation import engine as inbound

    participant, _session = reminded
    sid = "SM" + "b" * 32
    first = inbound.receive_sms(provider_sid=sid, from_phone=participant.phone, body="2")
    assert first.meaning == "decline"
    monkeypatch.setattr(inbound, "already_received", lambda _sid: False)
    second = inbound.receive_sms(provider_sid=sid, from_phone=participant.phone, body="BAJA")
    db.session.commit()
    assert second.duplicate
    db.session.refresh(participant)
    assert participant.sms_opted_out_at is None
    assert len(replies(participant)) == 1
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_old_mexican_mobile_form_is_the_same_sender(client, twilio_config, reminded) -> None:
    participant, session = reminded
    old_form = "+521" + participant.phone[3:]
    assert sms_in(client, old_form, "SI").status_code == 200
    db.session.refresh(session)
    assert session.status == "confirmed"


def test_shared_phone_matches_the_active_participant(
    client, twilio_config, frozen_clock, make_participant, run_until
) -> None:
    from telejt.participants.services import update_participant

    frozen_clock.set(MONDAY)
    former = make_participant(phone="+52 81 4444 0001")
    update_participant(former, {"status": "withdrawn"})
    db.session.commit()
    current = make_participant(phone="+52 81 4444 0001")
    assert sms_in(client, current.phone, "AYUDA").status_code == 200
    inbound = db.session.scalar(select(InboundMessage))
    assert inbound.participant_id == current.id


# ---- other keywords and free text ---------------------------------------------------------------


def test_help_names_the_program_and_how_to_stop(
    client, twilio_config, reminded, sms, run_until, frozen_clock
) -> None:
    participant, _session = reminded
    sms.sent.clear()
    sms_in(client, participant.phone, "ayuda")
    run_until(frozen_clock.now())
    (text,) = [m["body"] for m in sms.sent]
    assert text.startswith("Programa de Acompañamiento:")
    assert "BAJA" in text


def test_stop_then_start(client, twilio_config, reminded, sms, run_until, frozen_clock) -> None:
    participant, session = reminded
    sms.sent.clear()
    assert sms_in(client, participant.phone, "BAJA").status_code == 200
    db.session.refresh(participant)
    assert participant.sms_opted_out_at == frozen_clock.now()
    alert = db.session.scalar(select(Alert).where(Alert.kind == "reachability"))
    # his own choice: never the system's failure (nor a miss of his)
    assert (alert.attribution, alert.audience, alert.reason) == (None, "team", "sms_opted_out")
    sms_in(client, participant.phone, "stop")  # again: no second confirmation
    run_until(session.starts_at - timedelta(minutes=30))
    (last,) = [m["body"] for m in sms.sent]  # the 1 h reminder was skipped
    assert "ALTA" in last
    hour_reminder = db.session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.contact_id == session.id, OutboundMessage.purpose == "reminder")
        .order_by(OutboundMessage.due_at.desc())
    ).first()
    assert (hour_reminder.status, hour_reminder.status_reason) == ("skipped", "opted_out")

    sms.sent.clear()
    assert sms_in(client, participant.phone, "Alta").status_code == 200
    db.session.refresh(participant)
    assert participant.sms_opted_out_at is None
    run_until(frozen_clock.now())
    assert len(sms.sent) == 1 and "BAJA" in sms.sent[0]["body"]


def test_free_text_is_stored_and_answered_once_a_day(
    client, twilio_config, reminded, frozen_clock
) -> None:
    participant, session = reminded
    sms_in(client, participant.phone, "Hola, ¿a qué hora era mi cita? Es que no me acuerdo 🙏")
    sms_in(client, participant.phone, "perdón, ya vi")  # short: the reminder is asked once more
    sms_in(client, participant.phone, "jeje")  # and then not again
    meanings = db.session.scalars(select(InboundMessage.meaning).order_by(InboundMessage.id)).all()
    assert meanings == ["unknown", "unclear", "unknown"]
    texts = [m.params for m in replies(participant)]
    assert texts == [{"kind": "unknown"}, {"kind": "attendance_again"}]
    assert (
        db.session.scalar(
            select(func.count()).select_from(Alert).where(Alert.kind != "missed_contact")
        )
        == 0
    )
    db.session.refresh(session)
    assert session.status == "scheduled"
    frozen_clock.advance(days=1)
    sms_in(client, participant.phone, "hola otra vez, les quería contar algo")
    assert len(replies(participant)) == 3


def test_long_body_with_emoji_is_kept_whole(client, twilio_config, reminded) -> None:
    participant, _session = reminded
    body = ("Hola 👋 equipo, les escribo porque " + "ñ" * 10 + " ") * 32
    body = body[:1600]
    assert sms_in(client, participant.phone, body).status_code == 200
    stored = db.session.scalar(select(InboundMessage))
    assert stored.body == body and stored.meaning == "unknown"


def test_unknown_sender_gets_one_neutral_line_and_is_not_stored(
    client, twilio_config, reminded, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="telejt.conversation.engine")
    response = sms_in(client, "+52 55 9999 1234", "hola")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Este numero no tiene mensajes pendientes." in text  # to_gsm7, as every SMS
    assert "<Message>" in text
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0
    assert "••34" in caplog.text
    assert "+525599991234" not in caplog.text and "5599991234" not in caplog.text


# ---- status callbacks ----------------------------------------------------------------------------


def _status(client, sid: str, status: str, error: str | None = None):
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": ACCOUNT,
        "From": "+528100000000",
        "To": "+528155550001",
        "ApiVersion": "2010-04-01",
    }
    if error:
        params["ErrorCode"] = error
    return signed_post(client, "/twilio/status", params)


def test_status_callback_for_unknown_message_changes_nothing(
    client, twilio_config, reminded
) -> None:
    before = db.session.execute(select(OutboundMessage.id, OutboundMessage.status)).all()
    assert _status(client, "SM" + "f" * 32, "delivered").status_code == 200
    assert db.session.execute(select(OutboundMessage.id, OutboundMessage.status)).all() == before


def test_status_moves_forward_only(client, twilio_config, reminded) -> None:
    _participant, session = reminded
    message = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.contact_id == session.id, OutboundMessage.sent_at.is_not(None)
        )
    ).first()
    message.status = "queued"
    db.session.commit()
    for status, expected in [
        ("sending", "queued"),
        ("sent", "sent"),
        ("queued", "sent"),
        ("delivered", "delivered"),
        ("sent", "delivered"),
        ("undelivered", "delivered"),
    ]:
        assert (
            _status(
                client, message.provider_sid, status, "30003" if status == "undelivered" else None
            ).status_code
            == 200
        )
        db.session.refresh(message)
        assert message.status == expected
    assert message.error_code is None


def test_permanent_failure_in_callback_alerts_and_21610_opts_out(
    client, twilio_config, reminded
) -> None:
    participant, session = reminded
    message = db.session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.contact_id == session.id, OutboundMessage.sent_at.is_not(None)
        )
    ).first()
    message.status = "sent"
    db.session.commit()
    assert _status(client, message.provider_sid, "failed", "21610").status_code == 200
    db.session.refresh(message)
    db.session.refresh(participant)
    assert (message.status, message.error_code) == ("failed", "21610")
    assert participant.sms_opted_out_at is not None
    alert = db.session.scalar(select(Alert).where(Alert.kind == "reachability"))
    # his own choice: never the system's failure (nor a miss of his)
    assert (alert.attribution, alert.audience) == (None, "team")  # he said STOP: his choice
    assert alert.reason == "sms_opted_out:21610"
    # a late "delivered" cannot undo a terminal failure
    _status(client, message.provider_sid, "delivered")
    db.session.refresh(message)
    assert message.status == "failed"
