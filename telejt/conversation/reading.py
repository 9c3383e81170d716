"""What one reply says, read with the lexicon and never guessed.

:func:`read_reply` reads a reply once into every meaning it could carry (a
command, a confirmation, a yes or no, risk words); the conversation engine then
decides which open prompt it answers. The answers to one question are read by
:func:`question_value` ("7", "siete", "nada" where the question offers "0=nada").
Whatever is not clear is None: the caller asks again or keeps it for the team.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telejt.conversation.lexicon import Phrase, Phrases, lexicon
from telejt.conversation.normalize import normalize, phonetic
from telejt.protocols.model import Question

STRONG = "strong"
WEAK = "weak"


def _starts(words: tuple[str, ...], phrase: Phrase) -> bool:
    return words[: len(phrase)] == phrase


def _contains(words: tuple[str, ...], phrase: Phrase) -> bool:
    size = len(phrase)
    return any(words[i : i + size] == phrase for i in range(len(words) - size + 1))


def _without_filler(words: tuple[str, ...]) -> tuple[str, ...]:
    filler = lexicon().filler
    kept = tuple(word for word in words if word not in filler)
    return kept or words


def _says(words: tuple[str, ...], phrase: Phrase) -> bool:
    """The phrase appears and is not denied by the word before it ("no confirmo")."""
    size = len(phrase)
    negations = lexicon().negations
    return any(
        words[i : i + size] == phrase and (i == 0 or words[i - 1] not in negations)
        for i in range(len(words) - size + 1)
    )


def matches(words: tuple[str, ...], phrases: Phrases) -> bool:
    """Whether the words say one of the phrases, each in its own way of matching."""
    if not words:
        return False
    core = _without_filler(words)
    return (
        any(_starts(words, p) for p in phrases.start)
        or any(_says(words, p) for p in phrases.anywhere)
        or core in phrases.exact
        or words in phrases.exact
    )


def risk_phrases_in(text: str) -> list[str]:
    """The risk phrases a text contains (spelling folded: "kiero morir" is "quiero morir")."""
    words = tuple(phonetic(normalize(text)).split())
    found = []
    for phrase in lexicon().risk:
        size = len(phrase)
        for i in range(len(words) - size + 1):
            window = words[i : i + size]
            head, last = phrase[:-1], phrase[-1]
            if window[:-1] != head:
                continue
            if (last.endswith("*") and window[-1].startswith(last[:-1])) or window[-1] == last:
                found.append(" ".join(phrase))
                break
    return sorted(set(found))


@dataclass(frozen=True)
class Reading:
    """Every meaning one reply could carry; the engine picks among them by the open prompts."""

    words: tuple[str, ...]
    #: stop, start, help or cancel: acts whatever was asked
    command: str | None
    #: "strong" when he says outright he will (not) come, "weak" for a short yes (no)
    confirm: str | None
    decline: str | None
    #: a yes or a no to a question; None when unclear ("no sé", "sí y no")
    yes_no: str | None
    #: a plain "ok, gracias" that answers nothing and needs no answer
    is_acknowledgement: bool
    #: "no sé", "tal vez": never read as a yes or a no
    is_unsure: bool
    #: risk phrases found: a person must read it now
    risk: tuple[str, ...]

    @property
    def attendance(self) -> tuple[str, str] | None:
        """("confirm" or "decline", strength) for a session; None if it is not clear."""
        if self.is_unsure:
            return None
        if self.confirm == STRONG and self.decline == STRONG:
            return None  # "sí voy… no puedo": he has to say
        if self.decline == STRONG:
            return ("decline", STRONG)
        if self.confirm == STRONG:
            return ("confirm", STRONG)
        if self.confirm == WEAK and self.decline == WEAK:
            return None
        if self.confirm == WEAK:
            return ("confirm", WEAK)
        if self.decline == WEAK:
            return ("decline", WEAK)
        return None


def _command(words: tuple[str, ...]) -> str | None:
    found = lexicon()
    for command in ("stop", "start", "help", "cancel"):
        if matches(words, found.of(command)):
            return command
    return None


def _is_unsure(words: tuple[str, ...]) -> bool:
    return any(_contains(words, phrase) for phrase in lexicon().of("unsure").anywhere)


def _later_opposite(words: tuple[str, ...], phrases: Phrases) -> bool:
    """Whether a one-word answer of the other kind follows the first word ("sí… no", "1 o 2")."""
    return any((word,) in phrases.start for word in words[1:])


def _grade(words: tuple[str, ...], meaning: str, opposite: str) -> str | None:
    grades = lexicon().graded.get(meaning, {})
    if STRONG in grades and matches(words, grades[STRONG]):
        return STRONG
    if WEAK in grades and matches(words, grades[WEAK]):
        other = lexicon().graded.get(opposite, {}).get(WEAK)
        if other is not None and _later_opposite(words, other):
            return None
        return WEAK
    return None


def _yes_no(words: tuple[str, ...]) -> str | None:
    found = lexicon()
    if _is_unsure(words):
        return None
    said_yes = matches(words, found.of("yes"))
    said_no = matches(words, found.of("no"))
    if said_yes == said_no:
        return None
    answer = "yes" if said_yes else "no"
    # "sí… no" or "1 o 2": a second, opposite one-word answer later makes it unclear
    if _later_opposite(words, found.of("no" if said_yes else "yes")):
        return None
    return answer


def read_reply(body: str) -> Reading:
    """Read a reply into every meaning it could carry."""
    words = tuple(normalize(body).split())
    found = lexicon()
    return Reading(
        words=words,
        command=_command(words),
        confirm=_grade(words, "confirm", "decline"),
        decline=_grade(words, "decline", "confirm"),
        yes_no=_yes_no(words),
        is_acknowledgement=_without_filler(words) in found.of("acknowledgement").exact
        or words in found.of("acknowledgement").exact,
        is_unsure=_is_unsure(words),
        risk=tuple(risk_phrases_in(body)),
    )


# ---- answers to one check-in question ---------------------------------------------------------

#: "7/10", "7 de 10", "7 sobre 10", "7 of 10", "7 out of 10": the number before the scale's top
_OUT_OF = r"(\d{1,3})\s*(?:/|de|sobre|of|out of)\s*{high}\b"
#: a minus sign before a number
_NEGATIVE = re.compile(r"(?<![\w])-\s*\d")
#: "0=nada 10=mucho": the words a question gives its numbers
_ANCHOR = re.compile(r"(\d{1,3})\s*=\s*([^\d=]+)")


def scale_anchors(question: Question) -> dict[tuple[str, ...], int]:
    """The words the question itself gives its numbers, in both languages."""
    anchors: dict[tuple[str, ...], int] = {}
    for text in (question.text.es, question.text.en):
        for number, words in _ANCHOR.findall(text):
            phrase = tuple(normalize(words).split())
            if phrase:
                anchors[phrase] = int(number)
    return anchors


def _scale_value(question: Question, body: str) -> str | None:
    if question.range is None:
        return None
    low, high = question.range
    raw = (body or "").lower()
    if _NEGATIVE.search(raw):
        return None  # "-1": not on the scale, and not a guess
    raw = re.sub(_OUT_OF.replace("{high}", str(high)), r"\1", raw)
    words = tuple(normalize(raw).split())
    found = lexicon()
    values: set[int] = set()
    for word in words:
        if word.isdigit():
            values.add(int(word))
        elif word in found.numbers and word not in ("un", "una"):
            values.add(found.numbers[word])
    for phrase, number in scale_anchors(question).items():
        size = len(phrase)
        for i in range(len(words) - size + 1):
            if words[i : i + size] == phrase:
                if i > 0 and words[i - 1] in found.negations:
                    return None  # "no mucho": not "mucho", and not a number either
                values.add(number)
    if len(values) != 1:
        return None
    (value,) = values
    return str(value) if low <= value <= high else None


def _choice_value(question: Question, body: str) -> str | None:
    words = tuple(normalize(body).split())
    if not words:
        return None
    matched = set()
    for code, text in question.choices:
        for label in (code, text.es, text.en):
            phrase = tuple(normalize(label).split())
            if phrase and (_without_filler(words) == phrase or _starts(words, phrase)):
                matched.add(code)
    return matched.pop() if len(matched) == 1 else None


def question_value(question: Question, body: str) -> str | None:
    """A reply as the question's normalized value ("yes", "7", a choice code), or None."""
    if question.type == "yesno":
        return read_reply(body).yes_no
    if question.type == "scale":
        return _scale_value(question, body)
    return _choice_value(question, body)


def option_number(body: str, count: int) -> int | None:
    """The option (1…count) a reply to "answer 1 for …, 2 for …" picks; None if unclear."""
    words = tuple(normalize(body).split())
    numbers = lexicon().numbers
    picked = {
        int(word) if word.isdigit() else numbers[word]
        for word in _without_filler(words)
        if word.isdigit() or (word in numbers and word not in ("un", "una"))
    }
    if len(picked) != 1:
        return None
    (number,) = picked
    return number if 1 <= number <= count else None
