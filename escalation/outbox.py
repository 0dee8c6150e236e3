"""All escalation access to the case store, behind one adapter.

An escalation is written here *before* it is published, and stays pending until a
supervisor console confirms it; after a restart the pending items are published again.
:class:`StoreOutbox` writes to the encrypted store, seen through the small
:class:`DurableBox` protocol (app/wiring.py adapts the case store to it and tells the
outbox when the store is unlocked; escalation never imports storage). While the
store is locked it keeps everything in memory — an alert is never held back for a
passphrase — and writes it all to the store, in order, as soon as it is unlocked; what it
holds meanwhile that is codes only (every item but whispers) is also sealed in the
:class:`escalation.spool.Spool`, so a crash while locked loses no alert and no resolution.
:class:`SpoolOutbox` is the spool alone (``faro escalate``: no store), :class:`MemoryOutbox`
the same without persistence, for tests and the drill watcher.

Outbox kinds: ``esc.alert`` (sent = a supervisor confirmed it), ``esc.event`` (counselor
whispers and resolutions), ``esc.reply`` (supervisor acknowledgements, whispers,
resolutions) and ``esc.clear`` (retained topics to empty once an escalation is over; see
escalation/reconcile.py), all but alerts sent = the broker acknowledged them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from escalation.spool import Spool, SpoolError, spool_key

log = logging.getLogger(__name__)

ALERT = "esc.alert"
EVENT = "esc.event"
REPLY = "esc.reply"
CLEAR = "esc.clear"


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
    def record(
        self,
        escalation_id: str,
        contact_id: str | None,
        level: str,
        state: str,
        detail: dict[str, Any],
    ) -> None: ...
    def whisper(self, escalation_id: str, direction: str, text: str) -> None: ...
    def audit(self, action: str, subject: str, detail: dict[str, Any] | None = None) -> None: ...
    def escalation(self, escalation_id: str) -> dict[str, Any] | None: ...
    def on_ready(self, callback: Callable[[], None]) -> None: ...


class BoxLocked(Exception):
    """The durable box is locked (also when it locks while a write is on its way)."""


class DurableBox(Protocol):
    """Encrypted, durable storage of escalation records and outbox items (the case store,
    adapted by app/wiring.py). Every method but ``is_locked`` raises :class:`BoxLocked`
    while the box is locked."""

    @property
    def is_locked(self) -> bool: ...
    def outbox_add(self, kind: str, message_id: str, payload: bytes) -> bool: ...
    def outbox_pending(self, kind: str | None = None) -> list[Pending]: ...
    def outbox_attempted(self, message_id: str) -> None: ...
    def outbox_mark_sent(self, message_id: str) -> object: ...
    def record_escalation(
        self,
        escalation_id: str,
        contact_id: str | None,
        level: str,
        state: str,
        detail: dict[str, Any],
    ) -> None: ...
    def add_whisper(self, escalation_id: str, direction: str, text: str) -> object: ...
    def audit(self, action: str, subject: str, detail: dict[str, Any] | None = None) -> None: ...
    def escalation(self, escalation_id: str) -> dict[str, Any] | None: ...


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
            self._items[message_id] = Pending(
                self._seq, kind, message_id, bytes(payload), 0, dt.datetime.now(dt.UTC).isoformat()
            )
            self.ops.append(("add", (kind, message_id, bytes(payload))))
            return True

    def pending(self, kind: str | None = None) -> list[Pending]:
        with self._lock:
            return sorted(
                (
                    p
                    for m, p in self._items.items()
                    if m not in self._sent and (kind is None or p.kind == kind)
                ),
                key=lambda p: p.id,
            )

    def attempted(self, message_id: str) -> None:
        with self._lock:
            p = self._items.get(message_id)
            if p is not None:
                self._items[message_id] = dataclasses.replace(p, attempts=p.attempts + 1)

    def mark_sent(self, message_id: str) -> None:
        """Done — also for an item this outbox never held (it may be in the store)."""
        with self._lock:
            if message_id not in self._sent:
                self._sent.add(message_id)
                self.ops.append(("sent", (message_id,)))

    def record(
        self,
        escalation_id: str,
        contact_id: str | None,
        level: str,
        state: str,
        detail: dict[str, Any],
    ) -> None:
        with self._lock:
            e = self.escalations.setdefault(
                escalation_id, {"contact_id": contact_id, "level": level, "history": []}
            )
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


class SpoolOutbox(MemoryOutbox):
    """A :class:`MemoryOutbox` whose every codes-only write is sealed on disk first
    (``faro escalate``). Reopened, it comes back as it was, compacted to what is still live."""

    persistent = True

    def __init__(self, spool: Spool) -> None:
        super().__init__()
        self.spool = spool
        #: message ids whose spool write failed (held in memory only; the CLI says so)
        self.unsaved: set[str] = set()
        for op, args in spool.load():
            _apply_memory(self, op, args)
        self.ops = []
        spool.rewrite(_live_ops(self))

    def _persist(self, op: str, args: tuple[Any, ...], message_id: str | None = None) -> None:
        try:
            self.spool.append(op, args)
        except SpoolError:
            log.exception("escalation spool not written")
            if message_id:
                self.unsaved.add(message_id)

    def add(self, kind: str, message_id: str, payload: bytes) -> bool:
        if not super().add(kind, message_id, payload):
            return False
        self._persist("add", (kind, message_id, bytes(payload)), message_id)
        return True

    def mark_sent(self, message_id: str) -> None:
        super().mark_sent(message_id)
        self._persist("sent", (message_id,))

    def record(
        self,
        escalation_id: str,
        contact_id: str | None,
        level: str,
        state: str,
        detail: dict[str, Any],
    ) -> None:
        super().record(escalation_id, contact_id, level, state, detail)
        self._persist("record", (escalation_id, contact_id, level, state, dict(detail)))

    def close(self) -> None:
        """Compact the file to what is still live (nothing: it is removed) and close it."""
        self.spool.rewrite(_live_ops(self))
        self.spool.close()


def _live_ops(mem: MemoryOutbox) -> list[tuple[str, tuple[Any, ...]]]:
    """The operations that rebuild what still matters: pending items and open escalations."""
    pending = mem.pending()
    ops: list[tuple[str, tuple[Any, ...]]] = [
        ("add", (p.kind, p.message_id, p.payload)) for p in pending
    ]
    for esc_id, e in mem.escalations.items():
        if e.get("state") != "resolved":
            ops.append(
                (
                    "record",
                    (
                        esc_id,
                        e.get("contact_id"),
                        e.get("level"),
                        e.get("state"),
                        dict(e.get("detail") or {}),
                    ),
                )
            )
    return ops


def codes_only(op: str, args: tuple[Any, ...]) -> bool:
    """True for what may go to the spool: every operation but whispers (free text) and
    attempt counters (noise)."""
    if op in ("whisper", "attempted"):
        return False
    if op == "add":
        return b'"type":"whisper"' not in bytes(args[2])
    return True


class StoreOutbox:
    """The encrypted store when unlocked; memory (replayed into the store at unlock) when not,
    with the codes-only part sealed in the spool meanwhile."""

    persistent = True

    def __init__(self, store: DurableBox, spool: Spool | None = None) -> None:
        self._store = store
        self._lock = threading.RLock()
        self._spill = MemoryOutbox()
        self._ready: list[Callable[[], None]] = []
        self._spool = spool
        if spool is not None:
            held = spool.load()  # a crash while locked: bring it back, for the store later
            for op, args in held:
                _apply_memory(self._spill, op, args)
            if held:
                log.info(
                    "escalation spool: %d operations held since a crash while locked", len(held)
                )
            if held and not store.is_locked:  # unlocked before the outbox was made
                self.box_unlocked()

    def _open(self) -> DurableBox | None:
        return None if self._store.is_locked else self._store

    def _do(self, op: str, *args: Any) -> Any:
        """Run one write on the store; on a locked store (or a race with locking) keep it in
        memory for the unlock. Returns the store's result, or None when spilled."""
        with self._lock:
            store = self._open()
            if store is not None and not self._spill.ops:
                try:
                    return _apply(store, op, args)
                except BoxLocked:
                    pass
            _apply_memory(self._spill, op, args)
            if self._spool is not None and codes_only(op, args):
                try:
                    self._spool.append(op, args)
                except SpoolError:
                    log.exception("escalation spool not written (held in memory only)")
            return None

    def add(self, kind: str, message_id: str, payload: bytes) -> bool:
        with self._lock:
            if any(p.message_id == message_id for p in self._spill.pending()):
                return False
            r = self._do("add", kind, message_id, payload)
            return True if r is None else bool(r)

    def pending(self, kind: str | None = None) -> list[Pending]:
        with self._lock:
            items = list(self._spill.pending(kind))
            store = self._open()
            if store is not None:
                try:
                    stored = store.outbox_pending(kind)
                except BoxLocked:
                    stored = []
                seen = {p.message_id for p in items}
                items = [p for p in stored if p.message_id not in seen] + items
            return items

    def attempted(self, message_id: str) -> None:
        self._do("attempted", message_id)

    def mark_sent(self, message_id: str) -> None:
        self._do("sent", message_id)

    def record(
        self,
        escalation_id: str,
        contact_id: str | None,
        level: str,
        state: str,
        detail: dict[str, Any],
    ) -> None:
        self._do("record", escalation_id, contact_id, level, state, dict(detail))

    def whisper(self, escalation_id: str, direction: str, text: str) -> None:
        self._do("whisper", escalation_id, direction, text)

    def audit(self, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
        self._do("audit", action, subject, detail)

    def escalation(self, escalation_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._spill.escalation(escalation_id)
            store = self._open()
            if found is None and store is not None:
                try:
                    found = store.escalation(escalation_id)
                except BoxLocked:
                    pass
            return found

    def on_ready(self, callback: Callable[[], None]) -> None:
        self._ready.append(callback)

    def box_unlocked(self) -> None:
        """The store was unlocked: write what was held meanwhile, in order, then tell the
        agent (``on_ready``)."""
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
                if self._spool is not None:
                    self._spool.clear()  # all of it is in the store now
        for cb in list(self._ready):
            try:
                cb()
            except Exception:
                log.exception("outbox ready callback failed")


def _apply(store: DurableBox, op: str, args: tuple[Any, ...]) -> Any:
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


def open_spool(data_dir: Any, key_file: str | None, name: str) -> Spool:
    """The spool ``name`` (``console``, ``cli``) of a profile, sealed with its MQTT key."""
    return Spool(
        Path(data_dir) / f"escalation-{name}.spool", spool_key(key_file, data_dir), context=name
    )
