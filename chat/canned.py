"""Canned responses of the chat line: the organisation's ready texts in Spanish and English,
one TOML file named by ``chat.canned_file`` (docs/chat.md "Canned responses"); built-in
ones when the option is empty.

::

    version = 3
    name = "Línea Faro"

    [[response]]
    code = "greeting"
    title.es = "Saludo"
    title.en = "Greeting"
    text.es = "Hola, gracias por escribir. Estoy aquí para escucharte."
    text.en = "Hi, thank you for writing. I am here to listen."

Two codes have their own one-press buttons in the chat view: ``safety_check`` ("¿Puedes
seguir escribiendo con seguridad?") and ``exit_hint`` (the widget's "Salida rápida" button).
A file that does not define them keeps the built-in ones, so both buttons always work.

Every mistake is a :class:`CannedError` (a ConfigError) naming the file and the line, as the
forms file's are (core/forms.py's line locator): an unknown key, a missing Spanish text, a
duplicate code, a text the chat line would refuse (too long, control characters). Spanish is
required; English falls back to the Spanish text. The texts are the organisation's words,
shown and sent as written (the catalogue does not translate them).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

from chat.protocol import MAX_BODY, clean_text
from core.errors import ConfigError
from core.forms import _Locator  # the forms file's line locator: one way of naming lines
from core.i18n import _

SAFETY_CHECK = "safety_check"
EXIT_HINT = "exit_hint"
LANGS = ("es", "en")
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TOP = {"version", "name", "response"}
_RESPONSE = {"code", "title", "text"}
#: the longest title a button or list row shows whole
MAX_TITLE = 60

BUILTIN = """
version = 1
name = "Faro"

[[response]]
code = "greeting"
title.es = "Saludo"
title.en = "Greeting"
text.es = "Hola, gracias por escribir. Soy parte del equipo de la línea y estoy aquí para escucharte. ¿Qué te gustaría contarme?"
text.en = "Hi, thank you for writing. I am part of the helpline's team and I am here to listen. What would you like to tell me?"

[[response]]
code = "safety_check"
title.es = "¿Puedes seguir escribiendo con seguridad?"
title.en = "Are you safe to keep writing?"
text.es = "Antes de seguir: ¿puedes seguir escribiendo con seguridad ahora mismo? Si alguien puede ver tu pantalla, responde solo «no» y buscamos otra forma."
text.en = "Before we go on: are you safe to keep writing right now? If someone can see your screen, just answer \\"no\\" and we will find another way."

[[response]]
code = "exit_hint"
title.es = "Recordar la salida rápida"
title.en = "Remind of the quick exit"
text.es = "Si necesitas cerrar de golpe, pulsa el botón «Salida rápida» arriba de esta ventana: borra la página al instante. Aquí seguiremos si vuelves."
text.en = "If you need to close this at once, press the \\"Quick exit\\" button at the top of this window: it clears the page instantly. We will be here if you come back."

[[response]]
code = "still_there"
title.es = "¿Sigues ahí?"
title.en = "Are you still there?"
text.es = "¿Sigues ahí? Tómate tu tiempo, aquí estoy."
text.en = "Are you still there? Take your time, I am here."

[[response]]
code = "one_moment"
title.es = "Un momento"
title.en = "One moment"
text.es = "Dame un momento, por favor; sigo contigo."
text.en = "Give me a moment, please; I am still with you."

[[response]]
code = "emergency"
title.es = "Emergencias (911)"
title.en = "Emergency (911)"
text.es = "Si estás en peligro inmediato, llama al 911 ahora. Puedes seguir escribiéndome mientras tanto."
text.en = "If you are in immediate danger, call 911 now. You can keep writing to me meanwhile."

