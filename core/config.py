"""The typed options registry and the configuration it validates.

Every option is declared exactly once, with its type, default and description, by
:func:`declare` in the ``options`` module of the package that uses it (``calls/options.py``,
``storage/options.py``…). :func:`all_options` imports those modules, so ``faro config``
and the loader see every option. A description is read by people: it is marked with
``N_()`` where it is declared and translated with ``_(opt.description)`` where it is shown;
the validation errors are translated too (the option keys and values stay as written).
A configuration file is TOML in the platform config dir; its tables map to the dotted
option keys (``[calls] ring_timeout_s = 30`` is ``calls.ring_timeout_s``). The file carries
``config_version``; older files are upgraded step by step by the functions in
:data:`UPGRADES`.
"""

from __future__ import annotations

import builtins
import logging
import threading
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from core.errors import ConfigError
from core.i18n import _
from core.modules import optional_module

log = logging.getLogger(__name__)
T = TypeVar("T")

CONFIG_VERSION = 2
#: options renamed from version n to n+1 (old key → new key)
RENAMED: dict[int, dict[str, str]] = {
    1: {"storage.idle_lock_minutes": "security.lock_idle_minutes"},
}


def _rename(version: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def upgrade(flat: dict[str, Any]) -> dict[str, Any]:
        names = RENAMED[version]
        return {names.get(k, k): v for k, v in flat.items()}

    return upgrade


#: ``UPGRADES[n]`` turns a version-n mapping (flat dotted keys) into version n+1.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _rename(1),  # the idle lock became a security option, with the session and sleep locks
}


def renamed_key(key: str) -> str:
    """A key of any earlier version under its current name (for ``locked`` patterns)."""
    for version in sorted(RENAMED):
        key = RENAMED[version].get(key, key)
    return key


#: Packages whose ``options`` module declares options. Order is the display order.
OPTION_MODULES = (
    "core",
    "calls",
    "console",
    "devices",
    "audio",
    "storage",
    "escalation",
    "chat",
)

_TYPES = (bool, int, float, str, list, dict)


@dataclass(frozen=True)
class Option(Generic[T]):
    key: str
    type: builtins.type[T]
    default: T
    description: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    item_type: builtins.type[Any] | None = None  # element type of list options
    secret: bool = False  # never printed by ``faro config``

    def coerce(self, value: Any) -> T:
        """Return ``value`` checked (and widened int→float) or raise :class:`ConfigError`."""
        t: type[Any] = self.type
        if t is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if t is int and isinstance(value, bool) or not isinstance(value, t):
            raise ConfigError(
                _("Option {key} must be of type {type}, not {actual}.").format(
                    key=self.key, type=t.__name__, actual=type(value).__name__
                )
            )
        if self.item_type is not None and any(not isinstance(v, self.item_type) for v in value):
            raise ConfigError(
                _("Option {key} must be a list of {type}.").format(
                    key=self.key, type=self.item_type.__name__
                )
            )
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(map(str, self.choices))
            raise ConfigError(
                _("Option {key} must be one of: {allowed}.").format(key=self.key, allowed=allowed)
            )
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(
                _("Option {key} must be at least {minimum}.").format(
                    key=self.key, minimum=self.minimum
                )
            )
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(
                _("Option {key} must be at most {maximum}.").format(
                    key=self.key, maximum=self.maximum
                )
            )
        checked: T = value
        return checked


_registry: dict[str, Option[Any]] = {}
_registry_lock = threading.Lock()
_loaded = False


def declare(key: str, type: type[T], default: T, description: str, **kw: Any) -> Option[T]:
    """Declare an option. Declaring the same key twice is a programming error.

    ``description`` is marked for translation: ``declare(key, int, 5, N_("How many…"))``.
    """
    if type not in _TYPES:
        raise TypeError(f"unsupported option type {type!r}")
    opt = Option(key, type, default, description, **kw)
    opt.coerce(default)  # the default must itself be valid
    with _registry_lock:
        if key in _registry:
            raise ValueError(f"option {key} declared twice")
        _registry[key] = opt
    return opt


