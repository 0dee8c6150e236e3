"""Every string a person reads is extracted and translated; the catalogue matches the code.

* the Spanish catalogue has every marked string, translated, with the same placeholders, and
  nothing the code no longer says (``python scripts/i18n.py update`` after changing texts);
* no ``_()`` runs at import time (it would freeze English before the language is chosen);
* no user-visible literal (Qt texts, message boxes, the ``faro`` command's prose, the
  messages of user-facing errors) escapes ``_()``;
* the language follows ``ui.language`` and, by default, the system locale; dates, times and
  numbers follow it.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib.util
from pathlib import Path

import pytest

from core import i18n

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "audio", "calls", "console", "core", "devices", "escalation", "storage")


def _tool():
    spec = importlib.util.spec_from_file_location("faro_i18n_tool", ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "firmware" in path.parts:
                continue
            yield path, ast.parse(path.read_text(), str(path))


@pytest.fixture
def restore_language():
    before = i18n.current_language()
    yield
    i18n.set_language(before)


def test_the_spanish_catalogue_is_complete_and_up_to_date():
    problems = _tool().problems("es_MX")
    assert not problems, (
        f"{len(problems)} problems; run `python scripts/i18n.py update` and translate:\n"
        + "\n".join(problems[:40])
    )


def test_nothing_is_translated_at_import_time():
    """``_()`` in a module or class body runs before the language is set: use ``N_()``."""
    found = []
    for path, tree in _sources():
        if path.name == "i18n.py":
            continue
        # nodes inside functions and lambdas run later; everything else runs at import
        late: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                late.update(id(n) for n in ast.walk(node))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "ngettext")
                and id(node) not in late
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"translated at import time (use N_ there, _ where shown): {found}"


# -- user-visible literals that escape _() ---------------------------------------------------
QT_TEXT = {
    "setText", "setToolTip", "setWindowTitle", "setPlaceholderText", "setStatusTip",
    "setAccessibleName", "setAccessibleDescription", "showMessage", "setTitle", "addTab",
    "setHeaderLabels", "setLabelText", "setWhatsThis", "setInformativeText", "setItemText",
}  # fmt: skip
QT_CTORS = {"QLabel", "QPushButton", "QCheckBox", "QGroupBox", "QAction", "QRadioButton",
            "QToolButton", "QMenu"}  # fmt: skip
MESSAGE_BOX = {"information", "warning", "critical", "question"}
#: literals that are not language: the product's name, symbols
NOT_LANGUAGE = {"Faro"}


def _prose(node: ast.expr) -> bool:
    def words(s: str) -> bool:
        return sum(c.isalpha() for c in s) >= 2 and s.strip() not in NOT_LANGUAGE

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return words(node.value)
    if isinstance(node, ast.JoinedStr):
        return any(
            isinstance(v, ast.Constant) and isinstance(v.value, str) and words(v.value)
            for v in node.values
        )
    return False


def _error_classes() -> set[str]:
    """``FaroError`` and every class deriving from it, by name, across the packages."""
    names = {"FaroError"}
    classes = [
        (n.name, [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in n.bases])
        for _, tree in _sources()
        for n in ast.walk(tree)
        if isinstance(n, ast.ClassDef)
    ]
    grew = True
    while grew:
        grew = False
        for name, bases in classes:
            if name not in names and names & set(bases):
                names.add(name)
                grew = True
    return names


def test_no_user_visible_literal_escapes_translation():
    errors = _error_classes()
    found = []
    for path, tree in _sources():
        rel = path.relative_to(ROOT)
        cli = rel.parts[0] == "console" and (rel.parts[1] in ("commands", "cli.py"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in errors:
                    args = list(node.exc.args) + [
                        k.value for k in node.exc.keywords if k.arg == "hint"
                    ]
                    found += [
                        f"{rel}:{node.lineno} {name}({ast.unparse(a)[:60]})"
                        for a in args
                        if _prose(a)
                    ]
                continue
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            owner = (
                func.value.id
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                else ""
            )
            shown = (
                (rel.parts[0] == "console" and (name in QT_TEXT or name in QT_CTORS))
                or (name in MESSAGE_BOX and owner == "QMessageBox")
                or (cli and name == "print")
                or (cli and name in ("add_parser", "add_argument", "ArgumentParser"))
            )
            if not shown:
                continue
            args = list(node.args)
            if name in ("add_parser", "add_argument", "ArgumentParser"):
                args = [k.value for k in node.keywords if k.arg in ("help", "description")]
            found += [f"{rel}:{node.lineno} {name}({ast.unparse(a)[:60]})" for a in args if _prose(a)]  # fmt: skip
    assert not found, f"{len(found)} user-visible texts not marked with _():\n" + "\n".join(found)


# -- the language in use ---------------------------------------------------------------------
def test_spanish_is_spoken_when_chosen_and_english_otherwise(restore_language):
    assert i18n.set_language("es_MX") == "es_MX"
    spanish = i18n._("Available")
    assert spanish and spanish != "Available"
    assert i18n.set_language("en") == "en"
    assert i18n._("Available") == "Available"
    assert i18n.set_language("es_AR") == "es_MX"  # any Spanish: our Spanish


def test_the_default_follows_the_system_locale():
    assert i18n.system_language({"LANG": "es_MX.UTF-8"}) == "es_MX"
    assert i18n.system_language({"LANG": "es_ES.UTF-8"}) == "es_MX"
    assert i18n.system_language({"LANG": "en_GB.UTF-8"}) == "en"
    assert i18n.system_language({"LANG": "C.UTF-8"}) == "en"
    assert i18n.system_language({"LANGUAGE": "es:en", "LANG": "en_US.UTF-8"}) == "es_MX"
    assert i18n.system_language({"LC_ALL": "C", "LANG": "es_MX.UTF-8"}) == "es_MX"
    assert i18n.system_language({}) == "en"


def test_plural_forms_are_spanish(restore_language):
    tool = _tool()
    plurals = [m for m in tool.load("es_MX") if m.id and m.pluralizable]
    assert plurals, "no plural entries in the catalogue"
    i18n.set_language("es_MX")
    one, many = plurals[0].id
    assert i18n.ngettext(one, many, 1) == plurals[0].string[0]
    assert i18n.ngettext(one, many, 2) == plurals[0].string[1]
    assert i18n.ngettext(one, many, 0) == plurals[0].string[1]  # "0 contactos"


def test_dates_times_and_numbers_follow_the_language(restore_language):
    when = dt.datetime(2026, 12, 3, 15, 7, 9)
    i18n.set_language("es_MX")
    assert i18n.format_time(when) == "15:07"
    assert "dic" in i18n.format_date(when)
    assert "jueves" in i18n.format_date(when, long=True)
    assert i18n.format_number(12345.5, 1) == "12,345.5"  # Mexico writes numbers as the US
    i18n.set_language("en")
    assert i18n.format_time(when) == "3:07 PM"
    assert i18n.format_date(when) == "Dec 3, 2026"


def test_the_faro_command_speaks_the_configured_language(tmp_path, capsys, restore_language):
    from console import cli

    config = tmp_path / "config" / "faro.toml"
    config.parent.mkdir()
    config.write_text('[ui]\nlanguage = "es_MX"\n')
    assert cli.main(["--home", str(tmp_path), "config"]) == 0
    spanish = capsys.readouterr().out
    config.write_text('[ui]\nlanguage = "en"\n')
    assert cli.main(["--home", str(tmp_path), "config"]) == 0
    english = capsys.readouterr().out
    assert "configuration file" in english
    assert "configuration file" not in spanish and "archivo" in spanish.lower()


# -- option descriptions and argparse's own words (``faro config``, ``faro --help``) ---------
def test_option_descriptions_are_marked_for_translation():
    """``faro config`` shows every option's description: ``declare(..., N_("..."))``."""
    found = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "declare"):
                continue
            described = node.args[3:4] or [k.value for k in node.keywords if k.arg == "description"]
            if not all(
                isinstance(d, ast.Call) and getattr(d.func, "id", "") == "N_" for d in described
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"option descriptions not marked with N_(): {found}"


#: argparse's messages about how a parser is built (its author's mistakes, never a user's):
#: they stay English, like logs
ARGPARSE_FOR_AUTHORS = {
    ".__call__() not defined",
    "'required' is an invalid argument for positionals",
    "mutually exclusive arguments must be optional",
    "%r is not callable",
    "cannot merge actions - two groups are named %r",
    "invalid option string %(option)r: must start with a character %(prefix_chars)r",
    "dest= is required for options like %r",
    "invalid conflict_resolution value: %r",
    "cannot have multiple subparser arguments",
    "conflicting subparser: %s",
    "conflicting subparser alias: %s",
    'argument "-" with mode %r',
    "conflicting option string: %s",
}


def _argparse_msgids() -> set[str]:
    """The msgids the running Python's argparse asks gettext for (``_()``, ``ngettext()``)."""
    import argparse

    tree = ast.parse(Path(argparse.__file__).read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("_", "ngettext")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def test_argparse_words_a_person_meets_are_extracted():
    """Every text argparse can show a ``faro`` user is in the catalogue's template
    (console/argparse_language.py); a new Python's new message makes this fail."""
    tool = _tool()
    template = {m.id if isinstance(m.id, str) else m.id[0] for m in tool.extract() if m.id}

    def words(msgid: str) -> bool:  # "%(heading)s:" is no language
        return sum(c.isalpha() for c in tool.PLACEHOLDER.sub("", msgid)) >= 2

    ids = _argparse_msgids()
    assert "usage: " in ids and "the following arguments are required: %s" in ids
    missing = sorted(m for m in ids - template - ARGPARSE_FOR_AUTHORS if words(m))
    assert not missing, f"argparse texts not in console/argparse_language.py: {missing}"


def test_argparse_placeholders_are_checked_like_ours(monkeypatch):
    """argparse's msgids use %-placeholders (``%s``, ``%(value)r``): the catalogue check
    compares them as it compares ``{name}``."""
    from babel.messages.catalog import Catalog

    tool = _tool()
    assert tool.PLACEHOLDER.findall("invalid choice: %(value)r (choose from %(choices)s)") == [
        "%(value)r",
        "%(choices)s",
    ]
    assert tool.PLACEHOLDER.findall("unrecognized arguments: %s") == ["%s"]
    msgid = "invalid choice: %(value)r (choose from %(choices)s)"
    template = Catalog(locale=None)
    template.add(msgid, locations=[("console/argparse_language.py", 1)])
    catalog = Catalog(locale="es_MX")
    catalog.add(msgid, "valor no válido: %(value)s (elige entre %(choices)s)")
    monkeypatch.setattr(tool, "extract", lambda: template)
    monkeypatch.setattr(tool, "load", lambda lang: catalog)
    assert [p for p in tool.problems("es_MX") if p.startswith("placeholders differ")]
    catalog[msgid].string = "valor no válido: %(value)r (elige entre %(choices)s)"
    assert tool.problems("es_MX") == []
