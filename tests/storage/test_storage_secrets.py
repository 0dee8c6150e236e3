"""Named secrets in the case store (schema v7): the SIP password and its kind.

Round trip, overwrite, delete, persistence across lock/unlock, the locked error, names
validated, the value never in clear on disk nor in a log, an exception, a repr or the audit
log; backup/restore, check and purge keep them; a v6 store with data is migrated."""

from __future__ import annotations

import json
import logging

import pytest

from storage import schema
from storage.errors import StoreIsLocked
from tests.support.storage_helpers import PASS, raw_connect

VALUE = "SIPpw-Zq7wX2KMB-secret"  # unlikely to occur anywhere by chance
OTHER = "KEYpass-9vLr4TtYh"
NEEDLES = [s.encode(e) for s in (VALUE, OTHER) for e in ("utf-8", "utf-16-le")]


def _case_store(svc):
    """The open CaseStore of an unlocked service (the service itself exposes no secrets)."""
    return svc.vault.require()


def _raw_bytes(data_dir) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in data_dir.iterdir() if p.is_file()}


def test_round_trip_overwrite_delete_and_names(store):
    cs = _case_store(store)
    assert cs.secret("sip.password") is None
    assert cs.secret_names() == []
    cs.set_secret("sip.password", VALUE)
    assert cs.secret("sip.password") == VALUE
    cs.set_secret("sip.tls.key_passphrase", OTHER)
    assert cs.secret_names() == ["sip.password", "sip.tls.key_passphrase"]
    cs.set_secret("sip.password", "replaced")
    assert cs.secret("sip.password") == "replaced"
    assert cs.secret_names() == ["sip.password", "sip.tls.key_passphrase"]
    assert cs.delete_secret("sip.password") is True
    assert cs.secret("sip.password") is None
    assert cs.delete_secret("sip.password") is False
    assert cs.secret_names() == ["sip.tls.key_passphrase"]
    cs.set_secret("sip.empty", "")  # an empty value is a value, not "none"
    assert cs.secret("sip.empty") == ""
    unicode = "pässwörd ✓ 密码"
    cs.set_secret("sip.unicode", unicode)
    assert cs.secret("sip.unicode") == unicode
    assert store.check().ok


def test_persists_across_lock_and_unlock(store):
    _case_store(store).set_secret("sip.password", VALUE)
    store.lock()
    store.unlock(PASS)
    cs = _case_store(store)
    assert cs.secret("sip.password") == VALUE
    assert cs.secret_names() == ["sip.password"]


def test_locked_store_raises_the_locked_error(store):
    cs = _case_store(store)
    cs.set_secret("sip.password", VALUE)
    store.lock()
    with pytest.raises(StoreIsLocked):
        _case_store(store)  # how callers reach the store: vault.require()
    for call in (  # a CaseStore kept past lock answers the same way
        lambda: cs.set_secret("sip.password", VALUE),
        lambda: cs.secret("sip.password"),
        lambda: cs.delete_secret("sip.password"),
        cs.secret_names,
    ):
        with pytest.raises(StoreIsLocked):
            call()


@pytest.mark.parametrize(
    "name",
    [
        "",
        "sip",
        "SIP.password",
        "sip..password",
        ".sip.password",
        "sip.password.",
        "sip.1password",
        "sip.pass word",
        "sip.pass-word",
        "sip/password",
        "sip.password\n",
        "a." + "b" * 63,
        ".".join("abcdefghi"),
        VALUE,
        None,
        b"sip.password",
    ],
)
def test_invalid_names_are_refused_without_echo(store, name):
    cs = _case_store(store)
    for call in (
        lambda: cs.set_secret(name, VALUE),
        lambda: cs.secret(name),
        lambda: cs.delete_secret(name),
    ):
        with pytest.raises(ValueError, match="short dotted identifier") as err:
            call()
        assert VALUE not in str(err.value)  # a value passed as the name is not echoed
    assert cs.secret_names() == []


def test_value_must_be_a_string(store):
    cs = _case_store(store)
    with pytest.raises(TypeError, match="must be a str, not bytes") as err:
        cs.set_secret("sip.password", VALUE.encode())
    assert VALUE not in str(err.value)
    assert cs.secret_names() == []


