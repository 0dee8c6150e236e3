"""Opening a SQLCipher connection the one hardened way, and checking a database.

Pragmas (justified in docs/storage.md): raw 256-bit key, ``cipher_memory_security`` on,
``secure_delete`` on, WAL journal with ``synchronous = FULL``, foreign keys on, temp
storage in memory. SQLCipher's own log is off (``cipher_log_level = NONE``): its "ERROR
CORE" lines on stderr would bury the one line Faro prints. SQLCipher accepts any key
without complaint, so the key is verified with a read at once; a failure is told apart:
the disk (74), damage or a database of another key file (7). Before SQLite replays a WAL
left by a crash, :mod:`storage.wal` reads it, and a damaged one is copied aside first.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import sqlcipher3

from core.i18n import _, ngettext
from storage import audit, schema, wal
from storage.errors import StoreDamaged, StoreWriteFailed, restore_hint
from storage.errors import write_failed as _write_failed
from storage.hardening import create_private, tighten
from storage.keys import sqlcipher_key_literal

SIDE_FILES = ("-wal", "-shm")
PAGE_SIZE = 4096  # SQLCipher 4's default cipher_page_size, which Faro keeps
_WRITE_ERRORS = ("SQLITE_IOERR", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_READONLY")
_DAMAGE_ERRORS = ("SQLITE_NOTADB", "SQLITE_CORRUPT")


def _silence_sqlcipher() -> None:
    """SQLCipher's log level is process-wide: set it once, before any key is tried."""
    db = sqlcipher3.connect(":memory:")
    try:
        db.execute("PRAGMA cipher_log_level = NONE")
    finally:
        db.close()


_silence_sqlcipher()


class Connection(sqlcipher3.Connection):
    """A connection that also says what was found in the WAL before it was opened."""

    wal: wal.WalScan = wal.CLEAN
    wal_copy: Path | None = None


def side_files(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in SIDE_FILES)]


def connect(
    path: Path,
    key: bytearray,
    *,
    create: bool = False,
    migrate: bool = True,
    readonly: bool = False,
    scan_wal: bool = True,
) -> Connection:
    """An autocommit connection to ``path`` keyed with ``key``, verified and migrated.

    A damaged WAL (committed transactions SQLite would drop) is copied aside first and
    reported on the connection (``db.wal``, ``db.wal_copy``); if it cannot be copied the
    store is not opened (:class:`StoreWriteFailed`)."""
    path = Path(path)
    if create:
        create_private(path)
    elif not path.exists():
        raise StoreDamaged(
            _("The case store database {name} is missing.").format(name=path.name),
            hint=restore_hint(),
        )
    found, copy = wal.CLEAN, None
    if scan_wal and not create:
        found = wal.scan(path)
        if found.damaged:
            try:
                copy = wal.preserve(path, found)
            except OSError as exc:
                raise _write_failed(
                    exc,
                    path.parent,
                    _(
                        "The case store's write-ahead log is damaged and could not be copied aside "
                        "for support, so the store was not opened"
                    ),
                ) from None
    mode = "ro" if readonly else "rw"
    db = sqlcipher3.connect(
        f"file:{path}?mode={mode}",
        uri=True,
        isolation_level=None,
        check_same_thread=False,
        timeout=30,
        factory=Connection,
    )
    db.wal, db.wal_copy = found, copy
    try:
        db.execute("PRAGMA cipher_log_level = NONE")
        db.execute("PRAGMA cipher_memory_security = ON")
        db.execute(f"PRAGMA key = {sqlcipher_key_literal(key)}")
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError as exc:
            if is_write_failure(exc):
                raise
            raise unreadable(db, path) from None
        db.execute("PRAGMA secure_delete = ON")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA temp_store = MEMORY")
        if not readonly:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            if migrate:
                schema.migrate(db, key=key)
        tighten(*side_files(path))
        return db
    except BaseException as exc:
        db.close()
        if is_write_failure(exc):
            raise write_failed("open", exc, path.parent) from None
        if isinstance(exc, sqlcipher3.DatabaseError) and is_damage(exc):
            raise StoreDamaged(
                _("The case store database {name} is damaged ({error}).").format(
                    name=path.name, error=exc
                ),
                hint=restore_hint(),
            ) from None
        raise


