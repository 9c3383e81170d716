"""Coordinator pages: participants, enrollment, changes, consents, timeline, work queues.

Every query starts from ``visible_participants`` (404 outside the viewer's courts),
every read or change of a participant's record is written to the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import Form

from telejt.audit.services import record_access
from telejt.auth.access import participant_or_404, roles_required, visible_participants
from telejt.auth.forms import select_choices
from telejt.auth.models import StaffUser
from telejt.courts.models import Court
from telejt.errors import InvalidInput
from telejt.extensions import db
from telejt.participants import forms
from telejt.participants.models import Participant
from telejt.participants.services import (
    enroll_participant,
    record_consent,
    revoke_consent,
    update_participant,
)
from telejt.participants.timeline import participant_timeline
from telejt.participants.warnings import lead_words, unreminded_contacts
from telejt.protocols.current import protocol_for, registry
from telejt.reports import formatting
from telejt.reports.labels import CONTACT_KIND_LABELS, label
from telejt.sms.purposes import purpose_label

bp = Blueprint("participants", __name__, template_folder="templates")

READERS = ("coordinator", "therapist", "court")
#: contacts too soon to be reminded, named one by one after an enrolment
UNREMINDED_SHOWN = 3


@bp.app_context_processor
def participant_page_helpers() -> dict[str, Any]:
    """Labels and local times for participant templates."""
    return {
        "status_labels": forms.STATUS_LABELS,
        "consent_labels": forms.CONSENT_LABELS,
        "purpose_label": purpose_label,
        **formatting.template_helpers(),
    }


def audit_participant(
    action: str,
    participant: Participant | None,
    detail: dict[str, Any] | None = None,
    object_type: str = "participant",
    object_id: Any = None,
) -> None:
    """Write who read or changed a participant's record from a page."""
    record_access(
        current_user.id,
        action,
        object_type,
        object_id if object_id is not None else (participant.id if participant else None),
        participant_id=participant.id if participant else None,
        detail=detail,
    )


def _apply_errors(form: Form, errors: dict[str, str], aliases: dict[str, str]) -> None:
    """Show a service's field errors on the form fields they belong to."""
    for key, message in errors.items():
        name = aliases.get(key.split("[")[0], key.split("[")[0])
        target = getattr(form, name, None)
        if target is None:
            flash(message, "error")
        else:
            target.errors = [*target.errors, message]


def _courts_of(user: StaffUser) -> list[Court]:
    return sorted(user.courts, key=lambda court: court.name)


def _therapist_choices(court_ids: list[int]) -> list[tuple[int, str]]:
    therapists = db.session.scalars(
        select(StaffUser)
        .where(StaffUser.role == "therapist", StaffUser.is_active.is_(True))
        .order_by(StaffUser.name)
    )
    return [(0, _("— sin asignar —"))] + [
        (t.id, t.name) for t in therapists if set(t.court_ids) & set(court_ids)
    ]


def _plan_choices() -> list[tuple[str, str]]:
    locale = str(get_locale())
    return [
        (
            f"{protocol.id}:{phase.id}",
            f"{protocol.name.for_locale(locale)} — {phase.name.for_locale(locale)}",
        )
        for protocol in {p.id: p for p in registry()}.values()  # latest version of each
        for phase in protocol.phases
    ]


# ---- list, enroll, read --------------------------------------------------------------------


@bp.get("/participants")
@roles_required(*READERS)
def list_participants() -> str:
    """The participants of the viewer's courts (a therapist: his own)."""
    status = request.args.get("status", "active")
    query = visible_participants(current_user).order_by(Participant.name)
    if status in forms.STATUS_LABELS:
        query = query.where(Participant.status == status)
    participants = db.session.scalars(query).all()
    audit_participant(
        "participant.list", None, detail={"status": status, "count": len(participants)}
    )
    db.session.commit()
    return render_template("participants/list.html", participants=participants, status=status)


