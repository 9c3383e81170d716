"""The participant's check-in web form, ``GET|POST /c/<token>``.

No login: the unguessable token of the check-in is the key, and the page shows
nothing but the questions. It speaks the participant's language, whatever the
browser says. An unknown token, a session's token, a check-in not open yet or
past its deadline get a plain page and record nothing.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3
from wtforms.validators import InputRequired

from telejt.checkins.services import (
    answers_by_question,
    checkin_for_token,
    checkin_questions,
    submit_web_answers,
    takes_answers,
)
from telejt.clock import now
from telejt.extensions import db
from telejt.i18n import local_time, participant_locale
from telejt.planning.models import Contact
from telejt.protocols.current import protocol_for
from telejt.protocols.model import Question
from telejt.scheduler.wakeup import wake_dispatcher

bp = Blueprint("checkins", __name__, template_folder="templates")

#: the "1=Sí 2=No" an SMS question ends with: buttons say it on the web
_SMS_CODES = re.compile(r"\s*1\s*=\s*\S+\s+2\s*=\s*\S+\s*$")


def field_name(question: Question) -> str:
    """The form field of a question."""
    return f"q_{question.id}"


def question_label(question: Question, locale: str) -> str:
    """A question's text for the web (without the SMS reply codes of yes/no questions)."""
    text = question.text.for_locale(locale)
    return _SMS_CODES.sub("", text) if question.type == "yesno" else text


def _choices(question: Question, locale: str) -> list[SelectChoice]:
    if question.type == "yesno":
        return [SelectChoice("yes", _("Sí")), SelectChoice("no", _("No"))]
    if question.type == "scale" and question.range is not None:
        low, high = question.range
        return [SelectChoice(str(n), str(n)) for n in range(low, high + 1)]
    return [SelectChoice(code, text.for_locale(locale)) for code, text in question.choices]


def build_form(questions: list[Question], locale: str) -> FlaskForm:
    """A form with one required choice per unanswered question."""

    class CheckinForm(FlaskForm):
        pass

    for question in questions:
        field = RadioField(
            question_label(question, locale),
            choices=_choices(question, locale),
            validators=[InputRequired(message=_("Elige una respuesta."))],
        )
        setattr(CheckinForm, field_name(question), field)
    return CheckinForm()


def _page(template: str, status: int = 200, locale: str = "es_MX", **context: Any) -> Any:
    lang = "en" if locale == "en" else "es-MX"
    return render_template(f"checkins/{template}", lang=lang, **context), status


@bp.route("/c/<token>", methods=["GET", "POST"])
def checkin_form(token: str) -> Any:
    """Answer a check-in on the web: all its open questions at once."""
    contact = checkin_for_token(token)
    if contact is None:
        with participant_locale("es_MX"):
            return _page("closed.html", 404, message=_("Este enlace no es válido."))
    participant = contact.participant
    locale = participant.locale
    with participant_locale(locale):
        if contact.status == "completed":
            return _page(
                "closed.html", 200, locale, message=_("Ya respondiste este reporte. Gracias.")
            )
        if not takes_answers(contact):
            if contact.status in ("scheduled", "confirmed") and now() < contact.starts_at:
                message = _("Este reporte todavía no abre. Vuelve a la hora indicada.")
                return _page("closed.html", 403, locale, message=message)
            return _page("closed.html", 410, locale, message=_("Este reporte ya cerró."))
        answered = answers_by_question(contact)
        open_questions = [q for q in checkin_questions(contact) if q.id not in answered]
        form = build_form(open_questions, locale)
        if form.validate_on_submit():
            locked = db.session.scalar(
                select(Contact)
                .where(Contact.id == contact.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            if locked is None or not takes_answers(locked):
                db.session.rollback()
                return _page("closed.html", 410, locale, message=_("Este reporte ya cerró."))
            values = {q.id: str(form[field_name(q)].data) for q in open_questions}
            outcome = submit_web_answers(locked, values)
            db.session.commit()
            if outcome.crisis:
                wake_dispatcher()
            line = protocol_for(participant.protocol_id, participant.protocol_version).crisis_line
            return _page(
                "done.html",
                200,
                locale,
                crisis=outcome.crisis,
                crisis_name=line.name.for_locale(locale),
                crisis_phone=line.phone,
            )
        deadline = local_time(contact.deadline_at, participant.timezone, locale)
        fields = [form[field_name(q)] for q in open_questions]
        status = 400 if form.is_submitted() else 200
        return _page("form.html", status, locale, form=form, fields=fields, deadline=deadline)
