"""The words of every SMS telejt sends, in the participant's language and local time.

Texts name neither drugs nor the court: the program is named as the protocol's
``program_name`` allows. Everything goes through :func:`to_gsm7` (see sms.text).
"""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext as _

from telejt.i18n import local_datetime, local_time, participant_locale
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for
from telejt.protocols.model import Protocol, Question
from telejt.sms.models import OutboundMessage
from telejt.sms.text import to_gsm7

#: "5:05 p.m.." — the abbreviation's period also ends the sentence
_ABBREVIATION_THEN_PERIOD = re.compile(r"(\b[ap]\.\s?m\.)\.")


def session_link(contact: Contact) -> str:
    """The participant's link to a session's waiting room."""
    return f"{current_app.config['TELEJT_PUBLIC_URL']}/s/{contact.join_token}"


def checkin_link(contact: Contact) -> str:
    """The participant's link to a check-in's web form."""
    return f"{current_app.config['TELEJT_PUBLIC_URL']}/c/{contact.join_token}"


def _when(contact: Contact, participant: Participant) -> str:
    return local_datetime(contact.starts_at, participant.timezone, participant.locale)


def _reminder(message: OutboundMessage, contact: Contact, participant: Participant) -> str:
    params = message.params or {}
    when = _when(contact, participant)
    if contact.kind == "checkin":
        text = _("Tu reporte breve llega el %(when)s.", when=when)
    elif contact.modality == "phone":
        text = _("Tu sesión por teléfono es el %(when)s. Te llamaremos.", when=when)
    else:
        text = _(
            "Tu sesión en línea es el %(when)s. Entra aquí: %(link)s",
            when=when,
            link=session_link(contact),
        )
    if params.get("confirm"):
        text += " " + _("Responde 1 para confirmar o 2 si no puedes.")
    if params.get("plan_prompt"):
        text += " " + _("Planea desde dónde y a qué hora te vas a conectar.")
    return text


def _checkin_start(contact: Contact, participant: Participant, protocol: Protocol) -> str:
    if contact.delivery == "link":
        return _("Es hora de tu reporte breve. Responde aquí: %(link)s", link=checkin_link(contact))
    question_id = contact.pending_question_id
    question = protocol.question(question_id) if question_id else None
    intro = _("Es hora de tu reporte breve.")
    if question is None:
        return intro
    return f"{intro} {question.text.for_locale(participant.locale)}"


def _change_notice(message: OutboundMessage, contact: Contact, participant: Participant) -> str:
    when = _when(contact, participant)
    if (message.params or {}).get("cancelled"):
        return _("Tu cita del %(when)s se canceló. Te avisaremos la nueva fecha.", when=when)
    return _("Tu cita cambió: ahora es el %(when)s.", when=when)


def _hint(question: Question) -> str:
    if question.type == "yesno":
        return _("Responde 1 para Sí o 2 para No.")
    if question.type == "scale" and question.range is not None:
        return _(
            "Responde con un número del %(low)d al %(high)d.",
            low=question.range[0],
            high=question.range[1],
        )
    codes = ", ".join(code for code, _text in question.choices)
    return _("Responde con una de estas opciones: %(codes)s.", codes=codes)


def _checkin_question(message: OutboundMessage, contact: Contact, participant: Participant) -> str:
    params = message.params or {}
    protocol = protocol_for(contact.protocol_id, contact.protocol_version)
    question = protocol.question(str(params.get("question")))
    text = question.text.for_locale(participant.locale)
    if params.get("retry"):
        return f"{_('No entendimos tu respuesta.')} {_hint(question)} {text}"
    if params.get("after_skip"):
        return f"{_('Pasamos a la siguiente pregunta.')} {text}"
    return text


def _checkin_done(message: OutboundMessage, contact: Contact, participant: Participant) -> str:
    if (message.params or {}).get("partial"):
        return _(
            "Gracias. Faltaron respuestas; complétalas aquí (abierto hasta %(time)s): %(link)s",
            time=local_time(contact.deadline_at, participant.timezone, participant.locale),
            link=checkin_link(contact),
        )
    return _("Gracias, tu reporte quedó completo.")


