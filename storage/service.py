"""The "store" service: the case store's lock state and everything the console asks of it.

``attach(session)`` adds a :class:`StoreService`, LOCKED at start. Unlocking derives the
key-encryption key from the passphrase, unwraps the data key and opens the database; locking
saves pending drafts, closes the connections and overwrites the key. Call events are written
as contact rows while unlocked and queued in memory while locked.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections import deque
from pathlib import Path
from typing import Any, Callable

import sqlcipher3

from calls import events as call_events
from core.clock import Clock, Timer
from core.config import Config
from core.events import EventBus
from core.i18n import _
from core.options import COUNSELOR_ID
from core.paths import make_private_dir
from storage import audit as audit_log
from storage import backup as backup_file
from storage import database, options, recovery, wal
from storage.errors import (AlreadyInitialised, BackupInvalid, NoRecoveryWrap, NotInitialised,
                            StoreDamaged, StoreIsLocked, StoreWriteFailed, WrongRecoveryKey,
                            is_os_write_failure, restore_hint, write_failed)
from storage.events import (FAILED, SAVED, SAVING, AutosaveState, RiskAssessmentSaved, StoreError,
                            StoreLocked, StoreUnlocked)
from storage.hardening import disable_core_dumps, tighten, wipe
from storage.keys import KdfParams, KeyFile, check_strength, new_data_key, sqlcipher_key_literal
from storage.records import (FollowUp, Note, NoteVersion, OutboxItem, PurgeResult, RiskAssessment,
                             SafetyPlan, SearchHit)
from storage.store import CaseStore

log = logging.getLogger(__name__)

DB_NAME = "cases.db"
KEY_NAME = "cases.key"
PENDING_CALLS = 1000
DAY_S = 86400.0


class StoreService:
    def __init__(self, config: Config, clock: Clock, bus: EventBus, data_dir: Path) -> None:
        self.config = config
        self.clock = clock
        self.bus = bus
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / DB_NAME
        self.key_path = self.data_dir / KEY_NAME
        self._lock = threading.RLock()
        self._store: CaseStore | None = None
        self._key: bytearray | None = None
        self._pending_calls: deque[tuple[Any, dict[str, Any]]] = deque(maxlen=PENDING_CALLS)
        self._last_activity = clock.monotonic()
        self._anchor_broken = False  # the key file's audit anchor is not in the database
        self._idle_timer: Timer | None = None
        self._purge_timer: Timer | None = None
        for event_type in (call_events.IncomingCall, call_events.CallAnswered,
                           call_events.CallEnded, call_events.MissedCall,
                           call_events.WrapUpFinished):
            bus.subscribe(event_type, self._on_call_event)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Nothing to do: the store stays locked until the counselor unlocks it."""

    def stop(self) -> None:
        self.lock("shutdown")

    # -- state --------------------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return self.key_path.exists() and self.db_path.exists()

    def _require_files(self) -> None:
        """Both the key file and the database, or say exactly which one is missing."""
        has_key, has_db = self.key_path.exists(), self._existing_db_files()
        if not has_key and not has_db:
            raise NotInitialised()
        if not has_key:
            raise StoreDamaged(_("The key file {key} is missing, so the database {db} cannot "
                                 "be opened.").format(key=self.key_path.name,
                                                      db=self.db_path.name),
                               hint=restore_hint())
        if not self.db_path.exists():
            raise StoreDamaged(_("The database {db} is missing (its key file {key} is "
                                 "there).").format(key=self.key_path.name, db=self.db_path.name),
                               hint=restore_hint())

    @property
    def is_locked(self) -> bool:
        return self._store is None

    def _require(self) -> CaseStore:
        store = self._store
        if store is None:
            raise StoreIsLocked()
        return store

    def _kdf_params(self) -> KdfParams:
        return KdfParams.tuned(self.config.get(options.ARGON2_MEMORY_KIB),
                               self.config.get(options.ARGON2_PARALLELISM),
                               self.config.get(options.UNLOCK_TARGET_MS) / 1000.0)

    def _recovery_path(self) -> str:
        return self.config.get(options.RECOVERY_PUBLIC_KEY)

    def _open_store(self, key: bytearray, create: bool = False) -> CaseStore:
        return CaseStore(self.db_path, key, self.clock,
                         counselor_id=self.config.get(COUNSELOR_ID),
                         interval_s=self.config.get(options.AUTOSAVE_INTERVAL_MS) / 1000.0,
                         index_pause_s=self.config.get(options.INDEX_PAUSE_MS) / 1000.0,
                         on_drafts=self._drafts_done, create=create)

    # -- init / unlock / lock ------------------------------------------------------------------
    def init(self, passphrase: bytearray | str) -> None:
        """Create the key file and an empty database, and leave the store unlocked. Never
        replaces a key file or a database: if either exists, say which and how to restore."""
        with self._lock:
            self.refuse_existing()
            check_strength(passphrase)
            disable_core_dumps()
            make_private_dir(self.data_dir)
            kdf = self._kdf_params()
            kek = kdf.derive(passphrase)
            key = new_data_key()
            try:
                # exclusive: a key file that appeared meanwhile is never replaced
                KeyFile.create(kek, kdf, key, self._recovery_path()).save(self.key_path,
                                                                          exclusive=True)
                try:
                    store = self._open_store(key, create=True)
                    store.audit("store.init", "*", {"kdf_time_cost": kdf.time_cost,
                                                    "kdf_memory_kib": kdf.memory_kib})
                except BaseException as exc:
                    # both files are this call's own (created exclusively) and hold no data
                    for p in [*database.side_files(self.db_path), self.key_path]:
                        p.unlink(missing_ok=True)
                    if isinstance(exc, OSError) and is_os_write_failure(exc):
                        raise write_failed(exc, self.data_dir) from None
                    raise
            except BaseException:
                wipe(key)
                raise
            finally:
                wipe(kek)
            self._became_unlocked(store, key)
        self._anchor(store)

    def refuse_existing(self) -> None:
        """Raise :class:`AlreadyInitialised` (naming what is there) unless the profile holds
        no store file at all."""
        has_key, has_db = self.key_path.exists(), self._existing_db_files()
        key, db, folder = self.key_path.name, self.db_path.name, self.data_dir
        if has_key and has_db:
            raise AlreadyInitialised(_("This laptop already has a case store."),
                                     hint=_("Use 'faro db passwd' to change the passphrase."))
        if has_key:
            raise AlreadyInitialised(
                _("The key file {key} is here but the database {db} is missing. Nothing was "
                  "changed: a new store would replace that key and make the notes unreadable "
                  "for good.").format(key=key, db=db),
                hint=_("Put {db} back if it was moved, or restore the latest backup: move the "
                       "folder {folder} aside (keep it), then run 'faro db restore "
                       "BACKUP'.").format(db=db, folder=folder))
        if has_db:
            raise AlreadyInitialised(
                _("The database {db} is here but its key file {key} is missing. Nothing was "
                  "changed.").format(key=key, db=db),
                hint=_("Put {key} back if it was moved, or restore the latest backup: move the "
                       "folder {folder} aside (keep it), then run 'faro db restore "
                       "BACKUP'.").format(key=key, folder=folder))

    def _existing_db_files(self) -> bool:
        return any(p.exists() for p in database.side_files(self.db_path))

    def _unwrap(self, passphrase: bytearray | str) -> tuple[KeyFile, bytearray, bytearray | None]:
        """(key file, current key, pending key). Raises WrongPassphrase; touches no file."""
        self._require_files()
        keyfile = KeyFile.load(self.key_path)
        kek = keyfile.kdf.derive(passphrase)
        try:
            return keyfile, keyfile.open(kek), keyfile.open_pending(kek)
        finally:
            wipe(kek)

    def unlock(self, passphrase: bytearray | str) -> None:
        """Open the store. Wrong passphrase: :class:`WrongPassphrase`, and no file is touched."""
        with self._lock:
            if self._store is not None:
                keyfile, key, pending = self._unwrap(passphrase)  # still check it
                wipe(key), wipe(pending)
                return
            disable_core_dumps()
            keyfile, key, pending = self._unwrap(passphrase)
            try:
                store = self._open_store(key)
            except StoreDamaged:
                if pending is None:
                    wipe(key)
                    raise
                store = self._open_store(pending)  # a rekey finished in the database only
                wipe(key)
                key, pending = pending, None
                self._finish_rekey(keyfile)
            if pending is not None:  # a rekey that never reached the database
                wipe(pending)
                keyfile.pending = None
                keyfile.save(self.key_path)
            store.audit("store.open", "*")
            self._became_unlocked(store, key)
            self._report_wal(store)  # after StoreUnlocked, so the notes view keeps it on screen
        self._anchor(store)
        self._after_unlock()

    def _report_wal(self, store: CaseStore) -> None:
        """A damaged WAL was found (and copied aside) at open: tell the counselor and IT."""
        found = store.wal
        if not found.damaged:
            return
        copy = store.wal_copy.name if store.wal_copy else "?"
        log.warning("write-ahead log damaged at frame %d of %d: %d committed transactions "
                    "dropped; copy kept as %s", found.damaged_frame, found.frames,
                    found.lost_commits, copy)
        store.audit("store.wal_damaged", "*", {"frame": found.damaged_frame,
                                               "lost_commits": found.lost_commits,
                                               "copy": copy})
        self._publish_error("open", _(
            "The last {n} saved change(s) could not be read back: the store's write-ahead log "
            "is damaged. Everything saved before them is here; a copy of the log was kept for "
            "IT ({copy}).").format(n=found.lost_commits, copy=copy))

    # -- the audit anchor in the key file ----------------------------------------------------
    def _anchor(self, store: CaseStore | None = None, head: dict[str, Any] | None = None) -> None:
        """Record the audit head in the key file (never lowering it, never over an anchor the
        database no longer holds). A failure is logged: it must not stop the store."""
        try:
            if store is not None:
                anchored = KeyFile.load(self.key_path).audit_head
                problem = store.anchor_problem(anchored)
                if problem:
                    if not self._anchor_broken:
                        log.warning("%s", problem)
                        self._publish_error("audit", problem)
                    self._anchor_broken = True
                    return
                head = store.audit_head()
            if head is None or self._anchor_broken:
                return
            KeyFile.anchor(self.key_path, head, lambda cur: not cur.audit_head
                           or int(cur.audit_head["seq"]) <= int(head["seq"]))
        except Exception as exc:  # disk full, a damaged key file: the next anchor retries
            log.warning("could not anchor the audit head in the key file: %s",
                        type(exc).__name__)

    def _became_unlocked(self, store: CaseStore, key: bytearray) -> None:
        self._store, self._key = store, key
        self._last_activity = self.clock.monotonic()
        self.bus.publish(StoreUnlocked())
        self._schedule_idle()

    def _after_unlock(self) -> None:
        while self._pending_calls and self._store is not None:
            call, fields = self._pending_calls.popleft()
            self._record_call(call, fields)
        if self.config.get(options.AUTO_PURGE):
            self._auto_purge()

    def lock(self, reason: str = "user") -> None:
        """Save pending drafts, close the database and overwrite the key. Idempotent."""
        with self._lock:
            store, self._store = self._store, None
            if store is None:
                return
            for timer in (self._idle_timer, self._purge_timer):
                if timer:
                    timer.cancel()
            try:
                if not store.close():
                    self._publish_error("lock", _("Some typing could not be saved before locking."))
            finally:
                wipe(self._key)
                self._key = None
            self._anchor(head=store.last_head)
            self._anchor_broken = False
        self.bus.publish(StoreLocked(reason))

    def check_passphrase(self, passphrase: bytearray | str) -> None:
        """Raise WrongPassphrase unless ``passphrase`` unwraps the key (no file touched)."""
        _, key, pending = self._unwrap(passphrase)
        wipe(key), wipe(pending)

    def unlock_check(self, passphrase: bytearray | str) -> None:
        """The passphrase opens the key file, and the key opens the database and reads every
        page of it (``quick_check``); a damaged WAL is reported too. Raises
        :class:`WrongPassphrase`, :class:`StoreDamaged` (naming the file) or
        :class:`StoreWriteFailed`. No migration, no audit row."""
        with self._lock:
            keyfile, key, pending = self._unwrap(passphrase)
            try:
                db = self._connect_any(key, pending)
            finally:
                wipe(key), wipe(pending)
            try:
                problems = database.quick_check(db, self.db_path)
                anchor = audit_log.anchor_problem(db, keyfile.audit_head, "the key file")
                found, copy = db.wal, db.wal_copy
            finally:
                db.close()
        right = _("The passphrase is right, but")
        if problems:
            raise StoreDamaged(_("{right} the database {db} is damaged: {problems}.").format(
                right=right, db=self.db_path.name, problems="; ".join(problems[:5])),
                hint=restore_hint())
        if found.damaged:
            raise StoreDamaged(_("{right} the last {n} saved change(s) could not be read: the "
                                 "write-ahead log is damaged. A copy is kept for support at "
                                 "{copy}.").format(right=right, n=found.lost_commits, copy=copy),
                               hint=_("Everything saved before them is intact; send the copy "
                                      "to support."))
        if anchor:
            raise StoreDamaged(f"{right} {anchor}.", hint=restore_hint())

    def _connect_any(self, key: bytearray, pending: bytearray | None):
        """A connection (no migration) with the current key, or the pending one of a rekey
        that reached only the database."""
        damaged: StoreDamaged | None = None
        for candidate in (key, pending):
            if candidate is None:
                continue
            try:
                return database.connect(self.db_path, candidate, migrate=False)
            except StoreDamaged as exc:
                damaged = damaged or exc
        assert damaged is not None
        raise damaged

    # -- idle lock and retention timers ----------------------------------------------------
    def touch(self) -> None:
        """The counselor did something: push the idle lock back."""
        self._last_activity = self.clock.monotonic()

    def _schedule_idle(self, delay: float | None = None) -> None:
        minutes = self.config.get(options.IDLE_LOCK_MINUTES)
        if minutes <= 0:
            return
        self._idle_timer = self.clock.call_later(delay if delay is not None else minutes * 60.0,
                                                 self._idle_check)

    def _idle_check(self) -> None:
        if self._store is None:
            return
        left = self.config.get(options.IDLE_LOCK_MINUTES) * 60.0 - (
            self.clock.monotonic() - self._last_activity)
        if left <= 0:
            self.lock("idle")
        else:
            self._schedule_idle(left)

    def _auto_purge(self) -> None:
        try:
            self.purge()
        except Exception:
            log.exception("automatic purge failed")
        if self._store is not None:
            self._purge_timer = self.clock.call_later(DAY_S, self._auto_purge)

    # -- passphrase, rekey, recovery --------------------------------------------------------
    def passwd(self, old: bytearray | str, new: bytearray | str) -> None:
        """Rewrap the data key with a new passphrase (atomic key-file replace)."""
        check_strength(new)
        with self._lock:
            keyfile, key, pending = self._unwrap(old)
            try:
                self._rewrap(keyfile, key, new)
            finally:
                wipe(key), wipe(pending)
            if self._store is not None:
                self._store.audit("store.passwd", "*")
                self._anchor(self._store)

    def _rewrap(self, keyfile: KeyFile, key: bytearray, new: bytearray | str) -> None:
        kdf = self._kdf_params()
        kek = kdf.derive(new)
        try:
            fresh = KeyFile.create(kek, kdf, key, self._recovery_path())
            fresh.key_id = keyfile.key_id
            fresh.audit_head = keyfile.audit_head
            fresh.save(self.key_path)
        finally:
            wipe(kek)

    def rekey(self, passphrase: bytearray | str,
              _after_pending: Callable[[], None] | None = None) -> None:
        """A new data key: wrap it as ``pending``, SQLCipher-rekey, then make it current.
        A crash at any point leaves a key in the key file that opens the database."""
        with self._lock:
            was_unlocked = self._store is not None
            self._refuse_rekey_over_kept_wal()
            keyfile, key, stale = self._unwrap(passphrase)
            wipe(stale)
            kek = keyfile.kdf.derive(passphrase)
            new = new_data_key()
            try:
                self.lock("rekey") if was_unlocked else None
                keyfile.pending = {"key_id": os.urandom(8).hex(),
                                   "wrapped": _b64(KeyFile.wrap(kek, new, keyfile.kdf.aad())),
                                   "recovery": KeyFile.seal_recovery(new, self._recovery_path())}
                keyfile.save(self.key_path)
                if _after_pending:
                    _after_pending()
                db = database.connect(self.db_path, key)
                try:
                    db.execute(f"PRAGMA rekey = {sqlcipher_key_literal(new)}")
                    db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                finally:
                    db.close()
                self._finish_rekey(keyfile)
            finally:
                wipe(kek), wipe(key)
            store = self._open_store(new)
            store.audit("store.rekey", "*", {"key_id": keyfile.key_id})
            if was_unlocked:
                self._became_unlocked(store, new)
                self._anchor(store)
            else:
                store.close()
                wipe(new)
                self._anchor(head=store.last_head)

    def _refuse_rekey_over_kept_wal(self) -> None:
        """A kept damaged WAL is encrypted with the current data key: a rekey would make the
        saved changes in it unreadable for support."""
        kept = wal.preserved_copies(self.db_path) if self.data_dir.is_dir() else []
        if kept or wal.scan(self.db_path).damaged:
            raise StoreDamaged(_("A damaged write-ahead log is kept for support ({names}); a "
                                 "rekey would make the saved changes in it unreadable, so the "
                                 "key was not changed.").format(
                                     names=", ".join(p.name for p in kept) or "cases.db-wal"),
                               hint=_("Send the copy to support and move it out of the data "
                                      "folder first."))

    def _finish_rekey(self, keyfile: KeyFile) -> None:
        p = keyfile.pending
        assert p is not None
        keyfile.wrapped = _unb64(p["wrapped"])
        keyfile.key_id = p["key_id"]
        keyfile.recovery = p.get("recovery")
        keyfile.pending = None
        keyfile.save(self.key_path)

    def recover(self, private_key_path: str | Path, new_passphrase: bytearray | str) -> None:
        """Emergency access: open the data key with the organisation's private recovery key
        and set a new passphrase (the counselor forgot theirs)."""
        check_strength(new_passphrase)
        self._require_files()
        with self._lock:
            keyfile = KeyFile.load(self.key_path)
            if not keyfile.recovery:
                raise NoRecoveryWrap(_("This case store has no recovery wrap: no recovery key "
                                       "was configured when its key was made, so emergency "
                                       "access is not possible."),
                                     hint=_("Set storage.recovery_public_key; the next "
                                            "passphrase change adds the wrap."))
            private = recovery.load_private_key(private_key_path)  # ConfigError: unreadable
            sealed_to = _unb64(keyfile.recovery.get("recipient", ""))
            mine = recovery.public_raw(private.public_key())
            if sealed_to and sealed_to != mine:
                raise WrongRecoveryKey(_(
                    "This recovery key is not the one this case store was sealed to (key "
                    "{given}; the store expects key {expected}): it belongs to another "
                    "organisation or another key pair. Nothing was changed.").format(
                        given=recovery.fingerprint(mine),
                        expected=recovery.fingerprint(sealed_to)))
            try:
                key = recovery.unseal(private, _unb64(keyfile.recovery["blob"]))
            except Exception:
                raise StoreDamaged(_("The recovery wrap in the key file {key} is damaged: the "
                                     "right recovery key cannot open it.").format(
                                         key=self.key_path.name), hint=restore_hint()) from None
            try:
                store = self._open_store(key)
                store.audit("store.recover", "*")
                store.close()
                self._rewrap(keyfile, key, new_passphrase)
            finally:
                wipe(key)
            self._anchor(head=store.last_head)

    # -- backup and restore ---------------------------------------------------------------------
    @staticmethod
    def check_backup_target(dest: Path | str) -> None:
        """Refuse a backup path whose folder does not exist (before asking for anything)."""
        folder = Path(dest).absolute().parent
        if not folder.is_dir():
            raise StoreWriteFailed(_("The backup cannot be written to {dest}: the folder "
                                     "{folder} does not exist. Nothing was written.").format(
                                         dest=dest, folder=folder),
                                   hint=_("Create the folder or choose another path."))

    def backup(self, dest: Path | str) -> dict[str, list]:
        """Write an encrypted backup to ``dest``, verified by reopening. Returns the manifest."""
        self.check_backup_target(dest)
        store = self._require()
        key = self._key
        assert key is not None
        dest = Path(dest)
        tmp = self.data_dir / f".backup-{os.getpid()}.db"
        for p in database.side_files(tmp):
            p.unlink(missing_ok=True)
        try:
            store.writer.flush()
            try:
                man = store.writer.call(lambda db: backup_file.export_copy(db, key, tmp),
                                        transaction=False)
                backup_file.verify_copy(tmp, key, man)
                backup_file.write_container(dest, KeyFile.load(self.key_path), tmp)
            except (OSError, sqlcipher3.DatabaseError) as exc:
                if database.is_write_failure(exc) or is_os_write_failure(exc):
                    raise database.write_failed("backup", exc, dest.absolute().parent) from None
                if isinstance(exc, sqlcipher3.DatabaseError) and database.is_damage(exc):
                    raise StoreDamaged(_("The case store is damaged, so no backup was made ({error})."
                                         ).format(error=exc),
                                       hint=_("Run 'faro db check' to see what is damaged."),
                                       ) from None
                raise
            store.audit("store.backup", "*", {"tables": len(man)})
            self._anchor(store)
            return man
        finally:
            for p in [*database.side_files(tmp), tmp.with_name(tmp.name + "-journal")]:
                p.unlink(missing_ok=True)

    def restore(self, src: Path | str, passphrase: bytearray | str) -> None:
        """Restore a backup into this clean profile (no store yet), then leave it locked."""
        with self._lock:
            if self.is_initialised() or self._existing_db_files() or self.key_path.exists():
                raise AlreadyInitialised(
                    _("This profile already has a case store; restore only into a clean profile."),
                    hint=_("Move the data folder aside first."))
            keyfile, body = backup_file.read_container(Path(src))
            kek = keyfile.kdf.derive(passphrase)
            try:
                key = keyfile.open(kek)
            finally:
                wipe(kek)
            tmp = self.data_dir / f".restore-{os.getpid()}.db"
            try:
                make_private_dir(self.data_dir)
                tmp.unlink(missing_ok=True)
                backup_file.write_private(tmp, body)
                backup_file.verify_copy(tmp, key)
                keyfile.save(self.key_path, exclusive=True)
                try:
                    os.link(tmp, self.db_path)  # never over a database that appeared meanwhile
                except BaseException:
                    self.key_path.unlink()  # the one this call wrote just now
                    raise
                tmp.unlink()
                store = self._open_store(key)  # runs migrations of an older backup
                store.audit("store.restore", "*")
                store.close()
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                if isinstance(exc, FileExistsError):
                    raise AlreadyInitialised(_("A case store appeared in this profile during the "
                                               "restore; it was left as it is.")) from None
                if is_os_write_failure(exc):
                    raise write_failed(exc, self.data_dir, _("The backup could not be "
                                                             "restored")) from None
                raise
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            finally:
                wipe(key)
            tighten(*database.side_files(self.db_path))
            self._anchor(head=store.last_head)

    # -- maintenance ------------------------------------------------------------------------------

    def check(self) -> database.CheckReport:
        """Integrity, cipher integrity, audit chain and its anchor (the store must be unlocked)."""
        store = self._require()
        report = store.check(((KeyFile.load(self.key_path).audit_head, "the key file"),))
        report.wal_copies = wal.preserved_copies(self.db_path)
        return report

    def inspect(self, passphrase: bytearray | str,
                expected_head: dict[str, Any] | None = None) -> database.CheckReport:
        """Check the files without unlocking the service: no migration, no audit row, no
        purge, so a damaged store is only read. For ``faro db check``. ``expected_head``: an
        audit head recorded earlier (by the organisation) that the log must still hold."""
        with self._lock:
            keyfile, key, pending = self._unwrap(passphrase)
            try:
                try:
                    db = self._connect_any(key, pending)
                except StoreDamaged as exc:
                    return database.CheckReport(opened=False, unreadable=exc.message)
            finally:
                wipe(key), wipe(pending)
            try:
                report = database.check(db, ((keyfile.audit_head, "the key file"),
                                             (expected_head, "the head you gave")))
            finally:
                db.close()
            report.wal_copies = wal.preserved_copies(self.db_path)
            return report

    def purge(self, dry_run: bool = False) -> PurgeResult:
        return self._require().purge(self.config.get(options.RETENTION_DAYS), dry_run)

    def stats(self) -> dict[str, Any]:
        store = self._require()
        keyfile = KeyFile.load(self.key_path)
        files = {p.name: p.stat().st_size for p in database.side_files(self.db_path) if p.exists()}
        return {"rows": store.stats(), "files": files,
                "kdf": {"time_cost": keyfile.kdf.time_cost, "memory_kib": keyfile.kdf.memory_kib,
                        "parallelism": keyfile.kdf.parallelism},
                "recovery_wrap": bool(keyfile.recovery), "key_id": keyfile.key_id,
                "audit_head": store.audit_head()}

    # -- calls → contact rows -------------------------------------------------------------------------
    def _on_call_event(self, event: Any) -> None:
        fields: dict[str, Any] = {}
        if isinstance(event, call_events.CallEnded):
            fields["ended_by"] = event.ended_by.value
        elif isinstance(event, call_events.MissedCall):
            fields.update(missed_reason=event.reason.value, rang_s=event.rang_s)
        elif isinstance(event, call_events.WrapUpFinished) and event.disposition:
            fields["disposition"] = event.disposition
        with self._lock:
            if self._store is None:
                self._pending_calls.append((event.call, fields))
                return
        self._record_call(event.call, fields)
        if isinstance(event, call_events.WrapUpFinished):
            self._save_note_async(event.call.id)

    def _record_call(self, call: Any, fields: dict[str, Any]) -> None:
        store = self._store
        if store is None:
            self._pending_calls.append((call, fields))
            return
        try:
            fut = store.writer.submit(lambda db: store.record_call_in(db, call, fields))
        except RuntimeError:  # locked meanwhile: keep it for the next unlock
            self._pending_calls.append((call, fields))
            return
        fut.add_done_callback(lambda f: self._job_failed("contact", f.exception()))

    def _save_note_async(self, contact_id: str) -> None:
        store = self._store
        if store is not None:
            try:
                fut = store.writer.submit(lambda db: store.save_note_in(db, contact_id))
            except RuntimeError:
                return
            fut.add_done_callback(lambda f: self._job_failed("note", f.exception()))

    def _job_failed(self, operation: str, exc: BaseException | None) -> None:
        if exc is None:
            return
        log.error("store %s write failed: %s", operation, type(exc).__name__)
        self._publish_error(operation, database.write_failed(operation, exc, self.data_dir).message
                            if database.is_write_failure(exc) else _("Could not save to the case store."))

    def _publish_error(self, operation: str, detail: str) -> None:
        self.bus.publish(StoreError(operation, detail))

    # -- autosave --------------------------------------------------------------------------------
    def draft(self, contact_id: str, text: str) -> None:
        """Autosave the newest text of a note. Returns at once (GUI thread, every keystroke)."""
        store = self._store
        if store is None:
            raise StoreIsLocked()
        self._last_activity = self.clock.monotonic()
        if store.writer.draft(contact_id, text):
            self.bus.publish(AutosaveState(contact_id, SAVING))

    def _drafts_done(self, ids: list[str], exc: BaseException | None) -> None:
        if exc is None:
            store = self._store
            for cid in ids:  # "saved" only when nothing newer waits for this contact
                if store is None or store.writer.pending_text(cid) is None:
                    self.bus.publish(AutosaveState(cid, SAVED))
            return
        detail = (database.write_failed("autosave", exc, self.data_dir).message if database.is_write_failure(exc)
                  else _("The case store could not be written."))
        for cid in ids:
            self.bus.publish(AutosaveState(cid, FAILED, detail))
        self._publish_error("autosave", detail)

    def flush(self, timeout: float = 10.0) -> bool:
        store = self._store
        return True if store is None else store.writer.flush(timeout)

    # -- delegated API (raise StoreIsLocked while locked) -----------------------------------
    def notes(self, contact_id: str) -> Note | None:
        return self._require().notes(contact_id)

    def save_note(self, contact_id: str, text: str | None = None) -> int:
        return self._require().save_note(contact_id, text)

    def note_history(self, contact_id: str) -> list[NoteVersion]:
        return self._require().note_history(contact_id)

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Highlighted hits; nothing at all while locked."""
        store = self._store
        return [] if store is None else store.search(query, limit)

    def contact(self, contact_id: str) -> dict[str, Any] | None:
        return self._require().contact(contact_id)

    def contacts(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._require().contacts(limit)

    def set_contact_health(self, contact_id: str, figures: dict[str, Any]) -> None:
        self._require().set_contact_health(contact_id, figures)

    def set_legal_hold(self, contact_id: str, on: bool, reason: str = "") -> None:
        self._require().set_legal_hold(contact_id, on, reason)

    def add_risk_assessment(self, contact_id: str, assessment: RiskAssessment) -> int:
        assessment_id = self._require().add_risk_assessment(contact_id, assessment)
        self.bus.publish(RiskAssessmentSaved(contact_id, assessment_id, assessment.imminent))
        return assessment_id

    def risk_assessments(self, contact_id: str) -> list[RiskAssessment]:
        return self._require().risk_assessments(contact_id)

    def set_safety_plan(self, contact_id: str, plan: SafetyPlan) -> None:
        self._require().set_safety_plan(contact_id, plan)

    def safety_plan(self, contact_id: str) -> SafetyPlan | None:
        return self._require().safety_plan(contact_id)

    def add_follow_up(self, contact_id: str, due_at: dt.datetime, max_attempts: int = 5) -> int:
        return self._require().add_follow_up(contact_id, due_at, max_attempts)

    def record_follow_up_attempt(self, follow_up_id: int, outcome: str, reached: bool) -> FollowUp:
        return self._require().record_follow_up_attempt(follow_up_id, outcome, reached)

    def follow_ups(self, **kw: Any) -> list[FollowUp]:
        return self._require().follow_ups(**kw)

    def record_escalation(self, escalation_id: str, contact_id: str | None, level: str,
                          state: str, detail: dict[str, Any]) -> None:
        self._require().record_escalation(escalation_id, contact_id, level, state, detail)

    def escalation(self, escalation_id: str) -> dict[str, Any] | None:
        return self._require().escalation(escalation_id)

    def add_whisper(self, escalation_id: str, direction: str, text: str) -> int:
        return self._require().add_whisper(escalation_id, direction, text)

    def whispers(self, escalation_id: str) -> list[tuple[str, str, str]]:
        return self._require().whispers(escalation_id)

    def outbox_add(self, kind: str, message_id: str, payload: bytes) -> bool:
        return self._require().outbox_add(kind, message_id, payload)

    def outbox_pending(self, kind: str | None = None) -> list[OutboxItem]:
        return self._require().outbox_pending(kind)

    def outbox_attempted(self, message_id: str) -> None:
        self._require().outbox_attempted(message_id)

    def outbox_mark_sent(self, message_id: str) -> bool:
        return self._require().outbox_mark_sent(message_id)

    def audit(self, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
        self._require().audit(action, subject, detail)


def _b64(b: bytes) -> str:
    import base64
    return base64.b64encode(b).decode("ascii")


def _unb64(s: str) -> bytes:
    import base64
    return base64.b64decode(s)


def attach(session: Any) -> StoreService:
    svc = StoreService(session.config, session.clock, session.bus, session.paths.data_dir)
    session.add_service("store", svc)
    return svc
