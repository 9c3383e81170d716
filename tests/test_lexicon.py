"""The reply lexicon and the risk screen: data that reads Mexican replies, checked as data."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from telejt.cli import cli
from telejt.config import ConfigError, load_config
from telejt.conversation.lexicon import lexicon, reserved_words
from telejt.conversation.normalize import normalize, phonetic
from telejt.conversation.reading import read_reply, risk_phrases_in
from telejt.protocols.loader import ProtocolError, load_protocol_file

SHIPPED = Path(__file__).resolve().parent.parent / "protocols" / "remote-outpatient.yaml"


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("Sííí!!", "si"), (" SI. ", "si"), ("👍🏽", "👍"), ("✔️", "✔"), ("can't", "cant"),
        ("Ahí estaré", "ahi estare"), ("100", "100"), ("nooooo", "no"), ("okkk", "ok"),
    ],
)  # fmt: skip
def test_normal_form(text: str, normal: str) -> None:
    assert normalize(text) == normal


def test_spellings_that_sound_alike_fold_together() -> None:
    for a, b in [("quiero", "kiero"), ("suicidio", "suisidio"), ("vida", "bida"),
                 ("ayúdame", "ayudame"), ("hacerme", "acerme")]:  # fmt: skip
        assert phonetic(normalize(a)) == phonetic(normalize(b))


def test_the_lexicons_load_and_never_mean_two_opposite_things() -> None:
    loaded = lexicon()  # raises LexiconError on a phrase in confirm and decline, yes and no…
    assert loaded.risk and loaded.numbers["siete"] == 7 and loaded.numbers["seven"] == 7
    assert {"baja", "alto", "stop", "cancelar", "ayuda", "alta", "start"} <= reserved_words()


@pytest.mark.parametrize(
    "text",
    [
        "ya no quiero vivir", "Me quiero morir", "kiero morirme", "me qiero matar",
        "estoy pensando en suicidarme", "SUISIDIO", "no le veo caso, mejor muerto",
        "ya no aguanto mas", "me voy a quitar la vida", "necesito ayuda urgente",
        "ayudenme por favor", "I want to die", "thinking of killing myself",
        "I can't go on", "me corté otra vez",
    ],
)  # fmt: skip
def test_risk_words_are_found_however_written(text: str) -> None:
    assert risk_phrases_in(text), text


@pytest.mark.parametrize(
    "text",
    [
        "todo bien", "hoy me siento mejor", "mi vida va mejorando", "sí voy a la cita",
        "quiero ir a la cita", "no puedo ir mañana", "gracias por la ayuda de ayer",
    ],
)  # fmt: skip
def test_ordinary_replies_are_not_read_as_risk(text: str) -> None:
    assert risk_phrases_in(text) == [], text


def test_a_keyword_followed_by_words_keeps_its_meaning() -> None:
    assert read_reply("2 no puedo ir, tengo trabajo").attendance == ("decline", "strong")
    assert read_reply("si gracias").attendance == ("confirm", "weak")
    assert read_reply("baja por favor").command == "stop"
    assert read_reply("stop please").command == "stop"
    assert read_reply("no confirmo").attendance != ("confirm", "strong")
    assert read_reply("¿puedo preguntar si puedo llevar a mi hijo?").attendance is None


# ---- what an SMS may say ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "word"),
    [
        ("¿tuviste algún tropiezo?", "¿Fumaste mota?", "mota"),
        ("¿tuviste algún tropiezo?", "¿Consumiste cristal?", "cristal"),
        ("¿tuviste algún tropiezo?", "¿Fuiste a tu audiencia?", "audiencia"),
        ("¿tuviste algún tropiezo?", "¿Hablaste con el fiscal?", "fiscal"),
        ("¿tuviste algún tropiezo?", "¿Vas al grupo de adicciones?", "adicciones"),
        ("¿tuviste algún tropiezo?", "¿Pensaste en el delito?", "delito"),
        ("Since your last report, did you have a slip?", "Did you use drugs?", "drugs"),
        ("Since your last report, did you have a slip?", "Any court dates?", "court"),
    ],
)
def test_protocol_texts_may_not_name_the_court_the_offence_or_a_substance(
    tmp_path: Path, old: str, new: str, word: str
) -> None:
    text = SHIPPED.read_text("utf-8")
    assert text.count(old) == 1
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace(old, new), "utf-8")
    with pytest.raises(ProtocolError) as caught:
        load_protocol_file(broken)
    (issue,) = caught.value.issues
    assert f'"{word}"' in issue.message and issue.field.startswith("questions[0].text")


def test_protocols_check_looks_at_the_public_url_too(monkeypatch) -> None:
    monkeypatch.setenv("TELEJT_PUBLIC_URL", "https://justicia-terapeutica.example.gob.mx")
    result = CliRunner().invoke(cli, ["protocols", "check", str(SHIPPED)])
    assert result.exit_code == 1
    assert "TELEJT_PUBLIC_URL" in result.output and '"justicia"' in result.output
    monkeypatch.setenv("TELEJT_PUBLIC_URL", "https://acompanamiento.example.mx")
    assert CliRunner().invoke(cli, ["protocols", "check", str(SHIPPED)]).exit_code == 0


def test_the_app_refuses_a_public_url_that_names_the_court() -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(
            {"SECRET_KEY": "x" * 40, "TELEJT_PUBLIC_URL": "https://juzgado-tratamiento.example.mx"}
        )
    assert "TELEJT_PUBLIC_URL" in str(refused.value) and "juzgado" in str(refused.value)
