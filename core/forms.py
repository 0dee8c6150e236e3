"""The organisation's forms: dispositions, risk-assessment items, safety-plan sections and
follow-up rules, declared in one versioned TOML file (docs/clinical.md, "Per-organisation
forms").

:func:`load_form` reads the file named by ``clinical.forms_file`` (the built-in
``core/forms_data/builtin.toml``, version 1, when the option is empty) and checks it whole:
every mistake is a :class:`FormError` (a ConfigError) that names the file and the line,
``forms.toml line 14: unknown assessment area 'sleep' (known: desire, capability, intent,
buffers)``. tomllib reports the line of a syntax error; for the meaning of a key (an unknown
area, a duplicate code) no TOML library gives positions, so :class:`_Locator` finds them: it
scans the source for table headers (``[a.b]``, ``[[a.b]]``, counting the array's entries) and
``key =`` lines, and maps a path such as ``("assessment", "items", 3, "area")`` to the line of
that key, or of the nearest enclosing key or header it finds (a value inside a multi-line
array or an inline table is reported at its key's line).

A :class:`Form` is immutable and has a canonical JSON (:meth:`Form.to_json`) that the case
store keeps for every version it has seen, so records saved under an older version keep
their labels (:class:`FormBook`). Labels are the organisation's words, shown as written (the
catalogue does not translate them): Spanish (``label.es``) is required, English
(``label.en``) falls back to the Spanish text.

Imports nothing of Faro but core.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.i18n import _, current_language

#: the four areas of the Lifeline risk assessment, in the form's order (the level rule,
#: storage/risk.py, is written for these four: a form chooses their items, not the areas)
AREAS = ("desire", "capability", "intent", "buffers")
#: the areas whose items may be alone sufficient for imminent risk
RISK_AREAS = ("desire", "capability", "intent")
#: the levels of the rule, for per-level follow-up rules
LEVELS = ("low", "moderate", "high", "imminent")
#: the version of the built-in form; a store migrated from schema 8 reads its records with it
BUILTIN_VERSION = 1
BUILTIN_NAME = "builtin.toml"

#: follow-up bounds (the same as the clinical.follow_up_* options)
_FOLLOW_UP_BOUNDS: dict[str, tuple[type, float, float]] = {
    "after_h": (float, 1.0, 168.0),
    "attempts": (int, 1, 20),
    "retry_h": (float, 0.25, 72.0),
}
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


class FormError(ConfigError):
    """The forms file is wrong; the message names the file and the line."""


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """A disposition, an assessment item (``area`` set) or a safety-plan section (``hint``
    may be set): a code, and its words in Spanish and English."""

    code: str
    es: str
    en: str = ""
    area: str = ""
    hint_es: str = ""
    hint_en: str = ""

    def label(self, language: str | None = None) -> str:
        """In ``language`` (the console's when None): Spanish for es*, else English, which
        falls back to Spanish."""
        lang = language or current_language()
        return self.es if lang.startswith("es") else (self.en or self.es)

    def hint(self, language: str | None = None) -> str:
        lang = language or current_language()
        return self.hint_es if lang.startswith("es") else (self.hint_en or self.hint_es)


@dataclasses.dataclass(frozen=True, slots=True)
class FollowUpRule:
    after_h: float
    attempts: int
    retry_h: float


@dataclasses.dataclass(frozen=True, slots=True)
class Form:
    version: int
    name: str
    dispositions: tuple[Entry, ...]
    items: tuple[Entry, ...]
    imminent_alone: tuple[str, ...]
    sections: tuple[Entry, ...]
    follow_up: FollowUpRule
    #: (level, rule) for the levels that have their own, in LEVELS order
    follow_up_by_level: tuple[tuple[str, FollowUpRule], ...] = ()
    #: where it was read from (not part of the form: two files saying the same are equal)
    source: str = dataclasses.field(default="", compare=False)

    # -- lookups ---------------------------------------------------------------------------
    @property
    def risk_factors(self) -> dict[str, tuple[str, ...]]:
        """area → item codes, in the form's order (every area present, maybe empty)."""
        return {a: tuple(e.code for e in self.items if e.area == a) for a in AREAS}

    @property
    def disposition_codes(self) -> tuple[str, ...]:
        return tuple(e.code for e in self.dispositions)

    @property
    def section_codes(self) -> tuple[str, ...]:
        return tuple(e.code for e in self.sections)

    def entry(self, kind: str, code: str) -> Entry | None:
        """The ``kind`` ("disposition", "item", "section") entry of ``code``, or None."""
        for e in self._entries(kind):
            if e.code == code:
                return e
        return None

    def _entries(self, kind: str) -> tuple[Entry, ...]:
        if kind == "disposition":
            return self.dispositions
        if kind == "item":
            return self.items
        if kind == "section":
            return self.sections
        raise ValueError(kind)

    def follow_up_for(self, level: str | None = None) -> FollowUpRule:
        """The follow-up rule after a call assessed at ``level`` (the general one when the
        level has none of its own, or for None)."""
        return dict(self.follow_up_by_level).get(level or "", self.follow_up)

    def counts(self) -> dict[str, int]:
        """How many of each part it declares (for ``faro forms check`` and audit rows)."""
        out = {"dispositions": len(self.dispositions), "items": len(self.items)}
        out.update(
            {f"items.{a}": n for a, n in ((a, len(c)) for a, c in self.risk_factors.items())}
        )
        out["sections"] = len(self.sections)
        out["follow_up_levels"] = len(self.follow_up_by_level)
        return out

    # -- canonical form --------------------------------------------------------------------
    def to_data(self) -> dict[str, Any]:
        def entry(e: Entry, *fields: str) -> dict[str, Any]:
            d: dict[str, Any] = {"code": e.code, "label": {"es": e.es, "en": e.en}}
            if "area" in fields:
                d["area"] = e.area
            if "hint" in fields and (e.hint_es or e.hint_en):
                d["hint"] = {"es": e.hint_es, "en": e.hint_en}
            return d

        def rule(r: FollowUpRule) -> dict[str, Any]:
            return {"after_h": r.after_h, "attempts": r.attempts, "retry_h": r.retry_h}

        follow_up: dict[str, Any] = rule(self.follow_up)
        if self.follow_up_by_level:
            follow_up["by_level"] = {lv: rule(r) for lv, r in self.follow_up_by_level}
        return {
            "version": self.version,
            "name": self.name,
            "dispositions": [entry(e) for e in self.dispositions],
            "assessment": {
                "imminent_alone": list(self.imminent_alone),
                "items": [entry(e, "area") for e in self.items],
            },
            "safety_plan": {"sections": [entry(e, "hint") for e in self.sections]},
            "follow_up": follow_up,
        }

    def to_json(self) -> str:
        """Canonical JSON: the same form always gives the same text (kept by the store)."""
        return json.dumps(self.to_data(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, source: str = "") -> Form:
        """A form kept by the store (checked as a file would be)."""
        return _build(json.loads(text), _Locator(""), source or "store")


# -- loading -------------------------------------------------------------------------------
def builtin_text() -> str:
    return resources.files("core").joinpath("forms_data", BUILTIN_NAME).read_text("utf-8")


_BUILTIN: Form | None = None


def builtin_form() -> Form:
    """The built-in form (version 1): today's dispositions, Lifeline items, the seven
    safety-plan sections and 24 h / 3 attempts / 4 h."""
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = parse_form(builtin_text(), BUILTIN_NAME)
    return _BUILTIN


def load_form(path: str | Path | None) -> Form:
    """The form in ``path`` (the built-in one for None or ""). An unreadable file or a wrong
    one is a FormError naming it."""
    if not path:
        return builtin_form()
    p = Path(path).expanduser()
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise FormError(_("The forms file {file} does not exist.").format(file=p)) from None
    except UnicodeDecodeError:
        raise FormError(_("The forms file {file} is not UTF-8 text.").format(file=p)) from None
    except OSError as exc:
        raise FormError(
            _("The forms file {file} cannot be read: {reason}.").format(
                file=p, reason=exc.strerror or type(exc).__name__
            )
        ) from None
    return parse_form(text, p.name, source=str(p))


def parse_form(text: str, name: str = "forms.toml", source: str = "") -> Form:
    """The form in the TOML ``text`` (``name`` is the file name the errors give)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        # tomllib's message ends with "(at line L, column C)"; say the line our way
        reason = re.sub(r"\s*\(at line \d+, column \d+\)$", "", str(exc))
        raise FormError(
            _("{file} line {line}: not valid TOML: {reason}").format(
                file=name, line=line or "?", reason=reason
            )
        ) from None
    return _build(data, _Locator(text, name), source or name)


def _line_from_message(message: str) -> int | None:
    m = re.search(r"at line (\d+)", message)
    return int(m.group(1)) if m else None


# -- the line locator ----------------------------------------------------------------------
Path_ = tuple[str | int, ...]
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(
    r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)


def _key_parts(dotted: str) -> list[str]:
    return [
        p.strip().strip("\"'")
        for p in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", dotted)
    ]


class _Locator:
    """Line numbers of keys and tables in a TOML source (see the module doc)."""

    def __init__(self, text: str, name: str = "") -> None:
        self.name = name
        self.lines: dict[Path_, int] = {}
        counts: dict[tuple[str, ...], int] = {}
        table: Path_ = ()
        in_multiline = False
        for n, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if in_multiline:  # inside a multi-line string: no keys here
                if line.count('"""') % 2 or line.count("'''") % 2:
                    in_multiline = False
                continue
            if not line or line.startswith("#"):
                continue
            header = _HEADER.match(line)
            if header and not _KEY.match(line):
                parts = tuple(_key_parts(header.group(2)))
                if header.group(1) == "[[":
                    index = counts.get(parts, 0)
                    counts[parts] = index + 1
                    # an array of tables inside an array entry: its parent's index
                    table = (*self._indexed(parts[:-1], counts), parts[-1], index)
                else:
                    table = self._indexed(parts, counts)
                self.lines.setdefault(table, n)
                continue
            key = _KEY.match(line)
            if key:
                path = (*table, *_key_parts(key.group(1)))
                self.lines.setdefault(path, n)
                rest = line[key.end() :]
                if rest.count('"""') % 2 or rest.count("'''") % 2:
                    in_multiline = True

    @staticmethod
    def _indexed(parts: tuple[str, ...], counts: dict[tuple[str, ...], int]) -> Path_:
        """``parts`` with the current index after every prefix that is an array of tables."""
        out: list[str | int] = []
        for i, p in enumerate(parts):
            out.append(p)
            n = counts.get(parts[: i + 1])
            if n:
                out.append(n - 1)
        return tuple(out)

    def line(self, path: Path_) -> int | None:
        for cut in range(len(path), 0, -1):
            found = self.lines.get(path[:cut])
            if found is not None:
                return found
        return None

    def error(self, path: Path_, message: str) -> FormError:
        line = self.line(path)
        if line is None:
            return FormError(
                _("{file}: {problem}").format(file=self.name or "forms", problem=message)
            )
        return FormError(
            _("{file} line {line}: {problem}").format(
                file=self.name or "forms", line=line, problem=message
            )
        )


# -- checking ------------------------------------------------------------------------------
def _type_word(value: Any) -> str:
    if isinstance(value, bool):
        return _("true or false")
    if isinstance(value, int):
        return _("a whole number")
    if isinstance(value, float):
        return _("a number")
    if isinstance(value, str):
        return _("text")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("a table")
    return type(value).__name__


class _Checker:
    def __init__(self, loc: _Locator) -> None:
        self.loc = loc

    def fail(self, path: Path_, message: str) -> FormError:
        return self.loc.error(path, message)

    def keys(self, table: Mapping[str, Any], path: Path_, known: Iterable[str]) -> None:
        allowed = tuple(known)
        for key in table:
            if key not in allowed:
                raise self.fail(
                    (*path, key),
                    _("unknown key '{key}' (known: {known})").format(
                        key=".".join(str(p) for p in (*path, key) if isinstance(p, str)),
                        known=", ".join(allowed),
                    ),
                )

    def table(self, value: Any, path: Path_) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.wrong(value, path, _("a table"))
        return value

    def wrong(self, value: Any, path: Path_, expected: str) -> FormError:
        return self.fail(
            path,
            _("'{key}' must be {expected}, not {actual}").format(
                key=_dotted(path), expected=expected, actual=_type_word(value)
            ),
        )

    def text(self, value: Any, path: Path_) -> str:
        if not isinstance(value, str):
            raise self.wrong(value, path, _("text"))
        return value

    def code(self, entry: Mapping[str, Any], path: Path_) -> str:
        if "code" not in entry:
            raise self.fail(path, _("'{key}' has no code").format(key=_dotted(path)))
        code = self.text(entry["code"], (*path, "code"))
        if not _CODE.fullmatch(code):
            raise self.fail(
                (*path, "code"),
                _(
                    "code '{code}' must be lower-case letters, digits and _ (a letter first, "
                    "at most 64)"
                ).format(code=code),
            )
        return code

    def words(
        self, entry: Mapping[str, Any], path: Path_, key: str, required: bool
    ) -> tuple[str, str]:
        if key not in entry:
            if required:
                raise self.fail(
                    path,
                    _("'{key}' has no {part}.es (Spanish is required)").format(
                        key=_dotted(path), part=key
                    ),
                )
            return "", ""
        words = self.table(entry[key], (*path, key))
        self.keys(words, (*path, key), ("es", "en"))
        if "es" not in words or not str(words["es"]).strip():
            raise self.fail(
                (*path, key),
                _("'{key}' has no {part}.es (Spanish is required)").format(
                    key=_dotted(path), part=key
                ),
            )
        es = self.text(words["es"], (*path, key, "es")).strip()
        en = self.text(words.get("en", ""), (*path, key, "en")).strip()
        return es, en

    def entries(
        self, value: Any, path: Path_, extra: tuple[str, ...] = (), hint: bool = False
    ) -> list[tuple[Path_, Mapping[str, Any], Entry]]:
        if not isinstance(value, list):
            raise self.wrong(
                value, path, _("a list of tables ([[{key}]])").format(key=_dotted(path))
            )
        out: list[tuple[Path_, Mapping[str, Any], Entry]] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(value):
            p = (*path, i)
            entry = self.table(raw, p)
            self.keys(entry, p, ("code", "label", *extra, *(("hint",) if hint else ())))
            code = self.code(entry, p)
            if code in seen:
                raise self.fail(
                    (*p, "code"),
                    _("duplicate code '{code}' (already used at entry {n})").format(
                        code=code, n=seen[code] + 1
                    ),
                )
            seen[code] = i
            es, en = self.words(entry, p, "label", required=True)
            hint_es, hint_en = self.words(entry, p, "hint", required=False) if hint else ("", "")
            out.append((p, entry, Entry(code, es, en, hint_es=hint_es, hint_en=hint_en)))
        return out

    def number(self, value: Any, path: Path_, kind: type, low: float, high: float) -> float:
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if kind is int and not is_int:
            raise self.wrong(value, path, _("a whole number"))
        if kind is float and not (is_int or isinstance(value, float)):
            raise self.wrong(value, path, _("a number"))
        if not low <= value <= high:
            raise self.fail(
                path,
                _("'{key}' must be between {low} and {high}, not {value}").format(
                    key=_dotted(path), low=low, high=high, value=value
                ),
            )
        return kind(value)

    def follow_up(self, value: Any, path: Path_, base: FollowUpRule | None) -> FollowUpRule:
        table = self.table(value, path)
        values: dict[str, Any] = dataclasses.asdict(base) if base else {}
        for key, (kind, low, high) in _FOLLOW_UP_BOUNDS.items():
            if key in table:
                values[key] = self.number(table[key], (*path, key), kind, low, high)
            elif base is None:
                values[key] = {"after_h": 24.0, "attempts": 3, "retry_h": 4.0}[key]
        return FollowUpRule(**values)


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path if isinstance(p, str)) or "forms"


def _build(data: Mapping[str, Any], loc: _Locator, source: str) -> Form:
    c = _Checker(loc)
    c.keys(data, (), ("version", "name", "dispositions", "assessment", "safety_plan", "follow_up"))
    if "version" not in data:
        raise c.fail((), _("'version' is missing (a whole number, 1 or more)"))
    version = data["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise c.wrong(version, ("version",), _("a whole number, 1 or more"))
    name = c.text(data.get("name", ""), ("name",))

    for part in ("dispositions", "assessment", "safety_plan"):
        if part not in data:
            raise c.fail((), _("'{part}' is missing").format(part=part))
    dispositions = [e for _p, _r, e in c.entries(data["dispositions"], ("dispositions",))]
    if not dispositions:
        raise c.fail(("dispositions",), _("'dispositions' must declare at least one"))

    assessment = c.table(data["assessment"], ("assessment",))
    c.keys(assessment, ("assessment",), ("imminent_alone", "items"))
    items: list[Entry] = []
    for p, raw, e in c.entries(assessment.get("items"), ("assessment", "items"), ("area",)):
        if "area" not in raw:
            raise c.fail(p, _("item '{code}' has no area").format(code=e.code))
        area = c.text(raw["area"], (*p, "area"))
        if area not in AREAS:
            raise c.fail(
                (*p, "area"),
                _("unknown assessment area '{area}' (known: {known})").format(
                    area=area, known=", ".join(AREAS)
                ),
            )
        items.append(dataclasses.replace(e, area=area))
    for area in RISK_AREAS:
        if not any(e.area == area for e in items):
            raise c.fail(("assessment",), _("the assessment has no {area} item").format(area=area))
    alone_raw = assessment.get("imminent_alone", [])
    if not isinstance(alone_raw, list):
        raise c.wrong(alone_raw, ("assessment", "imminent_alone"), _("a list of item codes"))
    risk_items = {e.code for e in items if e.area in RISK_AREAS}
    alone: list[str] = []
    for code in alone_raw:
        c.text(code, ("assessment", "imminent_alone"))
        if code not in risk_items:
            raise c.fail(
                ("assessment", "imminent_alone"),
                _(
                    "imminent_alone names '{code}', which is not a desire, capability or "
                    "intent item of this form"
                ).format(code=code),
            )
        if code not in alone:
            alone.append(code)

    plan = c.table(data["safety_plan"], ("safety_plan",))
    c.keys(plan, ("safety_plan",), ("sections",))
    sections = [
        e for _p, _r, e in c.entries(plan.get("sections"), ("safety_plan", "sections"), hint=True)
    ]
    if not sections:
        raise c.fail(("safety_plan",), _("'safety_plan' must declare at least one section"))

    fu_raw = c.table(data.get("follow_up", {}), ("follow_up",))
    c.keys(fu_raw, ("follow_up",), (*_FOLLOW_UP_BOUNDS, "by_level"))
    follow_up = c.follow_up(
        {k: v for k, v in fu_raw.items() if k != "by_level"}, ("follow_up",), None
    )
    by_level_raw = c.table(fu_raw.get("by_level", {}), ("follow_up", "by_level"))
    for level in by_level_raw:
        if level not in LEVELS:
            raise c.fail(
                ("follow_up", "by_level", level),
                _("unknown risk level '{level}' (known: {known})").format(
                    level=level, known=", ".join(LEVELS)
                ),
            )
    by_level: list[tuple[str, FollowUpRule]] = []
    for level in LEVELS:
        if level in by_level_raw:
            p = ("follow_up", "by_level", level)
            c.keys(c.table(by_level_raw[level], p), p, _FOLLOW_UP_BOUNDS)
            by_level.append((level, c.follow_up(by_level_raw[level], p, follow_up)))
    return Form(
        version,
        name,
        tuple(dispositions),
        tuple(items),
        tuple(alone),
        tuple(sections),
        follow_up,
        tuple(by_level),
        source,
    )


# -- the versions a store has seen ---------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class FormBook:
    """The form in use and every earlier version a store keeps: a record saved under
    version ``n`` shows version ``n``'s words, marked when the form in use dropped them."""

    current: Form
    versions: Mapping[int, Form] = dataclasses.field(default_factory=dict)

    def form(self, version: int | None) -> Form:
        if version is None:
            return self.current
        if version == self.current.version:
            return self.current
        if version in self.versions:
            return self.versions[version]
        if version == BUILTIN_VERSION:
            return builtin_form()
        return self.current

    def dropped(self, kind: str, code: str) -> bool:
        """``code`` is not in the form in use."""
        return self.current.entry(kind, code) is None

    def label(self, kind: str, code: str, version: int | None = None) -> str:
        """The words of ``code`` as its record's form version said them; a code the form in
        use no longer has is marked "(no longer in the form)"; a code no version knows is
        shown as itself."""
        entry = self.form(version).entry(kind, code) or self.current.entry(kind, code)
        if entry is None:
            for form in sorted(self.versions.values(), key=lambda f: -f.version):
                entry = form.entry(kind, code)
                if entry is not None:
                    break
        words = entry.label() if entry else code
        if self.dropped(kind, code):
            # Translators: a record's item, section or disposition the organisation's form dropped
            return _("{label} (no longer in the form)").format(label=words)
        return words