@bp.route("/participants/new", methods=["GET", "POST"])
@roles_required("coordinator")
def enroll() -> Any:
    """Enroll a participant in one of the coordinator's courts."""
    form = forms.EnrollForm()
    courts = _courts_of(current_user)
    form.court_id.choices = select_choices((c.id, c.name) for c in courts)
    form.therapist_id.choices = select_choices(_therapist_choices([c.id for c in courts]))
    form.plan.choices = select_choices(_plan_choices())
    if form.validate_on_submit():
        protocol_id, _sep, phase_id = (form.plan.data or "").partition(":")
        try:
            participant = enroll_participant(
                court_id=form.court_id.data,
                case_number=form.case_number.data or "",
                name=form.name.data or "",
                phone=form.phone.data or "",
                is_phone_shared=bool(form.is_phone_shared.data),
                therapist_id=form.therapist_id.data or None,
                protocol_id=protocol_id,
                phase_id=phase_id,
                session_slots=forms.parse_slot_lines(form.session_slots.data or ""),
                consents={
                    "sms": form.consent_sms.data,
                    "telehealth": form.consent_telehealth.data,
                    "share_with_court": form.consent_share_with_court.data,
                },
                locale=form.locale.data,
                timezone=(form.timezone.data or "").strip() or None,
                by=current_user,
            )
        except InvalidInput as exc:
            db.session.rollback()
            _apply_errors(form, exc.fields, {"protocol_id": "plan", "phase_id": "plan"})
        else:
            audit_participant("participant.create", participant)
            db.session.commit()
            flash(_("Participante inscrito: %(name)s.", name=participant.name), "info")
            _warn_unreminded(participant)
            return redirect(url_for("participants.show", participant_id=participant.id))
    return render_template("participants/enroll.html", form=form), 400 if form.errors else 200


def _warn_unreminded(participant: Participant) -> None:
    """Tell the coordinator which of his first contacts come too soon to be reminded."""
    for item in unreminded_contacts(participant)[:UNREMINDED_SHOWN]:
        contact = item.contact
        kind = label(CONTACT_KIND_LABELS, contact.kind)
        when = formatting.local_when(contact.starts_at, participant.timezone)
        if item.is_unreminded:
            message = _(
                "%(kind)s del %(when)s: es demasiado pronto para recordárselo por SMS; no "
                "recibirá ningún recordatorio. Avísele por otro medio.",
                kind=kind,
                when=when,
            )
        else:
            message = _(
                "%(kind)s del %(when)s: su recordatorio de %(leads)s antes ya no puede "
                "enviarse a tiempo.",
                kind=kind,
                when=when,
                leads=", ".join(lead_words(m) for m in item.missing_min),
            )
        flash(message, "warning")


@bp.get("/participants/<int:participant_id>")
@roles_required(*READERS)
def show(participant_id: int) -> str:
    """One participant's record and timeline, limited to what the viewer may see."""
    participant = participant_or_404(current_user, participant_id)
    timeline = participant_timeline(participant, current_user)
    audit_participant("participant.read", participant)
    db.session.commit()
    protocol = protocol_for(participant.protocol_id, participant.protocol_version)
    phase_form = forms.PhaseForm()
    phase_form.phase_id.choices = select_choices(
        (ph.id, ph.name.for_locale(str(get_locale()))) for ph in protocol.phases
    )
    phase_form.phase_id.data = participant.phase_id
    status_form = forms.StatusForm(status=participant.status)
    return render_template(
        "participants/show.html",
        participant=participant,
        timeline=timeline,
        protocol=protocol,
        phase_form=phase_form,
        status_form=status_form,
        consent_form=forms.ConsentForm(),
        may_change=current_user.role == "coordinator",
        slot_text=forms.slot_lines(participant.session_slots),
    )


# ---- changes -------------------------------------------------------------------------------


def change_participant(participant: Participant, changes: dict[str, Any], form: Form) -> bool:
    """Apply changes through the service (which re-plans); on refusal show why and roll back."""
    before = {key: getattr(participant, key) for key in changes}
    try:
        update_participant(participant, changes, by=current_user)
    except InvalidInput as exc:
        db.session.rollback()
        _apply_errors(form, exc.fields, {})
        return False
    changed = sorted(k for k in changes if before[k] != getattr(participant, k))
    audit_participant("participant.update", participant, detail={"fields": changed})
    db.session.commit()
    return True


