"""Call events become contact rows: written while unlocked, queued in memory while locked.

A finished wrap-up also saves the contact's note as a version. Writes go to the writer
thread; a failure is told to the counselor as a ``StoreError``.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future
from typing import Any

from calls import events as call_events
from calls.options import TRAINING
from core.i18n import _
from storage import database, practice
from storage.vault import KeyVault

log = logging.getLogger(__name__)

PENDING_CALLS = 1000
CALL_EVENTS = (
    call_events.IncomingCall,
    call_events.CallAnswered,
    call_events.CallEnded,
    call_events.MissedCall,
    call_events.WrapUpFinished,
)


class CallRows:
    """Subscribed to the call events; the bus holds it weakly, so its owner keeps it."""

    def __init__(self, vault: KeyVault) -> None:
        self.vault = vault
        self._pending: deque[tuple[Any, dict[str, Any]]] = deque(maxlen=PENDING_CALLS)
        for event_type in CALL_EVENTS:
            vault.bus.subscribe(event_type, self._on_call_event)

    def write_pending(self) -> None:
        """After an unlock: the calls that happened while the store was locked."""
        while self._pending and self.vault.store is not None:
            call, fields = self._pending.popleft()
            self._record_call(call, fields)

    def _on_call_event(self, event: Any) -> None:
        fields: dict[str, Any] = {}
        if isinstance(event, call_events.CallEnded):
            fields["ended_by"] = event.ended_by.value
        elif isinstance(event, call_events.MissedCall):
            fields.update(missed_reason=event.reason.value, rang_s=event.rang_s)
        elif isinstance(event, call_events.WrapUpFinished) and event.disposition:
            fields["disposition"] = event.disposition
        with self.vault.guard:
            if self.vault.store is None:
                self._pending.append((event.call, fields))
                return
        self._record_call(event.call, fields)
        if isinstance(event, call_events.WrapUpFinished):
            self._save_note_async(event.call.id)

    def _record_call(self, call: Any, fields: dict[str, Any]) -> None:
        if practice.refuses_call(call, self.vault.config.get(TRAINING)):
            return  # a practice call never becomes a real record, nor the other way round
        store = self.vault.store
        if store is None:
            self._pending.append((call, fields))
            return
        try:
            fut = store.writer.submit(lambda db: store.record_call_in(db, call, fields))
        except RuntimeError:  # locked meanwhile: keep it for the next unlock
            self._pending.append((call, fields))
            return
        fut.add_done_callback(lambda f: self._job_failed("contact", f))

    def _save_note_async(self, contact_id: str) -> None:
        store = self.vault.store
        if store is not None:
            try:
                fut = store.writer.submit(lambda db: store.save_note_in(db, contact_id))
            except RuntimeError:
                return
            fut.add_done_callback(lambda f: self._job_failed("note", f))

    def _job_failed(self, operation: str, done: Future[Any]) -> None:
        exc = done.exception()
        if exc is None:
            return
        log.error("store %s write failed: %s", operation, type(exc).__name__)
        self.vault.publish_error(
            operation,
            database.failure_message(
                operation, exc, self.vault.files.data_dir, _("Could not save to the case store.")
            ),
        )
