"""What ``faro forms check`` and ``faro chat canned check`` share: reading the organisation's
file (66 when it cannot be read, one line on stderr) and the first line of a valid one."""

from __future__ import annotations

import sys
from pathlib import Path

from core.i18n import _

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 2, 66


def read_text(file: str) -> tuple[Path, str] | None:
    """The file's path and its UTF-8 text; None (said on stderr) when it cannot be read."""
    path = Path(file).expanduser()
    try:
        return path, path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else _("not UTF-8 text")
        print(
            "faro: " + _("{file} cannot be read: {reason}.").format(file=path, reason=reason),
            file=sys.stderr,
        )
        return None


def say_valid(path: Path, version: int, name: str) -> None:
    print(
        _("{file}: valid, version {version}{name}").format(
            file=path, version=version, name=f" ({name})" if name else ""
        )
    )
