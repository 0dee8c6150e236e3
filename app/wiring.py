"""Flows between services that neither service should know about.

The Session creates one :class:`Wiring` after attaching the services. Each flow listens on
the bus and calls the other service, so capability packages stay independent of each other:

- call-health figures (audio) are kept with the contact (store); figures that arrive while
  the store is locked wait in memory (bounded) and are written at unlock;
- the button box's help LED shows the escalation: pending (blinking) from raised until a
  supervisor acknowledges, and again once the fallback number is due; acknowledged (steady)
  until it is resolved.
"""
from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from core.errors import FaroError

if TYPE_CHECKING:
    from core.session import Session

log = logging.getLogger(__name__)

PENDING_FIGURES = 200


class Wiring:
    def __init__(self, session: "Session") -> None:
        self.session = session
        self._pending: deque[tuple[str, dict[str, Any]]] = deque(maxlen=PENDING_FIGURES)
        bus = session.bus
        try:
            from audio.events import CallHealthSummary
            from storage.events import StoreUnlocked
        except ModuleNotFoundError:  # a build without audio or storage: nothing to wire
            pass
        else:
            bus.subscribe(CallHealthSummary, self._on_health)
            bus.subscribe(StoreUnlocked, self._on_unlocked)
        try:
            from escalation import events as esc
        except ModuleNotFoundError:
            pass
        else:
            for kind in (esc.EscalationStateChanged, esc.FallbackNumberDue):
                bus.subscribe(kind, self._on_escalation)

    def _on_escalation(self, event: Any) -> None:
        box = self.session.service("buttonbox")
        escalation = self.session.service("escalation")
        if box is None or escalation is None:
            return
        state = escalation.led_state()
        box.set_escalation(None if state in (None, "resolved")
                           else "acknowledged" if state == "acknowledged" else "pending")

    def _on_health(self, event: Any) -> None:
        self._pending.append((event.call_id, event.figures))
        self._flush_health()

    def _on_unlocked(self, event: Any) -> None:
        self._flush_health()

    def _flush_health(self) -> None:
        store = self.session.service("store")
        if store is None or store.is_locked:
            return
        while self._pending:
            call_id, figures = self._pending[0]
            try:
                store.set_contact_health(call_id, figures)
            except FaroError as exc:
                log.warning("call-health figures not stored yet: %s", exc.message)
                return
            self._pending.popleft()
