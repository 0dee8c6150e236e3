"""The counselor agent's own retained alerts, reconciled with what it knows.

The agent reads its own alerts and re-alerts back at every connection (they come back only
as retained copies: the subscription is no_local). One it knows is over is cleared again;
one it has open but that someone cleared is published again; one the outbox's records
explain is brought back; one of a killed drill is adopted and ended (``strays="resolve"``).
While the store is locked the records cannot tell: those wait until the outbox is ready.
"""

from __future__ import annotations

import logging
from typing import Any

from escalation import events as ev
from escalation import messages as m
from escalation import topics
from escalation.counselor.resend import Resend
from escalation.lifecycle import Escalation
from escalation.reconcile import clear_retained

log = logging.getLogger(__name__)


class Retained(Resend):
    def __init__(self, *args: Any, strays: str = "keep", **kw: Any) -> None:
        assert strays in ("keep", "resolve"), strays
        super().__init__(*args, **kw)
        self._strays = strays
        #: retained alerts of ours that no record explains yet (the store may be locked)
        self._undecided: set[str] = set()
        self.outbox.on_ready(self._outbox_ready)

    def _outbox_ready(self) -> None:
        self._reload()
        self._republish(everything_open=False)
        with self._lock:
            undecided, self._undecided = self._undecided, set()
        for esc_id in undecided:  # the store is open now: its records can tell
            self._own_retained(esc_id, b"", True, recheck=True)

    def _own_retained(
        self, esc_id: str, payload: bytes, retained: bool, recheck: bool = False
    ) -> None:
        """Our own alert or re-alert, as the broker holds it: reconcile it with what we know.
        A retained copy (at subscription) of an escalation that is over is cleared again; an
        open one that someone emptied is published again; live copies are our own echo."""
        with self._lock:
            esc = self.escalations.get(esc_id)
        if esc is not None:
            if not payload and esc.open and not retained:
                log.warning(
                    "escalation %s was cleared on the broker while open: publishing it again",
                    esc_id,
                )
                self._publish_alert(esc, m.encode(self._alert(esc)))
                if esc.realerted:
                    self._publish_realert(esc)
            elif payload and retained and not esc.open:
                self._clear(esc, again=True)
            return
        if not retained or (not payload and not recheck):
            return
        rec = self.outbox.escalation(esc_id)
        if rec is not None and rec.get("state") == ev.RESOLVED:
            log.info(
                "escalation %s is over but was still retained on the broker: clearing it", esc_id
            )
            clear_retained(
                self.link,
                self.outbox,
                f"{esc_id}:clear:{m.new_id()[:8]}",
                [topics.alert(self.identity, esc_id), topics.realert(self.identity, esc_id)],
            )
        elif rec is not None:
            self._known(esc_id)
        elif self._strays == "resolve" and payload:
            self._adopt(esc_id, payload)
        elif not recheck:
            with self._lock:
                self._undecided.add(esc_id)
        else:
            log.warning(
                "a retained escalation %s of this laptop is unknown to it "
                "('faro supervisor stale' lists it)",
                esc_id,
            )

    def _adopt(self, esc_id: str, payload: bytes) -> None:
        """An escalation of ours the broker holds and we have no record of (a killed drill):
        take it back and end it, so it is not left open on every supervisor console."""
        try:
            alert = m.decode(payload)
        except m.MessageError:
            alert = None
        if not isinstance(alert, m.Alert) or alert.escalation != esc_id:
            return
        esc = Escalation(
            esc_id,
            self.identity,
            alert.contact,
            alert.level,
            alert.reason,
            alert.risk,
            alert.call_s,
            alert.raised_at,
            "restart",
            state=ev.SENT,
        )
        with self._lock:
            if esc_id in self.escalations:
                return
            self.escalations[esc_id] = esc
        log.info("escalation %s left open by an earlier run: ending it", esc_id)
        self.resolve(esc_id, "test_cancelled")

    def _known(self, esc_id: str) -> Escalation | None:
        with self._lock:
            esc = self.escalations.get(esc_id)
        if esc is not None:
            return esc
        rec = self.outbox.escalation(esc_id)  # raised before a restart
        if rec is None or rec.get("state") == ev.RESOLVED:
            return None
        return self._restore(esc_id, rec)
