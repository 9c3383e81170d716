"""Every kind of message telejt sends, declared once.

A message's ``purpose`` says why it exists. Everything that depends on the
purpose reads it here: its label in the reader's language, whether it waits for
quiet hours to end, whether it still goes out after its contact closed, whether
it counts as having told the participant about a contact (attribution), whether
it asks him something (and so opens a prompt), who receives it, and whether the
court may see that it exists. The words of each message are in
:mod:`telejt.sms.render`, one function per purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

#: who a message goes to
PARTICIPANT = "participant"
ON_CALL = "on_call"


@dataclass(frozen=True)
class Purpose:
    """What one kind of message is for, and the rules that follow from it."""

    name: str
    label: LazyString
    #: held while quiet hours last (False: an answer to what he just wrote, or urgent)
    waits_for_quiet_hours: bool
    #: still sent when its contact is no longer open (a notice about what happened)
    is_notice: bool
    #: tells him about its contact: a delivered one makes a miss his, an undelivered
    #: one the system's
    reaches_participant: bool
    #: the court may see that it was sent and whether it arrived (never its text)
    is_court_visible: bool
    #: it asks something: sending it opens a prompt his reply can answer
    asks: bool = False
    #: who receives it: the participant, or the on-call person of his court
    recipient: str = PARTICIPANT
    #: sent even to someone who opted out or has no SMS consent (the last SMS after BAJA)
    ignores_opt_out: bool = False


PURPOSES: dict[str, Purpose] = {
    p.name: p
    for p in (
        Purpose(
            name="welcome",
            label=_l("Bienvenida"),
            waits_for_quiet_hours=True,
            is_notice=False,
            reaches_participant=False,
            is_court_visible=True,
        ),
        Purpose(
            name="reminder",
            label=_l("Recordatorio"),
            waits_for_quiet_hours=True,
            is_notice=False,
            reaches_participant=True,
            is_court_visible=True,
            asks=True,
        ),
        Purpose(
            name="nudge",
            label=_l("Aviso para entrar"),
            waits_for_quiet_hours=True,
            is_notice=False,
            reaches_participant=True,
            is_court_visible=True,
        ),
        Purpose(
            name="change_notice",
            label=_l("Aviso de cambio"),
            waits_for_quiet_hours=True,
            is_notice=True,
            reaches_participant=False,
            is_court_visible=True,
        ),
        Purpose(
            name="attendance_confirmation",
            label=_l("Constancia de asistencia"),
            waits_for_quiet_hours=True,
            is_notice=True,
            reaches_participant=False,
            is_court_visible=True,
        ),
        Purpose(
            name="checkin_start",
            label=_l("Inicio del reporte"),
            waits_for_quiet_hours=True,
            is_notice=False,
            reaches_participant=True,
            is_court_visible=True,
            asks=True,
        ),
        Purpose(
            name="checkin_question",
            label=_l("Pregunta del reporte"),
            waits_for_quiet_hours=False,
            is_notice=True,
            reaches_participant=True,
            is_court_visible=False,
            asks=True,
        ),
        Purpose(
            name="checkin_done",
            label=_l("Cierre del reporte"),
            waits_for_quiet_hours=False,
            is_notice=True,
            reaches_participant=False,
            is_court_visible=False,
        ),
        Purpose(
            name="crisis_reply",
            label=_l("Respuesta de apoyo en crisis"),
            waits_for_quiet_hours=False,
            is_notice=True,
            reaches_participant=False,
            is_court_visible=False,
        ),
        Purpose(
            name="crisis_escalation",
            label=_l("Aviso de crisis a la guardia"),
            waits_for_quiet_hours=False,
            is_notice=True,
            reaches_participant=False,
            is_court_visible=False,
            recipient=ON_CALL,
            ignores_opt_out=True,
        ),
        Purpose(
            name="help_reply",
            label=_l("Respuesta de ayuda"),
            waits_for_quiet_hours=False,
            is_notice=True,
            reaches_participant=False,
            is_court_visible=False,
        ),
        Purpose(
            name="clarify",
            label=_l("Pregunta para aclarar su respuesta"),
            waits_for_quiet_hours=False,
            is_notice=True,
            reaches_participant=False,
            is_court_visible=False,
            asks=True,
        ),
        Purpose(
            name="optout_confirmation",
            label=_l("Confirmación de baja"),
            waits_for_quiet_hours=False,
            is_notice=True,
            reaches_participant=False,
            is_court_visible=True,
            ignores_opt_out=True,
        ),
        Purpose(
            # recognises 30/60/90 days without a miss of his: discreet, for him alone
            name="milestone",
            label=_l("Reconocimiento de avance"),
            waits_for_quiet_hours=True,
            is_notice=True,
            reaches_participant=False,
            is_court_visible=False,
        ),
        Purpose(
            name="keyword_reply",
            label=_l("Respuesta automática"),
            waits_for_quiet_hours=False,
            is_notice=True,
            reaches_participant=False,
            is_court_visible=False,
        ),
    )
}


def purpose(name: str) -> Purpose:
    """The declaration of a purpose; KeyError for a name nobody declared."""
    return PURPOSES[name]


def names(**rules: bool | str) -> tuple[str, ...]:
    """The purposes that have every rule given, e.g. ``names(reaches_participant=True)``."""
    return tuple(
        p.name
        for p in PURPOSES.values()
        if all(getattr(p, rule) == value for rule, value in rules.items())
    )


def purpose_label(name: str | None) -> str:
    """A purpose in the reader's words (an unknown one as its code: never hide a fact)."""
    if name is None:
        return ""
    found = PURPOSES.get(name)
    return str(found.label) if found is not None else name
