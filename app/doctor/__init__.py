"""``faro doctor``: the posture and health of one laptop, for IT staff (docs/doctor.md).

Each check is a small function of a :class:`Context` returning a :class:`Check`: ``ok``,
``warn``, ``fail`` (or ``skip``: not configured here) with one line of what was found and one
line of advice. No check needs the store's passphrase or the counselor's presence, none
changes anything, and none prints or keeps personal data: what a check reads of the store is
its files' sizes, modes and first bytes, never their contents.

The exit code follows the monitoring-plugin convention IT tools already read (Nagios,
Icinga, Zabbix agents): 0 all ok, 1 a warning, 2 a failure.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from core.clock import Clock, SystemClock
from core.config import Config
from core.paths import Paths

log = logging.getLogger(__name__)


class Status(enum.Enum):
    OK = "ok"
    SKIP = "skip"
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Status.OK: 0, Status.SKIP: 0, Status.WARN: 1, Status.FAIL: 2}
EXIT_OK, EXIT_WARN, EXIT_FAIL = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class Check:
    id: str
    title: str
    status: Status
    summary: str
    advice: str = ""
    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "summary": self.summary,
            "advice": self.advice,
            "data": self.data,
        }


@dataclasses.dataclass
class Context:
    """What the checks look at. Tests point the roots at a fake tree."""

    config: Config
    paths: Paths
    clock: Clock = dataclasses.field(default_factory=SystemClock)
    root: Path = Path("/")  # /proc, /sys, /var, /run and /etc are read under it
    run: Callable[[list[str]], tuple[int, str]] | None = None  # a command's (rc, stdout)
    network_timeout_s: float = 5.0

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def command(self, argv: list[str]) -> tuple[int, str] | None:
        """(returncode, stdout) of a system tool, None when it is not installed."""
        if self.run is not None:
            return self.run(argv)
        import shutil
        import subprocess

        if shutil.which(argv[0]) is None:
            return None
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return p.returncode, p.stdout


CheckFn = Callable[[Context], Check]


def all_checks() -> list[CheckFn]:
    from app.doctor import hardware, links, system

    return [*system.CHECKS, *links.CHECKS, *hardware.CHECKS]


@dataclasses.dataclass(frozen=True)
class Report:
    checks: list[Check]
    seconds: float

    @property
    def worst(self) -> Status:
        return max((c.status for c in self.checks), key=lambda s: s.rank, default=Status.OK)

    @property
    def exit_code(self) -> int:
        return self.worst.rank

    def as_dict(self) -> dict[str, Any]:
        return {
            "worst": self.worst.value,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 2),
            "checks": [c.as_dict() for c in self.checks],
        }


def run_checks(ctx: Context, checks: Iterable[CheckFn] | None = None) -> Report:
    """Every check, each on its own: one that breaks is reported as a failure of that check
    (its error's type only: an exception text may carry a path or a name)."""
    from core.i18n import _

    t0 = time.monotonic()
    out: list[Check] = []
    for fn in checks or all_checks():
        try:
            out.append(fn(ctx))
        except Exception as exc:  # a check must never take the others down
            log.warning("doctor check %s failed: %s", fn.__name__, type(exc).__name__)
            out.append(
                Check(
                    fn.__name__.removeprefix("check_"),
                    fn.__name__.removeprefix("check_").replace("_", " "),
                    Status.FAIL,
                    _("The check itself failed ({error}).").format(error=type(exc).__name__),
                    _("Report this to Faro's developers with the support bundle."),
                )
            )
    return Report(out, time.monotonic() - t0)
