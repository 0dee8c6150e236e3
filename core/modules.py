"""Parts of Faro that a build may leave out (a supervisor laptop has no audio, say)."""

from __future__ import annotations

import importlib
from types import ModuleType


def optional_module(name: str) -> ModuleType | None:
    """The module ``name``, or None when it is not installed. A module that is there but
    fails to import (one of *its* imports is missing) still raises: that is a broken build,
    not a part left out."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None
