"""Every SMS text: short (two segments at most), discreet, and what Twilio receives."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse

from telejt.conversation.models import Prompt
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.protocols.wording import forbidden_words_in
from telejt.sms.models import OutboundMessage
from telejt.sms.purposes import PURPOSES
from telejt.sms.render import missing_renderers, render_message
from telejt.sms.text import segments
from telejt.sms.twilio_sender import TwilioSmsSender

ACCOUNT = "AC" + "3" * 32
SERVICE = "MG" + "4" * 32
#: long, and neutral: a public URL naming the court would itself leak it
LONG_URL = "https://acompanamiento-terapeutico.servicios-de-salud-digital.example.gob.mx"
#: the longest wall-clock text: "miércoles 30 de septiembre, 12:30 p.m." in Monterrey (UTC−6)
LONGEST_DATE = datetime(2026, 9, 30, 18, 30, tzinfo=UTC)
#: a long name: the "which person" ask-back names people on a shared phone
LONG_NAME = "Maximiliano Guadalupe de la Santísima Trinidad Hernández"


def _folded(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c)
    )


def _ask_back(kind: str, participant: Any, options: list[dict[str, Any]]) -> dict[str, Any]:
    prompt = Prompt(
        participant_id=participant.id,
        kind=kind,
        options=options,
        opened_at=LONGEST_DATE,
        answer_until=LONGEST_DATE,
        crisis_until=LONGEST_DATE,
        reasks=0,
    )
    db.session.add(prompt)
    db.session.flush()
    return {"prompt_id": prompt.id}


def _variants(
    participant: Any, other: Any, session: Contact, checkin: Contact
) -> list[tuple[str, Contact | None, dict[str, Any]]]:
    which_prompt = [
        {"kind": "attendance", "value": "decline", "contact": session.id},
        {"kind": "question", "value": "yes", "contact": checkin.id},
    ]
    variants: list[tuple[str, Contact | None, dict[str, Any]]] = [
        ("reminder", session, {"confirm": True, "plan_prompt": True}),
        ("reminder", checkin, {}),
        ("change_notice", session, {}),
        ("change_notice", session, {"cancelled": True}),
        ("welcome", None, {}),
        ("milestone", None, {"days": 90}),
        ("nudge", session, {}),
        ("attendance_confirmation", session, {}),
        ("checkin_done", checkin, {}),
        ("checkin_done", checkin, {"partial": True}),
        ("crisis_reply", checkin, {}),
        ("help_reply", None, {}),
        ("optout_confirmation", None, {}),
        ("crisis_escalation", None, {}),
        ("clarify", None, _ask_back("which_prompt", participant, which_prompt)),
        ("clarify", None, {**_ask_back("which_prompt", participant, which_prompt), "again": 1}),
        (
            "clarify",
            None,
            _ask_back(
                "which_person",
                participant,
                [{"participant": participant.id}, {"participant": other.id}],
            ),
        ),
        (
            "clarify",
            None,
            _ask_back("cancel_what", participant, [{"contact": session.id}, {"action": "stop"}]),
        ),
    ]
    for kind in (
        "confirmed",
        "declined",
        "attendance_again",
        "resumed",
        "nothing_to_confirm",
        "cancel_stop",
        "unknown",
    ):
        variants.append(("keyword_reply", session, {"kind": kind}))
    for question_id in checkin.question_ids or ():
        variants.append(("checkin_question", checkin, {"question": question_id}))
        variants.append(("checkin_question", checkin, {"question": question_id, "retry": 2}))
        variants.append(
            ("checkin_question", checkin, {"question": question_id, "after_skip": True})
        )
    return variants


def test_every_purpose_has_words_and_a_label() -> None:
    assert missing_renderers() == []
    for name, declared in PURPOSES.items():
        assert str(declared.label) and str(declared.label) != name


@pytest.mark.parametrize("locale", ["es_MX", "en"])
@pytest.mark.parametrize("team_phone", [None, "+528112345678"])
def test_every_text_within_two_segments_and_discreet(
    app, make_participant, make_court, frozen_clock, monkeypatch, locale: str, team_phone
) -> None:
    monkeypatch.setitem(app.config, "TELEJT_PUBLIC_URL", LONG_URL)
    frozen_clock.set(datetime(2026, 9, 21, 15, tzinfo=UTC))
    court = make_court(team_phone=team_phone, on_call_phone="+528187654321")
    participant = make_participant(locale=locale, name=LONG_NAME, court=court)
    other = make_participant(locale=locale, name=LONG_NAME, court=court)
    contacts = db.session.scalars(
        select(Contact).where(Contact.participant_id == participant.id)
    ).all()
    session = next(c for c in contacts if c.kind == "session")
    session.starts_at = LONGEST_DATE
    session.ends_at = session.deadline_at = LONGEST_DATE + timedelta(minutes=50)
    session.modality = "video"
    checkin = next(c for c in contacts if c.kind == "checkin")
    checkin.deadline_at = LONGEST_DATE
    texts = []
    for purpose, contact, params in _variants(participant, other, session, checkin):
        message = OutboundMessage(
            purpose=purpose, params=params, participant=participant, contact=contact
        )
        texts.append((purpose, params, render_message(message)))
    for delivery in ("sms", "link"):
        checkin.delivery = delivery
        checkin.pending_question_id = "use" if delivery == "sms" else None
        message = OutboundMessage(
            purpose="checkin_start", params={}, participant=participant, contact=checkin
        )
        texts.append(("checkin_start", {"delivery": delivery}, render_message(message)))
    assert {purpose for purpose, *_ in texts} == set(PURPOSES)
    assert any(
        "miércoles 30 de septiembre, 12:30 p.m." in t or "Wednesday, September 30" in t
        for *_, t in texts
    )
    assert any(LONG_URL in t for *_, t in texts)
    assert any("Maximiliano" in t for *_, t in texts)
    if team_phone:
        assert any("81 1234 5678" in t for *_, t in texts)
    for purpose, params, text in texts:
        assert segments(text) <= 2, (purpose, params, len(text), text)
        assert not forbidden_words_in(text.replace(LONG_URL, "")), (purpose, params, text)
    db.session.rollback()


@pytest.mark.parametrize("locale", ["es_MX", "en"])
def test_texts_are_in_the_participants_language(app, make_participant, locale: str) -> None:
    """No text falls back to Spanish for an English participant (catalogs complete)."""
    participant = make_participant(locale=locale)
    checkin = db.session.scalars(
        select(Contact).where(Contact.participant_id == participant.id, Contact.kind == "checkin")
    ).first()
    for params in ({"question": "mood", "retry": 1}, {"question": "mood", "after_skip": True}):
        text = render_message(
            OutboundMessage(
                purpose="checkin_question", params=params, participant=participant, contact=checkin
            )
        )
        spanish = "No entendimos" in text or "Pasamos a la siguiente" in text
        assert spanish == (locale == "es_MX"), text
    db.session.rollback()


def test_crisis_reply_names_the_protocols_line(app_ctx, make_participant) -> None:
    participant = make_participant()
    text = render_message(
        OutboundMessage(purpose="crisis_reply", params={}, participant=participant)
    )
    assert "Linea de la Vida 800 911 2000" in text  # GSM-7: the í is dropped, as in every SMS


# ---- what the twilio client sends -------------------------------------------------------------


class RecordingHttpClient(HttpClient):
    """twilio's HTTP client interface, answering from a canned response, recording requests."""

    def __init__(self, status: int = 201, body: dict[str, Any] | None = None) -> None:
        import logging

        super().__init__(logging.getLogger("twilio.test"), is_async=False)
        self.requests: list[dict[str, Any]] = []
        self.status = status
        self.body = body or {}

    def request(
        self,
        method: str,
        uri: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        """Record the request and answer with the canned response."""
        self.requests.append({"method": method, "url": uri, "data": dict(data or {}), "auth": auth})
        body = dict(self.body)
        if "sid" in body:  # each message its own sid, as Twilio does
            body["sid"] = f"{body['sid'][:-4]}{len(self.requests):04d}"
        return TwilioResponse(self.status, json.dumps(body))


def _twilio_sender(app, http: RecordingHttpClient) -> TwilioSmsSender:
    return TwilioSmsSender(
        ACCOUNT,
        "5" * 32,
        status_callback=app.config["TELEJT_PUBLIC_URL"] + "/twilio/status",
        messaging_service_sid=SERVICE,
        http_client=http,
    )


def test_exact_request_twilio_gets_for_a_reminder(
    app, frozen_clock, make_participant, run_until
) -> None:
    frozen_clock.set(datetime(2026, 3, 2, 12, tzinfo=UTC))
    participant = make_participant()
    session = db.session.scalars(
        select(Contact).where(Contact.participant_id == participant.id, Contact.kind == "session")
    ).first()
    http = RecordingHttpClient(
        201, {"sid": "SM" + "9" * 32, "status": "queued", "account_sid": ACCOUNT}
    )
    previous = app.extensions.get("telejt.sms_sender")
    app.extensions["telejt.sms_sender"] = _twilio_sender(app, http)
    try:
        run_until(session.starts_at.replace(hour=0))
    finally:
        if previous is None:
            app.extensions.pop("telejt.sms_sender", None)
        else:
            app.extensions["telejt.sms_sender"] = previous
    reminder = next(r for r in http.requests if "Responde 1 para confirmar" in r["data"]["Body"])
    assert reminder["method"] == "POST"
    assert reminder["url"] == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert reminder["data"]["To"] == participant.phone
    assert reminder["data"]["MessagingServiceSid"] == SERVICE
    assert reminder["data"]["StatusCallback"] == "https://telejt.example.mx/twilio/status"
    assert "From" not in reminder["data"]
    assert f"/s/{session.join_token}" in reminder["data"]["Body"]
    stored = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.body == reminder["data"]["Body"])
    )
    assert stored.provider_sid.startswith("SM9999") and stored.status == "queued"


def test_21610_from_create_is_an_opt_out(app, frozen_clock, make_participant, run_until) -> None:
    frozen_clock.set(datetime(2026, 3, 2, 12, tzinfo=UTC))
    participant = make_participant()
    http = RecordingHttpClient(
        400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}
    )
    previous = app.extensions.get("telejt.sms_sender")
    app.extensions["telejt.sms_sender"] = _twilio_sender(app, http)
    try:
        run_until(datetime(2026, 3, 2, 15, tzinfo=UTC))  # the welcome waits for 08:00 local
    finally:
        if previous is None:
            app.extensions.pop("telejt.sms_sender", None)
        else:
            app.extensions["telejt.sms_sender"] = previous
    db.session.refresh(participant)
    assert http.requests  # the welcome SMS was tried
    assert participant.sms_opted_out_at is not None
    welcome = db.session.scalar(select(OutboundMessage).where(OutboundMessage.purpose == "welcome"))
    assert (welcome.status, welcome.error_code) == ("failed", "21610")
