"""The participant's side of a session: who he can call, what failed, how long each wait lasts.

His page runs one state machine (``static/sessions/waiting.js``); every wait in it
has a limit, and when one runs out the page tells him what to do next and tells
the therapist what failed (:func:`report_trouble`), which is also kept as evidence:
a session he could not reach must never read as one he did not come to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from telejt.clock import now
from telejt.extensions import db
from telejt.live import publish
from telejt.participants.models import Participant
from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for
from telejt.sessions import services
from telejt.sessions.models import PresenceEvent
from telejt.sessions.rooms import ROOM_NAMESPACE, session_room
from telejt.sms.render import national_phone

#: what his page may report; each is kept as a "trouble" presence event
TROUBLES = (
    "no_connection",  # the room's connection did not open in time (network, WebSockets blocked)
    "refused",  # the server refused the room's connection
    "media_denied",  # no camera or microphone (denied, missing, in use)
    "video_failed",  # admitted, but the video did not connect in time (ICE)
    "long_wait",  # not let in long after the start
    "call_me",  # he asks to be called
    "audio_only",  # he chose to go on with sound only
)
#: a second report of the same trouble within this time is not recorded again
TROUBLE_REPEAT = timedelta(minutes=1)
#: every wait of his page has a limit (seconds): the page then says what to do next
ROOM_TIMEOUTS = {
    "handshake": 20,  # opening the room's connection
    "websocket": 8,  # a WebSocket neither open nor refused: long-polling instead
    "media": 30,  # the browser's camera and microphone prompt
    "ice": 30,  # admitted: the video connecting
    "admission": 5 * 60,  # waiting to be let in, counted from the start (or his arrival)
    "reconnect": int(services.RECONNECT_GRACE.total_seconds()),  # a dropped connection
}


@dataclass(frozen=True)
class HelpLine:
    """The number a participant page offers him, as he dials it, and as a tel: link."""

    #: "81 1234 5678" or "800 911 2000"
    display: str
    #: "+528112345678", for the href
    dial: str
    #: whether it is his team's phone; otherwise the protocol's crisis line
    is_team: bool
    #: the crisis line's name ("Línea de la Vida"), when it is the crisis line
    name: str = ""


def help_line(participant: Participant) -> HelpLine:
    """His court's team phone, or, when the court has none, the protocol's crisis line."""
    team_phone = participant.court.team_phone
    if team_phone:
        return HelpLine(national_phone(team_phone) or team_phone, team_phone, True)
    line = protocol_for(participant.protocol_id, participant.protocol_version).crisis_line
    digits = "".join(ch for ch in line.phone if ch.isdigit() or ch == "+")
    return HelpLine(line.phone, digits, False, line.name.for_locale(participant.locale))


def room_config(contact: Contact, token: str, ice_servers: list[dict[str, Any]]) -> dict[str, Any]:
    """What his page's script needs: the token, the timeouts, seconds until admission and end."""
    moment = now()
    admission_from = max(moment, contact.starts_at)
    return {
        "role": "participant",
        "token": token,
        "iceServers": ice_servers,
        "timeouts": dict(ROOM_TIMEOUTS),
        # relative seconds, not instants: a cheap phone's clock may be wrong
        "admissionIn": int((admission_from - moment).total_seconds()) + ROOM_TIMEOUTS["admission"],
        "endsIn": max(0, int((contact.ends_at - moment).total_seconds())),
    }


def report_trouble(contact: Contact, what: str) -> PresenceEvent | None:
    """Record what failed on his side and tell the therapist at once (not committed).

    Returns None for an unknown kind, or when the same trouble was just reported.
    """
    if what not in TROUBLES:
        return None
    recent = db.session.scalar(
        select(PresenceEvent.id).where(
            PresenceEvent.contact_id == contact.id,
            PresenceEvent.event == "trouble",
            PresenceEvent.detail == what,
            PresenceEvent.at > now() - TROUBLE_REPEAT,
        )
    )
    if recent is not None:
        return None
    item = PresenceEvent(
        contact_id=contact.id, actor="participant", event="trouble", at=now(), detail=what
    )
    db.session.add(item)
    db.session.flush()
    publish("trouble", {"what": what}, [session_room(contact.id)], namespace=ROOM_NAMESPACE)
    services.publish_presence(contact, trouble=what)
    return item