def test_value_never_in_logs_audit_reprs_or_errors(store, data_dir, caplog):
    caplog.set_level(logging.DEBUG)
    cs = _case_store(store)
    errors: list[str] = []
    cs.set_secret("sip.password", VALUE)
    cs.set_secret("sip.password", OTHER)
    cs.set_secret("sip.password", VALUE)
    assert cs.secret("sip.password") == VALUE
    cs.set_secret("sip.key_passphrase", OTHER)
    assert cs.delete_secret("sip.key_passphrase")
    for bad in (lambda: cs.set_secret(VALUE, OTHER), lambda: cs.set_secret("x", VALUE)):
        with pytest.raises(ValueError) as err:
            bad()
        errors.append(str(err.value) + repr(err.value))
    texts = [repr(cs), repr(store), repr(store.vault), json.dumps(store.stats(), default=str)]
    store.lock()
    with pytest.raises(StoreIsLocked) as locked:
        cs.set_secret("sip.password", VALUE)
    errors.append(str(locked.value) + repr(locked.value))
    db = raw_connect(data_dir)
    audit_rows = db.execute(
        "SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY id"
    ).fetchall()
    settings = db.execute("SELECT key, value FROM settings").fetchall()
    db.close()
    secret_rows = [(r[3], r[4], json.loads(r[5])) for r in audit_rows if r[3].startswith("secret")]
    assert secret_rows == [
        ("secret.set", "sip.password", {"replaced": False}),
        ("secret.set", "sip.password", {"replaced": True}),
        ("secret.set", "sip.password", {"replaced": True}),
        ("secret.set", "sip.key_passphrase", {"replaced": False}),
        ("secret.delete", "sip.key_passphrase", {}),
    ]
    assert not [r for r in audit_rows if "view" in r[3] and "secret" in r[4]]
    haystack = "\n".join(
        [caplog.text, repr(audit_rows), repr(settings), *texts, *errors]
        + [r.getMessage() for r in caplog.records]
    )
    assert "secret sip.password replaced" in caplog.text  # the scan saw the store's lines
    for needle in (VALUE, OTHER, VALUE.lower(), OTHER.lower()):
        assert needle not in haystack


def test_value_is_not_in_the_database_files_in_clear(store, data_dir):
    cs = _case_store(store)
    cs.set_secret("sip.password", VALUE)
    cs.set_secret("sip.key_passphrase", OTHER)
    cs.set_secret("sip.password", VALUE + "2")  # the replaced row's page is rewritten
    assert store.flush()
    files = _raw_bytes(data_dir)  # while unlocked: cases.db, -wal, -shm, cases.key
    assert {"cases.db", "cases.db-wal", "cases.key"} <= set(files)
    store.lock()  # checkpoint: the WAL is copied into cases.db
    files |= {f"{n} (locked)": b for n, b in _raw_bytes(data_dir).items()}
    for name, data in files.items():
        for needle in NEEDLES:
            assert needle not in data, f"a secret in clear in {name}"
    db = raw_connect(data_dir)  # it is there, encrypted
    assert db.execute("SELECT value FROM secrets WHERE name='sip.password'").fetchone() == (
        VALUE + "2",
    )
    db.close()


def test_backup_restore_check_and_stats_keep_secrets(store, make_service, tmp_path):
    cs = _case_store(store)
    cs.set_secret("sip.password", VALUE)
    store.draft("c1", "a note")
    assert store.flush()
    man = store.backup(tmp_path / "b.bak")
    assert man["secrets"][0] == 1
    data = (tmp_path / "b.bak").read_bytes()
    for needle in NEEDLES:
        assert needle not in data
    assert store.check().ok
    assert store.stats()["rows"]["secrets"] == 1
    clean = make_service(directory=tmp_path / "clean")
    clean.restore(tmp_path / "b.bak", PASS)
    clean.unlock(PASS)
    assert _case_store(clean).secret("sip.password") == VALUE
    assert _case_store(clean).secret_names() == ["sip.password"]
    assert clean.check().ok


def test_purge_never_deletes_secrets(store, fake_clock):
    cs = _case_store(store)
    cs.set_secret("sip.password", VALUE)
    store.draft("old", "an old note")
    assert store.flush()
    fake_clock.advance(400 * 86400)
    done = store.purge()
    assert done.contacts == 1 and store.contact("old") is None
    assert cs.secret("sip.password") == VALUE
    assert cs.secret_names() == ["sip.password"]


def test_a_v6_store_with_data_is_migrated_at_unlock(store, data_dir):
    """A store written by the Faro before secrets (v6, with notes and audit rows) opens,
    keeps everything, gains the table and takes secrets."""
    store.draft("c1", "written before secrets")
    store.save_note("c1")
    store.outbox_add("escalation", "m1", b"\x01")
    assert store.flush()
    store.lock()
    db = raw_connect(data_dir)  # back to what a v6 Faro left: undo v10, v9, v8, then v7
    db.execute("DROP TABLE chat_messages")
    db.execute("DROP TABLE form_versions")
    for table in ("risk_assessments", "safety_plans", "contacts"):
        db.execute(f"ALTER TABLE {table} DROP COLUMN form_version")
    db.execute("DROP INDEX contacts_caller_key")
    db.execute("ALTER TABLE contacts DROP COLUMN caller_key")
    db.execute("DROP TABLE rescue_steps")
    db.execute("ALTER TABLE risk_assessments DROP COLUMN level")
    db.execute("ALTER TABLE risk_assessments DROP COLUMN rule")
    db.execute("DROP TABLE secrets")
    db.execute("PRAGMA user_version = 6")
    audit_before = db.execute("SELECT count(*) FROM audit").fetchone()[0]
    db.close()
    store.unlock(PASS)
    assert store.notes("c1").text == "written before secrets"
    assert [h.contact_id for h in store.search("written")] == ["c1"]
    assert len(store.outbox_pending()) == 1
    cs = _case_store(store)
    assert cs.secret_names() == []
    cs.set_secret("sip.password", VALUE)
    assert cs.secret("sip.password") == VALUE
    assert store.check().ok  # the audit chain runs on across the migration
    store.lock()
    db = raw_connect(data_dir)
    assert db.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    assert db.execute("SELECT count(*) FROM audit").fetchone()[0] > audit_before
    db.close()
