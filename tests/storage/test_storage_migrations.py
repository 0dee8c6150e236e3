"""Every migration, from every earlier version, keeps the data and reaches the latest schema."""

from __future__ import annotations

import pytest
import sqlcipher3

from storage import audit, database, schema
from storage.keys import new_data_key

SEED = {  # rows each version can hold, inserted before migrating on
    1: [
        "INSERT INTO contacts(id, channel, rung_at, updated_at) VALUES ('c1','phone','2026-01-01','x')",
        "INSERT INTO notes(contact_id, text, updated_at) VALUES ('c1','migrated note words','x')",
        "INSERT INTO settings VALUES ('k','v')",
    ],
    2: ["INSERT INTO follow_ups(contact_id, due_at, created_at) VALUES ('c1','2026-01-02','x')"],
    3: ["INSERT INTO outbox(kind, message_id, payload, created_at) VALUES ('k','m',x'00','x')"],
    4: [
        "INSERT INTO contacts(id, channel, rung_at, updated_at) VALUES ('c4','phone','2026-01-04','x')",
        "INSERT INTO notes(contact_id, text, updated_at) VALUES ('c4','typed under schema four','x')",
        "UPDATE notes SET text='edited under schema four' WHERE contact_id='c4'",
    ],
    5: [
        "INSERT INTO contacts(id, channel, rung_at, updated_at) VALUES ('c5','phone','2026-01-05','x')",
        "INSERT INTO notes(contact_id, text, indexed, updated_at) VALUES ('c5','written under five',1,'x')",
        "INSERT INTO notes_fts(rowid, text) SELECT id, text FROM notes WHERE contact_id='c5'",
    ],
    6: [
        "INSERT INTO contacts(id, channel, rung_at, updated_at) VALUES ('c6','phone','2026-01-06','x')",
        "INSERT INTO risk_assessments(contact_id, assessed_at, counselor_id, desire, capability, "
        "intent, buffers, imminent) VALUES ('c6','2026-01-06','k','[]','[]','[]','[]',0)",
    ],
    7: ["INSERT INTO secrets VALUES ('sip.password','seeded under seven','2026-01-07')"],
    8: [
        "INSERT INTO rescue_steps(contact_id, step, at, counselor_id) "
        "VALUES ('c6','engaged','2026-01-08','k')"
    ],
    9: ["UPDATE contacts SET form_version=1, disposition='support' WHERE id='c6'"],
}


def _schema_of(db) -> list[tuple]:
    return sorted(
        db.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
    )


