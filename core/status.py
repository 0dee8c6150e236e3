"""Status of the parts a counselor depends on, for the console's status area.

Each service publishes :class:`StatusReport` when its health changes (the button box
connects, the headset is unplugged, the broker becomes unreachable, the store locks). The
status area shows the latest report per component; the supervisor side can forward them.
"""

from __future__ import annotations

import dataclasses
import enum

from core.events import Event


class Level(enum.Enum):
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    OFF = "off"  # not configured / not used on this laptop


@dataclasses.dataclass(frozen=True, slots=True)
class StatusReport(Event):
    component: str  # "buttonbox", "headset", "broker", "store", ...
    level: Level
    text: str  # fit to show the counselor, already translated, no personal data