def all_options() -> dict[str, Option[Any]]:
    """Every declared option, importing the per-package ``options`` modules once."""
    global _loaded
    if not _loaded:
        for pkg in OPTION_MODULES:
            optional_module(f"{pkg}.options")
        _loaded = True
    with _registry_lock:
        return dict(_registry)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not _is_dict_option(key):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _is_dict_option(key: str) -> bool:
    opt = all_options().get(key)
    return opt is not None and opt.type is dict


@dataclass
class Config:
    """Validated option values; anything not set falls back to its declared default."""

    values: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    #: option key → the organisation that locked it (from its organisation file)
    locked: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        opts = all_options()
        checked: dict[str, Any] = {}
        for key, value in self.values.items():
            opt = opts.get(key)
            if opt is None:
                raise ConfigError(
                    _("Unknown option {key} in {file}.").format(key=key, file=self.source)
                    if self.source
                    else _("Unknown option {key}.").format(key=key)
                )
            checked[key] = opt.coerce(value)
        self.values = checked

    def get(self, option: Option[T] | str) -> T:
        key = option if isinstance(option, str) else option.key
        opt = all_options().get(key)
        if opt is None:
            raise KeyError(key)
        with self._lock:
            return self.values.get(key, opt.default)

    __getitem__ = get

    def set(self, option: Option[Any] | str, value: Any) -> None:
        key = option if isinstance(option, str) else option.key
        opt = all_options().get(key)
        if opt is None:
            raise ConfigError(_("Unknown option {key}.").format(key=key))
        if key in self.locked:
            raise ConfigError(
                _("Option {key} is set by {organisation} and cannot be changed here.").format(
                    key=key, organisation=self.locked[key]
                )
            )
        checked = opt.coerce(value)
        with self._lock:
            self.values[key] = checked

    def with_overrides(self, overrides: Mapping[str, Any]) -> Config:
        """A copy with ``overrides`` (checked on their own, so errors name no file) on top."""
        merged = dict(self.values)
        merged.update(_unlocked(Config(dict(overrides)).values, self.locked, "overrides"))
        return Config(merged, self.source, dict(self.locked))

    @classmethod
    def defaults(cls) -> Config:
        return cls({})

    @classmethod
    def from_toml_text(cls, text: str, source: Path | None = None) -> Config:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                _("The configuration file is not valid TOML in {file}: {error}.").format(
                    file=source, error=exc
                )
                if source
                else _("The configuration file is not valid TOML: {error}.").format(error=exc)
            ) from None
        return cls.from_data(data, source)

    @classmethod
    def from_data(cls, data: dict[str, Any], source: Path | None = None) -> Config:
        """A parsed TOML document (tables and ``config_version``), upgraded and checked."""
        version = data.pop("config_version", CONFIG_VERSION)
        if not isinstance(version, int) or version < 1 or version > CONFIG_VERSION:
            raise ConfigError(
                (
                    _(
                        "Unsupported config_version {version} in {file}; "
                        "this Faro reads versions 1 to {latest}."
                    )
                    if source
                    else _(
                        "Unsupported config_version {version}; "
                        "this Faro reads versions 1 to {latest}."
                    )
                ).format(version=repr(version), file=source, latest=CONFIG_VERSION)
            )
        flat = _flatten(data)
        while version < CONFIG_VERSION:
            flat = UPGRADES[version](flat)
            version += 1
        return cls(flat, source)

    @classmethod
    def load(cls, path: Path, organisation: Path | None | bool = None) -> Config:
        """Load ``path``; a missing file means all defaults. The organisation's file
        (:func:`organisation_file`) lies under it, and the counselor's own choices made in
        the console (``preferences.toml`` next to it, core/preferences.py) on top; an option
        the organisation locked keeps the organisation's value whatever the layers above
        say (each ignored value is logged once). ``organisation=False``: no organisation
        layer at all (the demo's throwaway profile)."""
        if organisation is False:
            org = None
        else:
            org = load_organisation(None if organisation is True else organisation)
        config = cls._load_file(path)
        from core import preferences

        chosen = preferences.load(preferences.preferences_file(Path(path)))
        if org is None and not chosen:
            return config
        merged = dict(org.values) if org else {}
        locked = org.locks() if org else {}
        merged.update(_unlocked(config.values, locked, str(path)))
        merged.update(_unlocked(chosen, locked, preferences.FILE_NAME))
        return cls(merged, config.source, locked)

    @classmethod
    def _load_file(cls, path: Path) -> Config:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls({}, Path(path))
        except OSError as exc:
            raise ConfigError(
                _("Cannot read the configuration file {path}: {reason}.").format(
                    path=path, reason=exc.strerror
                )
            ) from None
        return cls.from_toml_text(text, Path(path))

    def locked_by(self, option: Option[Any] | str) -> str | None:
        """The organisation that locked this option, None when the counselor may change it."""
        return self.locked.get(option if isinstance(option, str) else option.key)

    def describe(self) -> Iterable[tuple[Option[Any], Any, bool]]:
        """(option, effective value, is_default) for every option, for ``faro config``."""
        for key, opt in sorted(all_options().items()):
            with self._lock:
                is_default = key not in self.values
                value = self.values.get(key, opt.default)
            yield opt, value, is_default