@pytest.mark.parametrize("start", range(0, schema.LATEST))
def test_migrate_from(start, tmp_path):
    key = new_data_key()
    db = database.connect(tmp_path / "m.db", key, create=True, migrate=False)
    schema.migrate(db, start, key=key)
    for v in range(1, start + 1):
        for sql in SEED[v]:
            db.execute(sql)
        if v >= 5:  # from v5 the writer indexes lazily; a seed stands in for it
            db.execute(
                "DELETE FROM notes_fts WHERE rowid IN (SELECT id FROM notes WHERE indexed=0)"
            )
            db.execute(
                "INSERT INTO notes_fts(rowid, text) SELECT id, text FROM notes WHERE indexed=0"
            )
            db.execute("UPDATE notes SET indexed=1")
    if start >= 1:  # audit rows written before the chain was keyed (plain SHA-256 links)
        for i in range(3):
            audit.append(db, "2026-01-01", "local", "seed", f"c{i}", {"n": i})
    assert schema.migrate(db, key=key) == start
    assert schema.version(db) == schema.LATEST
    _check_audit_chain(db, legacy_rows=3 if start >= 1 else 0)
    if start >= 1:
        assert (
            db.execute("SELECT text FROM notes WHERE contact_id='c1'").fetchone()[0]
            == "migrated note words"
        )
        hits = db.execute("SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'migrated'").fetchall()
        assert hits, "the FTS index is built from notes that predate it"
        assert db.execute("SELECT count(*) FROM notes WHERE indexed=0").fetchone()[0] == 0
        assert (
            db.execute(
                "SELECT count(*) FROM notes_fts f JOIN notes n ON n.id=f.rowid WHERE f.text=n.text"
            ).fetchone()[0]
            == db.execute("SELECT count(*) FROM notes").fetchone()[0]
        )
    if start >= 4:
        assert db.execute("SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'edited'").fetchall()
        assert not db.execute(
            "SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'typed'"
        ).fetchall()
    if start >= 2:
        assert db.execute("SELECT count(*) FROM follow_ups").fetchone()[0] == 1
    if start >= 3:
        assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    if start >= 6:
        assert db.execute("SELECT count(*) FROM risk_assessments").fetchone()[0] == 1
    if start >= 7:
        assert db.execute("SELECT value FROM secrets").fetchall() == [("seeded under seven",)]
    else:  # v7: the secrets table, empty, usable
        assert db.execute("SELECT count(*) FROM secrets").fetchone()[0] == 0
        db.execute("INSERT INTO secrets VALUES ('sip.password','after migrating','x')")
        assert db.execute("SELECT value FROM secrets").fetchall() == [("after migrating",)]
    if start >= 1:  # v10: the chat transcripts' table, empty, usable
        assert db.execute("SELECT count(*) FROM chat_messages").fetchone()[0] == 0
        db.execute(
            "INSERT INTO chat_messages(contact_id, chat, mid, direction, text, at) "
            "VALUES ('c1','chat0001','m1','in','after migrating','x')"
        )
    fresh = database.connect(tmp_path / "f.db", new_data_key(), create=True)
    assert _schema_of(db) == _schema_of(fresh)
    assert [r[0] for r in db.execute("PRAGMA integrity_check")] == ["ok"]
    db.close(), fresh.close()


def _check_audit_chain(db, legacy_rows: int) -> None:
    """v6: old rows verify as they were; new rows are keyed (HMAC), linked to the old head;
    a rewritten row of either kind is named."""
    assert audit.verify(db) == []
    new_id = audit.append(db, "2026-02-01", "local", "after", "c9", {})
    row = db.execute(
        "SELECT prev_hash, hash, at, actor, action, subject, detail FROM audit WHERE id=?",
        (new_id,),
    ).fetchone()
    assert row[1] != audit.row_hash(row[0], new_id, *row[2:]), "new rows are keyed, not SHA-256"
    assert audit.verify(db) == []
    if legacy_rows:
        db.execute("UPDATE audit SET subject='x' WHERE id=2")
        assert 2 in audit.verify(db)
        db.execute("UPDATE audit SET subject='c1' WHERE id=2")
    db.execute("UPDATE audit SET subject='x' WHERE id=?", (new_id,))
    assert audit.verify(db) == [new_id]
    db.execute("UPDATE audit SET subject='c9' WHERE id=?", (new_id,))


def test_a_failed_migration_rolls_back(tmp_path, monkeypatch):
    key = new_data_key()
    db = database.connect(tmp_path / "m.db", key, create=True, migrate=False)
    schema.migrate(db, 1)
    monkeypatch.setattr(
        schema,
        "MIGRATIONS",
        (*schema.MIGRATIONS[:1], "CREATE TABLE x(a); BROKEN SQL;", *schema.MIGRATIONS[2:]),
    )
    with pytest.raises(sqlcipher3.OperationalError):  # the broken SQL
        schema.migrate(db)
    assert schema.version(db) == 1
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name='x'").fetchone()[0] == 0


def test_newer_database_is_refused(tmp_path):
    from storage.errors import StoreDamaged

    key = new_data_key()
    db = database.connect(tmp_path / "m.db", key, create=True)
    db.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    with pytest.raises(StoreDamaged, match="newer Faro"):
        schema.migrate(db)
