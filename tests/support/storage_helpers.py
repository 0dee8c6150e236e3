"""Helpers of the case store tests (constants, raw access to a store). The event recorder
is the shared one in tests/support/toolkit.py."""

from __future__ import annotations

from pathlib import Path

PASS = "correct horse battery"
FAST = {"storage.unlock_target_ms": 1, "security.lock_idle_minutes": 0}


def data_key(data_dir: Path, passphrase: str = PASS) -> bytearray:
    """The raw data key, unwrapped from the key file (for tests that edit the database by hand)."""
    from storage.keys import KeyFile

    kf = KeyFile.load(Path(data_dir) / "cases.key")
    return kf.open(kf.kdf.derive(passphrase))


def raw_connect(data_dir: Path, passphrase: str = PASS):
    from storage import database

    return database.connect(
        Path(data_dir) / "cases.db", data_key(data_dir, passphrase), migrate=False
    )


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(Path(directory).rglob("*"))
        if p.is_file()
    }


def ring(store, contact_id: str, number: str | None, when=None) -> None:
    """A call from ``number`` rings (the store records the contact, as the wiring does)."""
    from calls.events import IncomingCall
    from calls.model import Call
    from core.privacy import Personal

    when = when or store.clock.now()
    call = Call(contact_id, "phone", Personal(number) if number else Personal(""), when, 0.0)
    store.bus.publish(IncomingCall(call))
    assert store.flush()


def audit_rows(data_dir: Path, action: str) -> list[tuple[str, dict]]:
    """(subject, detail) of every audit row of ``action``, oldest first."""
    import json

    db = raw_connect(data_dir)
    try:
        rows = db.execute(
            "SELECT subject, detail FROM audit WHERE action=? ORDER BY id", (action,)
        ).fetchall()
    finally:
        db.close()
    return [(s, json.loads(d) if d else {}) for s, d in rows]
