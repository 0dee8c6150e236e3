"""The keyed, anchored audit chain.

Each row carries the MAC of the previous row; its own MAC is HMAC-SHA256, under the store's
audit key, of the previous MAC and every field. Editing, inserting or deleting a row in the
middle breaks the chain at a row :func:`verify` names, and recomputing the later rows needs
the audit key (kept in the encrypted ``settings`` table, derived from the data key when
the chain began): without the data key nobody can extend or rewrite the chain.

A chain alone cannot show that its newest rows were cut off. The head (sequence number and
MAC of the newest row) is therefore anchored outside the database: in the key file (at
unlock, lock and after every administrative action) and in what the organisation receives
(``faro db stats`` and ``faro db check --json`` print it). :func:`anchor_problem` compares a
head recorded earlier with the database. What this does and does not protect against is in
docs/storage.md ("Audit log").

Rows written before schema v6 keep their plain SHA-256 chain (``legacy_until``): they are
verified as they were, and the first keyed row links to the last of them. Details never
hold note text or caller data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

import sqlcipher3
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.i18n import _, ngettext

GENESIS = "0" * 64
KEY_SETTING = "audit_key"
CHAIN_SETTING = "audit_chain"
SCHEME = "hmac-sha256"
_INFO = b"faro audit chain v1"


def _fields(
    prev: str, row_id: int, at: str, actor: str, action: str, subject: str, detail: str
) -> bytes:
    out = bytearray()
    for part in (prev, str(row_id), at, actor, action, subject, detail):
        b = part.encode("utf-8")
        out += len(b).to_bytes(4, "big") + b
    return bytes(out)


def row_hash(
    prev: str, row_id: int, at: str, actor: str, action: str, subject: str, detail: str
) -> str:
    """The plain SHA-256 link of rows written before schema v6."""
    return hashlib.sha256(_fields(prev, row_id, at, actor, action, subject, detail)).hexdigest()


def row_mac(
    key: bytes, prev: str, row_id: int, at: str, actor: str, action: str, subject: str, detail: str
) -> str:
    return hmac.new(
        key, _fields(prev, row_id, at, actor, action, subject, detail), hashlib.sha256
    ).hexdigest()


def new_chain_key(data_key: bytes | bytearray | None) -> bytes:
    """The audit key: HKDF-SHA256 of the data key with a random salt (random if no data key
    is at hand). Stored once; a rekey does not change it, so old MACs stay verifiable."""
    salt = secrets.token_bytes(16)
    if data_key is None:
        return secrets.token_bytes(32)
    return HKDF(SHA256(), 32, salt=salt, info=_INFO).derive(bytes(data_key))


def start_chain(db: sqlcipher3.Connection, data_key: bytes | bytearray | None) -> None:
    """Begin the keyed chain after the rows already present (inside the caller's
    transaction; schema v6)."""
    last = db.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()[0]
    db.execute(
        "INSERT INTO settings(key, value) VALUES (?, ?)",
        (KEY_SETTING, new_chain_key(data_key).hex()),
    )
    db.execute(
        "INSERT INTO settings(key, value) VALUES (?, ?)",
        (CHAIN_SETTING, json.dumps({"scheme": SCHEME, "legacy_until": last})),
    )


def _chain(db: sqlcipher3.Connection) -> tuple[bytes | None, int]:
    """(audit key, last legacy row id); (None, …) for a database before v6."""
    rows = dict(
        db.execute(
            "SELECT key, value FROM settings WHERE key IN (?, ?)", (KEY_SETTING, CHAIN_SETTING)
        ).fetchall()
    )
    if KEY_SETTING not in rows:
        return None, 1 << 62
    try:
        legacy = int(json.loads(rows.get(CHAIN_SETTING, "{}")).get("legacy_until", 0))
    except (ValueError, TypeError, AttributeError):
        legacy = 0
    try:
        return bytes.fromhex(rows[KEY_SETTING]), legacy
    except ValueError:
        return b"", legacy  # a damaged key: every keyed row will fail, as it should


def append(
    db: sqlcipher3.Connection,
    at: str,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any] | None,
) -> int:
    """Append one row (inside the caller's write transaction). Returns its id."""
    key, legacy = _chain(db)
    last = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    row_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    text = json.dumps(detail or {}, sort_keys=True, separators=(",", ":"))
    if key is None or row_id <= legacy:
        h = row_hash(prev, row_id, at, actor, action, subject, text)
    else:
        h = row_mac(key, prev, row_id, at, actor, action, subject, text)
    db.execute(
        "INSERT INTO audit(id, at, actor, action, subject, detail, prev_hash, hash) "
        "VALUES (?,?,?,?,?,?,?,?)",
        (row_id, at, actor, action, subject, text, prev, h),
    )
    return row_id


def verify(db: sqlcipher3.Connection) -> list[int]:
    """Ids of rows whose chain link or MAC is wrong (empty: the chain is intact)."""
    key, legacy = _chain(db)
    bad: list[int] = []
    prev = GENESIS
    expected_id = None
    for row_id, at, actor, action, subject, detail, prev_hash, h in db.execute(
        "SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY id"
    ):
        gap = expected_id is not None and row_id != expected_id
        if key is None or row_id <= legacy:
            want = row_hash(prev_hash, row_id, at, actor, action, subject, detail)
        else:
            want = row_mac(key, prev_hash, row_id, at, actor, action, subject, detail)
        if gap or prev_hash != prev or not hmac.compare_digest(want, h):
            bad.append(row_id)
        prev = h
        expected_id = row_id + 1
    return bad


def head(db: sqlcipher3.Connection) -> dict[str, Any]:
    """{"seq", "mac"} of the newest row ({"seq": 0, "mac": GENESIS} for an empty log)."""
    row = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return {"seq": row[0], "mac": row[1]} if row else {"seq": 0, "mac": GENESIS}


def anchor_problem(
    db: sqlcipher3.Connection, anchored: dict[str, Any] | None, where: str
) -> str | None:
    """Compare a head recorded earlier (``where``: "the key file", "the head you gave")
    with the database: None when the database still holds that row with that MAC."""
    if not anchored:
        return None
    seq, mac = int(anchored["seq"]), str(anchored["mac"])
    if seq == 0:
        return None
    newest = db.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()[0]
    if newest < seq:
        # Translators: {where} is "the key file" or "the head you gave".
        return ngettext(
            "audit log: {where} records {seq} row but the log ends at row {newest}: "
            "rows {first}-{seq} were deleted, or this is an older copy of the database",
            "audit log: {where} records {seq} rows but the log ends at row {newest}: "
            "rows {first}-{seq} were deleted, or this is an older copy of the database",
            seq,
        ).format(where=where, seq=seq, newest=newest, first=newest + 1)
    row = db.execute("SELECT hash FROM audit WHERE id=?", (seq,)).fetchone()
    if row is None or not hmac.compare_digest(row[0], mac):
        return _(
            "audit log: row {seq} is not the row {where} recorded (the log was rewritten)"
        ).format(seq=seq, where=where)
    return None
