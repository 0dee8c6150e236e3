"""Every migration, from every earlier version, keeps the data and reaches the latest schema."""
from __future__ import annotations

import pytest

from storage import database, schema
from storage.keys import new_data_key

SEED = {  # rows each version can hold, inserted before migrating on
    1: ["INSERT INTO contacts(id, channel, rung_at, updated_at) VALUES ('c1','phone','2026-01-01','x')",
        "INSERT INTO notes(contact_id, text, updated_at) VALUES ('c1','migrated note words','x')",
        "INSERT INTO settings VALUES ('k','v')"],
    2: ["INSERT INTO follow_ups(contact_id, due_at, created_at) VALUES ('c1','2026-01-02','x')"],
    3: ["INSERT INTO outbox(kind, message_id, payload, created_at) VALUES ('k','m',x'00','x')"],
    4: ["INSERT INTO contacts(id, channel, rung_at, updated_at) VALUES ('c4','phone','2026-01-04','x')",
        "INSERT INTO notes(contact_id, text, updated_at) VALUES ('c4','typed under schema four','x')",
        "UPDATE notes SET text='edited under schema four' WHERE contact_id='c4'"],
    5: [],
}


def _schema_of(db) -> list[tuple]:
    return sorted(db.execute("SELECT type, name, sql FROM sqlite_master "
                             "WHERE name NOT LIKE 'sqlite_%'").fetchall())


@pytest.mark.parametrize("start", range(0, schema.LATEST))
def test_migrate_from(start, tmp_path):
    key = new_data_key()
    db = database.connect(tmp_path / "m.db", key, create=True, migrate=False)
    schema.migrate(db, start)
    for v in range(1, start + 1):
        for sql in SEED[v]:
            db.execute(sql)
    assert schema.migrate(db) == start
    assert schema.version(db) == schema.LATEST
    if start >= 1:
        assert db.execute("SELECT text FROM notes").fetchone()[0] == "migrated note words"
        hits = db.execute("SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'migrated'").fetchall()
        assert hits, "the FTS index is built from notes that predate it"
        assert db.execute("SELECT count(*) FROM notes WHERE indexed=0").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM notes_fts f JOIN notes n ON n.id=f.rowid "
                          "WHERE f.text=n.text").fetchone()[0] == db.execute(
                              "SELECT count(*) FROM notes").fetchone()[0]
    if start >= 4:
        assert db.execute("SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'edited'").fetchall()
        assert not db.execute("SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'typed'").fetchall()
    if start >= 2:
        assert db.execute("SELECT count(*) FROM follow_ups").fetchone()[0] == 1
    if start >= 3:
        assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    fresh = database.connect(tmp_path / "f.db", new_data_key(), create=True)
    assert _schema_of(db) == _schema_of(fresh)
    assert [r[0] for r in db.execute("PRAGMA integrity_check")] == ["ok"]
    db.close(), fresh.close()


def test_a_failed_migration_rolls_back(tmp_path, monkeypatch):
    key = new_data_key()
    db = database.connect(tmp_path / "m.db", key, create=True, migrate=False)
    schema.migrate(db, 1)
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS[:1], "CREATE TABLE x(a); BROKEN SQL;",
                                               *schema.MIGRATIONS[2:]))
    with pytest.raises(Exception):
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
