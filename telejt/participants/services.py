"""Enrolling participants and changing what is known about them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import select

from telejt.auth.models import StaffUser
from telejt.clock import now
from telejt.courts.models import Court
from telejt.errors import InvalidInput
from telejt.extensions import db
from telejt.participants.models import (
    CONSENT_KINDS,
    LOCALES,
    PARTICIPANT_STATUSES,
    Consent,
    Participant,
)
from telejt.participants.validation import (
    normalize_phone,
    validate_slots,
    validate_timezone,
)
from telejt.protocols.current import registry
from telejt.protocols.model import Phase, Protocol

T = TypeVar("T")


def _protocol_and_phase(
    protocol_id: str, phase_id: Any, version: int | None
) -> tuple[Protocol, Phase]:
    reg = registry()
    try:
        protocol = reg.latest(protocol_id) if version is None else reg.get(protocol_id, version)
    except KeyError:
        raise InvalidInput(
            {"protocol_id": _("Protocolo desconocido: %(id)s", id=protocol_id)}
        ) from None
    try:
        phase = protocol.phase(str(phase_id))
    except KeyError:
        raise InvalidInput({"phase_id": _("Fase desconocida: %(id)s", id=phase_id)}) from None
    return protocol, phase


def _collect(errors: dict[str, str], check: Callable[..., T], *args: Any) -> T | None:
    """Run one validation, adding its complaints to ``errors`` instead of stopping."""
    try:
        return check(*args)
    except InvalidInput as exc:
        errors.update(exc.fields)
        return None


def _phone_taken(phone: str, is_shared: bool, other_than: int | None = None) -> str | None:
    """Why a phone cannot be his: another active participant uses it and nobody said shared.

    The message names neither the other person nor his court (it may be another court's).
    """
    if is_shared:
        return None
    query = select(Participant.id).where(
        Participant.phone == phone,
        Participant.status == "active",
        Participant.anonymized_at.is_(None),
    )
    if other_than is not None:
        query = query.where(Participant.id != other_than)
    if db.session.scalar(query.limit(1)) is None:
        return None
    return _(
        "Este teléfono ya está registrado en el programa para otra persona. Si de verdad lo "
        "comparten (un teléfono de la familia), márquelo como teléfono compartido: sus "
        "respuestas se les preguntarán de quién son."
    )


def enroll_participant(
    *,
    court_id: int,
    case_number: str,
    name: str,
    phone: str,
    therapist_id: int | None,
    protocol_id: str,
    phase_id: Any,
    session_slots: Any,
    consents: dict[str, bool],
    locale: str | None = None,
    timezone: str | None = None,
    is_phone_shared: bool = False,
    by: StaffUser | None = None,
) -> Participant:
    """Create a participant with his consents; validates everything before writing anything.

    A phone another active participant already uses is refused unless it is marked shared.

    The caller commits. Planning and the welcome SMS follow from ``after_enrollment``.
    """
    errors: dict[str, str] = {}
    court = db.session.get(Court, court_id)
    if court is None:
        raise InvalidInput({"court_id": _("Juzgado desconocido.")})
    case_number = (case_number or "").strip()
    name = " ".join((name or "").split())
    if not case_number or len(case_number) > 60:
        errors["case_number"] = _("Escriba el número de causa (hasta 60 caracteres).")
    elif db.session.scalar(
        select(Participant.id).where(
            Participant.court_id == court_id, Participant.case_number == case_number
        )
    ):
        errors["case_number"] = _("Ya hay un participante con esa causa en este juzgado.")
    if not name or len(name) > 200:
        errors["name"] = _("Escriba el nombre (hasta 200 caracteres).")
    locale = locale or "es_MX"
    if locale not in LOCALES:
        errors["locale"] = _("Idioma no disponible: %(locale)s", locale=locale)
    if therapist_id is not None:
        therapist = db.session.get(StaffUser, therapist_id)
        if therapist is None or therapist.role != "therapist" or court not in therapist.courts:
            errors["therapist_id"] = _("El terapeuta no pertenece a este juzgado.")
    unknown = set(consents) - set(CONSENT_KINDS)
    if unknown:
        errors["consents"] = _(
            "Consentimiento desconocido: %(kinds)s", kinds=", ".join(sorted(unknown))
        )
    phone_e164 = _collect(errors, normalize_phone, phone)
    taken = _phone_taken(phone_e164, is_phone_shared) if phone_e164 else None
    if taken:
        errors["phone"] = taken
    zone = _collect(errors, validate_timezone, timezone or court.timezone)
    plan = _collect(errors, _protocol_and_phase, protocol_id, phase_id, None)
    slots = _collect(errors, validate_slots, session_slots, *plan) if plan else None
    if errors:
        raise InvalidInput(errors)

    assert phone_e164 and zone and plan and slots is not None
    protocol, phase = plan
    participant = Participant(
        court_id=court.id,
        case_number=case_number,
        name=name,
        phone=phone_e164,
        is_phone_shared=is_phone_shared,
        locale=locale,
        timezone=zone,
        therapist_id=therapist_id,
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        phase_id=phase.id,
        phase_started_at=now(),
        session_slots=slots,
    )
    db.session.add(participant)
    db.session.flush()
    for kind in CONSENT_KINDS:
        if consents.get(kind):
            db.session.add(
                Consent(participant_id=participant.id, kind=kind, given_by_id=by.id if by else None)
            )
    db.session.flush()
    db.session.refresh(participant)
    welcome_and_plan(participant)
    return participant


def welcome_and_plan(participant: Participant) -> None:
    """After enrollment: the welcome SMS (if he agreed to SMS) and his first plan."""
    from telejt.planning.services import plan_participant
    from telejt.sms.outbox import queue_message

    if participant.has_consent("sms"):
        queue_message(participant, purpose="welcome", key=f"participant:{participant.id}:welcome")
    plan_participant(participant)


#: fields a coordinator may change, and whether a change re-plans his contacts
UPDATABLE_FIELDS = (
    "phase_id",
    "session_slots",
    "phone",
    "locale",
    "timezone",
    "status",
    "therapist_id",
    "name",
    "is_phone_shared",
)


def update_participant(
    participant: Participant, changes: dict[str, Any], by: StaffUser | None = None
) -> Participant:
    """Change what is known about a participant, validated first, then re-plan (not committed)."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise InvalidInput({k: _("No se puede cambiar.") for k in sorted(unknown)})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    protocol = registry().get(participant.protocol_id, participant.protocol_version)
    phase = protocol.phase(participant.phase_id)
    if "phase_id" in changes:
        plan = _collect(
            errors,
            _protocol_and_phase,
            participant.protocol_id,
            changes["phase_id"],
            participant.protocol_version,
        )
        if plan:
            phase = plan[1]
            values["phase_id"] = phase.id
    if "session_slots" in changes or "phase_id" in values:
        slots = _collect(
            errors,
            validate_slots,
            changes.get("session_slots", participant.session_slots),
            protocol,
            phase,
        )
        if slots is not None:
            values["session_slots"] = slots
    if "phone" in changes:
        values["phone"] = _collect(errors, normalize_phone, changes["phone"])
    if "is_phone_shared" in changes:
        values["is_phone_shared"] = bool(changes["is_phone_shared"])
    phone = values.get("phone") or participant.phone
    becomes_active = values.get("status", participant.status) == "active"
    phone_changes = "phone" in values and values["phone"] != participant.phone
    if (
        values.get("phone", True)
        and becomes_active
        and (phone_changes or values.get("status") == "active" or "is_phone_shared" in values)
    ):
        shared = values.get("is_phone_shared", participant.is_phone_shared)
        taken = _phone_taken(phone, shared, other_than=participant.id)
        if taken:
            errors["phone"] = taken
    if "timezone" in changes:
        values["timezone"] = _collect(errors, validate_timezone, changes["timezone"])
    if "locale" in changes:
        if changes["locale"] not in LOCALES:
            errors["locale"] = _("Idioma no disponible: %(locale)s", locale=changes["locale"])
        values["locale"] = changes["locale"]
    if "status" in changes:
        if changes["status"] not in PARTICIPANT_STATUSES:
            errors["status"] = _("Estado no válido: %(status)s", status=changes["status"])
        values["status"] = changes["status"]
    if "name" in changes:
        name = " ".join(str(changes["name"] or "").split())
        if not name or len(name) > 200:
            errors["name"] = _("Escriba el nombre (hasta 200 caracteres).")
        values["name"] = name
    if "therapist_id" in changes:
        therapist = (
            db.session.get(StaffUser, changes["therapist_id"]) if changes["therapist_id"] else None
        )
        if (
            therapist is None
            or therapist.role != "therapist"
            or participant.court not in therapist.courts
        ):
            errors["therapist_id"] = _("El terapeuta no pertenece a este juzgado.")
        values["therapist_id"] = changes["therapist_id"]
    if errors:
        raise InvalidInput(errors)
    replan = any(
        key in values and values[key] != getattr(participant, key)
        for key in ("phase_id", "session_slots", "timezone", "status")
    )
    if values.get("phase_id", participant.phase_id) != participant.phase_id:
        participant.phase_started_at = now()
    for key, value in values.items():
        setattr(participant, key, value)
    db.session.flush()
    if replan:
        from telejt.planning.services import plan_participant

        plan_participant(participant)
    return participant


def record_consent(participant: Participant, kind: str, by: StaffUser | None) -> Consent:
    """Record a consent; a consent already current is kept as it is (not committed)."""
    if kind not in CONSENT_KINDS:
        raise InvalidInput({"kind": _("Consentimiento desconocido: %(kinds)s", kinds=kind)})
    for consent in participant.consents:
        if consent.kind == kind and consent.revoked_at is None:
            return consent
    consent = Consent(
        participant=participant, kind=kind, given_at=now(), given_by_id=by.id if by else None
    )
    db.session.add(consent)
    db.session.flush()
    _replan_for_consent(participant, kind)
    return consent


def _replan_for_consent(participant: Participant, kind: str) -> None:
    """Telehealth consent decides whether his coming sessions are video or phone."""
    if kind == "telehealth" and participant.status == "active":
        from telejt.planning.services import plan_participant

        db.session.expire(participant, ["consents"])
        plan_participant(participant)


def revoke_consent(participant: Participant, kind: str, by: StaffUser | None) -> Consent | None:
    """Revoke the current consent of a kind; None when there was none (not committed)."""
    if kind not in CONSENT_KINDS:
        raise InvalidInput({"kind": _("Consentimiento desconocido: %(kinds)s", kinds=kind)})
    for consent in participant.consents:
        if consent.kind == kind and consent.revoked_at is None:
            consent.revoked_at = now()
            consent.revoked_by_id = by.id if by else None
            db.session.flush()
            _replan_for_consent(participant, kind)
            return consent
    return None
