"""SMS text: GSM-7 versus UCS-2, segment counts, and keeping texts in GSM-7.

GSM-7 has é É ñ Ñ ü Ü ¿ ¡ but not á í ó ú: one "sesión" turns the whole SMS into
UCS-2 (70 characters a segment instead of 160). telejt's own texts are written
through :func:`to_gsm7`, which drops only the accents GSM-7 lacks, so a reminder
costs one or two segments, not three or four.
"""

from __future__ import annotations

import functools
import math
import unicodedata

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: characters sent as an escape plus one, so they count twice
GSM7_EXTENDED = "^{}\\[~]|€\f"
_GSM7 = set(GSM7_BASIC) | set(GSM7_EXTENDED)
_SPACES = {"\u202f": " ", "\u00a0": " ", "\u2009": " ", "\u2007": " "}
_QUOTES = {"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "…": "..."}


def is_gsm7(text: str) -> bool:
    """Whether the text can go as GSM-7."""
    return all(char in _GSM7 for char in text)


def segments(text: str) -> int:
    """How many SMS segments a text takes (1 at least)."""
    if is_gsm7(text):
        length = sum(2 if char in GSM7_EXTENDED else 1 for char in text)
        return 1 if length <= 160 else math.ceil(length / 153)
    units = len(text.encode("utf-16-le")) // 2  # emoji count twice
    return 1 if units <= 70 else math.ceil(units / 67)


def to_gsm7(text: str) -> str:
    """The text in GSM-7: keep é ñ ü ¿ ¡, drop the accents GSM-7 lacks (á→a), fold spaces."""
    return "".join(map(_gsm7_char, text))


@functools.cache
def _gsm7_char(char: str) -> str:
    """One character in GSM-7 (cached: every SMS goes through here, a few hundred distinct)."""
    char = _SPACES.get(char, _QUOTES.get(char, char))
    if char in _GSM7:
        return char
    base = unicodedata.normalize("NFD", char)[0]
    return base if base in _GSM7 else "?"
