"""Password policy for staff accounts: long, and not one that everybody tries first.

NIST SP 800-63B's advice, which is also what a guessing attacker's list tells
us: length matters, composition rules do not, and a password from a list of common
ones (or one of them with digits and signs around it, ``Contraseña2026!``) falls
to the first thousand guesses. The list ships with the project
(``data/common-passwords.txt``): no call leaves the machine to check a password.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"
#: fewer different characters than this is a pattern, not a password ("aaaaaaaaaaaa")
MIN_DISTINCT_CHARACTERS = 5
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower case (read once per process)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _folded(text: str) -> str:
    """Lower case without accents: "Contraseña" and "contrasena" are one guess."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _core(text: str) -> str:
    """The password without the digits and signs people add around a word."""
    return re.sub(r"^[\W\d_]+|[\W\d_]+$", "", text)


def _is_sequence(text: str) -> bool:
    """A run along the digits, the alphabet or the keyboard, either way, wrapping around."""
    if len(text) < 4:
        return False
    return any(text in sequence * 2 or text in sequence[::-1] * 2 for sequence in _SEQUENCES)


def _is_repetition(text: str) -> bool:
    if len(set(text)) < MIN_DISTINCT_CHARACTERS:
        return True
    # one short chunk repeated: "abc123abc123", "holahola hola"
    return re.fullmatch(r"(.{1,6}?)\1+", text.replace(" ", "")) is not None


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why a password is refused, as a short code, or None when it is acceptable.

    Codes: ``too_short``, ``too_long``, ``common``, ``pattern``, ``personal``.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "too_long"
    listed = common_passwords()
    lowered = password.lower()
    folded = _folded(password)
    core = _core(folded)
    if lowered in listed or folded in listed or (len(core) >= 4 and core in listed):
        return "common"
    compact = re.sub(r"[\W_]+", "", folded)
    if _is_repetition(folded) or _is_sequence(compact) or _is_sequence(core):
        return "pattern"
    personal = [_folded(email.split("@", 1)[0])] + [_folded(part) for part in name.split()]
    if any(len(part) >= 4 and part in folded for part in personal):
        return "personal"
    return None
