"""Translation and locale-aware formatting of what a person reads.

Every string a person sees goes through :func:`_` or :func:`ngettext` (gettext, domain
``faro``); strings defined at import time are marked with :func:`N_` and translated where
they are shown. English is the source language. The catalogues are the gettext ``.po``
files under ``core/locale/<lang>/LC_MESSAGES/faro.po``, read with Babel when the language is
set (no compiled ``.mo`` to fall out of date). ``scripts/i18n`` extracts and updates them;
``tests/core/test_i18n.py`` fails when a string is not extracted or a catalogue is incomplete
or stale. Dates, times and numbers follow the chosen locale through Babel. Qt's own texts
follow through ``console/qt_language.py``, argparse's (the ``faro`` command's "usage:" and
usage errors) through ``console/argparse_language.py``, which routes them to :func:`_`.
"""

from __future__ import annotations

import datetime as _dt
import gettext
import io
import os
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "faro"
#: the languages Faro speaks, in the order a chooser lists them
LANGUAGES: dict[str, str] = {"es_MX": "Español (México)", "en": "English"}
SYSTEM = "system"

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def system_language(env: dict[str, str] | None = None) -> str:
    """The supported language closest to the system's locale (``LC_ALL``, ``LC_MESSAGES``,
    ``LANG``, ``LANGUAGE``): any Spanish is ``es_MX``, everything else English."""
    env = dict(os.environ) if env is None else env
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        for tag in value.split(":"):
            tag = tag.split(".")[0].split("@")[0]
            if not tag or tag in ("C", "POSIX"):
                continue
            if tag.lower().startswith("es"):
                return "es_MX"
            if tag.lower().startswith("en"):
                return "en"
    return "en"


def resolve(language: str) -> str:
    """``system`` (or an empty value) to the system's language; any Spanish to es_MX."""
    if not language or language == SYSTEM:
        return system_language()
    if language.lower().startswith("es"):
        return "es_MX"
    return "en"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(language: str) -> gettext.NullTranslations:
    """The translations of ``language`` from its ``.po`` (English: none needed)."""
    path = catalogue_path(language)
    if language == "en" or not path.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def set_language(language: str) -> str:
    """Use ``language`` (``es_MX``, ``en`` or ``system``) from now on; the language chosen."""
    global _translation, _language
    chosen = resolve(language)
    _translation = load(chosen)
    _language = chosen
    return chosen


def current_language() -> str:
    return _language


def _(text: str) -> str:
    return _translation.gettext(text)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def N_(text: str) -> str:
    """Mark ``text`` for translation where it is defined (a table, a class attribute) and
    return it unchanged; translate it with :func:`_` where it is shown (gettext_noop)."""
    return text


# -- dates, times, numbers in the chosen locale ---------------------------------------------
def _locale() -> str:
    return "es_MX" if _language == "es_MX" else "en_US"


def format_time(value: _dt.datetime | _dt.time, seconds: bool = False) -> str:
    """A clock time as people of the locale write it (24 h in Mexico's Spanish, as on a
    helpline's rota; 12 h with AM/PM in US English)."""
    from babel.dates import format_time as bt

    if isinstance(value, _dt.datetime):
        value = value.astimezone() if value.tzinfo else value
        value = value.timetz() if value.tzinfo else value.time()
    if _language == "es_MX":
        return value.strftime("%H:%M:%S" if seconds else "%H:%M")
    return bt(value, "h:mm:ss a" if seconds else "h:mm a", locale=_locale())


def format_date(value: _dt.date | _dt.datetime, long: bool = False) -> str:
    """A date in the locale's words: "3 dic 2026" / "Dec 3, 2026" (``long``: with weekday)."""
    from babel.dates import format_date as bd

    if isinstance(value, _dt.datetime):
        value = (value.astimezone() if value.tzinfo else value).date()
    return bd(value, "full" if long else "medium", locale=_locale())


def format_datetime(value: _dt.datetime) -> str:
    return f"{format_date(value)} {format_time(value)}"


def format_number(value: float, decimals: int = 0) -> str:
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=_locale())
