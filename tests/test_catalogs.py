"""The catalogs are complete: every string of the code is in es_MX and en, none fuzzy."""

from __future__ import annotations

from babel.messages.pofile import read_po

from telejt.catalogs import LOCALES, catalog_path, extract


def _ids(catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings)


def test_catalogs_are_current_and_complete(tmp_path) -> None:
    template = tmp_path / "messages.pot"
    extract(template)
    with template.open("rb") as handle:
        wanted = _ids(read_po(handle))
    assert wanted, "no translatable strings found: is babel.cfg right?"
    for locale in LOCALES:
        with catalog_path(locale).open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        have = _ids(catalog)
        missing = sorted(wanted - have)
        assert not missing, f"{locale}: run `make translations`; missing {missing[:5]}"
        fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
        assert not fuzzy, f"{locale}: fuzzy entries {fuzzy[:5]}"
        untranslated = sorted(
            m.id if isinstance(m.id, str) else m.id[0]
            for m in catalog
            if m.id and m.id in wanted and not _translated(m)
        )
        assert not untranslated, f"{locale}: untranslated {untranslated[:5]}"


def test_english_is_served_to_an_english_participant(app_ctx) -> None:
    from flask_babel import gettext

    from telejt.i18n import participant_locale

    with participant_locale("en"):
        english = gettext("Hay horarios repetidos.")
    with participant_locale("es_MX"):
        spanish = gettext("Hay horarios repetidos.")
    assert spanish == "Hay horarios repetidos."
    assert english != spanish


def test_no_gettext_call_hides_inside_an_f_string() -> None:
    """Babel on Python 3.11 does not look inside f-strings: ``f"{_('Texto')} …"`` would
    never reach a catalog, and an English participant would read Spanish."""
    import ast
    from pathlib import Path

    import telejt

    names = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext"}
    found = []
    for path in Path(telejt.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.JoinedStr):
                continue
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Name)
                    and inner.func.id in names
                ):
                    found.append(f"{path.name}:{inner.lineno}")
    assert found == []
