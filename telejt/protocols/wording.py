"""Rules for protocol texts that reach a participant's phone by SMS."""

from __future__ import annotations

import math
import re
import unicodedata
from urllib.parse import urlsplit


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: words an SMS must never contain, in Spanish and English (singular and plural
#: forms; compared without accents or case): they would reveal the court, the offence
#: or a substance to whoever sees the phone, and Mexican carriers filter such content
#: (Twilio: content about controlled substances is prohibited outright)
FORBIDDEN_GROUPS: dict[str, frozenset[str]] = {
    "court": _words(
        """
        juez jueces jueza juezas juzgado juzgados tribunal tribunales corte cortes court courts
        judge judges judicial judiciales audiencia audiencias hearing hearings fiscal fiscales
        fiscalia ministerio prosecutor prosecutors defensor defensora defensoria umeca
        probation justicia justice juridico sentencia sentencias carcel prision
        jail prison reclusorio cereso policia police sancion sanciones sanction
        """
    ),
    "offence": _words(
        """
        delito delitos offence offences offense offenses crime crimes crimen criminal penal
        penales procesado imputado imputada acusado acusada defendant arrest arresto
        detenido detenida
        """
    ),
    "substance": _words(
        """
        droga drogas drug drugs narcotico narcoticos narcotic narcotics sustancia sustancias
        substance substances estupefaciente estupefacientes alcohol alcoholico alcoholica
        cerveza beer marihuana mariguana mota marijuana cannabis weed cocaina coca perico
        cocaine crack piedra cristal meth metanfetamina metanfetaminas methamphetamine
        heroina heroin fentanilo fentanyl opioide opioides opioid opioids inhalante
        inhalantes thinner chemo tachas pastillas pills
        consumo consumos consumir consumiste consumes consumido consumes consumio
        """
    ),
    "addiction_treatment": _words(
        """
        adiccion adicciones adicto adicta adictos addiction addictions addict addicts
        rehabilitacion rehab desintoxicacion detox anexo anexos toxicomania abstinencia
        sobriedad sobrio sobria sober sobriety
        """
    ),
}
FORBIDDEN_WORDS: frozenset[str] = frozenset().union(*FORBIDDEN_GROUPS.values())

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
    """The forbidden words a text contains, ignoring case and accents (``Juéz`` is ``juez``).

    Words are split on anything that is not a letter or digit, so a host name
    ("justicia-terapeutica.example.mx") is checked word by word too.
    """
    found = [
        word for word in _WORD.findall(_fold(text).replace("_", " ")) if word in FORBIDDEN_WORDS
    ]
    return sorted(set(found))


def public_url_problem(url: str) -> str | None:
    """Why a public URL must not go in SMS links (its host names the court, a drug…), or None."""
    host = urlsplit(url).hostname or ""
    words = forbidden_words_in(host)
    if not words:
        return None
    quoted = ", ".join(f'"{word}"' for word in words)
    return f"the host name of TELEJT_PUBLIC_URL goes in every SMS link and must not say {quoted}"


def sms_segments(text: str) -> int:
    """How many SMS segments a text takes (GSM-7: 160, then 153 each; UCS-2: 70, then 67)."""
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in text):
        septets = sum(2 if c in _GSM7_EXTENDED else 1 for c in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)
