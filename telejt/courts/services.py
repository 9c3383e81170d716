"""Creating courts and setting their phones."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from telejt.audit.services import record_access
from telejt.auth.models import COURT_POSITIONS
from telejt.courts import visibility
from telejt.courts.models import Court
from telejt.courts.visibility import StaffLike
from telejt.errors import InvalidInput
from telejt.extensions import db
from telejt.participants.validation import normalize_phone, validate_timezone

#: Mexico's 32 federal entities
MEXICAN_STATES = (
    "Aguascalientes", "Baja California", "Baja California Sur", "Campeche", "Chiapas",
    "Chihuahua", "Ciudad de México", "Coahuila", "Colima", "Durango", "Estado de México",
    "Guanajuato", "Guerrero", "Hidalgo", "Jalisco", "Michoacán", "Morelos", "Nayarit",
    "Nuevo León", "Oaxaca", "Puebla", "Querétaro", "Quintana Roo", "San Luis Potosí",
    "Sinaloa", "Sonora", "Tabasco", "Tamaulipas", "Tlaxcala", "Veracruz", "Yucatán",
    "Zacatecas",
)  # fmt: skip


def _phones(team_phone: str | None, on_call_phone: str | None) -> dict[str, str | None]:
    """The court's phones as E.164 (None where not given); InvalidInput names the bad one."""
    errors: dict[str, str] = {}
    phones: dict[str, str | None] = {}
    for field, raw in (("team_phone", team_phone), ("on_call_phone", on_call_phone)):
        if raw is None or not str(raw).strip():
            phones[field] = None
            continue
        try:
            phones[field] = normalize_phone(str(raw))
        except InvalidInput as exc:
            errors[field] = exc.fields["phone"]
    if errors:
        raise InvalidInput(errors)
    return phones


def create_court(
    *,
    name: str,
    state: str,
    timezone: str,
    team_phone: str | None = None,
    on_call_phone: str | None = None,
) -> Court:
    """Add a court (the caller commits).

    ``team_phone``: the treatment team's number, given to participants (crisis and help
    replies); ``on_call_phone``: the mobile an unacknowledged crisis alert is texted to.
    """
    errors: dict[str, str] = {}
    try:
        phones = _phones(team_phone, on_call_phone)
    except InvalidInput as exc:
        errors.update(exc.fields)
        phones = {}
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
    court = Court(name=name, state=state, timezone=timezone, **phones)
    db.session.add(court)
    db.session.flush()
    return court


def set_court_phones(
    court: Court, *, team_phone: str | None = None, on_call_phone: str | None = None
) -> Court:
    """Set a court's phones; only those given change ("" clears one). The caller commits."""
    given = {
        field: value
        for field, value in (("team_phone", team_phone), ("on_call_phone", on_call_phone))
        if value is not None
    }
    phones = _phones(given.get("team_phone"), given.get("on_call_phone"))
    for field in given:
        setattr(court, field, phones[field])
    db.session.flush()
    return court


def set_unverified_positions(court: Court, positions: Iterable[str]) -> Court:
    """Choose which court positions see a miss before it is verified (the caller commits)."""
    chosen = set(positions)
    unknown = sorted(chosen - set(COURT_POSITIONS))
    if unknown:
        raise InvalidInput(
            {"unverified_positions": _("Cargo desconocido: %(position)s", position=unknown[0])}
        )
    court.unverified_positions = ",".join(p for p in COURT_POSITIONS if p in chosen)
    db.session.flush()
    return court


def choose_unverified_positions(
    court: Court, positions: Iterable[str], by_id: int | None, channel: str = "page"
) -> Court:
    """A coordinator's or an admin's choice of who sees unverified notices, audited with
    what it was before (the caller commits)."""
    before = sorted(court.unverified_position_set)
    set_unverified_positions(court, positions)
    record_access(
        by_id,
        "court.unverified_positions",
        "court",
        court.id,
        channel=channel,
        detail={"before": before, "after": sorted(court.unverified_position_set)},
    )
    return court


def sees_unverified_misses(user: StaffLike, court_id: int) -> bool:
    """Whether this staff member reads a court's unverified misses: the treatment team
    always; a court user when the court lets his position see unverified notices."""
    viewer = visibility.viewer_of(user)
    if not viewer.is_court:
        return True
    court = db.session.get(Court, court_id)
    positions = (
        court.unverified_position_set
        if court is not None
        else visibility.DEFAULT_UNVERIFIED_POSITIONS
    )
    return visibility.sees_unverified(viewer, positions)
