"""Changing what opens the store: a new passphrase, a new data key, emergency recovery.

Each works on the :class:`storage.vault.KeyVault` under its guard and writes the key file
atomically; a crash at any point leaves a key file whose key opens the database.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path

from core.i18n import _
from storage import database, recovery, wal
from storage.errors import NoRecoveryWrap, StoreDamaged, WrongRecoveryKey, restore_hint
from storage.hardening import wipe
from storage.keys import KeyFile, check_strength, new_data_key, sqlcipher_key_literal
from storage.vault import KeyVault


def passwd(vault: KeyVault, old: bytearray | str, new: bytearray | str) -> None:
    """Rewrap the data key with a new passphrase (atomic key-file replace)."""
    check_strength(new)
    with vault.guard:
        keyfile, key, pending = vault.unwrap(old)
        try:
            _rewrap(vault, keyfile, key, new)
        finally:
            wipe(key)
            wipe(pending)
        if vault.store is not None:
            vault.store.audit("store.passwd", "*")
            vault.anchor(vault.store)


def _rewrap(vault: KeyVault, keyfile: KeyFile, key: bytearray, new: bytearray | str) -> None:
    kdf = vault.kdf_params()
    kek = kdf.derive(new)
    try:
        fresh = KeyFile.create(kek, kdf, key, vault.recovery_path())
        fresh.key_id = keyfile.key_id
        fresh.audit_head = keyfile.audit_head
        fresh.save(vault.files.key_path)
    finally:
        wipe(kek)


def rekey(
    vault: KeyVault, passphrase: bytearray | str, _after_pending: Callable[[], None] | None = None
) -> None:
    """A new data key: wrap it as ``pending``, SQLCipher-rekey, then make it current.
    A crash at any point leaves a key in the key file that opens the database."""
    files = vault.files
    with vault.guard:
        was_unlocked = vault.store is not None
        _refuse_rekey_over_kept_wal(vault)
        keyfile, key, stale = vault.unwrap(passphrase)
        wipe(stale)
        kek = keyfile.kdf.derive(passphrase)
        new = new_data_key()
        try:
            if was_unlocked:
                vault.lock("rekey")
            keyfile.pending = {
                "key_id": os.urandom(8).hex(),
                "wrapped": base64.b64encode(KeyFile.wrap(kek, new, keyfile.kdf.aad())).decode(
                    "ascii"
                ),
                "recovery": KeyFile.seal_recovery(new, vault.recovery_path()),
            }
            keyfile.save(files.key_path)
            if _after_pending:
                _after_pending()
            db = database.connect(files.db_path, key)
            try:
                db.execute(f"PRAGMA rekey = {sqlcipher_key_literal(new)}")
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                db.close()
            keyfile.promote_pending(files.key_path)
        finally:
            wipe(kek)
            wipe(key)
        store = vault.open_store(new)
        store.audit("store.rekey", "*", {"key_id": keyfile.key_id})
        if was_unlocked:
            vault.became_unlocked(store, new)
            vault.anchor(store)
        else:
            store.close()
            wipe(new)
            vault.anchor(head=store.last_head)


def _refuse_rekey_over_kept_wal(vault: KeyVault) -> None:
    """A kept damaged WAL is encrypted with the current data key: a rekey would make the
    saved changes in it unreadable for support."""
    db_path = vault.files.db_path
    kept = wal.preserved_copies(db_path) if vault.files.data_dir.is_dir() else []
    if kept or wal.scan(db_path).damaged:
        raise StoreDamaged(
            _(
                "A damaged write-ahead log is kept for support ({names}); a "
                "rekey would make the saved changes in it unreadable, so the "
                "key was not changed."
            ).format(names=", ".join(p.name for p in kept) or "cases.db-wal"),
            hint=_("Send the copy to support and move it out of the data folder first."),
        )


def recover(vault: KeyVault, private_key_path: str | Path, new_passphrase: bytearray | str) -> None:
    """Emergency access: open the data key with the organisation's private recovery key
    and set a new passphrase (the counselor forgot theirs)."""
    check_strength(new_passphrase)
    vault.files.require()
    with vault.guard:
        keyfile = KeyFile.load(vault.files.key_path)
        if not keyfile.recovery:
            raise NoRecoveryWrap(
                _(
                    "This case store has no recovery wrap: no recovery key "
                    "was configured when its key was made, so emergency "
                    "access is not possible."
                ),
                hint=_(
                    "Set storage.recovery_public_key; the next passphrase change adds the wrap."
                ),
            )
        private = recovery.load_private_key(private_key_path)  # ConfigError: unreadable
        sealed_to = base64.b64decode(keyfile.recovery.get("recipient", ""))
        mine = recovery.public_raw(private.public_key())
        if sealed_to and sealed_to != mine:
            raise WrongRecoveryKey(
                _(
                    "This recovery key is not the one this case store was sealed to (key "
                    "{given}; the store expects key {expected}): it belongs to another "
                    "organisation or another key pair. Nothing was changed."
                ).format(given=recovery.fingerprint(mine), expected=recovery.fingerprint(sealed_to))
            )
        try:
            key = recovery.unseal(private, base64.b64decode(keyfile.recovery["blob"]))
        except Exception:
            raise StoreDamaged(
                _(
                    "The recovery wrap in the key file {key} is damaged: the "
                    "right recovery key cannot open it."
                ).format(key=vault.files.key_path.name),
                hint=restore_hint(),
            ) from None
        try:
            store = vault.open_store(key)
            store.audit("store.recover", "*")
            store.close()
            _rewrap(vault, keyfile, key, new_passphrase)
        finally:
            wipe(key)
        vault.anchor(head=store.last_head)
