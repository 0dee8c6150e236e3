"""The schema, as numbered migrations applied in order (``PRAGMA user_version``).

A new database runs every migration from 0; an older one runs those it lacks, each in one
transaction. A migration is SQL, or a function of (connection, data key) for what SQL
cannot do (v6 computes a key). Never edit a released migration: add the next one. Every
migration is tested from every earlier version (tests/storage/test_storage_migrations.py).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlcipher3

_V1 = """
    CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE contacts(
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        caller TEXT,
        counselor_id TEXT NOT NULL DEFAULT '',
        rung_at TEXT NOT NULL,
        answered_at TEXT,
        ended_at TEXT,
        ended_by TEXT,
        missed_reason TEXT,
        rang_s REAL,
        disposition TEXT,
        legal_hold INTEGER NOT NULL DEFAULT 0,
        legal_hold_reason TEXT,
        updated_at TEXT NOT NULL);
    CREATE INDEX contacts_rung ON contacts(rung_at);
    CREATE TABLE notes(
        id INTEGER PRIMARY KEY,
        contact_id TEXT NOT NULL UNIQUE REFERENCES contacts(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0,
        dirty INTEGER NOT NULL DEFAULT 1,
        updated_at TEXT NOT NULL);
    CREATE TABLE note_versions(
        id INTEGER PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        text TEXT NOT NULL,
        saved_at TEXT NOT NULL,
        counselor_id TEXT NOT NULL,
        UNIQUE(contact_id, version));
    CREATE TABLE audit(
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL);
"""


_V2 = """
    CREATE TABLE risk_assessments(
        id INTEGER PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        assessed_at TEXT NOT NULL,
        counselor_id TEXT NOT NULL,
        desire TEXT NOT NULL,
        capability TEXT NOT NULL,
        intent TEXT NOT NULL,
        buffers TEXT NOT NULL,
        imminent INTEGER NOT NULL,
        comment TEXT NOT NULL DEFAULT '');
    CREATE INDEX risk_contact ON risk_assessments(contact_id);
    CREATE TABLE safety_plans(
        contact_id TEXT PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
        plan TEXT NOT NULL,
        updated_at TEXT NOT NULL);
    CREATE TABLE follow_ups(
        id INTEGER PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        due_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL DEFAULT 5,
        outcome TEXT,
        last_attempt_at TEXT,
        done INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL);
    CREATE INDEX follow_ups_due ON follow_ups(done, due_at);
"""


_V3 = """
    CREATE TABLE escalations(
        id TEXT PRIMARY KEY,
        contact_id TEXT REFERENCES contacts(id) ON DELETE CASCADE,
        level TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL);
    CREATE TABLE escalation_events(
        id INTEGER PRIMARY KEY,
        escalation_id TEXT NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
        state TEXT NOT NULL,
        detail TEXT NOT NULL,
        at TEXT NOT NULL);
    CREATE TABLE whispers(
        id INTEGER PRIMARY KEY,
        escalation_id TEXT NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
        direction TEXT NOT NULL,
        text TEXT NOT NULL,
        at TEXT NOT NULL);
    CREATE TABLE outbox(
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        message_id TEXT NOT NULL UNIQUE,
        payload BLOB NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        sent_at TEXT);
    CREATE INDEX outbox_pending ON outbox(sent_at, kind);
"""


_V4 = """
    ALTER TABLE contacts ADD COLUMN health TEXT;
    CREATE VIRTUAL TABLE notes_fts USING fts5(
        text, content='notes', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2');
    CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN
        INSERT INTO notes_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER notes_ad AFTER DELETE ON notes BEGIN
        INSERT INTO notes_fts(notes_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER notes_au AFTER UPDATE OF text ON notes BEGIN
        INSERT INTO notes_fts(notes_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO notes_fts(rowid, text) VALUES (new.id, new.text);
    END;
    INSERT INTO notes_fts(notes_fts) VALUES ('rebuild');
"""


# v5: the search index no longer follows every autosave. The v4 triggers re-tokenised the
# whole note in every autosave commit; an external-content index must always match its
# content table, so it could not lag behind. notes_fts now keeps its own copy of the text
# as indexed (rowid = notes.id); ``notes.indexed = 0`` marks a note whose text changed since
# (set by the autosave upsert) and the writer refreshes those rows when typing pauses, at
# save/wrap-up, before a search, at lock and at open (docs/storage.md, "Search").
# Deleting a note (purge, cascade) still removes its row from the index at once.
_V5 = """
    DROP TRIGGER notes_ai;
    DROP TRIGGER notes_au;
    DROP TRIGGER notes_ad;
    DROP TABLE notes_fts;
    ALTER TABLE notes ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX notes_unindexed ON notes(id) WHERE indexed = 0;
    CREATE VIRTUAL TABLE notes_fts USING fts5(
        text, tokenize='unicode61 remove_diacritics 2');
    CREATE TRIGGER notes_ad AFTER DELETE ON notes BEGIN
        DELETE FROM notes_fts WHERE rowid = old.id;
    END;
    INSERT INTO notes_fts(rowid, text) SELECT id, text FROM notes;
    UPDATE notes SET indexed = 1;
"""


def _v6(db: sqlcipher3.Connection, key: bytearray | None) -> None:
    """v6: the audit chain becomes keyed (HMAC-SHA256 under a key derived from the data key,
    stored in settings). Existing rows keep their SHA-256 links and are verified as such;
    the first keyed row links to the newest of them (storage/audit.py)."""
    from storage import audit

    audit.start_chain(db, key)


# v7: named secrets (the SIP password, a client key's passphrase), encrypted at rest with
# the rest of the database instead of sitting in faro.toml (storage/secrets.py). No foreign
# key: retention purge never touches them.
_V7 = """
    CREATE TABLE secrets(
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL);
"""


# v8: the clinical workflow. An assessment keeps the level its rule gave and the rule's id
# (the organisation may change the rule; old rows keep what they were saved with); the
# imminent-risk rescue steps, each timestamped; contacts get the caller's salted key (an
# HMAC of the number under a per-store key, so repeat callers are linked without the number
# leaving the contacts table) for the safety plan of an earlier contact.
_V8_SQL = """
    ALTER TABLE risk_assessments ADD COLUMN level TEXT NOT NULL DEFAULT '';
    ALTER TABLE risk_assessments ADD COLUMN rule TEXT NOT NULL DEFAULT '';
    CREATE TABLE rescue_steps(
        id INTEGER PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        step TEXT NOT NULL,
        at TEXT NOT NULL,
        counselor_id TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '');
    CREATE INDEX rescue_contact ON rescue_steps(contact_id, id);
    ALTER TABLE contacts ADD COLUMN caller_key TEXT;
    CREATE INDEX contacts_caller_key ON contacts(caller_key);
"""


def _v8(db: sqlcipher3.Connection, key: bytearray | None) -> None:
    """v8 (above), and the caller keys of the contacts written before it."""
    from storage import caller_key

    for statement in _V8_SQL.split(";"):
        if statement.strip():
            db.execute(statement)
    secret = caller_key.secret_in(db)
    rows = db.execute("SELECT id, caller FROM contacts WHERE caller IS NOT NULL").fetchall()
    for contact_id, number in rows:
        k = caller_key.caller_key(secret, number)
        if k is not None:
            db.execute("UPDATE contacts SET caller_key=? WHERE id=?", (k, contact_id))


# v9: per-organisation forms (core/forms.py). Every version of the forms file the store has
# seen is kept whole (its canonical JSON), and the records whose words come from the form say
# which version they were saved under, so an old record keeps its labels after the
# organisation changes the form. Rows written before v9 were written with the built-in form:
# it is kept as version 1 and they are marked with it.
_V9_SQL = """
    CREATE TABLE form_versions(
        version INTEGER PRIMARY KEY,
        form TEXT NOT NULL,
        first_seen_at TEXT NOT NULL);
    ALTER TABLE risk_assessments ADD COLUMN form_version INTEGER;
    ALTER TABLE safety_plans ADD COLUMN form_version INTEGER;
    ALTER TABLE contacts ADD COLUMN form_version INTEGER;
    UPDATE risk_assessments SET form_version = 1;
    UPDATE safety_plans SET form_version = 1;
    UPDATE contacts SET form_version = 1 WHERE disposition IS NOT NULL
"""


def _v9(db: sqlcipher3.Connection, key: bytearray | None) -> None:
    """v9 (above), and the built-in form as version 1 (first seen: when the store was made
    or migrated, "" as no clock is at hand)."""
    from core.forms import BUILTIN_VERSION, builtin_form

    for statement in _V9_SQL.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute(
        "INSERT INTO form_versions(version, form, first_seen_at) VALUES (?,?,'')",
        (BUILTIN_VERSION, builtin_form().to_json()),
    )


# v10: the chat line's transcripts (docs/chat.md "Transcripts"). A chat is a contact like a
# call (channel "chat"); its messages are kept here, each once (chat, mid, direction), with
# the router's order (seq) and the last delivery state the console was told. The text is
# personal data like a note's: encrypted with the rest, purged with its contact.
_V10 = """
    CREATE TABLE chat_messages(
        id INTEGER PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        chat TEXT NOT NULL,
        mid TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        seq INTEGER,
        delivery TEXT NOT NULL DEFAULT '',
        delivery_at TEXT,
        reason TEXT NOT NULL DEFAULT '',
        UNIQUE(chat, mid, direction));
    CREATE INDEX chat_messages_contact ON chat_messages(contact_id, seq, id);
"""


Migration = str | Callable[[sqlcipher3.Connection, bytearray | None], None]

#: migration n+1 (from user_version n): SQL, or a function run inside the transaction
MIGRATIONS: tuple[Migration, ...] = (_V1, _V2, _V3, _V4, _V5, _v6, _V7, _v8, _v9, _V10)
LATEST = len(MIGRATIONS)


def version(db: sqlcipher3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlcipher3.Connection, target: int = LATEST, key: bytearray | None = None) -> int:
    """Bring ``db`` (autocommit connection) to ``target``; returns the starting version.
    ``key`` is the data key, for migrations that derive something from it."""
    start = version(db)
    if start > LATEST:
        from core.i18n import _
        from storage.errors import StoreDamaged

        raise StoreDamaged(
            _(
                "The case store was written by a newer Faro (schema {schema}); "
                "update Faro on this laptop."
            ).format(schema=start)
        )
    for n in range(start, target):
        step = MIGRATIONS[n]
        try:
            if isinstance(step, str):  # executescript would commit an open transaction:
                db.executescript(  # the script holds its own
                    f"BEGIN IMMEDIATE;\n{step}\nPRAGMA user_version = {n + 1};\nCOMMIT;"
                )
            else:
                db.execute("BEGIN IMMEDIATE")
                step(db, key)
                db.execute(f"PRAGMA user_version = {n + 1}")
                db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return start
