"""Faro's translation catalogues: extract, update, check.

    python scripts/i18n.py update     # extract every marked string, merge into each .po
    python scripts/i18n.py check      # what is missing, untranslated, fuzzy or stale (exit 1)
    python scripts/i18n.py stats

Strings are marked in the code with ``_()``, ``N_()`` and ``ngettext()`` (core/i18n.py);
extraction is Babel's, over the runtime packages (not tests or benchmarks). The catalogues
are ``core/locale/<lang>/LC_MESSAGES/faro.po``; English is the source language, so only
Spanish (es_MX) has one. Translators read the ``#.`` comments written as ``# Translators:``
above a string in the code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "audio", "calls", "chat", "console", "core", "devices", "escalation", "storage")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
LANGS = ("es_MX",)
PLACEHOLDER = re.compile(r"\{[a-zA-Z_][a-zA-Z0-9_]*(?:[:!][^}]*)?\}|%(?:\([a-z_]+\))?[sdrf]")


def po_path(lang: str) -> Path:
    return ROOT / "core" / "locale" / lang / "LC_MESSAGES" / "faro.po"


def extract() -> Catalog:
    template = Catalog(project="Faro", domain="faro", charset="utf-8")
    for package in PACKAGES:
        for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT / package),
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        ):
            template.add(
                message,
                None,
                [(f"{package}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return template


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, domain="faro", project="Faro")
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain="faro")


def save(catalog: Catalog, lang: str) -> None:
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, omit_header=False, sort_output=False, ignore_obsolete=True)


def _header(catalog: Catalog) -> None:
    catalog.project, catalog.version = "Faro", ""
    catalog.copyright_holder = "the Faro project"
    catalog.msgid_bugs_address = ""
    catalog.last_translator = "Faro translators"
    catalog.language_team = "Español (México)"
    catalog.fuzzy = False
    # gettext's two Spanish forms (one / other); CLDR's third ("many", for exact millions)
    # never occurs in what Faro counts
    catalog._num_plurals, catalog._plural_expr = 2, "(n != 1)"  # noqa: SLF001


def update() -> None:
    template = extract()
    for lang in LANGS:
        catalog = load(lang)
        catalog.update(template, no_fuzzy_matching=True)
        _header(catalog)
        save(catalog, lang)
        print(f"{po_path(lang).relative_to(ROOT)}: {len(catalog)} messages")


def _ids(message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else (message.id,)


def _strs(message) -> tuple[str, ...]:
    s = message.string
    return tuple(s) if isinstance(s, (list, tuple)) else (s,)


def problems(lang: str) -> list[str]:
    """Everything that makes the catalogue of ``lang`` not match the code."""
    template = extract()
    catalog = load(lang)
    want = {m.id if isinstance(m.id, str) else m.id[0]: m for m in template if m.id}
    have = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    out: list[str] = []
    for key, m in want.items():
        where = ", ".join(f"{f}:{n}" for f, n in m.locations[:2])
        got = have.get(key)
        if got is None:
            out.append(f"not in the catalogue: {key!r} ({where})")
            continue
        if got.fuzzy:
            out.append(f"fuzzy: {key!r}")
        strings = _strs(got)
        if not all(strings) or (m.pluralizable and len(strings) < catalog.num_plurals):
            out.append(f"untranslated: {key!r} ({where})")
            continue
        for src, dst in zip(_ids(m) * len(strings), strings, strict=False):
            if sorted(PLACEHOLDER.findall(src)) != sorted(PLACEHOLDER.findall(dst)):
                if not m.pluralizable:  # a plural form may drop {n} ("un contacto")
                    out.append(f"placeholders differ: {src!r} -> {dst!r}")
    for key in have.keys() - want.keys():
        out.append(f"stale (no longer in the code): {key!r}")
    return out


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "check"
    if cmd == "update":
        update()
        return 0
    if cmd == "stats":
        for lang in LANGS:
            c = load(lang)
            done = sum(1 for m in c if m.id and all(_strs(m)) and not m.fuzzy)
            print(f"{lang}: {done} of {len([m for m in c if m.id])} translated")
        return 0
    bad = [f"{lang}: {p}" for lang in LANGS for p in problems(lang)]
    print("\n".join(bad) if bad else "catalogues complete and up to date")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