@bp.route("/participants/<int:participant_id>/edit", methods=["GET", "POST"])
@roles_required("coordinator")
def edit(participant_id: int) -> Any:
    """Correct name, phone, language, zone, therapist and weekly slots."""
    participant = participant_or_404(current_user, participant_id)
    form = forms.EditForm(obj=participant if request.method == "GET" else None)
    form.therapist_id.choices = select_choices(_therapist_choices([participant.court_id]))
    if request.method == "GET":
        form.therapist_id.data = participant.therapist_id or 0
        form.session_slots.data = forms.slot_lines(participant.session_slots)
        audit_participant("participant.read", participant, detail={"page": "edit"})
        db.session.commit()
    elif form.validate_on_submit():
        try:
            slots = forms.parse_slot_lines(form.session_slots.data or "")
        except InvalidInput as exc:
            _apply_errors(form, exc.fields, {})
        else:
            changes = {
                "name": form.name.data,
                "phone": form.phone.data,
                "is_phone_shared": bool(form.is_phone_shared.data),
                "locale": form.locale.data,
                "timezone": (form.timezone.data or "").strip(),
                "session_slots": slots,
            }
            if (form.therapist_id.data or None) != participant.therapist_id:
                changes["therapist_id"] = form.therapist_id.data or None
            if change_participant(participant, changes, form):
                flash(_("Cambios guardados; sus contactos se volvieron a planear."), "info")
                return redirect(url_for("participants.show", participant_id=participant.id))
    return render_template("participants/edit.html", form=form, participant=participant), (
        400 if form.errors else 200
    )


@bp.post("/participants/<int:participant_id>/phase")
@roles_required("coordinator")
def move_phase(participant_id: int) -> Any:
    """Move to another phase; the slots must match what the new phase asks for."""
    participant = participant_or_404(current_user, participant_id)
    protocol = protocol_for(participant.protocol_id, participant.protocol_version)
    form = forms.PhaseForm()
    form.phase_id.choices = select_choices((ph.id, ph.id) for ph in protocol.phases)
    if form.validate_on_submit():
        try:
            changes: dict[str, Any] = {"phase_id": form.phase_id.data}
            if (form.session_slots.data or "").strip():
                changes["session_slots"] = forms.parse_slot_lines(form.session_slots.data or "")
        except InvalidInput as exc:
            _apply_errors(form, exc.fields, {})
        else:
            if change_participant(participant, changes, form):
                flash(_("Fase cambiada."), "info")
                return redirect(url_for("participants.show", participant_id=participant.id))
    for field_errors in form.errors.values():
        for message in field_errors:
            flash(str(message), "error")
    return redirect(url_for("participants.show", participant_id=participant.id))


@bp.post("/participants/<int:participant_id>/status")
@roles_required("coordinator")
def change_status(participant_id: int) -> Response:
    """Active, graduated, withdrawn or returned to court (leaving cancels future contacts)."""
    participant = participant_or_404(current_user, participant_id)
    form = forms.StatusForm()
    if form.validate_on_submit() and change_participant(
        participant, {"status": form.status.data}, form
    ):
        flash(_("Estado cambiado."), "info")
    else:
        flash(_("No se pudo cambiar el estado."), "error")
    return redirect(url_for("participants.show", participant_id=participant.id))


@bp.post("/participants/<int:participant_id>/consents")
@roles_required("coordinator")
def change_consent(participant_id: int) -> Response:
    """Record or revoke a consent, with who did it."""
    participant = participant_or_404(current_user, participant_id)
    form = forms.ConsentForm()
    if not form.validate_on_submit():
        abort(400)
    kind = form.kind.data or ""
    if form.action.data == "record":
        consent = record_consent(participant, kind, current_user)
        flash(_("Consentimiento registrado."), "info")
    else:
        revoked = revoke_consent(participant, kind, current_user)
        if revoked is None:
            flash(_("No había un consentimiento vigente de ese tipo."), "error")
            return redirect(url_for("participants.show", participant_id=participant.id))
        consent = revoked
        flash(_("Consentimiento revocado."), "info")
    audit_participant(
        f"consent.{form.action.data}",
        participant,
        detail={"kind": kind},
        object_type="consent",
        object_id=consent.id,
    )
    db.session.commit()
    return redirect(url_for("participants.show", participant_id=participant.id))
