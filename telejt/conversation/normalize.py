"""The normal form replies and lexicon phrases are compared in.

People write "Sí", " si. ", "SIIII!!", "sí 👍🏽" or "Si, ahí estaré": lower case, no
accents, no punctuation, every run of one letter as a single letter ("siii" →
"si", but digits stay as written: "100" is not "10"), and each emoji a word of its
own with its skin tone and variation marks dropped. Lexicon phrases go through the
same function, so both sides always agree.
"""

from __future__ import annotations

import re
import unicodedata

_REPEATED_LETTER = re.compile(r"([a-z])\1+")
#: an apostrophe inside a word is dropped, not a space: "can't" → "cant", "i'll" → "ill"
_APOSTROPHES = re.compile(r"(?<=\w)['’](?=\w)")


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So"


def normalize(text: str) -> str:
    """Lower case, no accents or punctuation, repeated letters once, emoji as words."""
    decomposed = unicodedata.normalize("NFKD", _APOSTROPHES.sub("", text or ""))
    kept: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        if char.isascii() and char.isalnum():
            kept.append(char.lower())
        elif _is_emoji(char):
            kept.append(f" {char} ")
        else:
            kept.append(" ")
    return _REPEATED_LETTER.sub(r"\1", " ".join("".join(kept).split()))


#: Spanish spelling that sounds alike, folded to one letter (risk screening only):
#: "kiero", "qiero" and "quiero"; "suisidio" and "suicidio"; "bida" and "vida"
_PHONETIC = (
    (re.compile(r"qu(?=[ei])"), "k"),
    (re.compile(r"q"), "k"),
    (re.compile(r"c(?=[ei])"), "s"),
    (re.compile(r"ch"), "x"),
    (re.compile(r"c"), "k"),
    (re.compile(r"z"), "s"),
    (re.compile(r"v"), "b"),
    (re.compile(r"y(?=[aeiou])"), "l"),
    (re.compile(r"(?<![a-z])h|(?<=[aeiou])h"), ""),
)


def phonetic(normalized: str) -> str:
    """A normalized text with sound-alike Spanish spellings folded (then repeats collapsed)."""
    text = normalized
    for pattern, replacement in _PHONETIC:
        text = pattern.sub(replacement, text)
    return _REPEATED_LETTER.sub(r"\1", text)
