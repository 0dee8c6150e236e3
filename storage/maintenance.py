"""Looking after the store: check, backup and restore, purge, statistics.

For IT (``faro db``) and the daily automatic purge; works on the open store of the
:class:`storage.vault.KeyVault`, or on the files alone where the store must not be unlocked
(``inspect``, ``restore``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import sqlcipher3

from core.clock import Timer
from core.i18n import _
from core.paths import make_private_dir
from storage import backup as backup_file
from storage import database, options, wal
from storage.errors import (
    AlreadyInitialised,
    StoreDamaged,
    StoreWriteFailed,
    is_os_write_failure,
    write_failed,
)
from storage.hardening import tighten, wipe
from storage.keys import KeyFile
from storage.records import PurgeResult
from storage.vault import KeyVault

log = logging.getLogger(__name__)

DAY_S = 86400.0


class Maintenance:
    def __init__(self, vault: KeyVault) -> None:
        self.vault = vault
        self.files = vault.files
        self._purge_timer: Timer | None = None

    # -- check ---------------------------------------------------------------------------
    def check(self) -> database.CheckReport:
        """Integrity, cipher integrity, audit chain and its anchor (the store must be unlocked)."""
        store = self.vault.require()
        report = store.check(((KeyFile.load(self.files.key_path).audit_head, _("the key file")),))
        report.wal_copies = wal.preserved_copies(self.files.db_path)
        return report

    def inspect(
        self, passphrase: bytearray | str, expected_head: dict[str, Any] | None = None
    ) -> database.CheckReport:
        """Check the files without unlocking the service: no migration, no audit row, no
        purge, so a damaged store is only read. For ``faro db check``. ``expected_head``: an
        audit head recorded earlier (by the organisation) that the log must still hold."""
        vault = self.vault
        with vault.guard:
            keyfile, key, pending = vault.unwrap(passphrase)
            try:
                db = vault.connect_any(key, pending)
            except StoreDamaged as exc:
                return database.CheckReport(opened=False, unreadable=exc.message)
            try:
                report = database.check(
                    db,
                    (
                        (keyfile.audit_head, _("the key file")),
                        (expected_head, _("the head you gave")),
                    ),
                )
            finally:
                db.close()
            report.wal_copies = wal.preserved_copies(self.files.db_path)
            return report

    # -- purge and statistics -----------------------------------------------------------------
    def purge(self, dry_run: bool = False) -> PurgeResult:
        return self.vault.require().purge(self.vault.config.get(options.RETENTION_DAYS), dry_run)

    def auto_purge(self) -> None:
        """Purge now and again every day while unlocked (``storage.auto_purge``)."""
        try:
            self.purge()
        except Exception:
            log.exception("automatic purge failed")
        if self.vault.store is not None:
            self._purge_timer = self.vault.clock.call_later(DAY_S, self.auto_purge)

    def stop_auto_purge(self) -> None:
        if self._purge_timer:
            self._purge_timer.cancel()

    def stats(self) -> dict[str, Any]:
        store = self.vault.require()
        keyfile = KeyFile.load(self.files.key_path)
        files = {
            p.name: p.stat().st_size for p in database.side_files(self.files.db_path) if p.exists()
        }
        return {
            "rows": store.stats(),
            "files": files,
            "kdf": {
                "time_cost": keyfile.kdf.time_cost,
                "memory_kib": keyfile.kdf.memory_kib,
                "parallelism": keyfile.kdf.parallelism,
            },
            "recovery_wrap": bool(keyfile.recovery),
            "key_id": keyfile.key_id,
            "audit_head": store.audit_head(),
        }

    # -- backup and restore ---------------------------------------------------------------------
    @staticmethod
    def check_backup_target(dest: Path | str) -> None:
        """Refuse a backup path whose folder does not exist (before asking for anything)."""
        folder = Path(dest).absolute().parent
        if not folder.is_dir():
            raise StoreWriteFailed(
                _(
                    "The backup cannot be written to {dest}: the folder "
                    "{folder} does not exist. Nothing was written."
                ).format(dest=dest, folder=folder),
                hint=_("Create the folder or choose another path."),
            )

    def backup(self, dest: Path | str) -> dict[str, list]:
        """Write an encrypted backup to ``dest``, verified by reopening. Returns the manifest."""
        self.check_backup_target(dest)
        store = self.vault.require()
        key = self.vault.key
        assert key is not None
        dest = Path(dest)
        tmp = self.files.data_dir / f".backup-{os.getpid()}.db"
        for p in database.side_files(tmp):
            p.unlink(missing_ok=True)
        try:
            store.writer.flush()
            try:
                man = store.writer.call(
                    lambda db: backup_file.export_copy(db, key, tmp), transaction=False
                )
                backup_file.verify_copy(tmp, key, man)
                backup_file.write_container(dest, KeyFile.load(self.files.key_path), tmp)
            except (OSError, sqlcipher3.DatabaseError) as exc:
                if database.is_write_failure(exc) or is_os_write_failure(exc):
                    raise database.write_failed("backup", exc, dest.absolute().parent) from None
                if isinstance(exc, sqlcipher3.DatabaseError) and database.is_damage(exc):
                    raise StoreDamaged(
                        _("The case store is damaged, so no backup was made ({error}).").format(
                            error=exc
                        ),
                        hint=_("Run 'faro db check' to see what is damaged."),
                    ) from None
                raise
            store.audit("store.backup", "*", {"tables": len(man)})
            self.vault.anchor(store)
            return man
        finally:
            for p in [*database.side_files(tmp), tmp.with_name(tmp.name + "-journal")]:
                p.unlink(missing_ok=True)

    def restore(self, src: Path | str, passphrase: bytearray | str) -> None:
        """Restore a backup into this clean profile (no store yet), then leave it locked."""
        files = self.files
        with self.vault.guard:
            if files.has_any():
                raise AlreadyInitialised(
                    _("This profile already has a case store; restore only into a clean profile."),
                    hint=_("Move the data folder aside first."),
                )
            keyfile, body = backup_file.read_container(Path(src))
            kek = keyfile.kdf.derive(passphrase)
            try:
                key = keyfile.open(kek)
            finally:
                wipe(kek)
            tmp = files.data_dir / f".restore-{os.getpid()}.db"
            try:
                make_private_dir(files.data_dir)
                tmp.unlink(missing_ok=True)
                backup_file.write_private(tmp, body)
                backup_file.verify_copy(tmp, key)
                keyfile.save(files.key_path, exclusive=True)
                try:
                    os.link(tmp, files.db_path)  # never over a database that appeared meanwhile
                except BaseException:
                    files.key_path.unlink()  # the one this call wrote just now
                    raise
                tmp.unlink()
                store = self.vault.open_store(key)  # runs migrations of an older backup
                store.audit("store.restore", "*")
                store.close()
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                if isinstance(exc, FileExistsError):
                    raise AlreadyInitialised(
                        _(
                            "A case store appeared in this profile during the "
                            "restore; it was left as it is."
                        )
                    ) from None
                if is_os_write_failure(exc):
                    raise write_failed(
                        exc, files.data_dir, _("The backup could not be restored")
                    ) from None
                raise
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            finally:
                wipe(key)
            tighten(*database.side_files(files.db_path))
            self.vault.anchor(head=store.last_head)
