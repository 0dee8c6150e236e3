"""The organisation's forms file (core/forms.py): the built-in one equals today's constants,
and every mistake is an error naming the file and the line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.forms import (
    AREAS,
    Form,
    FormBook,
    FormError,
    builtin_form,
    builtin_text,
    load_form,
    parse_form,
)
from core.i18n import set_language

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "forms.example.toml"


@pytest.fixture(autouse=True)
def english():
    set_language("en")
    yield
    set_language("en")


def _line_of(text: str, needle: str, nth: int = 1) -> int:
    """The line number of the ``nth`` line holding ``needle``."""
    found = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return found[nth - 1]


def test_the_builtin_form_is_todays_constants_and_words():
    from calls.options import DISPOSITIONS
    from console.pdf_export import SECTION_TITLES
    from storage.records import RISK_FACTORS, SAFETY_PLAN_SECTIONS
    from storage.risk import _ITEM_LABELS, IMMINENT_ALONE

    form = builtin_form()
    assert form.version == 1 and load_form("") is form and load_form(None) is form
    assert list(form.disposition_codes) == DISPOSITIONS.default
    assert form.risk_factors == RISK_FACTORS and tuple(form.risk_factors) == AREAS
    assert form.section_codes == SAFETY_PLAN_SECTIONS
    assert form.imminent_alone == IMMINENT_ALONE
    assert (form.follow_up.after_h, form.follow_up.attempts, form.follow_up.retry_h) == (24, 3, 4)
    for e in form.items:
        assert e.label("en") == _ITEM_LABELS[e.code]
    for e in form.sections:
        assert e.label("en") == SECTION_TITLES[e.code] and e.hint("es")
    set_language("es_MX")
    assert form.entry("item", "attempt_in_progress").label() == "Intento en curso"
    assert Form.from_json(form.to_json()) == form


def test_the_example_file_is_valid_and_english_falls_back_to_spanish():
    form = load_form(EXAMPLE)
    assert form.version == 2 and "weapon_in_hand" in form.imminent_alone
    assert form.entry("item", "hopelessness").label("en") == "Desesperanza"
    assert (
        form.follow_up_for("imminent").after_h == 12
        and form.follow_up_for("imminent").attempts == 4
    )
    assert form.follow_up_for("low") == form.follow_up and form.follow_up_for(None).after_h == 36


@pytest.mark.parametrize(
    "old, new, needle, message",
    [
        (  # an unknown area
            'area = "buffers"\ncode = "sense_of_purpose"',
            'area = "sleep"\ncode = "sense_of_purpose"',
            'area = "sleep"',
            "unknown assessment area 'sleep' (known: desire, capability, intent, buffers)",
        ),
        (  # an unknown item key
            'code = "no_sleep"\n',
            'code = "no_sleep"\nweight = 3\n',
            "weight = 3",
            "unknown key 'assessment.items.weight'",
        ),
        (  # a duplicate code
            'code = "hopelessness"',
            'code = "psychological_pain"',
            ('code = "psychological_pain"', 2),
            "duplicate code 'psychological_pain'",
        ),
        (  # a wrong type
            "attempts = 3",
            'attempts = "three"',
            'attempts = "three"',
            "'follow_up.attempts' must be a whole number, not text",
        ),
        (  # an alone-sufficient item the form does not have
            'imminent_alone = ["attempt_in_progress"]',
            'imminent_alone = ["attempt_in_progress", "gun"]',
            "imminent_alone =",
            "imminent_alone names 'gun'",
        ),
        (  # a missing Spanish label
            'label.es = "Desesperanza"\n',
            "",
            ("[[assessment.items]]", 3),  # its entry's header: the third item
            "has no label.es (Spanish is required)",
        ),
        (  # an unknown top-level key
            "version = 1\n",
            "version = 1\ncolour = 'red'\n",
            "colour = 'red'",
            "unknown key 'colour'",
        ),
        (  # a syntax error: tomllib's line
            'code = "no_sleep"\n',
            'code = "no_sleep\n',
            'code = "no_sleep',
            "not valid TOML",
        ),
    ],
)
def test_a_wrong_file_names_its_line(old, new, needle, message):
    base = builtin_text()
    assert old in base
    text = base.replace(old, new, 1)
    with pytest.raises(FormError) as err:
        parse_form(text, "forms.toml")
    needle, nth = needle if isinstance(needle, tuple) else (needle, 1)
    line = _line_of(text, needle, nth)
    assert str(err.value).startswith(f"forms.toml line {line}: "), (str(err.value), line)
    assert message in str(err.value)
    assert err.value.exit_code == 78


def test_the_error_of_the_issue_is_word_for_word(tmp_path):
    text = builtin_text().replace('area = "desire"', 'area = "sleep"', 1)
    path = tmp_path / "forms.toml"
    path.write_text(text)
    with pytest.raises(FormError) as err:
        load_form(path)
    line = _line_of(text, 'area = "sleep"')
    assert str(err.value) == (
        f"forms.toml line {line}: unknown assessment area 'sleep' "
        "(known: desire, capability, intent, buffers)"
    )


def test_a_missing_or_unreadable_file_is_named(tmp_path):
    with pytest.raises(FormError, match="does not exist"):
        load_form(tmp_path / "nope.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"version = 1\nname = '\xe9'\n")
    with pytest.raises(FormError, match="not UTF-8"):
        load_form(bad)


def test_a_version_book_keeps_dropped_words_and_marks_them():
    old, new = builtin_form(), load_form(EXAMPLE)
    book = FormBook(new, {1: old, 2: new})
    assert book.label("item", "no_sleep", 1) == "Not sleeping (no longer in the form)"
    assert book.label("item", "lethal_means", 1) == "Lethal means at hand"
    assert book.label("section", "faith_community", 2) == "Faith community"
    assert book.label("disposition", "never_heard_of", 2) == (
        "never_heard_of (no longer in the form)"
    )


def _forms_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "forms", *argv],
        cwd=ROOT,
        env={
            "PYTHONPATH": str(ROOT),
            "LANG": "C.UTF-8",
            "HOME": "/nonexistent",
            "FARO_HOME": str(ROOT / ".no-such-home"),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_faro_forms_check_prints_what_a_file_declares_and_exits_2_when_wrong(tmp_path):
    ok = _forms_cli("check", str(EXAMPLE), "--json")
    assert ok.returncode == 0, ok.stderr
    assert '"dispositions": 3' in ok.stdout and '"sections": 3' in ok.stdout
    wrong = tmp_path / "forms.toml"
    wrong.write_text(builtin_text().replace('area = "desire"', 'area = "sleep"', 1))
    bad = _forms_cli("check", str(wrong))
    assert bad.returncode == 2 and "forms.toml line " in bad.stderr and "'sleep'" in bad.stderr
    assert _forms_cli("check", str(tmp_path / "absent.toml")).returncode == 66
