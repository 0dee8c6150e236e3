"""Translation of user-visible strings.

Every string a person sees goes through :func:`_` (gettext, domain ``faro``). Catalogues
live in ``core/locale/<lang>/LC_MESSAGES/faro.mo``; until a catalogue exists for the chosen
language the source (English) text is shown.
"""

from __future__ import annotations

import gettext
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_translation: gettext.NullTranslations = gettext.NullTranslations()


def set_language(language: str) -> None:
    global _translation
    _translation = gettext.translation(
        "faro", LOCALE_DIR, languages=[language, language.split("_")[0]], fallback=True
    )


def _(text: str) -> str:
    return _translation.gettext(text)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def N_(text: str) -> str:
    """Mark ``text`` for translation where it is defined (a table, a class attribute) and
    return it unchanged; translate it with :func:`_` where it is shown (gettext_noop).
    Extraction: ``xgettext --keyword=_ --keyword=N_``."""
    return text
