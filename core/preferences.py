"""The counselor's own choices made in the console (language, theme, text size, ring),
kept next to faro.toml in ``preferences.toml`` and laid over it when the configuration is
loaded.

Only the keys in :data:`PREFERENCE_KEYS` can be set this way; each value is checked by its
option exactly as faro.toml's are, and a damaged or hand-edited file never stops Faro: the
bad values are skipped (and logged) and the rest apply. faro.toml itself is never rewritten
by the console (it is IT's file, with their comments). The file is written atomically
(temporary file, fsync, rename), owner-only.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "preferences.toml"
PREFERENCE_KEYS = (
    "ui.language",
    "ui.theme",
    "ui.font_scale",
    "audio.ring_sound",
    "audio.ring_volume",
    "quality.share_figures",  # the counselor's consent (docs/quality.md)
)


def preferences_file(config_file: Path) -> Path:
    return Path(config_file).with_name(FILE_NAME)


# What was already said about a file's contents: the configuration is loaded more than once
# at start (before and after the language is known), and one bad value is told once.
_told: set[tuple[str, str]] = set()


def _tell(path: Path, what: str, message: str, *args: Any) -> None:
    try:
        stamp = str(Path(path).stat().st_mtime_ns)
    except OSError:
        stamp = ""
    seen = (f"{path}\0{stamp}", what)
    if seen not in _told:
        _told.add(seen)
        log.warning(message, *args)


def load(path: Path) -> dict[str, Any]:
    """The valid preferences in ``path`` ({} when there is none or it cannot be read).

    Each problem of a given version of the file is logged once per process, however often
    the configuration is loaded."""
    from core.config import all_options

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        _tell(path, "", "preferences file ignored (%s): %s", path, exc)
        return {}
    options = all_options()
    out: dict[str, Any] = {}
    for key, value in data.items():
        opt = options.get(key)
        if key not in PREFERENCE_KEYS or opt is None:
            _tell(path, key, "preferences file: %s is not a console preference; ignored", key)
            continue
        try:
            out[key] = opt.coerce(value)
        except Exception as exc:  # ConfigError and friends: skip this one, keep the rest
            _tell(path, key, "preferences file: %s ignored: %s", key, exc)
    return out


def save(path: Path, values: Mapping[str, Any]) -> None:
    """Write ``values`` (preference keys only) to ``path`` atomically, mode 0600."""
    unknown = set(values) - set(PREFERENCE_KEYS)
    if unknown:
        raise ValueError(f"not console preferences: {sorted(unknown)}")
    lines = ["# Written by the Faro console (Settings). faro.toml is not changed.\n"]
    for key in PREFERENCE_KEYS:
        if key in values:
            lines.append(f"{json.dumps(key)} = {_toml_value(values[key])}\n")
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    raise TypeError(f"cannot write {type(value).__name__} as a preference")
