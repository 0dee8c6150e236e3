"""All escalation access to the case store, behind one adapter.

An escalation is written here *before* it is published, and stays pending until a
supervisor console confirms it; after a restart the pending items are published again.
:class:`StoreOutbox` writes to the encrypted store (``session.service("store")``). While the
store is locked it keeps everything in memory — an alert is never held back for a
passphrase — and writes it all to the store, in order, as soon as it is unlocked.
:class:`MemoryOutbox` is the same thing without persistence, for headless tools and tests.

Outbox kinds: ``esc.alert`` (sent = a supervisor confirmed it), ``esc.event`` (counselor
whispers and resolutions) and ``esc.reply`` (supervisor acknowledgements, whispers,
resolutions), both sent = the broker acknowledged them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from typing import Any, Callable, Protocol

from core.events import EventBus

log = logging.getLogger(__name__)

ALERT = "esc.alert"
EVENT = "esc.event"
REPLY = "esc.reply"


@dataclasses.dataclass(frozen=True, slots=True)
class Pending:
    id: int
    kind: str
    message_id: str
    payload: bytes
    attempts: int
    created_at: str


class Outbox(Protocol):
    persistent: bool

    def add(self, kind: str, message_id: str, payload: bytes) -> bool: ...
    def pending(self, kind: str | None = None) -> list[Pending]: ...
    def attempted(self, message_id: str) -> None: ...
    def mark_sent(self, message_id: str) -> None: ...
    def record(self, escalation_id: str, contact_id: str | None, level: str, state: str,
               detail: dict[str, Any]) -> None: ...
    def whisper(self, escalation_id: str, direction: str, text: str) -> None: ...
    def audit(self, action: str, subject: str, detail: dict[str, Any] | None = None) -> None: ...
    def escalation(self, escalation_id: str) -> dict[str, Any] | None: ...
    def on_ready(self, callback: Callable[[], None]) -> None: ...


class MemoryOutbox:
    """In-memory outbox and escalation mirror (lost when the process ends)."""

    persistent = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Pending] = {}
        self._sent: set[str] = set()
        self._seq = 0
        self.escalations: dict[str, dict[str, Any]] = {}
        self.whispers: list[tuple[str, str, str]] = []
        self.audits: list[tuple[str, str, dict[str, Any] | None]] = []
        #: every write in order, for StoreOutbox to replay into the store
        self.ops: list[tuple[str, tuple[Any, ...]]] = []

    def add(self, kind: str, message_id: str, payload: bytes) -> bool:
        with self._lock:
            if message_id in self._items:
                return False
            self._seq += 1
            self._items[message_id] = Pending(self._seq, kind, message_id, bytes(payload), 0,
                                              dt.datetime.now(dt.timezone.utc).isoformat())
            self.ops.append(("add", (kind, message_id, bytes(payload))))
            return True

    def pending(self, kind: str | None = None) -> list[Pending]:
        with self._lock:
            return sorted((p for m, p in self._items.items()
                           if m not in self._sent and (kind is None or p.kind == kind)),
                          key=lambda p: p.id)

    def attempted(self, message_id: str) -> None:
        with self._lock:
            p = self._items.get(message_id)
            if p is not None:
                self._items[message_id] = dataclasses.replace(p, attempts=p.attempts + 1)

    def mark_sent(self, message_id: str) -> None:
        with self._lock:
            if message_id in self._items and message_id not in self._sent:
                self._sent.add(message_id)
                self.ops.append(("sent", (message_id,)))

    def record(self, escalation_id: str, contact_id: str | None, level: str, state: str,
               detail: dict[str, Any]) -> None:
        with self._lock:
            e = self.escalations.setdefault(escalation_id, {"contact_id": contact_id, "level": level,
                                                            "history": []})
            e.update(state=state, detail=dict(detail), level=level)
            e["history"].append(state)
            self.ops.append(("record", (escalation_id, contact_id, level, state, dict(detail))))

    def whisper(self, escalation_id: str, direction: str, text: str) -> None:
        with self._lock:
            self.whispers.append((escalation_id, direction, text))
            self.ops.append(("whisper", (escalation_id, direction, text)))

    def audit(self, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
        with self._lock:
            self.audits.append((action, subject, detail))
            self.ops.append(("audit", (action, subject, detail)))

    def escalation(self, escalation_id: str) -> dict[str, Any] | None:
        with self._lock:
            e = self.escalations.get(escalation_id)
            return None if e is None else {**e, "history": list(e["history"])}

    def on_ready(self, callback: Callable[[], None]) -> None:
        pass


class StoreOutbox:
    """The encrypted store when unlocked; memory (replayed into the store at unlock) when not."""

    persistent = True

    def __init__(self, store: Any, bus: EventBus) -> None:
        from storage.events import StoreUnlocked
        self._store = store
        self._lock = threading.RLock()
        self._spill = MemoryOutbox()
        self._ready: list[Callable[[], None]] = []
        bus.subscribe(StoreUnlocked, self._unlocked)

    def _open(self) -> Any | None:
        return None if self._store.is_locked else self._store

    def _do(self, op: str, *args: Any) -> Any:
        """Run one write on the store; on a locked store (or a race with locking) keep it in
        memory for the unlock. Returns the store's result, or None when spilled."""
        from storage.errors import StoreIsLocked
        with self._lock:
            store = self._open()
            if store is not None and not self._spill.ops:
                try:
                    return _apply(store, op, args)
                except StoreIsLocked:
                    pass
            _apply_memory(self._spill, op, args)
            return None

    def add(self, kind: str, message_id: str, payload: bytes) -> bool:
        with self._lock:
            if any(p.message_id == message_id for p in self._spill.pending()):
                return False
            r = self._do("add", kind, message_id, payload)
            return True if r is None else bool(r)

    def pending(self, kind: str | None = None) -> list[Pending]:
        from storage.errors import StoreIsLocked
        with self._lock:
            items = list(self._spill.pending(kind))
            store = self._open()
            if store is not None:
                try:
                    stored = [Pending(p.id, p.kind, p.message_id, p.payload, p.attempts,
                                      p.created_at) for p in store.outbox_pending(kind)]
                except StoreIsLocked:
                    stored = []
                seen = {p.message_id for p in items}
                items = [p for p in stored if p.message_id not in seen] + items
            return items

    def attempted(self, message_id: str) -> None:
        self._do("attempted", message_id)

    def mark_sent(self, message_id: str) -> None:
        with self._lock:
            self._spill.mark_sent(message_id)
            self._do("sent", message_id)

    def record(self, escalation_id: str, contact_id: str | None, level: str, state: str,
               detail: dict[str, Any]) -> None:
        self._do("record", escalation_id, contact_id, level, state, dict(detail))

    def whisper(self, escalation_id: str, direction: str, text: str) -> None:
        self._do("whisper", escalation_id, direction, text)

    def audit(self, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
        self._do("audit", action, subject, detail)

    def escalation(self, escalation_id: str) -> dict[str, Any] | None:
        from storage.errors import StoreIsLocked
        with self._lock:
            found = self._spill.escalation(escalation_id)
            store = self._open()
            if found is None and store is not None:
                try:
                    found = store.escalation(escalation_id)
                except StoreIsLocked:
                    pass
            return found

    def on_ready(self, callback: Callable[[], None]) -> None:
        self._ready.append(callback)

    def _unlocked(self, event: object) -> None:
        with self._lock:
            store = self._open()
            if store is None:
                return
            ops, self._spill.ops = self._spill.ops, []
            for i, (op, args) in enumerate(ops):
                try:
                    _apply(store, op, args)
                except Exception:
                    log.exception("writing held escalation data to the store failed")
                    self._spill.ops = ops[i:] + self._spill.ops
                    break
            else:
                self._spill = MemoryOutbox()
        for cb in list(self._ready):
            try:
                cb()
            except Exception:
                log.exception("outbox ready callback failed")


def _apply(store: Any, op: str, args: tuple[Any, ...]) -> Any:
    if op == "add":
        return store.outbox_add(*args)
    if op == "attempted":
        return store.outbox_attempted(*args)
    if op == "sent":
        return store.outbox_mark_sent(*args)
    if op == "record":
        return store.record_escalation(*args)
    if op == "whisper":
        return store.add_whisper(*args)
    if op == "audit":
        return store.audit(*args)
    raise AssertionError(op)


def _apply_memory(mem: MemoryOutbox, op: str, args: tuple[Any, ...]) -> None:
    if op == "add":
        mem.add(*args)
    elif op == "attempted":
        mem.attempted(*args)
    elif op == "sent":
        mem.mark_sent(*args)
    elif op == "record":
        mem.record(*args)
    elif op == "whisper":
        mem.whisper(*args)
    elif op == "audit":
        mem.audit(*args)


def outbox_for(session: Any) -> Outbox:
    """The store-backed outbox when the session has a case store, else memory."""
    store = session.service("store")
    if store is not None and hasattr(store, "outbox_add"):
        return StoreOutbox(store, session.bus)
    return MemoryOutbox()
