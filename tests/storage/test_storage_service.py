"""The store service: locked at start, unlock/lock, events, hardening, call rows."""

from __future__ import annotations

import ctypes
import resource
import stat

import pytest

from app.session import Session
from calls.model import Action, Command, Source
from storage import events as sev
from storage.errors import AlreadyInitialised, NotInitialised, StoreIsLocked, WrongPassphrase
from tests.support.storage_helpers import PASS, snapshot
from tests.support.toolkit import Recorder


def test_attach_adds_a_locked_store_and_a_session_starts_without_one(
    paths, fake_clock, store_config
):
    from storage.service import StoreService, attach

    session = Session(store_config, paths=paths, clock=fake_clock, attach=False)
    svc = attach(session)
    session.start()
    try:
        assert session.service("store") is svc and isinstance(svc, StoreService)
        assert svc.is_locked and not svc.is_initialised()
        assert svc.search("anything") == []
        with pytest.raises(StoreIsLocked):
            svc.notes("x")
        assert list(paths.data_dir.iterdir()) == []  # attach creates nothing
    finally:
        session.stop()


def test_init_unlock_lock_publish_events_and_wipe_the_key(make_service, bus):
    rec = Recorder(bus, sev.StoreLocked, sev.StoreUnlocked)
    svc = make_service()
    svc.init(PASS)
    key = svc.vault.key
    assert key is not None and any(key)
    svc.lock()
    assert svc.is_locked and svc.vault.key is None
    assert not any(key), "lock overwrites the key bytes"
    svc.unlock(bytearray(PASS.encode()))
    assert not svc.is_locked
    svc.lock("idle")
    assert [type(e).__name__ for e in rec.events] == [
        "StoreUnlocked",
        "StoreLocked",
        "StoreUnlocked",
        "StoreLocked",
    ]
    assert rec.events[-1].reason == "idle"
    with pytest.raises(AlreadyInitialised):
        svc.init(PASS)


def test_wrong_passphrase_is_clear_and_touches_nothing(make_service, data_dir):
    svc = make_service()
    svc.init(PASS)
    svc.draft("c1", "something written")
    svc.lock()
    before = snapshot(data_dir)
    with pytest.raises(WrongPassphrase) as err:
        svc.unlock("not the passphrase")
    assert "not right" in err.value.user_text() and "safe" in err.value.user_text()
    assert snapshot(data_dir) == before
    assert svc.is_locked


def test_unlock_without_a_store_creates_nothing(make_service, data_dir):
    svc = make_service()
    with pytest.raises(NotInitialised):
        svc.unlock(PASS)
    with pytest.raises(NotInitialised):
        svc.unlock("whatever else")
    assert list(data_dir.iterdir()) == []


def test_files_are_private_and_core_dumps_off(store, data_dir):
    store.draft("c1", "text")
    assert store.flush()
    names = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data_dir.iterdir()}
    assert {"cases.db", "cases.db-wal", "cases.db-shm", "cases.key"} <= set(names)
    assert set(names.values()) == {0o600}
    assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)
    libc = ctypes.CDLL(None)
    assert libc.prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE


def test_pragmas_are_hardened(store):
    db = store.vault.store.writer.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert db.execute("PRAGMA cipher_memory_security").fetchone()[0] == "1"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_idle_lock_with_a_fake_clock(make_service, store_config, fake_clock):
    svc = make_service(store_config.with_overrides({"security.lock_idle_minutes": 5}))
    svc.init(PASS)
    fake_clock.advance(200)
    svc.touch()
    fake_clock.advance(200)
    assert not svc.is_locked
    fake_clock.advance(101)
    assert svc.is_locked


def test_call_events_become_contact_rows_and_are_queued_while_locked(
    paths, fake_clock, store_config, data_dir
):
    from storage.service import attach

    config = store_config.with_overrides({"identity.counselor_id": "counselor-7"})
    session = Session(config, paths=paths, clock=fake_clock, attach=False)
    svc = attach(session)
    session.start()
    try:
        svc.init(PASS)
        call_id = session.calls.on_incoming("+34 600 123 456")
        fake_clock.advance(3)
        assert session.calls.handle(Command(Action.ANSWER, Source.BUTTON_BOX))
        svc.draft(call_id, "caller feels safer now")
        fake_clock.advance(60)
        assert session.calls.handle(Command(Action.HANG_UP, Source.UI))
        assert session.calls.handle(
            Command(Action.FINISH_WRAP_UP, Source.UI, disposition="support_given")
        )
        assert svc.flush()
        svc.vault.store.writer.call(lambda db: None)  # wait for queued jobs
        row = svc.contact(call_id)
        assert row["channel"] == "phone" and row["caller"] == "+34 600 123 456"
        assert row["counselor_id"] == "counselor-7"
        assert row["answered_at"] and row["ended_at"] and row["ended_by"] == "counselor"
        assert row["disposition"] == "support_given"
        assert svc.notes(call_id).version == 1 and not svc.notes(call_id).dirty  # saved at wrap-up
        # while locked: queued in memory, written at unlock
        svc.lock()
        missed = session.calls.on_incoming("+34 600 999 999")
        fake_clock.advance(31)
        svc.unlock(PASS)
        svc.vault.store.writer.call(lambda db: None)
        assert svc.contact(missed)["missed_reason"] == "unanswered"
    finally:
        session.stop()
    log_text = "".join(p.read_text() for p in paths.log_dir.glob("*.log*"))
    assert "600 123 456" not in log_text


def test_passwd_and_rekey_keep_the_data(store, data_dir):
    store.draft("c1", "kept across key changes")
    store.save_note("c1")
    store.passwd(PASS, "a brand new passphrase")
    with pytest.raises(WrongPassphrase):
        store.check_passphrase(PASS)
    store.rekey("a brand new passphrase")
    assert store.notes("c1").text == "kept across key changes"
    store.lock()
    store.unlock("a brand new passphrase")
    assert store.check().ok


def test_recovery_key_gives_emergency_access(make_service, store_config, tmp_path):
    from storage import recovery

    priv, pub = recovery.generate_pem_pair()
    (tmp_path / "org.pub").write_bytes(pub)
    (tmp_path / "org.key").write_bytes(priv)
    svc = make_service(
        store_config.with_overrides({"storage.recovery_public_key": str(tmp_path / "org.pub")})
    )
    svc.init(PASS)
    svc.draft("c1", "recoverable")
    svc.rekey(PASS)  # the recovery wrap follows the new key
    svc.lock()
    svc.recover(tmp_path / "org.key", "set by the supervisor")
    svc.unlock("set by the supervisor")
    assert svc.notes("c1").text == "recoverable"