# -- the organisation's file -----------------------------------------------------------------
#: where provisioning installs the organisation's options (root-owned, 0644)
ORGANISATION_FILE = Path("/etc/faro/organisation.toml")
#: names another organisation file (tests, a demo, a second installation)
ORGANISATION_ENV = "FARO_ORGANISATION_FILE"
_told_locked: set[tuple[str, str]] = set()


def organisation_file() -> Path:
    import os

    return Path(os.environ.get(ORGANISATION_ENV) or ORGANISATION_FILE)


@dataclass(frozen=True)
class Organisation:
    """The organisation's options: defaults for every laptop, and the ``locked`` ones that a
    laptop's faro.toml and the counselor's preferences cannot change.

    ``[organisation]`` holds ``name`` and ``locked``, a list of option keys or patterns
    (``"escalation.*"``); a locked option that the file does not set is locked at its
    built-in default. Everything else in the file is options, as in faro.toml."""

    name: str
    values: dict[str, Any]
    patterns: tuple[str, ...]
    source: Path
    id: str = ""  # the organisation's short id (bundles and provisioning check it)

    def locks(self) -> dict[str, str]:
        from fnmatch import fnmatchcase

        return {
            key: self.name
            for key in all_options()
            if any(fnmatchcase(key, p) for p in self.patterns)
        }


def load_organisation(path: Path | None = None) -> Organisation | None:
    """The organisation file at ``path`` (default :func:`organisation_file`); None when
    there is none. A file that is there but wrong is a :class:`ConfigError`: a laptop whose
    organisation policy cannot be read must not run on defaults silently."""
    path = Path(path) if path is not None else organisation_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(
            _("Cannot read the organisation's configuration {path}: {reason}.").format(
                path=path, reason=exc.strerror
            )
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            _("The organisation's configuration {path} is not valid TOML: {error}.").format(
                path=path, error=exc
            )
        ) from None
    head = data.pop("organisation", {})
    name = head.get("name") if isinstance(head, dict) else None
    patterns = head.get("locked", []) if isinstance(head, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(
            _("The organisation's configuration {path} has no [organisation] name.").format(
                path=path
            )
        )
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ConfigError(
            _("In {path}, [organisation] locked must be a list of option keys.").format(path=path)
        )
    from fnmatch import fnmatchcase

    patterns = [renamed_key(p) for p in patterns]
    keys = all_options()
    unknown = [p for p in patterns if not any(fnmatchcase(k, p) for k in keys)]
    if unknown:
        raise ConfigError(
            _("In {path}, [organisation] locked names no option: {names}.").format(
                path=path, names=", ".join(unknown)
            )
        )
    values = Config.from_data(data, path).values
    org_id = head.get("id", "") if isinstance(head, dict) else ""
    return Organisation(name.strip(), values, tuple(patterns), path, str(org_id))


def _unlocked(values: Mapping[str, Any], locked: Mapping[str, str], where: str) -> dict[str, Any]:
    """``values`` without the locked keys; each one dropped is logged once per place."""
    out = {}
    for key, value in values.items():
        if key in locked:
            if (where, key) not in _told_locked:
                _told_locked.add((where, key))
                log.warning(
                    "option %s is locked by the organisation (%s): the value in %s is ignored",
                    key,
                    locked[key],
                    where,
                )
            continue
        out[key] = value
    return out
