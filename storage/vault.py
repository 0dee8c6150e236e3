"""The key vault: the store's lock state and the data key while it is unlocked.

Unlocking derives the key-encryption key from the passphrase, unwraps the data key and opens
the database; locking saves pending drafts, closes the connections and overwrites the key.
The audit head is anchored in the key file at each of these steps, and an idle timer locks
the store when the counselor has done nothing for ``security.lock_idle_minutes``.
Passphrase changes, rekey and recovery are in :mod:`storage.key_changes`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import sqlcipher3

from calls.options import TRAINING
from core.clock import Clock, Timer
from core.config import Config
from core.events import EventBus
from core.i18n import _, ngettext
from core.options import COUNSELOR_ID, LOCK_IDLE_MINUTES
from core.paths import make_private_dir
from storage import audit as audit_log
from storage import database, options, practice
from storage.errors import (
    StoreDamaged,
    StoreIsLocked,
    is_os_write_failure,
    restore_hint,
    write_failed,
)
from storage.events import StoreError, StoreLocked, StoreUnlocked
from storage.files import StoreFiles
from storage.hardening import disable_core_dumps, wipe
from storage.keys import KdfParams, KeyFile, check_strength, new_data_key
from storage.store import CaseStore
from storage.writer import DraftResult

log = logging.getLogger(__name__)


class KeyVault:
    """Owns the open :class:`CaseStore` and its data key; every state change holds ``guard``."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        bus: EventBus,
        files: StoreFiles,
        *,
        on_drafts: DraftResult,
        after_unlock: Callable[[], None],
        on_locking: Callable[[], None],
    ) -> None:
        self.config = config
        self.clock = clock
        self.bus = bus
        self.files = files
        self.guard = threading.RLock()
        self.store: CaseStore | None = None
        self.key: bytearray | None = None
        self._on_drafts = on_drafts
        self._after_unlock = after_unlock  # after a counselor's unlock (not init or rekey)
        self._on_locking = on_locking  # before the database is closed
        self._last_activity = clock.monotonic()
        self._anchor_broken = False  # the key file's audit anchor is not in the database
        self._idle_timer: Timer | None = None

    # -- state ------------------------------------------------------------------------------
    @property
    def is_locked(self) -> bool:
        return self.store is None

    def require(self) -> CaseStore:
        store = self.store
        if store is None:
            raise StoreIsLocked()
        return store

    def kdf_params(self) -> KdfParams:
        return KdfParams.tuned(
            self.config.get(options.ARGON2_MEMORY_KIB),
            self.config.get(options.ARGON2_PARALLELISM),
            self.config.get(options.UNLOCK_TARGET_MS) / 1000.0,
        )

    def recovery_path(self) -> str:
        return self.config.get(options.RECOVERY_PUBLIC_KEY)

    def open_store(self, key: bytearray, create: bool = False) -> CaseStore:
        store = self._open_store(key, create)
        try:  # a practice store and a real one never stand in for each other (storage/practice.py)
            practice.settle_kind(store, created=create, training=self.config.get(TRAINING))
        except BaseException:
            store.close()
            raise
        return store

    def _open_store(self, key: bytearray, create: bool) -> CaseStore:
        return CaseStore(
            self.files.db_path,
            key,
            self.clock,
            counselor_id=self.config.get(COUNSELOR_ID),
            interval_s=self.config.get(options.AUTOSAVE_INTERVAL_MS) / 1000.0,
            index_pause_s=self.config.get(options.INDEX_PAUSE_MS) / 1000.0,
            on_drafts=self._on_drafts,
            create=create,
        )

    def publish_error(self, operation: str, detail: str) -> None:
        self.bus.publish(StoreError(operation, detail))

    # -- init / unlock / lock ------------------------------------------------------------------
    def init(self, passphrase: bytearray | str) -> None:
        """Create the key file and an empty database, and leave the store unlocked. Never
        replaces a key file or a database: if either exists, say which and how to restore."""
        files = self.files
        with self.guard:
            files.refuse_existing()
            check_strength(passphrase)
            disable_core_dumps()
            make_private_dir(files.data_dir)
            kdf = self.kdf_params()
            kek = kdf.derive(passphrase)
            key = new_data_key()
            try:
                # exclusive: a key file that appeared meanwhile is never replaced
                KeyFile.create(kek, kdf, key, self.recovery_path()).save(
                    files.key_path, exclusive=True
                )
                try:
                    store = self.open_store(key, create=True)
                    store.audit(
                        "store.init",
                        "*",
                        {"kdf_time_cost": kdf.time_cost, "kdf_memory_kib": kdf.memory_kib},
                    )
                except BaseException as exc:
                    # both files are this call's own (created exclusively) and hold no data
                    for p in [*database.side_files(files.db_path), files.key_path]:
                        p.unlink(missing_ok=True)
                    if isinstance(exc, OSError) and is_os_write_failure(exc):
                        raise write_failed(exc, files.data_dir) from None
                    raise
            except BaseException:
                wipe(key)
                raise
            finally:
                wipe(kek)
            self.became_unlocked(store, key)
        self.anchor(store)

    def unwrap(self, passphrase: bytearray | str) -> tuple[KeyFile, bytearray, bytearray | None]:
        """(key file, current key, pending key). Raises WrongPassphrase; touches no file."""
        self.files.require()
        keyfile = KeyFile.load(self.files.key_path)
        kek = keyfile.kdf.derive(passphrase)
        try:
            return keyfile, keyfile.open(kek), keyfile.open_pending(kek)
        finally:
            wipe(kek)

    def unlock(self, passphrase: bytearray | str) -> None:
        """Open the store. Wrong passphrase: :class:`WrongPassphrase`, and no file is touched."""
        with self.guard:
            if self.store is not None:
                keyfile, key, pending = self.unwrap(passphrase)  # still check it
                wipe(key)
                wipe(pending)
                return
            disable_core_dumps()
            keyfile, key, pending = self.unwrap(passphrase)
            try:
                store = self.open_store(key)
            except practice.WrongStoreKind:
                wipe(key)
                wipe(pending)
                raise
            except StoreDamaged:
                if pending is None:
                    wipe(key)
                    raise
                store = self.open_store(pending)  # a rekey finished in the database only
                wipe(key)
                key, pending = pending, None
                keyfile.promote_pending(self.files.key_path)
            if pending is not None:  # a rekey that never reached the database
                wipe(pending)
                keyfile.pending = None
                keyfile.save(self.files.key_path)
            store.audit("store.open", "*")
            self.became_unlocked(store, key)
            self._report_wal(store)  # after StoreUnlocked, so the notes view keeps it on screen
        self.anchor(store)
        self._after_unlock()

    def became_unlocked(self, store: CaseStore, key: bytearray) -> None:
        self.store, self.key = store, key
        self._last_activity = self.clock.monotonic()
        self.bus.publish(StoreUnlocked())
        self._schedule_idle()

    def lock(self, reason: str = "user") -> None:
        """Save pending drafts, close the database and overwrite the key. Idempotent."""
        with self.guard:
            store, self.store = self.store, None
            if store is None:
                return
            if self._idle_timer:
                self._idle_timer.cancel()
            self._on_locking()
            try:
                if not store.close():
                    self.publish_error("lock", _("Some typing could not be saved before locking."))
            finally:
                wipe(self.key)
                self.key = None
            self.anchor(head=store.last_head)
            self._anchor_broken = False
        self.bus.publish(StoreLocked(reason))

    def _report_wal(self, store: CaseStore) -> None:
        """A damaged WAL was found (and copied aside) at open: tell the counselor and IT."""
        found = store.wal
        if not found.damaged:
            return
        copy = store.wal_copy.name if store.wal_copy else "?"
        log.warning(
            "write-ahead log damaged at frame %d of %d: %d committed transactions "
            "dropped; copy kept as %s",
            found.damaged_frame,
            found.frames,
            found.lost_commits,
            copy,
        )
        store.audit(
            "store.wal_damaged",
            "*",
            {"frame": found.damaged_frame, "lost_commits": found.lost_commits, "copy": copy},
        )
        self.publish_error(
            "open",
            _(
                "The last {n} saved change(s) could not be read back: the store's write-ahead log "
                "is damaged. Everything saved before them is here; a copy of the log was kept for "
                "IT ({copy})."
            ).format(n=found.lost_commits, copy=copy),
        )

    # -- checks that touch nothing --------------------------------------------------------------
    def check_passphrase(self, passphrase: bytearray | str) -> None:
        """Raise WrongPassphrase unless ``passphrase`` unwraps the key (no file touched)."""
        _keyfile, key, pending = self.unwrap(passphrase)
        wipe(key)
        wipe(pending)

    def unlock_check(self, passphrase: bytearray | str) -> None:
        """The passphrase opens the key file, and the key opens the database and reads every
        page of it (``quick_check``); a damaged WAL is reported too. Raises
        :class:`WrongPassphrase`, :class:`StoreDamaged` (naming the file) or
        :class:`StoreWriteFailed`. No migration, no audit row."""
        db_path = self.files.db_path
        with self.guard:
            keyfile, key, pending = self.unwrap(passphrase)
            db = self.connect_any(key, pending)
            try:
                problems = database.quick_check(db, db_path)
                anchor = audit_log.anchor_problem(db, keyfile.audit_head, _("the key file"))
                found, copy = db.wal, db.wal_copy
            finally:
                db.close()
        right = _("The passphrase is right, but")
        if problems:
            raise StoreDamaged(
                _("{right} the database {db} is damaged: {problems}.").format(
                    right=right, db=db_path.name, problems="; ".join(problems[:5])
                ),
                hint=restore_hint(),
            )
        if found.damaged:
            raise StoreDamaged(
                ngettext(
                    "{right} the last saved change could not be read: the write-ahead log "
                    "is damaged. A copy is kept for support at {copy}.",
                    "{right} the last {n} saved changes could not be read: the write-ahead "
                    "log is damaged. A copy is kept for support at {copy}.",
                    found.lost_commits,
                ).format(right=right, n=found.lost_commits, copy=copy),
                hint=_("Everything saved before them is intact; send the copy to support."),
            )
        if anchor:
            raise StoreDamaged(f"{right} {anchor}.", hint=restore_hint())

    def connect_any(self, key: bytearray, pending: bytearray | None) -> sqlcipher3.Connection:
        """A connection (no migration) with the current key, or the pending one of a rekey
        that reached only the database. Both keys are wiped, whether it opened or not."""
        try:
            damaged: StoreDamaged | None = None
            for candidate in (key, pending):
                if candidate is None:
                    continue
                try:
                    return database.connect(self.files.db_path, candidate, migrate=False)
                except StoreDamaged as exc:
                    damaged = damaged or exc
            assert damaged is not None
            raise damaged
        finally:
            wipe(key)
            wipe(pending)

    # -- the audit anchor in the key file ----------------------------------------------------
    def anchor(self, store: CaseStore | None = None, head: dict[str, Any] | None = None) -> None:
        """Record the audit head in the key file (never lowering it, never over an anchor the
        database no longer holds). A failure is logged: it must not stop the store."""
        key_path = self.files.key_path
        try:
            if store is not None:
                anchored = KeyFile.load(key_path).audit_head
                problem = store.anchor_problem(anchored)
                if problem:
                    if not self._anchor_broken:
                        log.warning("%s", problem)
                        self.publish_error("audit", problem)
                    self._anchor_broken = True
                    return
                head = store.audit_head()
            if head is None or self._anchor_broken:
                return
            new_head = head
            KeyFile.anchor(
                key_path,
                new_head,
                lambda cur: (
                    not cur.audit_head or int(cur.audit_head["seq"]) <= int(new_head["seq"])
                ),
            )
        except Exception as exc:  # disk full, a damaged key file: the next anchor retries
            log.warning("could not anchor the audit head in the key file: %s", type(exc).__name__)

    # -- idle lock ------------------------------------------------------------------------------
    def touch(self) -> None:
        """The counselor did something: push the idle lock back."""
        self._last_activity = self.clock.monotonic()

    def _schedule_idle(self, delay: float | None = None) -> None:
        minutes = self.config.get(LOCK_IDLE_MINUTES)
        if minutes <= 0:
            return
        self._idle_timer = self.clock.call_later(
            delay if delay is not None else minutes * 60.0, self._idle_check
        )

    def _idle_check(self) -> None:
        if self.store is None:
            return
        left = self.config.get(LOCK_IDLE_MINUTES) * 60.0 - (
            self.clock.monotonic() - self._last_activity
        )
        if left <= 0:
            self.lock("idle")
        else:
            self._schedule_idle(left)
