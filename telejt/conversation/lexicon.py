"""The reply lexicons (``lexicon/*.yaml``): what people write, by meaning, kept as data.

Loaded once and checked at load: an unknown key, a phrase that is not text, or a
phrase that means two opposite things is an error naming the file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from telejt.conversation.normalize import normalize, phonetic

#: the lexicon files, one per locale (both are read for every participant)
LOCALE_FILES = ("es_MX.yaml", "en.yaml")
RISK_FILE = "risk.yaml"
#: meanings that are read as phrases in one or more match modes
PHRASE_MEANINGS = ("stop", "start", "help", "cancel", "yes", "no", "unsure", "acknowledgement")
GRADED_MEANINGS = ("confirm", "decline")
MATCH_MODES = ("start", "anywhere", "exact")
#: meanings that must never share a phrase
OPPOSITES = (("confirm", "decline"), ("yes", "no"), ("stop", "start"))

Phrase = tuple[str, ...]


class LexiconError(ValueError):
    """A lexicon file that cannot be used."""


@dataclass(frozen=True)
class Phrases:
    """The phrases of one meaning, by how they match (each a tuple of normalized words)."""

    start: frozenset[Phrase] = frozenset()
    anywhere: frozenset[Phrase] = frozenset()
    exact: frozenset[Phrase] = frozenset()

    def merged(self, other: Phrases) -> Phrases:
        """Both sets of phrases."""
        return Phrases(
            self.start | other.start, self.anywhere | other.anywhere, self.exact | other.exact
        )

    def all(self) -> frozenset[Phrase]:
        """Every phrase, whatever its mode."""
        return self.start | self.anywhere | self.exact


@dataclass(frozen=True)
class Lexicon:
    """Every locale's lexicon merged: what telejt reads replies with."""

    phrases: dict[str, Phrases] = field(default_factory=dict)
    #: "strong" (says what he means outright) and "weak" (a short yes or no) phrases
    graded: dict[str, dict[str, Phrases]] = field(default_factory=dict)
    filler: frozenset[str] = frozenset()
    numbers: dict[str, int] = field(default_factory=dict)
    negations: frozenset[str] = frozenset()
    #: risk phrases, folded with :func:`phonetic`; a last word ending in "*" is a prefix
    risk: tuple[Phrase, ...] = ()

    def of(self, meaning: str) -> Phrases:
        """The phrases of a meaning (empty when the lexicons have none)."""
        return self.phrases.get(meaning, Phrases())


def _read(name: str) -> dict[str, Any]:
    text = resources.files("telejt.conversation").joinpath("lexicon", name).read_text("utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise LexiconError(f"{name}: not a mapping of meanings")
    return data


def _phrase_list(name: str, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str | int) for item in value):
        raise LexiconError(f"{name}: {where}: a list of phrases")
    return [str(item) for item in value]


def _phrases(name: str, where: str, value: Any) -> Phrases:
    if not isinstance(value, dict) or not set(value) <= set(MATCH_MODES):
        raise LexiconError(f"{name}: {where}: modes are {', '.join(MATCH_MODES)}")
    built: dict[str, frozenset[Phrase]] = {}
    for mode in MATCH_MODES:
        words = [
            tuple(normalize(p).split()) for p in _phrase_list(name, where, value.get(mode, []))
        ]
        if any(not phrase for phrase in words):
            raise LexiconError(f"{name}: {where}.{mode}: an empty phrase")
        built[mode] = frozenset(words)
    return Phrases(**built)


def _locale_lexicon(name: str) -> Lexicon:
    data = _read(name)
    known = set(PHRASE_MEANINGS) | set(GRADED_MEANINGS) | {"filler", "numbers", "negations"}
    unknown = set(data) - known
    if unknown:
        raise LexiconError(f"{name}: unknown meanings {sorted(unknown)}")
    phrases = {m: _phrases(name, m, data[m]) for m in PHRASE_MEANINGS if m in data}
    graded: dict[str, dict[str, Phrases]] = {}
    for meaning in GRADED_MEANINGS:
        grades = data.get(meaning) or {}
        if not isinstance(grades, dict) or not set(grades) <= {"strong", "weak"}:
            raise LexiconError(f"{name}: {meaning}: grades are strong and weak")
        graded[meaning] = {g: _phrases(name, f"{meaning}.{g}", grades.get(g, {})) for g in grades}
    numbers = data.get("numbers") or {}
    if not isinstance(numbers, dict) or not all(isinstance(v, int) for v in numbers.values()):
        raise LexiconError(f"{name}: numbers: word: number")
    return Lexicon(
        phrases=phrases,
        graded=graded,
        filler=frozenset(normalize(w) for w in _phrase_list(name, "filler", data.get("filler"))),
        numbers={normalize(str(word)): value for word, value in numbers.items()},
        negations=frozenset(
            normalize(w) for w in _phrase_list(name, "negations", data.get("negations"))
        ),
    )


def _merge(lexicons: list[Lexicon]) -> Lexicon:
    phrases: dict[str, Phrases] = {}
    graded: dict[str, dict[str, Phrases]] = {}
    for lexicon in lexicons:
        for meaning, found in lexicon.phrases.items():
            phrases[meaning] = phrases.get(meaning, Phrases()).merged(found)
        for meaning, grades in lexicon.graded.items():
            for grade, found in grades.items():
                mine = graded.setdefault(meaning, {})
                mine[grade] = mine.get(grade, Phrases()).merged(found)
    return Lexicon(
        phrases=phrases,
        graded=graded,
        filler=frozenset().union(*(lexicon.filler for lexicon in lexicons)),
        numbers={k: v for lexicon in lexicons for k, v in lexicon.numbers.items()},
        negations=frozenset().union(*(lexicon.negations for lexicon in lexicons)),
    )


def _all_phrases(lexicon: Lexicon, meaning: str) -> frozenset[Phrase]:
    if meaning in lexicon.graded:
        return frozenset().union(*(p.all() for p in lexicon.graded[meaning].values()))
    return lexicon.of(meaning).all()


def _risk_phrases() -> tuple[Phrase, ...]:
    data = _read(RISK_FILE)
    phrases: list[Phrase] = []
    for language, items in data.items():
        for item in _phrase_list(RISK_FILE, str(language), items):
            prefix = item.rstrip().endswith("*")
            words = phonetic(normalize(item.rstrip().rstrip("*"))).split()
            if not words:
                raise LexiconError(f"{RISK_FILE}: {language}: an empty phrase")
            if prefix:
                words[-1] += "*"
            phrases.append(tuple(words))
    return tuple(phrases)


@functools.cache
def lexicon() -> Lexicon:
    """The merged lexicon of every locale plus the risk phrases, loaded and checked once."""
    merged = _merge([_locale_lexicon(name) for name in LOCALE_FILES])
    for first, second in OPPOSITES:
        both = _all_phrases(merged, first) & _all_phrases(merged, second)
        if both:
            words = sorted(" ".join(phrase) for phrase in both)
            raise LexiconError(f"phrases that mean both {first} and {second}: {words}")
    return Lexicon(
        phrases=merged.phrases,
        graded=merged.graded,
        filler=merged.filler,
        numbers=merged.numbers,
        negations=merged.negations,
        risk=_risk_phrases(),
    )


def reserved_words() -> frozenset[str]:
    """Words that always act as a command (stop, start, help, cancel): no answer code may be one."""
    found = lexicon()
    return frozenset(
        " ".join(phrase)
        for meaning in ("stop", "start", "help", "cancel")
        for phrase in found.of(meaning).start | found.of(meaning).exact
    )
