"""What the counselor and the supervisor agents share: their set-up, one MQTT link, the
link's status line, a start/stop that happen once.

Each side gives its texts (:attr:`Agent.TEXTS`), its subscriptions and its Last Will to
:meth:`Agent._open_link`, and handles messages and (re)connections itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar

from core.clock import Clock
from core.config import Config
from core.events import EventBus
from core.i18n import N_, _
from core.status import Level, StatusReport
from escalation import messages as m
from escalation import statuses
from escalation.outbox import Outbox
from escalation.transport import LinkSettings, MqttLink


class LinkStatus:
    """Publishes ``StatusReport(component="broker")`` only when the link's state changes."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._last: tuple[Level, str] | None = None
        self._lock = threading.Lock()

    def report(self, level: Level, text: str) -> None:
        with self._lock:
            if self._last == (level, text):
                return
            self._last = (level, text)
        self._bus.publish(StatusReport("broker", level, text))

    @property
    def last(self) -> tuple[Level, str] | None:
        return self._last


class Agent:
    #: status texts (untranslated; shown through _): not set up, connecting, connected, retrying
    TEXTS: ClassVar[tuple[str, str, str, str]] = (
        N_("Supervisors: escalation is not set up on this laptop"),
        N_("Supervisors: connecting…"),
        N_("Supervisors: connected"),
        N_("Supervisors: not connected — retrying"),
    )

    def __init__(
        self,
        config: Config,
        clock: Clock,
        bus: EventBus,
        outbox: Outbox,
        settings: LinkSettings | None,
        *,
        link_factory: Callable[..., MqttLink] = MqttLink,
    ) -> None:
        self.config = config
        self.clock = clock
        self.bus = bus
        self.outbox = outbox
        self.settings = settings
        self.identity = settings.identity if settings else ""
        self.status = LinkStatus(bus)
        self._lock = threading.RLock()
        self._link_factory = link_factory
        self._steps_taken: set[str] = set()
        self.link: MqttLink | None = None

    def _open_link(
        self,
        subscriptions: list[tuple[str, int] | tuple[str, int, bool]],
        will: tuple[str, bytes] | None,
    ) -> None:
        if self.settings is not None:
            self.link = self._link_factory(
                self.settings,
                subscriptions=subscriptions,
                on_message=self._on_message,
                on_state=self._on_link,
                on_connected=self._on_connected,
                will=will,
            )

    def _offline(self, unexpected: bool = False) -> bytes:
        """Our presence as ``offline`` (the Last Will when ``unexpected``)."""
        return m.encode(
            m.Presence(
                self.identity,
                statuses.OFFLINE,
                self.clock.now(),
                unexpected=unexpected,
                id=m.new_id(),
            )
        )

    def _done_when_sent(self, message_id: str) -> Callable[[bool], None]:
        """An ``on_sent`` callback: the outbox item is done once the broker has it."""

        def sent(ok: bool) -> None:
            if ok:
                self.outbox.mark_sent(message_id)

        return sent

    # -- once ------------------------------------------------------------------------------
    def _first_time(self, step: str) -> bool:
        """True the first time ``step`` ("start", "stop") is taken, False ever after."""
        with self._lock:
            if step in self._steps_taken:
                return False
            self._steps_taken.add(step)
            return True

    @property
    def _stopped(self) -> bool:
        return "stop" in self._steps_taken

    def _start_link(self) -> None:
        """Connect (the link retries by itself), or say that escalation is not set up."""
        off, connecting = self.TEXTS[0], self.TEXTS[1]
        if self.link is None:
            self.status.report(Level.OFF, _(off))
        else:
            self.status.report(Level.WARNING, _(connecting))
            self.link.start()

    @property
    def connected(self) -> bool:
        return bool(self.link and self.link.connected)

    # -- the link (network thread) ---------------------------------------------------------
    def _on_link(self, up: bool, reason: str) -> None:
        if up:
            self.status.report(Level.OK, _(self.TEXTS[2]))
        else:
            self.status.report(Level.WARNING, _(self.TEXTS[3]))

    def _on_connected(self) -> None:
        raise NotImplementedError

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        raise NotImplementedError
