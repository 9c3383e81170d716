"""Read the check-in questions of a protocol document."""

from __future__ import annotations

import re
from typing import Any

from telejt.conversation.lexicon import reserved_words
from telejt.conversation.normalize import normalize
from telejt.protocols.document import FieldPath
from telejt.protocols.fields import LANGUAGES, Checker, Fields, all_or_none
from telejt.protocols.model import QUESTION_TYPES, LocalizedText, Question
from telejt.protocols.wording import MAX_SEGMENTS, sms_segments

_CODE = re.compile(r"[0-9A-Za-z]{1,10}")

Choices = tuple[tuple[str, LocalizedText], ...]


def read_questions(checker: Checker, path: FieldPath, value: Any) -> tuple[Question, ...] | None:
    """The ``questions`` list: ids unique, each question complete for its type."""
    return _QuestionReader(checker).questions(path, value)


def question_ids_as_written(value: Any) -> set[str] | None:
    """The question ids a ``questions`` list names, valid or not; None if it is no list.

    Check-ins are checked against these, so that a question with some other error
    does not also fail every check-in that asks it.
    """
    if not isinstance(value, list):
        return None
    return {question_id for item in value if (question_id := _field_as_written(item, "id"))}


def _field_as_written(item: Any, key: str) -> str | None:
    """One key's text in a list item; None if the item or its value is not of the right kind."""
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


class _QuestionReader:
    def __init__(self, checker: Checker) -> None:
        self.ck = checker

    def questions(self, path: FieldPath, value: Any) -> tuple[Question, ...] | None:
        items = self.ck.items(path, value)
        if items is None:
            return None
        built = [self.question((*path, index), item) for index, item in enumerate(items)]
        # Ids as written, so that a duplicate shows even next to a question with other errors.
        ids = [_field_as_written(item, "id") for item in items]
        if not self.ck.unique(path, ids, lambda question_id: question_id, "question id", "id"):
            return None
        return all_or_none(built)

    def question(self, path: FieldPath, value: Any) -> Question | None:
        f = self.ck.mapping(
            path,
            value,
            ("id", "text", "type"),
            ("range", "choices", "crisis_if", "share_with_court"),
        )
        if f is None:
            return None
        question_id = f.read("id", self.ck.slug)
        text = f.read("text", self.short_sms_text)
        kind = f.one_of("type", QUESTION_TYPES)
        scale_range = self._only_for(f, kind, "range", "scale", self.scale_range)
        choices = self._only_for(f, kind, "choices", "choice", self.choices)
        crisis_if = None
        if "crisis_if" in f and kind is not None:
            value = f.data["crisis_if"]
            crisis_if = self.crisis_if(f.at("crisis_if"), value, kind, scale_range, choices)
        share = f.boolean("share_with_court", False)
        if question_id is None or text is None or kind is None or share is None:
            return None
        if "crisis_if" in f and crisis_if is None:
            return None
        if (kind == "scale" and scale_range is None) or (kind == "choice" and choices is None):
            return None
        return Question(
            id=question_id,
            text=text,
            type=kind,
            range=scale_range,
            choices=choices or (),
            crisis_if=crisis_if,
            share_with_court=share,
        )

    def short_sms_text(self, path: FieldPath, value: Any) -> LocalizedText | None:
        text = self.ck.sms_text(path, value)
        if text is None:
            return None
        for language in LANGUAGES:
            segments = sms_segments(getattr(text, language))
            if segments > MAX_SEGMENTS:
                message = f"too long: takes {segments} SMS segments (at most {MAX_SEGMENTS})"
                self.ck.fail((*path, language), message)
                return None
        return text

    def _only_for(self, f: Fields, kind: str | None, key: str, wanted: str, reader: Any) -> Any:
        """Read ``key``, which a question of type ``wanted`` needs and no other may have."""
        if kind is None:
            return None
        if kind != wanted:
            if key in f:
                self.ck.fail(f.at(key), f"only a {wanted} question has {key}", at_key=True)
            return None
        if key not in f:
            self.ck.fail(f.at(key), f"required for a {wanted} question")
            return None
        return f.read(key, reader)

    def scale_range(self, path: FieldPath, value: Any) -> tuple[int, int] | None:
        if not isinstance(value, list) or len(value) != 2:
            self.ck.expected(path, "[lowest, highest]", value)
            return None
        low = self.ck.integer((*path, 0), value[0])
        high = self.ck.integer((*path, 1), value[1])
        if low is None or high is None:
            return None
        if low >= high:
            self.ck.fail(path, f"the lowest value must be below the highest, got [{low}, {high}]")
            return None
        return (low, high)

    def choices(self, path: FieldPath, value: Any) -> Choices | None:
        items = self.ck.items(path, value)
        if items is None:
            return None
        if len(items) < 2:
            self.ck.fail(path, "a choice question needs at least two choices")
            return None
        built = [self.choice((*path, index), item) for index, item in enumerate(items)]
        if not self.ck.unique(path, built, lambda c: c[0].upper(), "choice code", "code"):
            return None
        return all_or_none(built)

    def choice(self, path: FieldPath, value: Any) -> tuple[str, LocalizedText] | None:
        f = self.ck.mapping(path, value, ("code", "text"))
        if f is None:
            return None
        # An unquoted code (code: 1) is read as written.
        code = f.read("code", self.ck.scalar_text)
        if "code" in f and (code is None or not _CODE.fullmatch(code)):
            self.ck.fail(f.at("code"), 'expected a short code of letters or digits, e.g. "1"')
            code = None
        elif code is not None and normalize(code) in reserved_words():
            self.ck.fail(f.at("code"), f'"{code}" is an SMS keyword (help, stop, start or cancel)')
            code = None
        text = f.read("text", self.ck.sms_text)
        if code is None or text is None:
            return None
        return (code, text)

    def crisis_if(
        self,
        path: FieldPath,
        value: Any,
        kind: str,
        scale_range: tuple[int, int] | None,
        choices: Choices | None,
    ) -> str | None:
        if kind == "yesno":
            # YAML 1.1 reads an unquoted yes/no as a boolean.
            if isinstance(value, bool):
                return "yes" if value else "no"
            if value in ("yes", "no"):
                return str(value)
            self.ck.expected(path, "yes or no", value)
            return None
        if kind == "scale":
            low, high = scale_range or (None, None)
            number = self.ck.integer(path, value, low, high)
            return None if number is None else str(number)
        code = self.ck.scalar_text(path, value)
        codes = [c for c, _text in choices or ()]
        if code is None or (choices is not None and code not in codes):
            self.ck.expected(path, f"one of the choice codes ({', '.join(codes)})", value)
            return None
        return code
