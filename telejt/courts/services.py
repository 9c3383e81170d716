"""Creating courts."""

from __future__ import annotations

from flask_babel import gettext as _

from telejt.courts.models import Court
from telejt.extensions import db
from telejt.participants.validation import InvalidInput, validate_timezone

#: Mexico's 32 federal entities
MEXICAN_STATES = (
    "Aguascalientes", "Baja California", "Baja California Sur", "Campeche", "Chiapas",
    "Chihuahua", "Ciudad de México", "Coahuila", "Colima", "Durango", "Estado de México",
    "Guanajuato", "Guerrero", "Hidalgo", "Jalisco", "Michoacán", "Morelos", "Nayarit",
    "Nuevo León", "Oaxaca", "Puebla", "Querétaro", "Quintana Roo", "San Luis Potosí",
    "Sinaloa", "Sonora", "Tabasco", "Tamaulipas", "Tlaxcala", "Veracruz", "Yucatán",
    "Zacatecas",
)  # fmt: skip


def create_court(*, name: str, state: str, timezone: str) -> Court:
    """Add a court (the caller commits)."""
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        errors["name"] = _("Escriba el nombre del juzgado (hasta 200 caracteres).")
    if state not in MEXICAN_STATES:
        errors["state"] = _("Estado desconocido: %(state)s", state=state)
    try:
        validate_timezone(timezone)
    except InvalidInput as exc:
        errors.update(exc.fields)
    if errors:
        raise InvalidInput(errors)
    court = Court(name=name, state=state, timezone=timezone)
    db.session.add(court)
    db.session.flush()
    return court
