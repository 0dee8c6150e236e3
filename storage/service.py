"""The "store" service: one face for the case store, built from its parts.

``attach(session)`` adds a :class:`StoreService`, LOCKED at start (attach creates no file).
The work is done by:

- :mod:`storage.vault` — lock state, init/unlock/lock, passphrase checks, idle lock, the
  audit anchor in the key file; :mod:`storage.key_changes` — passwd, rekey, recover;
- :mod:`storage.maintenance` — check, inspect, backup, restore, purge, stats;
- :mod:`storage.autosave` — ``draft`` on every keystroke and its outcome events;
- :mod:`storage.call_rows` — call events written as contact rows (queued while locked);
- :mod:`storage.records_api` — the record methods (notes, contacts, risk, safety plans,
  follow-ups, health figures, escalation mirror, outbox, audit).

The contract is in docs/storage.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from calls.options import TRAINING
from core.clock import Clock
from core.config import Config
from core.events import EventBus
from storage import database, key_changes, options, practice
from storage.autosave import Autosave
from storage.call_rows import CallRows
from storage.files import StoreFiles
from storage.maintenance import Maintenance
from storage.records import PurgeResult
from storage.records_api import RecordsAPI
from storage.vault import KeyVault


class StoreService(RecordsAPI):
    def __init__(self, config: Config, clock: Clock, bus: EventBus, data_dir: Path) -> None:
        self.config = config
        self.clock = clock
        self.bus = bus
        self.files = StoreFiles(data_dir)
        self.data_dir, self.db_path, self.key_path = (
            self.files.data_dir,
            self.files.db_path,
            self.files.key_path,
        )
        self.vault = KeyVault(
            config,
            clock,
            bus,
            self.files,
            on_drafts=self._drafts_done,
            after_unlock=self._after_unlock,
            on_locking=self._on_locking,
        )
        self.autosave = Autosave(self.vault)
        self.maintenance = Maintenance(self.vault)
        self.call_rows = CallRows(self.vault)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Nothing to do: the store stays locked until the counselor unlocks it."""

    def stop(self) -> None:
        self.lock("shutdown")

    def _after_unlock(self) -> None:
        self.call_rows.write_pending()
        if self.config.get(options.AUTO_PURGE):
            self.maintenance.auto_purge()

    def _on_locking(self) -> None:
        self.maintenance.stop_auto_purge()

    def _drafts_done(self, ids: list[str], exc: BaseException | None) -> None:
        self.autosave.drafts_done(ids, exc)

    # -- state, init / unlock / lock (storage.vault) --------------------------------------------
    def is_initialised(self) -> bool:
        return self.files.is_initialised()

    @property
    def is_locked(self) -> bool:
        return self.vault.is_locked

    def refuse_existing(self) -> None:
        self.files.refuse_existing()

    def init(self, passphrase: bytearray | str) -> None:
        self.vault.init(passphrase)

    def unlock(self, passphrase: bytearray | str) -> None:
        self.vault.unlock(passphrase)

    def lock(self, reason: str = "user") -> None:
        self.vault.lock(reason)

    def touch(self) -> None:
        self.vault.touch()

    def check_passphrase(self, passphrase: bytearray | str) -> None:
        self.vault.check_passphrase(passphrase)

    def unlock_check(self, passphrase: bytearray | str) -> None:
        self.vault.unlock_check(passphrase)

    # -- passphrase, rekey, recovery (storage.key_changes) ---------------------------------------
    def passwd(self, old: bytearray | str, new: bytearray | str) -> None:
        key_changes.passwd(self.vault, old, new)

    def rekey(
        self, passphrase: bytearray | str, _after_pending: Callable[[], None] | None = None
    ) -> None:
        key_changes.rekey(self.vault, passphrase, _after_pending)

    def recover(self, private_key_path: str | Path, new_passphrase: bytearray | str) -> None:
        key_changes.recover(self.vault, private_key_path, new_passphrase)

    # -- maintenance (storage.maintenance) ------------------------------------------------------
    @staticmethod
    def check_backup_target(dest: Path | str) -> None:
        Maintenance.check_backup_target(dest)

    def backup(self, dest: Path | str) -> dict[str, list]:
        return self.maintenance.backup(dest)

    def restore(self, src: Path | str, passphrase: bytearray | str) -> None:
        self.maintenance.restore(src, passphrase)

    def check(self) -> database.CheckReport:
        return self.maintenance.check()

    def inspect(
        self, passphrase: bytearray | str, expected_head: dict[str, Any] | None = None
    ) -> database.CheckReport:
        return self.maintenance.inspect(passphrase, expected_head)

    def purge(self, dry_run: bool = False) -> PurgeResult:
        return self.maintenance.purge(dry_run)

    def stats(self) -> dict[str, Any]:
        return self.maintenance.stats()

    # -- autosave (storage.autosave) -------------------------------------------------------------
    def draft(self, contact_id: str, text: str) -> None:
        """Autosave the newest text of a note. Returns at once (GUI thread, every keystroke)."""
        self.autosave.draft(contact_id, text)

    def flush(self, timeout: float = 10.0) -> bool:
        return self.autosave.flush(timeout)


def attach(session: Any) -> StoreService:
    # a training session's records go to the separate practice store (storage/practice.py)
    data_dir = practice.data_dir_for(session.paths.data_dir, session.config.get(TRAINING))
    svc = StoreService(session.config, session.clock, session.bus, data_dir)
    session.add_service("store", svc)
    return svc
