"""Forms of the coordinator's participant pages, and reading weekly slots as people write them."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from telejt.auth.forms import select_choices
from telejt.errors import InvalidInput
from telejt.i18n import lazy_label as _l
from telejt.participants.models import CONSENT_KINDS, PARTICIPANT_STATUSES
from telejt.protocols.model import WEEKDAYS

#: weekday names a coordinator may type, Spanish or English, with or without accents
WEEKDAY_WORDS = {
    "lun": "mon", "lunes": "mon", "mon": "mon", "monday": "mon",
    "mar": "tue", "martes": "tue", "tue": "tue", "tuesday": "tue",
    "mie": "wed", "mié": "wed", "miercoles": "wed", "miércoles": "wed", "wed": "wed",
    "wednesday": "wed",
    "jue": "thu", "jueves": "thu", "thu": "thu", "thursday": "thu",
    "vie": "fri", "viernes": "fri", "fri": "fri", "friday": "fri",
    "sab": "sat", "sáb": "sat", "sabado": "sat", "sábado": "sat", "sat": "sat",
    "saturday": "sat",
    "dom": "sun", "domingo": "sun", "sun": "sun", "sunday": "sun",
}  # fmt: skip
WEEKDAY_LABELS = {
    "mon": _l("lunes"), "tue": _l("martes"), "wed": _l("miércoles"), "thu": _l("jueves"),
    "fri": _l("viernes"), "sat": _l("sábado"), "sun": _l("domingo"),
}  # fmt: skip
LOCALE_CHOICES = [("es_MX", _l("Español (México)")), ("en", _l("Inglés"))]
STATUS_LABELS = {
    "active": _l("Activo"),
    "graduated": _l("Egresado"),
    "withdrawn": _l("Baja del programa"),
    "returned_to_court": _l("Devuelto al juzgado"),
}
CONSENT_LABELS = {
    "sms": _l("Mensajes SMS"),
    "telehealth": _l("Atención a distancia"),
    "share_with_court": _l("Compartir respuestas con el juzgado"),
}
_SLOT_LINE = re.compile(r"\s*(\S+?)[\s,]+(\d{1,2}):(\d{2})\s*")


def parse_slot_lines(text: str) -> list[dict[str, str]]:
    """Slots written one per line, like "martes 10:00"; InvalidInput names the bad line."""
    slots: list[dict[str, str]] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = _SLOT_LINE.fullmatch(line)
        weekday = WEEKDAY_WORDS.get(match[1].lower().rstrip(".")) if match else None
        if match is None or weekday is None:
            raise InvalidInput(
                {
                    "session_slots": _(
                        "Línea %(n)d: escriba el día y la hora, por ejemplo «martes 10:00».",
                        n=number,
                    )
                }
            )
        slots.append({"weekday": weekday, "time": f"{int(match[2]):02d}:{match[3]}"})
    return slots


def slot_lines(slots: list[dict[str, Any]]) -> str:
    """Stored slots as the coordinator types them."""
    return "\n".join(
        f"{WEEKDAY_LABELS.get(s['weekday'], s['weekday'])} {s['time']}"
        for s in sorted(slots, key=lambda s: (WEEKDAYS.index(s["weekday"]), s["time"]))
    )


#: the coordinator knows another participant uses the same phone (a family phone)
PHONE_SHARED_LABEL = _l("Teléfono compartido con otra persona del programa")


class EnrollForm(FlaskForm):
    """A new participant: who he is, how to reach him, his plan and his consents."""

    court_id = SelectField(_l("Juzgado"), coerce=int)
    case_number = StringField(
        _l("Número de causa"),
        validators=[DataRequired(message=_l("Escriba el número de causa.")), Length(max=60)],
    )
    name = StringField(
        _l("Nombre completo"),
        validators=[DataRequired(message=_l("Escriba el nombre.")), Length(max=200)],
    )
    phone = StringField(
        _l("Teléfono celular (10 dígitos)"),
        validators=[
            DataRequired(message=_l("Escriba el teléfono: diez dígitos, por ejemplo 81 1234 5678."))
        ],
    )
    is_phone_shared = BooleanField(PHONE_SHARED_LABEL)
    locale = SelectField(_l("Idioma de los mensajes"), choices=select_choices(LOCALE_CHOICES))
    timezone = StringField(_l("Zona horaria (vacío: la del juzgado)"), validators=[Optional()])
    therapist_id = SelectField(_l("Terapeuta"), coerce=int)
    plan = SelectField(_l("Protocolo y fase"))
    session_slots = TextAreaField(
        _l("Horarios semanales de sesión, uno por línea (p. ej. «martes 10:00»)"),
    )
    consent_sms = BooleanField(CONSENT_LABELS["sms"])
    consent_telehealth = BooleanField(CONSENT_LABELS["telehealth"])
    consent_share_with_court = BooleanField(CONSENT_LABELS["share_with_court"])


class EditForm(FlaskForm):
    """What a coordinator may correct about a participant (a change re-plans)."""

    name = StringField(
        _l("Nombre completo"),
        validators=[DataRequired(message=_l("Escriba el nombre.")), Length(max=200)],
    )
    phone = StringField(
        _l("Teléfono celular (10 dígitos)"),
        validators=[
            DataRequired(message=_l("Escriba el teléfono: diez dígitos, por ejemplo 81 1234 5678."))
        ],
    )
    is_phone_shared = BooleanField(PHONE_SHARED_LABEL)
    locale = SelectField(_l("Idioma de los mensajes"), choices=select_choices(LOCALE_CHOICES))
    timezone = StringField(_l("Zona horaria"), validators=[DataRequired()])
    therapist_id = SelectField(_l("Terapeuta"), coerce=int)
    session_slots = TextAreaField(
        _l("Horarios semanales de sesión, uno por línea (p. ej. «martes 10:00»)"),
    )


class PhaseForm(FlaskForm):
    """Move to another phase of the same protocol, with the slots that phase asks for."""

    phase_id = SelectField(_l("Fase"))
    session_slots = TextAreaField(_l("Horarios semanales para la nueva fase, uno por línea"))


class StatusForm(FlaskForm):
    """The participant's standing in the program."""

    status = SelectField(
        _l("Estado"), choices=select_choices((s, STATUS_LABELS[s]) for s in PARTICIPANT_STATUSES)
    )


class ConsentForm(FlaskForm):
    """Record or revoke one consent."""

    kind = SelectField(
        _l("Consentimiento"), choices=select_choices((k, CONSENT_LABELS[k]) for k in CONSENT_KINDS)
    )
    action = SelectField(
        _l("Acción"),
        choices=select_choices([("record", _l("Registrar")), ("revoke", _l("Revocar"))]),
    )


class RescheduleForm(FlaskForm):
    """A new date and time, in the participant's own time zone."""

    date = StringField(
        _l("Fecha (AAAA-MM-DD)"), validators=[DataRequired(message=_l("Escriba la fecha."))]
    )
    time = StringField(
        _l("Hora (HH:MM)"), validators=[DataRequired(message=_l("Escriba la hora."))]
    )
    note = StringField(_l("Nota"), validators=[Optional(), Length(max=500)])


class ReachabilityForm(FlaskForm):
    """Close a reachability alert with a note, correcting the phone if that was the problem."""

    phone = StringField(_l("Teléfono correcto (si cambió)"), validators=[Optional()])
    note = TextAreaField(
        _l("Qué se hizo"),
        validators=[
            DataRequired(message=_l("Escriba qué se hizo para localizarlo.")),
            Length(max=2000),
        ],
    )
