"""The words of every SMS telejt sends, in the participant's language and local time.

One function per purpose (telejt.sms.purposes declares the purposes). Texts name
neither drugs nor the court: the program is named as the protocol's
``program_name`` allows. They are written for a basic phone: everything goes out
as GSM-7 (telejt.sms.text drops the accents GSM-7 lacks), so the Spanish is worded
to read naturally without á í ó ú (``cita`` rather than ``sesión``; no
``quedó``/``quedo`` or ``está``/``esta`` that the folding would confuse), and each
text fits one segment where it can, two at most.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from telejt.conversation.models import Prompt
from telejt.extensions import db
from telejt.i18n import local_datetime, local_day, local_time, participant_locale
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for
from telejt.protocols.model import Protocol, Question
from telejt.sms.models import OutboundMessage
from telejt.sms.purposes import ON_CALL, PURPOSES, purpose
from telejt.sms.text import to_gsm7

#: "5:05 p.m.." — the abbreviation's period also ends the sentence
_ABBREVIATION_THEN_PERIOD = re.compile(r"(\b[ap]\.\s?m\.)\.")

Renderer = Callable[[OutboundMessage, Participant, Protocol], str]
_RENDERERS: dict[str, Renderer] = {}


def _renders(name: str) -> Callable[[Renderer], Renderer]:
    def register(function: Renderer) -> Renderer:
        if name not in PURPOSES:
            raise ValueError(f"no purpose {name!r} is declared")
        _RENDERERS[name] = function
        return function

    return register


def session_link(contact: Contact) -> str:
    """The participant's link to a session's waiting room."""
    return f"{current_app.config['TELEJT_PUBLIC_URL']}/s/{contact.join_token}"


def checkin_link(contact: Contact) -> str:
    """The participant's link to a check-in's web form."""
    return f"{current_app.config['TELEJT_PUBLIC_URL']}/c/{contact.join_token}"


def _when(contact: Contact, participant: Participant) -> str:
    return local_datetime(contact.starts_at, participant.timezone, participant.locale)


def _contact(message: OutboundMessage) -> Contact:
    if message.contact is None:
        raise ValueError(f"a {message.purpose} message needs its contact")
    return message.contact


def national_phone(e164: str | None) -> str | None:
    """A phone as people dial it at home: "+528112345678" → "81 1234 5678"."""
    if not e164:
        return None
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def _team_phone(participant: Participant) -> str | None:
    return national_phone(participant.court.team_phone)


def _crisis_line(participant: Participant, protocol: Protocol) -> str:
    line = protocol.crisis_line
    return _(
        "%(line)s %(phone)s (gratis, 24 horas)",
        line=line.name.for_locale(participant.locale),
        phone=line.phone,
    )


# ---- planned messages ---------------------------------------------------------------------------


@_renders("welcome")
def _welcome(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    return _(
        "Bienvenido. Te enviaremos tus citas y recordatorios por mensaje. Para dejar de "
        "recibirlos responde BAJA; para ayuda, AYUDA."
    )


@_renders("reminder")
def _reminder(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    contact = _contact(message)
    params = message.params or {}
    when = _when(contact, participant)
    if contact.kind == "checkin":
        text = _("Tu reporte breve llega el %(when)s.", when=when)
    elif contact.modality == "phone":
        text = _("Tu cita por llamada es el %(when)s. Te llamaremos a este celular.", when=when)
    else:
        text = _(
            "Tu cita por video es el %(when)s. Entra con este enlace: %(link)s",
            when=when,
            link=session_link(contact),
        )
    if params.get("confirm"):
        text += " " + _("Responde 1 para confirmar o 2 si no puedes.")
    if params.get("plan_prompt"):
        text += " " + _("Piensa ya en el lugar y la hora para conectarte.")
    return text


@_renders("nudge")
def _nudge(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    return _(
        "Ya es hora de tu cita. Entra con este enlace: %(link)s",
        link=session_link(_contact(message)),
    )


@_renders("change_notice")
def _change_notice(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    when = _when(_contact(message), participant)
    if (message.params or {}).get("cancelled"):
        return _("Cancelamos tu cita del %(when)s. Te avisaremos la nueva fecha.", when=when)
    return _("Cambiamos tu cita: ahora es el %(when)s.", when=when)


@_renders("attendance_confirmation")
def _attendance_confirmation(
    message: OutboundMessage, participant: Participant, protocol: Protocol
) -> str:
    return _(
        "Registramos tu asistencia a la cita del %(when)s. Gracias.",
        when=_when(_contact(message), participant).rstrip("."),  # "a.m." ends the sentence
    )


# ---- the check-in conversation ------------------------------------------------------------------


@_renders("checkin_start")
def _checkin_start(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    contact = _contact(message)
    if contact.delivery == "link":
        return _(
            "Es hora de tu reporte breve. Contesta en este enlace: %(link)s",
            link=checkin_link(contact),
        )
    intro = _("Es hora de tu reporte breve.")
    session_id = (message.params or {}).get("attendance_first")
    session = db.session.get(Contact, session_id) if session_id else None
    if session is not None:
        return (
            intro
            + " "
            + _(
                "Antes, tu cita del %(when)s: responde 1 para confirmar o 2 si no puedes.",
                when=_when(session, participant),
            )
        )
    question_id = contact.pending_question_id
    if question_id is None:
        return intro
    return (
        intro
        + " "
        + protocol_for_contact(contact).question(question_id).text.for_locale(participant.locale)
    )


def protocol_for_contact(contact: Contact) -> Protocol:
    """The protocol version a contact was planned on (its questions' wording)."""
    return protocol_for(contact.protocol_id, contact.protocol_version)


def _hint(question: Question) -> str:
    if question.type == "yesno":
        return _("Responde 1=Sí o 2=No.")
    if question.type == "scale" and question.range is not None:
        low, high = question.range
        return _(
            "Contesta del %(low)d al %(high)d, por ejemplo %(example)d.",
            low=low,
            high=high,
            example=(low + high) // 2,
        )
    codes = ", ".join(code for code, _text in question.choices)
    return _("Responde con una de estas opciones: %(codes)s.", codes=codes)


@_renders("checkin_question")
def _checkin_question(
    message: OutboundMessage, participant: Participant, protocol: Protocol
) -> str:
    contact = _contact(message)
    params = message.params or {}
    question = protocol_for_contact(contact).question(str(params.get("question")))
    text = question.text.for_locale(participant.locale)
    if params.get("retry"):
        return _("No entendimos tu respuesta.") + " " + _hint(question) + " " + text
    if params.get("after_skip"):
        return _("Pasamos a la siguiente pregunta.") + " " + text
    return text


@_renders("checkin_done")
def _checkin_done(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    contact = _contact(message)
    if (message.params or {}).get("partial"):
        return _(
            "Gracias. Te faltaron algunas respuestas: puedes completarlas hasta las %(time)s "
            "en %(link)s",
            time=local_time(contact.deadline_at, participant.timezone, participant.locale),
            link=checkin_link(contact),
        )
    return _("Gracias, recibimos tu reporte completo.")


# ---- answers to what he wrote -------------------------------------------------------------------


@_renders("crisis_reply")
def _crisis_reply(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    text = _(
        "Gracias por contarnos. Ya avisamos a tu equipo. Si corres peligro llama ahora a "
        "%(line)s o al 911.",
        line=_crisis_line(participant, protocol),
    )
    team = _team_phone(participant)
    if team:
        text += " " + _("Tu equipo: %(phone)s.", phone=team)
    return text


@_renders("help_reply")
def _help_reply(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    text = _(
        "Si necesitas hablar con alguien llama a %(line)s.",
        line=_crisis_line(participant, protocol),
    )
    team = _team_phone(participant)
    if team:
        text += " " + _("Tu equipo: %(phone)s.", phone=team)
    return (
        text
        + " "
        + _("Responde 1 para confirmar una cita, 2 si no puedes, o BAJA para no recibir mensajes.")
    )


@_renders("optout_confirmation")
def _optout_confirmation(
    message: OutboundMessage, participant: Participant, protocol: Protocol
) -> str:
    return _(
        "Listo, dejaremos de enviarte mensajes. Tu equipo va a buscarte por otro medio. "
        "Para recibirlos otra vez responde ALTA."
    )


@_renders("milestone")
def _milestone(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    # neutral on purpose, whoever sees his phone learns nothing of the program; in months
    # (30, 60, 90 days) and without accents, so that it stays one GSM segment
    days = (message.params or {}).get("days")
    months = max(days // 30, 1) if isinstance(days, int) else 1
    return ngettext(
        "¡Felicidades! Llevas un mes cumpliendo todas tus citas. Sigue adelante, vas muy bien.",
        "¡Felicidades! Llevas %(num)s meses cumpliendo todas tus citas. Sigue adelante, vas "
        "muy bien.",
        months,
    )


def _option(number: int, description: str) -> str:
    return _("manda %(number)d para %(what)s", number=number, what=description)


def _options_text(descriptions: list[str]) -> str:
    parts = [_option(n, what) for n, what in enumerate(descriptions, start=1)]
    if len(parts) == 1:
        return parts[0]
    return _("%(first)s, o %(last)s", first=", ".join(parts[:-1]), last=parts[-1])


def _prompt_option(option: dict[str, object], participant: Participant) -> str:
    contact = db.session.get(Contact, option.get("contact")) if option.get("contact") else None
    if option.get("kind") == "attendance" and contact is not None:
        when = _when(contact, participant)
        if option.get("value") == "decline":
            return _("avisar que no puedes ir a tu cita del %(when)s", when=when)
        return _("confirmar tu cita del %(when)s", when=when)
    if contact is not None:
        day = local_day(contact.starts_at, participant.timezone, participant.locale)
        return _("contestar la pregunta de tu reporte del %(day)s", day=day)
    return _("contestar la pregunta de tu reporte")


def _first_name(person: Participant | None) -> str:
    return person.name.split()[0] if person is not None and person.name.split() else "?"


@_renders("clarify")
def _clarify(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    params = message.params or {}
    prompt = db.session.get(Prompt, params.get("prompt_id"))
    if prompt is None:
        raise ValueError("a clarify message needs its prompt")
    options = prompt.options or []
    if prompt.kind == "which_person":
        text = _("Este celular es de varias personas.") + " " + _("Dinos de quién es tu mensaje:")
        descriptions = [
            _first_name(db.session.get(Participant, o.get("participant"))) for o in options
        ]
    elif prompt.kind == "cancel_what":
        contact = db.session.get(Contact, options[0].get("contact"))
        when = _when(contact, participant) if contact is not None else ""
        text = _("Dinos qué quieres cancelar:")
        descriptions = [
            _("cancelar tu cita del %(when)s", when=when),
            _("dejar de recibir todos los mensajes"),
        ]
    else:
        text = _("Tu mensaje puede responder a dos cosas:")
        descriptions = [_prompt_option(option, participant) for option in options]
    if params.get("again"):
        text = _("No entendimos tu respuesta.") + " " + text
    return text + " " + _options_text(descriptions) + "."


def _keyword_reply_text(message: OutboundMessage, participant: Participant) -> str:
    kind = (message.params or {}).get("kind")
    contact = message.contact
    if kind == "confirmed" and contact is not None:
        return _("Gracias, confirmamos tu cita del %(when)s", when=_when(contact, participant))
    if kind == "declined":
        return _("Entendido. Te llamaremos para buscar otra fecha.")
    if kind == "attendance_again" and contact is not None:
        return _(
            "No entendimos tu respuesta. Manda 1 para confirmar tu cita del %(when)s o 2 si no "
            "puedes ir.",
            when=_when(contact, participant),
        )
    if kind == "resumed":
        return _("Listo, otra vez te enviaremos tus mensajes. Para dejarlos, responde BAJA.")
    if kind == "nothing_to_confirm":
        return _("No tienes citas por confirmar ahora. Responde AYUDA si necesitas ayuda.")
    if kind == "cancel_stop":
        return _(
            "No tienes citas por cancelar. Si quieres dejar de recibir mensajes, responde BAJA."
        )
    team = _team_phone(participant)
    if team:
        return _(
            "Recibimos tu mensaje; tu equipo lo va a leer, pero no a toda hora. Si es urgente "
            "llama al %(phone)s o al 911.",
            phone=team,
        )
    return _(
        "Recibimos tu mensaje; tu equipo lo va a leer, pero no a toda hora. Si es urgente "
        "llama al 911."
    )


@_renders("keyword_reply")
def _keyword_reply(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    return _keyword_reply_text(message, participant)


@_renders("crisis_escalation")
def _crisis_escalation(
    message: OutboundMessage, participant: Participant, protocol: Protocol
) -> str:
    minutes = current_app.config["TELEJT_CRISIS_ESCALATION_MINUTES"]
    dashboard = current_app.config["TELEJT_PUBLIC_URL"] + "/dashboard"
    return _(
        "telejt: alerta URGENTE sin atender desde hace %(minutes)d min (participante "
        "%(id)d). Atiéndela en %(link)s",
        minutes=minutes,
        id=participant.id,
        link=dashboard,
    )


def render_message(message: OutboundMessage) -> str:
    """The text of a planned message, rendered now (so it shows the latest times)."""
    if message.body:
        return message.body
    participant = message.participant
    protocol = protocol_for(participant.protocol_id, participant.protocol_version)
    renderer = _RENDERERS.get(message.purpose)
    if renderer is None:
        raise ValueError(f"no text for message purpose {message.purpose!r}")
    if purpose(message.purpose).recipient == ON_CALL:
        # staff read it: the court's language, no program name (it is not for his phone)
        with participant_locale(current_app.config["TELEJT_DEFAULT_LOCALE"]):
            return to_gsm7(renderer(message, participant, protocol))
    with participant_locale(participant.locale):
        program = protocol.program_name.for_locale(participant.locale)
        text = renderer(message, participant, protocol)
        return to_gsm7(_ABBREVIATION_THEN_PERIOD.sub(r"\1", program + ": " + text))


def missing_renderers() -> list[str]:
    """Purposes declared without words (a test keeps this empty)."""
    return sorted(set(PURPOSES) - set(_RENDERERS))
