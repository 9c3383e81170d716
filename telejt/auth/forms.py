"""Forms of the login and staff administration pages (all CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, Regexp

from telejt.auth.passwords import MIN_PASSWORD_LENGTH
from telejt.auth.services import EMAIL_PATTERN, AccountError
from telejt.i18n import lazy_label as _l


def select_choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Options for a select field (wtforms 3.3 deprecates plain tuples)."""
    return [SelectChoice(str(value), label) for value, label in pairs]


ROLE_CHOICES = [
    ("coordinator", _l("Coordinación")),
    ("therapist", _l("Terapeuta")),
    ("court", _l("Juzgado")),
    ("admin", _l("Administración")),
]
POSITION_CHOICES = [
    ("", _l("— (no es usuario del juzgado)")),
    ("judge", _l("Juez(a)")),
    ("prosecutor", _l("Ministerio Público")),
    ("defender", _l("Defensa")),
    ("supervision_officer", _l("Supervisión (UMECA)")),
]


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField(_l("Correo electrónico"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Contraseña"), validators=[DataRequired(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A button that changes something: carries only the CSRF token."""


class NewPasswordForm(FlaskForm):
    """A new password, typed twice."""

    password = PasswordField(
        _l("Contraseña nueva"),
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=_l("Use al menos %(n)d caracteres.", n=MIN_PASSWORD_LENGTH),
            ),
        ],
    )
    confirm = PasswordField(
        _l("Repita la contraseña"),
        validators=[EqualTo("password", message=_l("Las contraseñas no coinciden."))],
    )


class StaffForm(FlaskForm):
    """A new staff account."""

    email = EmailField(
        _l("Correo electrónico"),
        validators=[
            DataRequired(),
            Regexp(EMAIL_PATTERN.pattern + r"\Z", message=_l("No es un correo válido.")),
            Length(max=254),
        ],
    )
    name = StringField(_l("Nombre"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Rol"), choices=select_choices(ROLE_CHOICES))
    court_position = SelectField(
        _l("Cargo en el juzgado"), choices=select_choices(POSITION_CHOICES)
    )
    court_ids = SelectMultipleField(_l("Juzgados"), coerce=int, validators=[Optional()])
    password = PasswordField(
        _l("Contraseña inicial (opcional: puede enviar un enlace después)"),
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
    )


class CodeForm(FlaskForm):
    """The six digits of an authenticator app."""

    code = StringField(
        _l("Código de su aplicación de autenticación"),
        validators=[DataRequired(), Length(max=12)],
    )


class ChangePasswordForm(NewPasswordForm):
    """His own password: the current one first, then the new one twice."""

    current = PasswordField(_l("Contraseña actual"), validators=[DataRequired(), Length(max=200)])


class TotpOffForm(CodeForm):
    """Turning the second factor off takes the password and a current code."""

    password = PasswordField(_l("Contraseña"), validators=[DataRequired(), Length(max=200)])


class TokenForm(FlaskForm):
    """A new API token for a staff account."""

    label = StringField(_l("Para qué es"), validators=[DataRequired(), Length(max=100)])
    days = IntegerField(
        _l("Días de vigencia"), default=90, validators=[DataRequired(), NumberRange(1, 730)]
    )
    read_only = BooleanField(_l("Solo lectura (consultas, sin cambios)"), default=True)


PASSWORD_PROBLEM_MESSAGES = {
    "too_short": _l("Use al menos %(n)d caracteres.", n=MIN_PASSWORD_LENGTH),
    "too_long": _l("Use como máximo 200 caracteres."),
    "common": _l("Es una de las contraseñas que se prueban primero: elija otra."),
    "pattern": _l("Es una repetición o una secuencia del teclado: elija otra."),
    "personal": _l("Contiene su nombre o su correo: elija otra."),
}


def password_error(exc: AccountError) -> str:
    """An AccountError about a password, in the user's words."""
    return str(PASSWORD_PROBLEM_MESSAGES.get(exc.code, _l("Contraseña no válida.")))


#: the zones of Mexico's courts, west to east (IANA names; labels are their cities)
MEXICAN_ZONES = (
    "America/Tijuana",
    "America/Hermosillo",
    "America/Mazatlan",
    "America/Chihuahua",
    "America/Ciudad_Juarez",
    "America/Ojinaga",
    "America/Mexico_City",
    "America/Monterrey",
    "America/Matamoros",
    "America/Merida",
    "America/Bahia_Banderas",
    "America/Cancun",
)
LANGUAGE_CHOICES = [
    ("", _l("El del navegador")),
    ("es_MX", _l("Español (México)")),
    ("en", _l("English")),
]


class PreferencesForm(FlaskForm):
    """His interface language and the zone his pages show times in."""

    locale = SelectField(_l("Idioma"), choices=select_choices(LANGUAGE_CHOICES))
    timezone = SelectField(_l("Zona horaria de las horas que ve"))


class LanguageSwitchForm(FlaskForm):
    """The one-click language switch of the page header."""

    locale = SelectField(choices=select_choices(LANGUAGE_CHOICES[1:]))
    next = StringField(validators=[Optional(), Length(max=500)])
