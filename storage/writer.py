"""The writer thread: the only thread that writes to the case store.

Keystrokes must never wait on disk. :meth:`Writer.draft` only replaces the newest text of a
contact in a dict and wakes the thread (microseconds, on the GUI thread). The thread commits
all pending drafts in one transaction, at most every ``interval_s`` while typing continues,
so a SIGKILL loses at most ``interval_s`` plus one commit of typing. Other writes are jobs
(:meth:`call`/:meth:`submit`) run in order on the same thread and connection.
Pacing uses the real monotonic clock: it is about disk I/O, not about the session's time.

An autosave commit writes only the note row. Bringing the search index up to date is a
separate transaction (``index``), run when no autosave commit has happened for
``index_pause_s`` (typing paused), when asked (:meth:`refresh_index`, before a search), and
by :meth:`flush` (so at lock too). A failed refresh is retried; the text is already safe.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import sqlcipher3

log = logging.getLogger(__name__)

DraftWriter = Callable[[sqlcipher3.Connection, dict[str, str]], None]
DraftResult = Callable[[list[str], BaseException | None], None]
Indexer = Callable[[sqlcipher3.Connection], object]  # returns how many notes (unused)
RETRY_S = 2.0


class Writer:
    def __init__(
        self,
        db: sqlcipher3.Connection,
        write_drafts: DraftWriter,
        on_drafts: DraftResult,
        interval_s: float = 0.2,
        index: Indexer | None = None,
        index_pause_s: float = 1.0,
    ) -> None:
        """``write_drafts`` runs outside a transaction and opens its own if it needs one
        (a single statement is its own transaction); ``index`` runs inside one."""
        self.db = db
        self._write_drafts = write_drafts
        self._on_drafts = on_drafts
        self.interval_s = interval_s
        self._index = index
        self.index_pause_s = index_pause_s
        self._index_due: float | None = None  # monotonic time of the next index refresh
        self._index_asap = 0  # callers waiting in refresh_index()
        self.index_error: BaseException | None = None
        self._cond = threading.Condition()
        self._drafts: dict[str, str] = {}
        self._inflight: dict[str, str] = {}
        self._jobs: deque[tuple[Callable[[sqlcipher3.Connection], Any], bool, Future]] = deque()
        self._next_at = 0.0
        self._flushing = 0
        self._stopping = False
        self._busy = False
        self.last_error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="faro-store-writer", daemon=True)
        self._thread.start()

    # -- GUI side: cheap ----------------------------------------------------------------
    def draft(self, contact_id: str, text: str) -> bool:
        """Queue the newest text; True if the contact had nothing pending (now "saving")."""
        with self._cond:
            if self._stopping:
                raise RuntimeError("writer stopped")
            fresh = contact_id not in self._drafts and contact_id not in self._inflight
            self._drafts[contact_id] = text
            self._cond.notify()
            return fresh

    def take_draft(self, contact_id: str) -> str | None:
        """On the writer thread: claim a contact's pending text to write it in a job."""
        with self._cond:
            return self._drafts.pop(contact_id, None)

    def pending_text(self, contact_id: str) -> str | None:
        with self._cond:
            text = self._drafts.get(contact_id)
            return text if text is not None else self._inflight.get(contact_id)

    # -- jobs ------------------------------------------------------------------------------
    def submit(
        self, fn: Callable[[sqlcipher3.Connection], Any], transaction: bool = True
    ) -> Future:
        fut: Future = Future()
        with self._cond:
            if self._stopping:
                raise RuntimeError("writer stopped")
            self._jobs.append((fn, transaction, fut))
            self._cond.notify()
        return fut

    def call(self, fn: Callable[[sqlcipher3.Connection], Any], transaction: bool = True) -> Any:
        if threading.current_thread() is self._thread:
            return self._run(fn, transaction)
        return self.submit(fn, transaction).result()

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Write pending drafts now and wait for them, for queued jobs and for the search
        index to catch up (unless indexing just failed). True if all drafts were saved."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                while (
                    self._drafts
                    or self._inflight
                    or self._jobs
                    or self._busy
                    or (self._index_due is not None and self.index_error is None)
                ):
                    if self._drafts and self._next_at > time.monotonic() + 0.05 and self.last_error:
                        return False  # in retry back-off after a failure
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._cond.wait(left if left is not None else 0.5)
                return True
            finally:
                self._flushing -= 1

    def schedule_index(self, delay_s: float = 0.0) -> None:
        """Ask for a search-index refresh in ``delay_s`` (sooner if one is already due)."""
        if self._index is None:
            return
        with self._cond:
            due = time.monotonic() + delay_s
            if self._index_due is None or due < self._index_due:
                self._index_due = due
            self._cond.notify()

    def index_pending(self) -> bool:
        with self._cond:
            return self._index_due is not None

    def refresh_index(self, timeout: float = 2.0) -> bool:
        """Bring the search index up to every committed note now; wait up to ``timeout``.
        True if nothing is left to index (False: timed out or the refresh failed)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("refresh_index would wait on its own thread")
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._index_due is None:
                return True
            self._index_asap += 1
            self._cond.notify_all()
            try:
                while self._index_due is not None:
                    if self.index_error is not None and self._index_due > time.monotonic():
                        return False  # failed, retry scheduled
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(left)
                return True
            finally:
                self._index_asap -= 1

    def stop(self, timeout: float = 10.0) -> bool:
        """Flush, then end the thread. Returns False if drafts could not be saved."""
        saved = self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        return saved

    # -- thread ------------------------------------------------------------------------------
    def _index_wanted(self, now: float) -> bool:
        """Under the lock: is an index refresh due now? A pause means no draft is waiting
        to be committed; a search (``refresh_index``) does not wait for one."""
        if self._index_due is None:
            return False
        if self.index_error is None and self._index_asap:
            return True
        if self._drafts:
            return False
        return (self._flushing and self.index_error is None) or self._index_due <= now

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    if self._jobs or self._index_wanted(now):
                        break
                    if self._drafts and (
                        self._next_at <= now or (self._flushing and not self.last_error)
                    ):
                        break
                    if self._stopping:
                        return
                    if self._drafts:
                        self._cond.wait(self._next_at - now)
                    else:
                        self._cond.wait(None if self._index_due is None else self._index_due - now)
                jobs = list(self._jobs)
                self._jobs.clear()
                drafts: dict[str, str] = {}
                if self._drafts and (
                    self._next_at <= time.monotonic() or (self._flushing and not self.last_error)
                ):
                    drafts, self._drafts = self._drafts, {}
                    self._inflight = drafts
                self._busy = True
            try:
                if drafts:
                    self._commit_drafts(drafts)
                for fn, transaction, fut in jobs:
                    if fut.set_running_or_notify_cancel():
                        try:
                            fut.set_result(self._run(fn, transaction))
                        except BaseException as exc:
                            fut.set_exception(exc)
                with self._cond:
                    index = self._index_wanted(time.monotonic())
                if index:
                    self._refresh_index()
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _refresh_index(self) -> None:
        assert self._index is not None
        error: BaseException | None = None
        try:
            self._run(self._index, True)
        except BaseException as exc:  # the text is saved; only its indexing waits
            error = exc
            log.error("search index refresh failed: %s", type(exc).__name__)
        with self._cond:
            self.index_error = error
            self._index_due = None if error is None else time.monotonic() + RETRY_S

    def _commit_drafts(self, drafts: dict[str, str]) -> None:
        started = time.monotonic()
        error: BaseException | None = None
        try:
            self._run(lambda db: self._write_drafts(db, drafts), False)
        except BaseException as exc:  # disk full, I/O error: keep the text, retry later
            error = exc
            log.error("autosave failed: %s", type(exc).__name__)
        with self._cond:
            self._inflight = {}
            if error is None:
                self.last_error = None
                self._next_at = started + self.interval_s
                if self._index is not None:  # re-armed by every commit: waits for a pause
                    self._index_due = time.monotonic() + self.index_pause_s
                    self.index_error = None  # the disk takes writes again: retry normally
            else:
                self.last_error = error
                for cid, text in drafts.items():
                    self._drafts.setdefault(cid, text)  # a newer keystroke wins
                self._next_at = time.monotonic() + RETRY_S
        try:
            self._on_drafts(list(drafts), error)
        except Exception:
            log.exception("autosave listener failed")

    def _run(self, fn: Callable[[sqlcipher3.Connection], Any], transaction: bool) -> Any:
        db = self.db
        if not transaction:
            return fn(db)
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db)
            db.execute("COMMIT")
            return result
        except BaseException:
            try:
                db.execute("ROLLBACK")
            except sqlcipher3.Error:
                pass
            raise
