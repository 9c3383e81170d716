"""Check-in answers in a court's words: the question as asked, the answer as meant.

The stored answer is a normalized code ("yes", "8", a choice's "2") under a question
id ("use"); a court document shows neither code nor id. The question's text is the
protocol's, in the reader's language, without the SMS reply keys ("1=Sí 2=No"),
which only told the participant what to type.
"""

from __future__ import annotations

import re

from flask_babel import gettext

from telejt.checkins.models import CheckinAnswer
from telejt.participants.models import Participant
from telejt.protocols.current import protocol_for
from telejt.protocols.model import Question

#: where the reply keys begin: " 1=Sí", " 0=nada"
_REPLY_KEYS = re.compile(r"\s+\d+\s*=")


def question_for(participant: Participant, question_id: str) -> Question | None:
    """The question of his protocol version, or None if the protocol no longer has it."""
    try:
        return protocol_for(participant.protocol_id, participant.protocol_version).question(
            question_id
        )
    except KeyError:
        return None


def question_words(question: Question | None, question_id: str, locale: str) -> str:
    """The question as asked, without its reply keys (its id if the protocol lost it)."""
    if question is None:
        return question_id
    text = question.text.for_locale(locale)
    cut = _REPLY_KEYS.search(text)
    return (text[: cut.start()] if cut else text).strip()


def answer_words(question: Question | None, value: str, locale: str) -> str:
    """The answer as meant: "Sí"/"No", "8 de 10", a choice's words (the value if unknown)."""
    if question is None:
        return value
    if question.type == "yesno":
        return {"yes": gettext("Sí"), "no": gettext("No")}.get(value, value)
    if question.type == "scale" and question.range is not None:
        return gettext("%(value)s de %(high)s", value=value, high=question.range[1])
    for code, words in question.choices:
        if code == value:
            return words.for_locale(locale)
    return value


def answer_line(participant: Participant, answer: CheckinAnswer, locale: str) -> tuple[str, str]:
    """(question, answer) in words for one stored answer."""
    question = question_for(participant, answer.question_id)
    return (
        question_words(question, answer.question_id, locale),
        answer_words(question, answer.value, locale),
    )
