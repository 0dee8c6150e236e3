"""The hash-chained audit log.

Each row carries the hash of the previous row; its own hash covers the previous hash and
every field, so editing, inserting or deleting a row in the middle breaks the chain at a
row :func:`verify` names. Details never hold note text or caller data.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlcipher3

GENESIS = "0" * 64


def row_hash(prev: str, row_id: int, at: str, actor: str, action: str, subject: str,
             detail: str) -> str:
    h = hashlib.sha256()
    for part in (prev, str(row_id), at, actor, action, subject, detail):
        b = part.encode("utf-8")
        h.update(len(b).to_bytes(4, "big"))
        h.update(b)
    return h.hexdigest()


def append(db: sqlcipher3.Connection, at: str, actor: str, action: str, subject: str,
           detail: dict[str, Any] | None) -> int:
    """Append one row (inside the caller's write transaction). Returns its id."""
    last = db.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    row_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    text = json.dumps(detail or {}, sort_keys=True, separators=(",", ":"))
    h = row_hash(prev, row_id, at, actor, action, subject, text)
    db.execute("INSERT INTO audit(id, at, actor, action, subject, detail, prev_hash, hash) "
               "VALUES (?,?,?,?,?,?,?,?)", (row_id, at, actor, action, subject, text, prev, h))
    return row_id


def verify(db: sqlcipher3.Connection) -> list[int]:
    """Ids of rows whose chain link or content hash is wrong (empty: the chain is intact)."""
    bad: list[int] = []
    prev = GENESIS
    expected_id = None
    for row_id, at, actor, action, subject, detail, prev_hash, h in db.execute(
            "SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY id"):
        gap = expected_id is not None and row_id != expected_id
        if gap or prev_hash != prev or row_hash(prev_hash, row_id, at, actor, action, subject,
                                                detail) != h:
            bad.append(row_id)
        prev = h
        expected_id = row_id + 1
    return bad
