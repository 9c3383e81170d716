"""Babel catalogs: extract, update and compile (wrapping pybabel).

Spanish is the source language: message ids are Spanish, so ``update`` fills an
empty es_MX entry with its id and leaves the English ones for a translator.
"""

from __future__ import annotations

from contextlib import chdir
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

from telejt.config import PROJECT_ROOT

LOCALES = ("es_MX", "en")
SOURCE_LOCALE = "es_MX"
TRANSLATIONS = PROJECT_ROOT / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
KEYWORDS = ("_", "_l", "gettext", "lazy_gettext", "ngettext:1,2", "lazy_ngettext:1,2")


def _pybabel(*args: str) -> None:
    # Babel's command line has no annotations
    CommandLineInterface().run(["pybabel", "-q", *args])  # type: ignore[no-untyped-call]


def catalog_path(locale: str) -> Path:
    """The .po file of a locale."""
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def extract(output: Path = TEMPLATE) -> None:
    """Extract every translatable string of the package into the template."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    with chdir(PROJECT_ROOT):  # relative source paths in the catalogs, wherever the checkout is
        _pybabel(
            "extract",
            "--sort-by-file",
            "--no-wrap",
            "--project=telejt",
            "-F",
            "babel.cfg",
            *keywords,
            "-o",
            str(output),
            "telejt",
        )


def update() -> None:
    """Merge the template into each locale's catalog (creating it the first time)."""
    for locale in LOCALES:
        command = "update" if catalog_path(locale).exists() else "init"
        _pybabel(command, "--no-wrap", "-i", str(TEMPLATE), "-d", str(TRANSLATIONS), "-l", locale)
    _fill_source_catalog()


def _fill_source_catalog() -> None:
    path = catalog_path(SOURCE_LOCALE)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=SOURCE_LOCALE)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            # every plural form the locale has (Spanish in CLDR has three): the singular
            # id for the first, the plural id for the others
            singular, plural = message.id[0], message.id[1]
            forms = list(message.string) if isinstance(message.string, tuple) else []
            forms += [""] * (catalog.num_plurals - len(forms))
            if message.fuzzy or not all(forms):
                message.string = tuple(
                    singular if index == 0 else plural for index in range(catalog.num_plurals)
                )
                message.flags.discard("fuzzy")
        elif message.fuzzy or not message.string:
            message.string = message.id
            message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, sort_by_file=True)


def compile_catalogs() -> None:
    """Compile every catalog to its .mo file."""
    _pybabel("compile", "-d", str(TRANSLATIONS))
