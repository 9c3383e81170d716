"""Session pages: the participant's link, the therapist's console and day, the calendar feed."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from telejt.audit.services import record_access
from telejt.auth.access import roles_required
from telejt.clock import now
from telejt.dashboard.crisis import open_crisis_alerts
from telejt.errors import Conflict, InvalidInput
from telejt.extensions import csrf, db
from telejt.i18n import local_datetime, local_time, participant_locale
from telejt.planning.models import Contact
from telejt.planning.outcomes import awaiting_outcome, is_outcome_pending, reported_status
from telejt.reports.formatting import template_helpers, viewer_zone, zone_city, zone_label
from telejt.reports.labels import ATTRIBUTION_LABELS, CONTACT_STATUS_LABELS, OUTCOME_LABELS
from telejt.sessions import ical, services, waiting
from telejt.sessions.ical import own_sessions
from telejt.sessions.ice import ice_servers
from telejt.sessions.signaling import register_room_handlers
from telejt.sms.render import national_phone
from telejt.sockets.gate import grant_room_pass

bp = Blueprint("sessions", __name__, template_folder="templates")
# the /room namespace comes with the blueprint, on the Socket.IO server of each app
bp.record_once(lambda state: register_room_handlers())

STATE_LABELS = {
    "absent": _l("No ha entrado"),
    "waiting": _l("En sala de espera"),
    "admitted": _l("En la sesión"),
    "left": _l("Salió"),
}
EVENT_LABELS = {
    "join": _l("entró"),
    "leave": _l("salió"),
    "reconnect": _l("volvió a entrar"),
    "admit": _l("admitió al participante"),
    "phone_switch": _l("cambió la sesión a teléfono"),
    "nudge": _l("se le reenvió el enlace por SMS"),
    "trouble": _l("tuvo una falla"),
}
ACTOR_LABELS = {
    "participant": _l("Participante"),
    "therapist": _l("Terapeuta"),
    "system": _l("Sistema"),
}
#: the page a participant sees for each refusal, and its HTTP status (too early is no
#: error: the link works, later)
LINK_REFUSALS = {
    "unknown": 404,
    "too_early": 200,
    "ended": 410,
    "closed": 410,
    "cancelled": 410,
}


def _private(response: Response) -> Response:
    """The link is a secret: no caching, no referrer, no indexing."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/s/<token>")
def participant_page(token: str) -> Response:
    """The participant's session page: waiting room and video. Fetching it records nothing."""
    check = services.check_link(token)
    contact = check.contact
    participant = contact.participant if contact is not None else None
    locale = participant.locale if participant else current_app.config["TELEJT_DEFAULT_LOCALE"]
    with participant_locale(locale):
        line = waiting.help_line(participant) if participant is not None else None
        if check.verdict in LINK_REFUSALS:
            opens = None
            reload_in = None
            if check.verdict == "too_early" and contact is not None and participant is not None:
                opens_at = services.link_opens_at(contact)
                opens = local_datetime(opens_at, participant.timezone, participant.locale)
                reload_in = int((opens_at - now()).total_seconds()) + 1
            body = render_template(
                "sessions/link_refused.html",
                verdict=check.verdict,
                opens=opens,
                reload_in=reload_in,
                line=line,
                locale=locale,
            )
            return _private(_gzipped(make_response(body, LINK_REFUSALS[check.verdict])))
        assert contact is not None and participant is not None and line is not None
        body = render_template(
            "sessions/participant.html",
            contact=contact,
            verdict=check.verdict,
            when=local_datetime(contact.starts_at, participant.timezone, participant.locale),
            config=waiting.room_config(
                contact, token, ice_servers(f"participant-{participant.id}")
            ),
            line=line,
            words=waiting.participant_words(line),
            locale=locale,
        )
    grant_room_pass(contact.id, contact.ends_at)  # his browser may open the /room socket
    return _private(_gzipped(make_response(body, 200)))


def _gzipped(response: Response) -> Response:
    """His page gzipped when his browser takes it: it carries its scripts (about 75 kB).

    No BREACH-style guessing of its secrets: nothing in the page comes from the request
    but the link's token, which whoever makes his browser ask for it already has.
    """
    response.vary.add("Accept-Encoding")
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(gzip.compress(response.get_data(), compresslevel=6))
        response.headers["Content-Encoding"] = "gzip"
    return response


@bp.post("/s/<token>/trouble")
@csrf.exempt  # the link's token is the credential; his page may have no session cookie
def participant_trouble(token: str) -> Response:
    """His page reports what failed when its room connection cannot carry it (no connection)."""
    check = services.check_link(token)
    if not check.may_join or check.contact is None:
        return _private(make_response("", 404))
    data = request.get_json(silent=True) or request.form
    waiting.report_trouble(check.contact, str(data.get("what", ""))[:20])
    db.session.commit()
    return _private(make_response("", 204))


