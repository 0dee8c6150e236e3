"""Opening a SQLCipher connection the one hardened way, and checking a database.

Pragmas (justified in docs/storage.md): raw 256-bit key, ``cipher_memory_security`` on,
``secure_delete`` on, WAL journal with ``synchronous = FULL``, foreign keys on, temp
storage in memory. SQLCipher accepts any key without complaint, so the key is verified
with a read at once.
"""
from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import sqlcipher3

from storage import audit, schema
from storage.errors import StoreDamaged, StoreWriteFailed
from storage.hardening import create_private, tighten
from storage.keys import sqlcipher_key_literal

SIDE_FILES = ("-wal", "-shm")


def side_files(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in SIDE_FILES)]


def connect(path: Path, key: bytearray, *, create: bool = False, migrate: bool = True,
            readonly: bool = False) -> sqlcipher3.Connection:
    """An autocommit connection to ``path`` keyed with ``key``, verified and migrated."""
    global _last_dir
    path = Path(path)
    _last_dir = str(path.parent)
    if create:
        create_private(path)
    elif not path.exists():
        raise StoreDamaged("The case store database is missing; restore it from a backup.")
    mode = "ro" if readonly else "rw"
    db = sqlcipher3.connect(f"file:{path}?mode={mode}", uri=True, isolation_level=None,
                            check_same_thread=False, timeout=30)
    try:
        db.execute("PRAGMA cipher_memory_security = ON")
        db.execute(f"PRAGMA key = {sqlcipher_key_literal(key)}")
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError:
            raise StoreDamaged("The case store cannot be read with its key: the database "
                               "is damaged or belongs to another key file.") from None
        db.execute("PRAGMA secure_delete = ON")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA temp_store = MEMORY")
        if not readonly:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            if migrate:
                schema.migrate(db)
        tighten(*side_files(path))
        return db
    except BaseException as exc:
        db.close()
        if isinstance(exc, sqlcipher3.OperationalError) and is_write_failure(exc):
            raise write_failed("open", exc) from None
        raise


def is_write_failure(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, (sqlcipher3.OperationalError, sqlite3.OperationalError)) and any(
        w in text for w in ("disk", "full", "i/o", "readonly", "read-only", "too big"))


def _space_short() -> bool:
    """SQLite reports EFBIG/ENOSPC on some paths as a plain I/O error: look for the cause."""
    import resource
    import shutil
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY:
        return True
    try:
        return shutil.disk_usage(_last_dir or ".").free < 64 * 1024 * 1024
    except OSError:
        return False


_last_dir: str | None = None


def write_failed(operation: str, exc: BaseException) -> StoreWriteFailed:
    text = str(exc).lower()
    if "full" in text or "too big" in text or _space_short():
        why = "the disk is full (or the file size limit was reached)"
    elif "read" in text and "only" in text:
        why = "the case store is read-only"
    else:
        why = "the disk reported an input/output error"
    return StoreWriteFailed(f"Could not save to the case store: {why}. What was saved "
                            "before is intact; free space or call IT.")


@dataclass
class CheckReport:
    integrity: list[str] = field(default_factory=list)   # problems from integrity_check
    cipher: list[str] = field(default_factory=list)      # problems from cipher_integrity_check
    audit_rows: list[int] = field(default_factory=list)  # audit rows whose chain is broken
    opened: bool = True

    @property
    def ok(self) -> bool:
        return self.opened and not (self.integrity or self.cipher or self.audit_rows)

    def lines(self) -> list[str]:
        out = []
        if not self.opened:
            out.append("the database cannot be opened with its key")
        out += [f"cipher: {p}" for p in self.cipher]
        out += [f"integrity: {p}" for p in self.integrity]
        if self.audit_rows:
            ids = ", ".join(map(str, self.audit_rows[:20]))
            out.append(f"audit log: row(s) {ids} do not match the hash chain (edited, "
                       "inserted or deleted by hand)")
        return out


def check(db: sqlcipher3.Connection) -> CheckReport:
    report = CheckReport()
    try:
        report.cipher = [r[0] for r in db.execute("PRAGMA cipher_integrity_check")]
    except sqlcipher3.DatabaseError as exc:
        report.cipher = [str(exc)]
    try:
        rows = [r[0] for r in db.execute("PRAGMA integrity_check")]
        report.integrity = [] if rows == ["ok"] else rows
    except sqlcipher3.DatabaseError as exc:
        report.integrity = [str(exc)]
    try:
        report.audit_rows = audit.verify(db)
    except sqlcipher3.DatabaseError as exc:
        report.integrity.append(f"audit log unreadable: {exc}")
    return report


#: tables whose rows a backup manifest covers (FTS shadow tables are derived data)
def data_tables(db: sqlcipher3.Connection) -> list[str]:
    return [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'notes_fts%' ORDER BY name")]


def manifest(db: sqlcipher3.Connection) -> dict[str, list]:
    """{table: [row count, sha256 of every row in rowid order]} for backup verification."""
    out: dict[str, list] = {}
    for table in data_tables(db):
        h = hashlib.sha256()
        n = 0
        where = " WHERE key != 'backup_manifest'" if table == "settings" else ""
        for row in db.execute(f'SELECT * FROM "{table}"{where} ORDER BY rowid'):
            h.update(repr(row).encode("utf-8"))
            n += 1
        out[table] = [n, h.hexdigest()]
    return out
