"""The words of every SMS telejt sends, in the participant's language and local time.

Texts name neither drugs nor the court: the program is named as the protocol's
``program_name`` allows. Everything goes through :func:`to_gsm7` (see sms.text).
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from telejt.i18n import local_datetime, participant_locale
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for
from telejt.protocols.model import Protocol
from telejt.sms.models import OutboundMessage
from telejt.sms.text import to_gsm7


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
        else:
            raise ValueError(f"no text for message purpose {message.purpose!r}")
        return to_gsm7(f"{program}: {text}")