def _crisis_reply(participant: Participant, protocol: Protocol) -> str:
    line = protocol.crisis_line
    return _(
        "Gracias por decírnoslo. Ya avisamos a tu equipo. Si estás en peligro, llama ahora a "
        "%(line)s %(phone)s o al 911.",
        line=line.name.for_locale(participant.locale),
        phone=line.phone,
    )


def _keyword_reply(message: OutboundMessage, participant: Participant) -> str:
    kind = (message.params or {}).get("kind")
    contact = message.contact
    if kind == "confirmed" and contact is not None:
        # The date last: a sentence ending in "p.m." would end in "p.m.."
        return _("Gracias. Quedó confirmada tu cita: %(when)s", when=_when(contact, participant))
    if kind == "declined":
        return _("Entendido. Te llamaremos para buscar otra fecha.")
    if kind == "resumed":
        return _("Listo, volverás a recibir tus mensajes. Para dejarlos, responde BAJA.")
    if kind == "nothing_to_confirm":
        return _("No tienes citas por confirmar ahora. Responde AYUDA si necesitas ayuda.")
    return _(
        "Recibimos tu mensaje. Este número es automático y no se revisa a toda hora: "
        "coméntalo en tu próxima sesión. Si es urgente, llama al 911."
    )


def _reply(message: OutboundMessage, participant: Participant, protocol: Protocol) -> str:
    """Answers to what he wrote (purposes queued by sms.inbound and checkins.services)."""
    contact = message.contact
    if message.purpose == "checkin_question" and contact is not None:
        return _checkin_question(message, contact, participant)
    if message.purpose == "checkin_done" and contact is not None:
        return _checkin_done(message, contact, participant)
    if message.purpose == "crisis_reply":
        return _crisis_reply(participant, protocol)
    if message.purpose == "help_reply":
        return _(
            "Aquí recibes tus citas y reportes. Responde 1 para confirmar una cita o 2 si no "
            "puedes. Para dejar de recibir mensajes responde BAJA."
        )
    if message.purpose == "optout_confirmation":
        return _("Ya no recibirás mensajes. Para volver a recibirlos responde ALTA.")
    if message.purpose == "keyword_reply":
        return _keyword_reply(message, participant)
    raise ValueError(f"no text for message purpose {message.purpose!r}")


#: purposes whose text :func:`_reply` writes
REPLY_PURPOSES = (
    "checkin_question",
    "checkin_done",
    "crisis_reply",
    "help_reply",
    "optout_confirmation",
    "keyword_reply",
)


def render_message(message: OutboundMessage) -> str:
    """The text of a planned message, rendered now (so it shows the latest times)."""
    if message.body:
        return message.body
    participant = message.participant
    contact = message.contact
    protocol = protocol_for(participant.protocol_id, participant.protocol_version)
    with participant_locale(participant.locale):
        program = protocol.program_name.for_locale(participant.locale)
        if message.purpose == "reminder" and contact is not None:
            text = _reminder(message, contact, participant)
        elif message.purpose == "checkin_start" and contact is not None:
            text = _checkin_start(contact, participant, protocol)
        elif message.purpose == "change_notice" and contact is not None:
            text = _change_notice(message, contact, participant)
        elif message.purpose == "welcome":
            text = _(
                "Bienvenido. Por aquí recibirás tus citas y recordatorios. "
                "Responde AYUDA para ayuda o BAJA para dejar de recibir mensajes."
            )
        elif message.purpose == "nudge" and contact is not None:
            text = _("Tu sesión ya empezó. Entra aquí: %(link)s", link=session_link(contact))
        elif message.purpose == "attendance_confirmation" and contact is not None:
            text = _(
                "Registramos tu asistencia a la sesión del %(when)s. Gracias.",
                when=_when(contact, participant).rstrip("."),  # "a.m." ends the sentence
            )
        elif message.purpose in REPLY_PURPOSES:
            text = _reply(message, participant, protocol)
        else:
            raise ValueError(f"no text for message purpose {message.purpose!r}")
        return to_gsm7(_ABBREVIATION_THEN_PERIOD.sub(r"\1", f"{program}: {text}"))
