"""A check of the Qt binding this process runs on, done once before the first window opens.

PySide6/shiboken6 6.12.0 on Python 3.11 drops one reference to ``None`` on every call of a
Qt method that returns nothing (``QLabel.setText``, ``setEnabled``…). The console's UI timers
use up None's references in about 80 seconds and the interpreter aborts ("none_dealloc:
deallocating None"), mid-call. Python 3.12 and newer hide it (None is immortal there), and
``requirements.lock`` pins a PySide6 without the defect. A laptop whose Faro was installed
some other way must not find out in the middle of a call: the console refuses to start and
says what to install instead.
"""

from __future__ import annotations

import sys

from core.errors import ConfigError
from core.i18n import _

#: void Qt calls the start-up check makes (it loses at most this many references)
PROBE_CALLS = 500


def none_references_lost(calls: int) -> int:
    """How many references to None ``calls`` void Qt calls lose (0 on a sound binding)."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _i in range(calls):
        probe.setObjectName("faro-probe")
    lost = before - sys.getrefcount(None)
    probe.deleteLater()
    return lost


def binding_versions() -> str:
    import PySide6
    import shiboken6

    return (
        f"PySide6 {PySide6.__version__}, shiboken6 {shiboken6.__version__}, "
        f"Python {sys.version.split()[0]}"
    )


def check_qt_binding(calls: int = PROBE_CALLS) -> None:
    """Raise :class:`ConfigError` when the Qt binding leaks references to None."""
    lost = none_references_lost(calls)
    if lost >= calls // 2:
        raise ConfigError(
            _(
                "This laptop's Qt binding ({versions}) has a defect that would close the "
                "console a minute after it starts."
            ).format(versions=binding_versions()),
            hint=_(
                "Reinstall Faro with its pinned packages (scripts/setup or the Faro "
                "package), or ask IT."
            ),
        )
