"""Twilio webhooks (inbound SMS, delivery status) and the console backend's dev page.

Signatures. Every webhook request is checked first, before anything is read or
written: ``X-Twilio-Signature`` must be Twilio's HMAC of ``TELEJT_PUBLIC_URL`` +
the request path (+ query) and the POSTed fields, made with ``TWILIO_AUTH_TOKEN``.
The public URL, not ``request.url``, because behind a TLS proxy the URL the app
sees is not the one Twilio signed. A bad or missing signature gets 403.

With the console backend there is no auth token and so nothing a signature could
be checked against: the webhooks then refuse every request (403). The console
setup feeds inbound SMS through ``/dev/sms`` instead, which calls the same
inbound service directly, exists only in development and testing, and needs a
coordinator's login.

Both webhooks are exempt from CSRF (Twilio posts no CSRF token; the signature is
the proof of origin) and idempotent: a retried ``MessageSid`` answers 200 and does
nothing again.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from telejt.extensions import csrf, db
from telejt.i18n import lazy_label as _l
from telejt.participants.models import Participant
from telejt.scheduler.wakeup import wake_dispatcher
from telejt.sms.models import InboundMessage, OutboundMessage
from telejt.sms.signals import hand_over_inbound
from telejt.sms.status import record_delivery_status

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__, template_folder="templates")

#: environments in which the dev SMS page exists (with the console backend only)
DEV_PAGE_ENVIRONMENTS = ("development", "testing")
DEV_LOG_SIZE = 200


def signed_url() -> str:
    """The URL Twilio signed: the public base URL plus this request's path and query."""
    url = current_app.config["TELEJT_PUBLIC_URL"].rstrip("/") + request.path
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def has_valid_signature() -> bool:
    """Whether the request carries Twilio's signature made with our auth token."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(signed_url(), request.form, signature))


def _twiml(response: MessagingResponse) -> Response:
    return Response(str(response), status=200, mimetype="text/xml")


@bp.post("/twilio/sms")
@csrf.exempt
def twilio_inbound() -> Response:
    """An SMS from a participant: act on it once, reply through the outbox."""
    if not has_valid_signature():
        log.warning("inbound SMS webhook refused: bad or missing signature")
        abort(403)
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    if not sid:
        abort(400)
    outcome = hand_over_inbound(
        "twilio",
        provider_sid=sid,
        from_phone=request.form.get("From", ""),
        body=request.form.get("Body", ""),
    )
    db.session.commit()
    response = MessagingResponse()
    if outcome.direct_reply:
        response.message(outcome.direct_reply)
    elif not outcome.duplicate:
        wake_dispatcher()
    return _twiml(response)


@bp.post("/twilio/status")
@csrf.exempt
def twilio_status() -> Response:
    """A delivery status callback: statuses only move forward."""
    if not has_valid_signature():
        log.warning("status webhook refused: bad or missing signature")
        abort(403)
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    status = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    if sid:
        record_delivery_status(sid, status, request.form.get("ErrorCode"))
        db.session.commit()
    return Response("", status=200)


# ---- the console backend's dev page ---------------------------------------------------------


class DevInboundForm(FlaskForm):
    """An inbound SMS typed by a developer, as a participant or any number."""

    participant_id = SelectField(_l("Participante"), coerce=int)
    other_phone = StringField(_l("U otro número"), validators=[Optional(), Length(max=30)])
    body = TextAreaField(_l("Mensaje"), validators=[DataRequired(), Length(max=1600)])


def _dev_page_allowed() -> bool:
    return (
        current_app.config["TELEJT_SMS_BACKEND"] == "console"
        and current_app.config.get("TELEJT_ENV") in DEV_PAGE_ENVIRONMENTS
    )


@bp.route("/dev/sms", methods=["GET", "POST"])
def dev_sms() -> Any:
    """The outbound SMS log and a form to reply as a participant (console backend only).

    Even in development it shows every number and text: a coordinator's login only.
    """
    if not _dev_page_allowed():
        abort(404)
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]  # set by Flask-Login
    if current_user.role != "coordinator":
        abort(403)
    participants = db.session.scalars(select(Participant).order_by(Participant.name)).all()
    form = DevInboundForm()
    form.participant_id.choices = [(0, "—")] + [
        (p.id, f"{p.name} · {p.phone}") for p in participants
    ]
    if form.validate_on_submit():
        phone = (form.other_phone.data or "").strip()
        if not phone:
            chosen = db.session.get(Participant, form.participant_id.data)
            phone = chosen.phone if chosen is not None else ""
        if not phone:
            flash(_("Elija un participante o escriba un número."), "error")
        else:
            outcome = hand_over_inbound(
                "dev_page",
                provider_sid="SMdev" + secrets.token_hex(14),
                from_phone=phone,
                body=form.body.data or "",
            )
            db.session.commit()
            if outcome.direct_reply:
                flash(
                    _("Número desconocido; respuesta directa: %(text)s", text=outcome.direct_reply),
                    "info",
                )
            else:
                wake_dispatcher()
                flash(_("Mensaje recibido: %(meaning)s", meaning=outcome.meaning), "info")
            return redirect(url_for("sms.dev_sms"))
    messages = db.session.scalars(
        select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(DEV_LOG_SIZE)
    ).all()
    received = db.session.scalars(
        select(InboundMessage).order_by(InboundMessage.id.desc()).limit(DEV_LOG_SIZE)
    ).all()
    return render_template("sms/dev.html", form=form, messages=messages, received=received)