def unreadable(db: sqlcipher3.Connection, path: Path) -> StoreDamaged:
    """Why a database that was keyed cannot be read: some pages fail their HMAC (damage,
    the key is right) or all do (another key file's database, or its salt is damaged)."""
    try:
        failed = [r[0] for r in db.execute("PRAGMA cipher_integrity_check")]
    except sqlcipher3.DatabaseError:
        failed = []
    pages = max(1, path.stat().st_size // PAGE_SIZE)
    if failed and len(failed) < pages:
        return StoreDamaged(
            _(
                "The case store database {name} is damaged: {problems}. The key "
                "itself is right (the other pages verify)."
            ).format(name=path.name, problems="; ".join(failed[:5])),
            hint=restore_hint(),
        )
    return StoreDamaged(
        _(
            "The case store database {name} cannot be read with the key in its "
            "key file: it belongs to another key file, or the start of the "
            "database file is damaged."
        ).format(name=path.name),
        hint=restore_hint(),
    )


def is_write_failure(exc: BaseException) -> bool:
    """The disk, not the data: full, read-only, cannot create a file, I/O error."""
    if isinstance(exc, StoreWriteFailed):
        return True
    if not isinstance(exc, (sqlcipher3.DatabaseError, sqlite3.DatabaseError)):
        return False
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    if name:
        return name.startswith(_WRITE_ERRORS)
    text = str(exc).lower()
    return isinstance(exc, (sqlcipher3.OperationalError, sqlite3.OperationalError)) and any(
        w in text for w in ("disk", "full", "i/o", "readonly", "read-only", "unable to open")
    )


def is_damage(exc: BaseException) -> bool:
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    return name.startswith(_DAMAGE_ERRORS) or "malformed" in str(exc)


def write_failed(
    operation: str, exc: BaseException, directory: Path | None = None
) -> StoreWriteFailed:
    """:class:`StoreWriteFailed` for a failed ``operation`` ("open", "backup", or a save)."""
    if isinstance(exc, StoreWriteFailed):
        return exc
    what = {
        "open": _("The case store cannot be opened"),
        "backup": _("The backup could not be written"),
    }.get(operation)
    return _write_failed(exc, directory, what)


def failure_message(operation: str, exc: BaseException, directory: Path, otherwise: str) -> str:
    """What the counselor is told when a background write fails: the disk's own words for a
    write failure (full, read-only…), ``otherwise`` for anything else."""
    if is_write_failure(exc):
        return write_failed(operation, exc, directory).message
    return otherwise


@dataclass
class CheckReport:
    integrity: list[str] = field(default_factory=list)  # problems from integrity_check
    cipher: list[str] = field(default_factory=list)  # problems from cipher_integrity_check
    audit_rows: list[int] = field(default_factory=list)  # audit rows whose chain is broken
    opened: bool = True
    unreadable: str = ""  # why it could not be opened
    anchor: list[str] = field(default_factory=list)  # audit head vs anchors
    wal: wal.WalScan = wal.CLEAN  # what the WAL held before opening
    wal_copies: list[Path] = field(default_factory=list)  # damaged WALs kept for support
    head: dict = field(default_factory=dict)  # audit head {"seq", "mac"}

    @property
    def ok(self) -> bool:
        return self.opened and not (
            self.integrity
            or self.cipher
            or self.audit_rows
            or self.anchor
            or self.wal.damaged
            or self.wal_copies
        )

    @property
    def wal_only(self) -> bool:
        """The only problem is a damaged WAL: the database itself is sound."""
        return (
            not self.ok
            and self.opened
            and not (self.integrity or self.cipher or self.audit_rows or self.anchor)
        )

    @property
    def audit_only(self) -> bool:
        """The only problems are in the audit log: the notes themselves are sound."""
        return (
            not self.ok
            and self.opened
            and bool(self.audit_rows or self.anchor)
            and not (self.integrity or self.cipher or self.wal.damaged or self.wal_copies)
        )

    def lines(self) -> list[str]:
        out = []
        if not self.opened:
            out.append(self.unreadable or _("the database cannot be opened with its key"))
        out += [_("cipher: {problem}").format(problem=p) for p in self.cipher]
        out += [_("integrity: {problem}").format(problem=p) for p in self.integrity]
        if self.audit_rows:
            ids = ", ".join(map(str, self.audit_rows[:20]))
            out.append(
                _(
                    "audit log: row(s) {ids} do not match the keyed chain (edited, "
                    "inserted or deleted by hand)"
                ).format(ids=ids)
            )
        out += self.anchor
        if self.wal.damaged:
            out.append(
                ngettext(
                    "write-ahead log: frame {frame} of {frames} is damaged, so the last "
                    "saved change after it could not be read",
                    "write-ahead log: frame {frame} of {frames} is damaged, so the last "
                    "{n} saved changes after it could not be read",
                    self.wal.lost_commits,
                ).format(
                    frame=self.wal.damaged_frame,
                    frames=self.wal.frames,
                    n=self.wal.lost_commits,
                )
            )
        for copy in self.wal_copies:
            out.append(
                _("write-ahead log: a damaged log is kept for support at {path}").format(path=copy)
            )
        return out

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "problems": self.lines(),
            "audit_head": self.head,
            "wal": {
                "frames": self.wal.frames,
                "damaged_frame": self.wal.damaged_frame,
                "lost_commits": self.wal.lost_commits,
            },
            "wal_copies": [str(p) for p in self.wal_copies],
        }


def check(
    db: sqlcipher3.Connection, anchors: tuple[tuple[dict | None, str], ...] = ()
) -> CheckReport:
    """Cipher integrity, integrity, the audit chain and each anchored head (a head, and
    where it was recorded: "the key file", "the head you gave")."""
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
        report.head = audit.head(db)
        for anchored, where in anchors:
            problem = audit.anchor_problem(db, anchored, where)
            if problem:
                report.anchor.append(problem)
    except sqlcipher3.DatabaseError as exc:
        report.integrity.append(_("audit log unreadable: {error}").format(error=exc))
    if isinstance(db, Connection):
        report.wal = db.wal
    return report


def quick_check(db: sqlcipher3.Connection, path: Path) -> list[str]:
    """A fast read of every b-tree page (``PRAGMA quick_check``); problems, or []."""
    try:
        rows = [r[0] for r in db.execute("PRAGMA quick_check")]
    except sqlcipher3.DatabaseError as exc:
        if is_write_failure(exc):
            raise
        try:
            rows = [r[0] for r in db.execute("PRAGMA cipher_integrity_check")] or [str(exc)]
        except sqlcipher3.DatabaseError:
            rows = [str(exc)]
        return rows
    return [] if rows == ["ok"] else rows


#: tables whose rows a backup manifest covers (FTS shadow tables are derived data)
def data_tables(db: sqlcipher3.Connection) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'notes_fts%' ORDER BY name"
        )
    ]


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