def _console_contact_or_404(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None or not services.may_open_console(current_user, contact):
        abort(404)
    return contact


@bp.get("/sessions/<int:contact_id>")
@login_required
def console(contact_id: int) -> str:
    """The therapist's session console: waiting room, video, phone fallback, evidence, outcome."""
    contact = _console_contact_or_404(contact_id)
    record_access(
        current_user.id,
        "session.console",
        "contact",
        contact.id,
        participant_id=contact.participant_id,
    )
    db.session.commit()
    return _render_console(contact)


def _render_console(contact: Contact, typed: dict[str, Any] | None = None) -> str:
    """The console page; ``typed``: what the form held when a save was refused, kept."""
    participant = contact.participant
    events = services.presence_events(contact)
    runs_video = services.may_run_session(current_user, contact)
    rule = services.session_rule(contact)
    nudge_at = (
        contact.starts_at + timedelta(minutes=rule.nudge_after_min)
        if rule is not None and rule.nudge_after_min is not None
        else None
    )
    config = {
        "role": "therapist",
        "contactId": contact.id,
        "iceServers": ice_servers(f"staff-{current_user.id}"),
        "timeouts": dict(waiting.ROOM_TIMEOUTS),
    }
    first_join = services.first_join_at(contact)
    return render_template(
        "sessions/console.html",
        contact=contact,
        participant=participant,
        events=events,
        state=services.presence_state(contact),
        late=services.joined_late(contact),
        suggested_outcome=services.default_outcome(contact) if first_join else None,
        outcome_pending=is_outcome_pending(contact, now()),
        first_join=first_join,
        checks=services.identity_checks(contact),
        runs_video=runs_video,
        call_prompt=nudge_at is not None
        and now() >= nudge_at
        and first_join is None
        and contact.is_open,
        config=config,
        typed=typed or {},
        callback_display=national_phone(participant.phone) or participant.phone,
        trouble_words=waiting.trouble_words(),
        when=_staff_when,
        his_when=_his_when,
        outcome_labels=OUTCOME_LABELS,
        status_labels=CONTACT_STATUS_LABELS,
        attribution_labels=ATTRIBUTION_LABELS,
        state_labels=STATE_LABELS,
        event_labels=EVENT_LABELS,
        actor_labels=ACTOR_LABELS,
    )


def _staff_when(moment: datetime, zone: str) -> str:
    """An instant in the therapist's zone (else the participant's ``zone``), labelled."""
    shown = viewer_zone(zone)
    return f"{local_datetime(moment, shown, _locale_code())} ({zone_label(shown)})"


def _his_when(moment: datetime, zone: str) -> str:
    """The same instant on the participant's clock, when his zone is not the therapist's."""
    if viewer_zone(zone) == zone:
        return ""
    return f"{local_datetime(moment, zone, _locale_code())} ({zone_label(zone)})"


def _wants_json() -> bool:
    """The console's script saves without reloading (the video must not drop) and asks JSON."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _console_answer(contact: Contact, message: str, ok: bool, **extra: Any) -> Any:
    """JSON for the console's script; without script, the page again (typed text kept)."""
    if _wants_json():
        return jsonify({"ok": ok, "message": message, **extra}), (200 if ok else 422)
    if ok:
        flash(message, "info")
        return redirect(url_for("sessions.console", contact_id=contact.id))
    flash(message, "error")
    return _render_console(contact, typed=request.form.to_dict()), 422


@bp.post("/sessions/<int:contact_id>/identity")
@roles_required("therapist")
def confirm_identity(contact_id: int) -> Any:
    """Record the identity and location check at the start of the session."""
    contact = _console_contact_or_404(contact_id)
    if not services.may_run_session(current_user, contact):
        abort(404)
    try:
        note = services.confirm_identity_and_location(
            contact,
            current_user,
            identity_confirmed=request.form.get("identity_confirmed") == "on",
            location=request.form.get("location", ""),
            private_place=request.form.get("private_place") == "on",
            callback_confirmed=request.form.get("callback_confirmed") == "on",
        )
    except InvalidInput as exc:
        db.session.rollback()
        if "identity_confirmed" in exc.fields:
            message = _("Confirme la identidad del participante antes de registrar.")
            field = "identity_confirmed"
        else:
            message = _("Escriba dónde se encuentra el participante ahora (máximo 300 caracteres).")
            field = "location"
        return _console_answer(contact, message, False, field=field)
    db.session.commit()
    recorded = _(
        "Registrado el %(when)s.", when=_staff_when(note.created_at, contact.participant.timezone)
    )
    return _console_answer(
        contact,
        _("Identidad y ubicación registradas."),
        True,
        check={"when": recorded, "text": " · ".join(note.body.split("\n")[1:])},
    )


@bp.post("/sessions/<int:contact_id>/outcome")
@roles_required("therapist", "coordinator")
def mark_outcome(contact_id: int) -> Any:
    """Mark what became of the session."""
    contact = _console_contact_or_404(contact_id)
    outcome = request.form.get("outcome", "")
    try:
        services.mark_outcome(contact, outcome, current_user, request.form.get("note"))
    except (InvalidInput, Conflict) as exc:
        db.session.rollback()
        if isinstance(exc, services.NotStartedYet):
            message = _(
                "La sesión aún no empieza: solo «Justificada» se puede marcar antes del inicio. "
                "Lo que escribió sigue en el formulario."
            )
        elif "note" in exc.fields:
            message = _("La nota es demasiado larga (máximo 2000 caracteres).")
        elif isinstance(exc, InvalidInput) and "outcome" in exc.fields:
            message = _("Elija un resultado.")
        else:  # cancelled, or not a session
            message = _("Esta sesión no se puede marcar (fue cancelada).")
        return _console_answer(contact, message, False, field="outcome")
    record_access(
        current_user.id,
        "session.outcome",
        "contact",
        contact.id,
        participant_id=contact.participant_id,
        detail={"outcome": outcome},
    )
    db.session.commit()
    label = str(OUTCOME_LABELS[outcome])
    return _console_answer(
        contact,
        _("Resultado registrado: %(label)s.", label=label),
        True,
        marked=label + (f" · {contact.outcome_note}" if contact.outcome_note else ""),
        status=str(CONTACT_STATUS_LABELS.get(contact.status, contact.status)),
    )


@bp.get("/therapist")
@roles_required("therapist")
def therapist_day() -> str:
    """Today's and upcoming sessions of the logged-in therapist's participants."""
    moment = now()
    zone = _staff_zone()
    start_of_day = datetime.combine(moment.astimezone(zone).date(), datetime.min.time(), zone)
    contacts = db.session.scalars(
        own_sessions(current_user)
        .where(
            Contact.status != "cancelled",
            Contact.ends_at >= start_of_day,
            Contact.starts_at <= moment + timedelta(days=7),
        )
        .order_by(Contact.starts_at, Contact.id)
    ).all()
    # over, he joined (or it was by phone), nobody marked it: listed until marked
    pending = db.session.scalars(
        own_sessions(current_user)
        .where(awaiting_outcome(), Contact.ends_at <= moment)
        .order_by(Contact.starts_at, Contact.id)
    ).all()
    crisis_alerts = open_crisis_alerts(current_user)
    pending_rows = [
        {"contact": c, "when": local_datetime(c.starts_at, str(zone), _locale_code())}
        for c in pending
    ]
    rows = [
        {
            "contact": c,
            "when": local_datetime(c.starts_at, str(zone), _locale_code()),
            "time": local_time(c.starts_at, str(zone), _locale_code()),
            "state": services.presence_state(c),
            "status": reported_status(c, moment),
            "today": c.starts_at.astimezone(zone).date() == moment.astimezone(zone).date(),
        }
        for c in contacts
    ]
    page = render_template(
        "sessions/therapist_day.html",
        rows=rows,
        pending_rows=pending_rows,
        state_labels=STATE_LABELS,
        status_labels=CONTACT_STATUS_LABELS,
        trouble_words=waiting.trouble_words(),
        zone=zone_city(str(zone)),
        crisis_alerts=crisis_alerts,
        **template_helpers(),
    )
    # after rendering: the commit expires every loaded row
    record_access(
        current_user.id,
        "therapist.day",
        "staff_user",
        current_user.id,
        detail={
            "contact_ids": [c.id for c in [*contacts, *pending]],
            "participant_ids": sorted({c.participant_id for c in [*contacts, *pending]}),
            "alert_ids": [a.id for a in crisis_alerts],
        },
    )
    db.session.commit()
    return page


def _locale_code() -> str:
    from flask_babel import get_locale

    return "en" if str(get_locale()) == "en" else "es_MX"


def _staff_zone() -> ZoneInfo:
    """The zone the therapist chose for his pages, else his first court's."""
    return ZoneInfo(viewer_zone())


@bp.route("/therapist/calendar", methods=["GET", "POST"])
@roles_required("therapist")
def calendar_settings() -> Any:
    """Create, rotate or revoke the secret address of the therapist's calendar feed."""
    feed_url = None
    if request.method == "POST":
        if request.form.get("action") == "revoke":
            ical.revoke_calendar_secret(current_user)
            record_access(current_user.id, "calendar.revoke", "staff_user", current_user.id)
            db.session.commit()
            flash(_("La dirección del calendario ya no funciona."), "info")
            return redirect(url_for("sessions.calendar_settings"))
        secret = ical.issue_calendar_secret(current_user)
        record_access(current_user.id, "calendar.issue", "staff_user", current_user.id)
        db.session.commit()
        feed_url = f"{current_app.config['TELEJT_PUBLIC_URL']}/calendar/{secret}.ics"
    return render_template(
        "sessions/calendar.html",
        feed_url=feed_url,
        has_feed=current_user.calendar_token_hash is not None,
    )


@bp.get("/calendar/<secret>.ics")
def calendar_feed(secret: str) -> Response:
    """The iCalendar feed (no login: calendar apps cannot log in; the secret is the key)."""
    therapist = ical.therapist_for_calendar_secret(secret)
    if therapist is None:
        abort(404)
    with participant_locale(therapist.locale or current_app.config["TELEJT_DEFAULT_LOCALE"]):
        body = ical.calendar_feed(therapist, _("Sesiones telejt"), _("Sesión telejt"))
    response = make_response(body, 200)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
