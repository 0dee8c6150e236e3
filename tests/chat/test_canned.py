"""Canned responses (chat/canned.py): the built-in set in Spanish and English, the
organisation's file checked whole with the line of each mistake, the two one-press texts
always present, and ``faro chat canned check FILE``."""

from __future__ import annotations

import json

import pytest

from chat.canned import EXIT_HINT, SAFETY_CHECK, CannedError, builtin_canned, parse_canned
from chat.protocol import MAX_BODY, clean_text
from console.cli import main

GOOD = """\
version = 4
name = "Línea Faro Norte"

[[response]]
code = "greeting"
title.es = "Saludo"
title.en = "Greeting"
text.es = "Hola, soy del equipo de la línea."
text.en = "Hi, I am with the helpline."

[[response]]
code = "safety_check"
title.es = "¿Estás a salvo?"
text.es = "¿Puedes seguir escribiendo con seguridad?"
"""


def test_the_builtin_set_has_both_languages_and_the_two_buttons():
    canned = builtin_canned()
    assert canned.safety_check.text_in("es").startswith("Antes de seguir: ¿puedes seguir")
    assert "Salida rápida" in canned.exit_hint.text_in("es")
    assert "Quick exit" in canned.exit_hint.text_in("en")
    for r in canned.responses:
        assert r.text["es"] and r.text["en"] and r.title["es"] and r.title["en"]
        assert clean_text(r.text_in("es"))[0] == r.text_in("es")
    assert {SAFETY_CHECK, EXIT_HINT}.isdisjoint(r.code for r in canned.others)


def test_an_organisations_file_keeps_its_words_and_the_builtin_exit_hint():
    canned = parse_canned(GOOD, "canned.toml")
    assert canned.version == 4 and canned.name == "Línea Faro Norte"
    assert canned.safety_check.text_in("en") == "¿Puedes seguir escribiendo con seguridad?"
    assert canned.exit_hint == builtin_canned().exit_hint  # not in the file: built in
    assert [r.code for r in canned.others] == ["greeting"]


@pytest.mark.parametrize(
    "change,line,words",
    [
        (('text.en = "Hi, I am with the helpline."', 'texto = "x"'), 9, "unknown key 'texto'"),
        (('code = "safety_check"', 'code = "greeting"'), 12, "used twice"),
        (('text.es = "Hola, soy del equipo de la línea."', ""), 9, "text.es (Spanish) is missing"),
        (('title.en = "Greeting"', 'title.fr = "Salut"'), 7, "unknown language 'fr'"),
        (('code = "greeting"', 'code = "Greeting!"'), 5, "lower-case"),
        (("version = 4", "version = 0"), 1, "'version'"),
        (('text.es = "Hola', 'text.es = "Hola\\u0007'), 8, "control characters"),
        (('text.es = "Hola', 'text.es = "' + "x" * (MAX_BODY + 1)), 8, "longer than"),
        (('name = "Línea Faro Norte"', 'name = "sin cerrar'), 2, "not valid TOML"),
    ],
)
def test_each_mistake_names_its_line(change, line, words):
    with pytest.raises(CannedError) as err:
        parse_canned(GOOD.replace(*change, 1), "canned.toml")
    text = err.value.user_text()
    assert text.startswith(f"canned.toml line {line}:"), text
    assert words in text


def test_faro_chat_canned_check(tmp_path, capsys):
    good = tmp_path / "canned.toml"
    good.write_text(GOOD, "utf-8")
    assert main(["chat", "canned", "check", str(good)]) == 0
    out = capsys.readouterr().out
    assert "valid, version 4 (Línea Faro Norte)" in out and "responses: 2" in out
    assert main(["chat", "canned", "check", "--json", str(good)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["responses"] == 2 and data["builtin"] == [EXIT_HINT] and data["english"] == 1
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('code = "greeting"', 'code = "greeting"\ncolour = "red"'), "utf-8")
    assert main(["chat", "canned", "check", str(bad)]) == 2
    assert "bad.toml line 6: unknown key 'colour'" in capsys.readouterr().err
    assert main(["chat", "canned", "check", str(tmp_path / "missing.toml")]) == 66
