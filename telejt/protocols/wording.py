"""Rules for protocol texts that reach a participant's phone by SMS."""

from __future__ import annotations

import math
import re
import unicodedata

#: words an SMS must never contain: they would reveal the court or a substance to
#: whoever sees the phone, and carriers filter them (singular and plural forms)
FORBIDDEN_WORDS: frozenset[str] = frozenset(
    {
        "juez",
        "jueces",
        "jueza",
        "juezas",
        "juzgado",
        "juzgados",
        "tribunal",
        "tribunales",
        "corte",
        "cortes",
        "court",
        "courts",
        "judge",
        "judges",
        "droga",
        "drogas",
        "drug",
        "drugs",
    }
)

#: the most SMS segments one question may take
MAX_SEGMENTS = 2

# GSM 03.38 default alphabet; any other character makes the whole SMS UCS-2.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# These take an escape septet too, so they count twice.
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

_WORD = re.compile(r"\w+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def forbidden_words_in(text: str) -> list[str]:
    """The forbidden words a text contains, ignoring case and accents (``Juéz`` is ``juez``)."""
    found = [word for word in _WORD.findall(_fold(text)) if word in FORBIDDEN_WORDS]
    return sorted(set(found))


def sms_segments(text: str) -> int:
    """How many SMS segments a text takes (GSM-7: 160, then 153 each; UCS-2: 70, then 67)."""
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in text):
        septets = sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)
