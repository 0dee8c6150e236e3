"""Helpers of the case store tests (constants, raw access to a store). The event recorder
is the shared one in tests/support/toolkit.py."""

from __future__ import annotations

from pathlib import Path

PASS = "correct horse battery"
FAST = {"storage.unlock_target_ms": 1, "storage.idle_lock_minutes": 0}


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
