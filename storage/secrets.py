"""Named secrets kept in the case store: the SIP password, a client key's passphrase.

They live in the ``secrets`` table (schema v7), so they are encrypted at rest with the rest
of the SQLCipher database and never sit in faro.toml in clear. :class:`storage.store.CaseStore`
calls these functions: writes run on the writer thread inside its transaction and are
audited (``secret.set`` / ``secret.delete``, subject = the secret's *name*, never its value);
reads use the reader connection.

A value never goes into a log line, an exception message, a repr or an audit row. An invalid
name is not echoed back either: a value passed where the name belongs must not end up in
the message (docs/storage.md, "Secrets").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlcipher3

#: a short dotted identifier: 2 to 8 parts of lower-case letters, digits and "_", each
#: beginning with a letter, at most 64 characters (``sip.password``, ``sip.tls.key_passphrase``)
NAME_RE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*){1,7}")
NAME_MAX = 64

NAME_RULE = (
    "A secret name is a short dotted identifier such as 'sip.password': 2 to 8 parts "
    "separated by dots, each of lower-case letters, digits and '_' beginning with a letter, "
    f"at most {NAME_MAX} characters."
)

Audit = Callable[[sqlcipher3.Connection, str, str, dict[str, Any] | None], None]


def check_name(name: object) -> str:
    """``name`` if it is a valid secret name; ValueError (which does not repeat it) otherwise."""
    if not isinstance(name, str) or len(name) > NAME_MAX or not NAME_RE.fullmatch(name):
        raise ValueError(NAME_RULE)
    return name


def check_value(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"A secret's value must be a str, not {type(value).__name__}.")
    return value


def set_in(db: sqlcipher3.Connection, name: str, value: str, now: str, audit: Audit) -> bool:
    """Insert or replace one secret (writer thread, inside the caller's transaction). True
    if it replaced one."""
    replaced = db.execute("SELECT 1 FROM secrets WHERE name=?", (name,)).fetchone() is not None
    db.execute(
        "INSERT INTO secrets(name, value, updated_at) VALUES (?,?,?) ON CONFLICT(name) "
        "DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
        (name, value, now),
    )
    audit(db, "secret.set", name, {"replaced": replaced})
    return replaced


def delete_in(db: sqlcipher3.Connection, name: str, audit: Audit) -> bool:
    """Delete one secret (writer thread, in a transaction). True if there was one; only an
    actual deletion is audited."""
    gone = db.execute("DELETE FROM secrets WHERE name=?", (name,)).rowcount == 1
    if gone:
        audit(db, "secret.delete", name, None)
    return gone


GET_SQL = "SELECT value FROM secrets WHERE name=?"
NAMES_SQL = "SELECT name FROM secrets ORDER BY name"