def trouble_words() -> dict[str, str]:
    """What the therapist's console says for each trouble his page reports."""
    return {
        "no_connection": _(
            "Su teléfono no logra conectarse a la sala (red o WebSockets bloqueados). Llámele."
        ),
        "refused": _("El servidor rechazó la conexión de su teléfono. Llámele."),
        "media_denied": _(
            "No pudo usar su cámara ni su micrófono. Ofrézcale seguir solo con audio o llámele."
        ),
        "video_failed": _("El video no logró conectarse. Llámele o cambie la sesión a teléfono."),
        "long_wait": _("Lleva mucho tiempo esperando a que lo deje entrar."),
        "call_me": _("Pide que le llame."),
        "audio_only": _("Eligió seguir solo con audio (gasta menos datos)."),
    }


def participant_words(line: HelpLine) -> dict[str, dict[str, str]]:
    """What his page says in each state: what is happening, and what he can do next.

    Rendered into the page (his script holds no text of its own), in his language.
    """
    if line.is_team:
        call = _("llama a tu equipo al %(phone)s", phone=line.display)
    else:
        call = _("responde AYUDA al último SMS que te enviamos")

    def state(say: str, next_step: str) -> dict[str, str]:
        return {"say": say, "next": next_step}

    return {
        "connecting": state(
            _("Abriendo tu sala de espera…"),
            _("Si tarda más de un minuto, %(call)s.", call=call),
        ),
        "no_connection": state(
            _("Tu teléfono no logra conectarse a la sala."),
            _(
                "Seguimos intentando. Prueba con wifi o con datos, o %(call)s para que sepan "
                "que estás aquí: una falla de conexión no cuenta en tu contra.",
                call=call,
            ),
        ),
        "refused": state(
            _("No pudimos abrir tu sala con este enlace."),
            _(
                "Toca «Intentar otra vez», o %(call)s para tomar tu sesión por teléfono. "
                "No cuenta en tu contra.",
                call=call,
            ),
        ),
        "waiting": state(
            _("Estás en la sala de espera. Tu terapeuta te dejará entrar en un momento."),
            _("Deja esta página abierta. Busca un lugar privado y tranquilo."),
        ),
        "long_wait": state(
            _("Tu terapeuta todavía no te deja entrar."),
            _("Ya le avisamos. Sigue en esta página, o %(call)s.", call=call),
        ),
        "admitted": state(
            _("Tu terapeuta te dejó entrar."),
            _("Si tu teléfono lo pide, permite usar la cámara y el micrófono."),
        ),
        "media_denied": state(
            _("No pudimos usar tu cámara ni tu micrófono."),
            _(
                "Tu terapeuta ya lo sabe. Revisa el permiso del navegador e intenta otra vez, "
                "sigue solo escuchando, o pide que te llamen."
            ),
        ),
        "connecting_video": state(_("Conectando el video…"), _("Espera unos segundos.")),
        "connected": state(
            _("Video conectado."),
            _("Si se corta, no cierres esta página: se vuelve a conectar sola."),
        ),
        "audio_only": state(
            _("Sesión solo con audio: gasta mucho menos datos."),
            _("Tu terapeuta te escucha. Puedes volver al video cuando quieras."),
        ),
        "video_failed": state(
            _("No se pudo conectar el video."),
            _(
                "Tu terapeuta ya lo sabe. Intenta otra vez, pide que te llamen, o %(call)s. "
                "No cuenta en tu contra.",
                call=call,
            ),
        ),
        "reconnecting": state(
            _("Se cortó la conexión. Reconectando…"),
            _(
                "No cierres esta página: si vuelve en unos minutos entras directo, sin "
                "esperar. Si no vuelve, %(call)s.",
                call=call,
            ),
        ),
        "therapist_left": state(
            _("Tu terapeuta salió de la sesión."),
            _("Espera en esta página: puede volver. Si tarda, %(call)s.", call=call),
        ),
        "phone": state(
            _("Tu terapeuta cambió la sesión a llamada telefónica."),
            _("Contesta cuando te llame a tu número registrado. Ya puedes cerrar esta página."),
        ),
        "call_requested": state(
            _("Le pedimos a tu terapeuta que te llame."),
            _("Ten tu teléfono a la mano. Si no te llama en unos minutos, %(call)s.", call=call),
        ),
        "left": state(
            _("Saliste de la sesión."),
            _("Puedes volver a entrar mientras dure tu sesión."),
        ),
        "elsewhere": state(
            _("Abriste esta sesión en otra pestaña o en otro teléfono."),
            _("Sigue allá, o toca «Usar esta página» para seguir aquí."),
        ),
        "ended": state(
            _("Tu sesión terminó."),
            _("Si no pudiste entrar o crees que hay un error, %(call)s.", call=call),
        ),
        "ended_attended": state(
            _("Tu sesión terminó."),
            _("Tu terapeuta registró tu asistencia. Te llegará un SMS de confirmación."),
        ),
    }
