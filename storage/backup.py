"""Encrypted backup files.

A backup is one file, written atomically with mode 0600::

    b"FAROBAK1" | header length (4 bytes, big endian) | key file (JSON) | SQLCipher database

The database inside is encrypted with the store's data key, which the embedded key file
wraps with the passphrase (and the recovery key) that were current at backup time. The
backup holds a manifest (row count and SHA-256 of every table) in its settings; it is
verified by reopening the copy before the file is written, and again at restore.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import sqlcipher3

from core.i18n import _
from storage import database, schema
from storage.errors import BackupInvalid, StoreDamaged
from storage.hardening import atomic_write, create_private
from storage.keys import KeyFile, sqlcipher_key_literal

MAGIC = b"FAROBAK1"


def export_copy(db: sqlcipher3.Connection, key: bytearray, target: Path) -> dict[str, list]:
    """Export the open database ``db`` into a new encrypted file ``target`` (same key).
    Runs on the writer connection, so the copy and its manifest are one snapshot."""
    create_private(target)
    db.execute(f"ATTACH DATABASE ? AS bak KEY {sqlcipher_key_literal(key)}", (str(target),))
    try:
        db.execute("BEGIN")
        try:
            man = database.manifest(db)
            db.execute("SELECT sqlcipher_export('bak')").fetchall()
            db.execute(f"PRAGMA bak.user_version = {schema.version(db)}")
            db.execute(
                "INSERT INTO bak.settings(key, value) VALUES ('backup_manifest', ?)",
                (json.dumps(man, sort_keys=True),),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    finally:
        db.execute("DETACH DATABASE bak")
    return man


def verify_copy(path: Path, key: bytearray, expected: dict[str, list] | None = None) -> None:
    """Reopen a database copy; integrity, audit chain and manifest must all agree."""
    try:
        db = database.connect(path, key, migrate=False, readonly=True)
    except StoreDamaged:
        raise BackupInvalid(_("The backup cannot be opened with its key; it is damaged.")) from None
    try:
        report = database.check(db)
        if not report.ok:
            raise BackupInvalid(
                _("The backup failed its integrity check: {problems}.").format(
                    problems="; ".join(report.lines()[:3])
                )
            )
        row = db.execute("SELECT value FROM settings WHERE key='backup_manifest'").fetchone()
        stored = json.loads(row[0]) if row else None
        actual = database.manifest(db)
        if stored != actual or (expected is not None and expected != actual):
            raise BackupInvalid(_("The backup's contents do not match what was backed up."))
    except sqlcipher3.DatabaseError:
        raise BackupInvalid(_("The backup is damaged and cannot be read.")) from None
    finally:
        db.close()


def write_container(dest: Path, keyfile: KeyFile, db_path: Path) -> str:
    header = keyfile.to_bytes()
    body = Path(db_path).read_bytes()
    atomic_write(dest, MAGIC + len(header).to_bytes(4, "big") + header + body)
    written = Path(dest).read_bytes()
    if written[len(MAGIC) + 4 + len(header) :] != body:
        raise BackupInvalid(_("The backup file did not read back as written."))
    return hashlib.sha256(body).hexdigest()


def read_container(src: Path) -> tuple[KeyFile, bytes]:
    try:
        data = Path(src).read_bytes()
    except OSError as exc:
        raise BackupInvalid(
            _("Cannot read the backup {path}: {reason}.").format(path=src, reason=exc.strerror)
        ) from None
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise BackupInvalid(_("{path} is not a Faro case store backup.").format(path=src))
    n = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    header = data[len(MAGIC) + 4 : len(MAGIC) + 4 + n]
    body = data[len(MAGIC) + 4 + n :]
    try:
        keyfile = KeyFile.from_bytes(header)
    except StoreDamaged:
        raise BackupInvalid(
            _("The key part of the backup {path} is damaged.").format(path=src)
        ) from None
    return keyfile, body


def write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