[[response]]
code = "closing"
title.es = "Despedida"
title.en = "Closing"
text.es = "Gracias por escribir hoy. Puedes volver a escribir a esta línea cuando lo necesites, de día o de noche."
text.en = "Thank you for writing today. You can write to this line again whenever you need, day or night."
"""


class CannedError(ConfigError):
    """The canned responses file is wrong; the message names the file and the line."""


@dataclasses.dataclass(frozen=True, slots=True)
class Canned:
    code: str
    title: dict[str, str]
    text: dict[str, str]

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title["es"]

    def text_in(self, lang: str) -> str:
        """The text to send to a person writing in ``lang`` (Spanish when no English)."""
        return self.text.get(lang) or self.text["es"]


@dataclasses.dataclass(frozen=True, slots=True)
class CannedSet:
    version: int
    name: str
    responses: tuple[Canned, ...]
    source: str = ""  # the file it came from ("" built-in)

    def get(self, code: str) -> Canned | None:
        return next((r for r in self.responses if r.code == code), None)

    @property
    def safety_check(self) -> Canned:
        found = self.get(SAFETY_CHECK)
        assert found is not None  # parse_canned adds the built-in one
        return found

    @property
    def exit_hint(self) -> Canned:
        found = self.get(EXIT_HINT)
        assert found is not None
        return found

    @property
    def others(self) -> tuple[Canned, ...]:
        """The responses of the list (the two with their own buttons left out)."""
        return tuple(r for r in self.responses if r.code not in (SAFETY_CHECK, EXIT_HINT))


def builtin_canned() -> CannedSet:
    return parse_canned(BUILTIN, "builtin")


def load_canned(path: str | Path | None) -> CannedSet:
    """The set in ``path`` (the built-in one for None or ""); a CannedError names the file."""
    if not path:
        return builtin_canned()
    p = Path(path).expanduser()
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise CannedError(
            _("The canned responses file {file} does not exist.").format(file=p)
        ) from None
    except UnicodeDecodeError:
        raise CannedError(
            _("The canned responses file {file} is not UTF-8 text.").format(file=p)
        ) from None
    except OSError as exc:
        raise CannedError(
            _("The canned responses file {file} cannot be read: {reason}.").format(
                file=p, reason=exc.strerror or type(exc).__name__
            )
        ) from None
    return parse_canned(text, p.name, source=str(p))


def parse_canned(text: str, name: str = "canned.toml", source: str = "") -> CannedSet:
    """The responses in the TOML ``text``, checked whole (``name`` is what errors say)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)$", "", str(exc))
        raise CannedError(
            _("{file} line {line}: not valid TOML: {reason}").format(
                file=name, line=m.group(1) if m else "?", reason=reason
            )
        ) from None
    where = _Locator(text, name)

    def fail(path: tuple[str | int, ...], problem: str) -> CannedError:
        line = where.line(path)
        if line is None:
            return CannedError(_("{file}: {problem}").format(file=name, problem=problem))
        return CannedError(
            _("{file} line {line}: {problem}").format(file=name, line=line, problem=problem)
        )

    for key in data:
        if key not in _TOP:
            raise fail((key,), _("unknown key '{key}'").format(key=key))
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail(("version",), _("'version' must be a whole number, 1 or more"))
    title = data.get("name", "")
    if not isinstance(title, str):
        raise fail(("name",), _("'name' must be text"))
    entries = data.get("response", [])
    if not isinstance(entries, list):
        raise fail(("response",), _("'response' must be a list of [[response]] tables"))
    seen: set[str] = set()
    out: list[Canned] = []
    for i, entry in enumerate(entries):
        at: tuple[str | int, ...] = ("response", i)
        if not isinstance(entry, dict):
            raise fail(at, _("each response must be a [[response]] table"))
        for key in entry:
            if key not in _RESPONSE:
                raise fail((*at, key), _("unknown key '{key}'").format(key=key))
        code = entry.get("code")
        if not isinstance(code, str) or not _CODE.match(code):
            raise fail(
                (*at, "code"),
                _("'code' must be lower-case letters, digits and _ (such as greeting)"),
            )
        if code in seen:
            raise fail((*at, "code"), _("code '{code}' is used twice").format(code=code))
        seen.add(code)
        titles = _texts(entry, "title", at, fail)
        texts = _texts(entry, "text", at, fail)
        for lang, value in titles.items():
            if len(value) > MAX_TITLE or "\n" in value:
                raise fail(
                    (*at, "title", lang),
                    _("title.{lang} must be one line of at most {n} characters").format(
                        lang=lang, n=MAX_TITLE
                    ),
                )
        for lang, value in texts.items():
            cleaned, reason = clean_text(value)
            if cleaned is None:
                problem = (
                    _("text.{lang} is longer than a message may be ({n} characters)").format(
                        lang=lang, n=MAX_BODY
                    )
                    if reason == "too_long"
                    else _("text.{lang} is empty or holds control characters").format(lang=lang)
                )
                raise fail((*at, "text", lang), problem)
            texts[lang] = cleaned
        out.append(Canned(code, titles, texts))
    if not source and name == "builtin":
        return CannedSet(version, title, tuple(out), source)
    builtin = builtin_canned()
    for code in (SAFETY_CHECK, EXIT_HINT):  # both buttons always have a text
        if code not in seen:
            found = builtin.get(code)
            assert found is not None
            out.append(found)
    return CannedSet(version, title, tuple(out), source)


def _texts(entry: dict[str, Any], key: str, at: tuple[str | int, ...], fail: Any) -> dict[str, str]:
    value = entry.get(key)
    if not isinstance(value, dict):
        raise fail((*at, key), _("{key}.es (Spanish) is missing").format(key=key))
    for lang in value:
        if lang not in LANGS:
            raise fail(
                (*at, key, lang),
                _("unknown language '{lang}' (known: es, en)").format(lang=lang),
            )
        if not isinstance(value[lang], str):
            raise fail((*at, key, lang), _("{key}.{lang} must be text").format(key=key, lang=lang))
    if not str(value.get("es", "")).strip():  # said at the line of its other language
        raise fail((*at, key, *value.keys()), _("{key}.es (Spanish) is missing").format(key=key))
    return {lang: str(value[lang]) for lang in LANGS if str(value.get(lang, "")).strip()}
