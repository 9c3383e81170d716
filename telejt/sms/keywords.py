"""SMS keywords (DESIGN.md "SMS keywords") and the normal form replies are compared in.

People write "Sí", " si. ", "SI!!", "sí 👍" or "1": case, accents, spaces,
punctuation and emoji are dropped before a reply is compared, so all of those
read as the same word.
"""

from __future__ import annotations

import unicodedata

CONFIRM = "confirm"
DECLINE = "decline"
HELP = "help"
STOP = "stop"
START = "start"

#: normalized word → meaning, Spanish and English
KEYWORDS: dict[str, str] = {
    "1": CONFIRM,
    "si": CONFIRM,
    "yes": CONFIRM,
    "2": DECLINE,
    "no": DECLINE,
    "ayuda": HELP,
    "help": HELP,
    "baja": STOP,
    "alto": STOP,
    "cancelar": STOP,
    "stop": STOP,
    "unsubscribe": STOP,
    "alta": START,
    "start": START,
}
#: meanings that apply whatever the conversation (never read as an answer to a question)
COMMANDS = (HELP, STOP, START)


def normalize_reply(body: str) -> str:
    """Lower case, accents dropped, only letters and digits kept: " Sí 👍!" → "si"."""
    decomposed = unicodedata.normalize("NFKD", body or "")
    kept = (
        char.lower()
        for char in decomposed
        if not unicodedata.combining(char) and char.isascii() and char.isalnum()
    )
    return "".join(kept)


def keyword_meaning(body: str) -> str | None:
    """The keyword a reply is, or None for any other text."""
    return KEYWORDS.get(normalize_reply(body))


def yes_no(body: str) -> str | None:
    """A reply to a yes/no question as "yes" or "no" (None if it is neither)."""
    meaning = keyword_meaning(body)
    if meaning == CONFIRM:
        return "yes"
    if meaning == DECLINE:
        return "no"
    return None
