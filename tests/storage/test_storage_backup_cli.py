"""Backups verified by reopening, restore into a clean profile, and the `faro db` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.errors import AlreadyInitialised, BackupInvalid, WrongPassphrase
from tests.support.storage_cli import run_db
from tests.support.storage_helpers import PASS

ROOT = Path(__file__).resolve().parents[2]


def _fill(svc):
    for i in range(30):
        svc.draft(f"c{i}", f"note {i} about the call")
    svc.save_note("c3")
    svc.outbox_add("escalation", "m1", b"\x01\x02")
    assert svc.flush()


def test_backup_restores_into_a_clean_profile(store, make_service, tmp_path):
    _fill(store)
    man = store.backup(tmp_path / "b.bak")
    assert man["notes"][0] == 30
    assert (tmp_path / "b.bak").stat().st_mode & 0o777 == 0o600
    assert b"note 3 about" not in (tmp_path / "b.bak").read_bytes()
    clean = make_service(directory=tmp_path / "clean")
    with pytest.raises(WrongPassphrase):
        clean.restore(tmp_path / "b.bak", "wrong passphrase")
    assert not (tmp_path / "clean" / "cases.db").exists()
    clean.restore(tmp_path / "b.bak", PASS)
    clean.unlock(PASS)
    assert clean.notes("c3").text == "note 3 about the call"
    assert [h.contact_id for h in clean.search("note 29")] == ["c29"]
    assert clean.outbox_pending()[0].payload == b"\x01\x02"
    assert clean.check().ok
    with pytest.raises(AlreadyInitialised):
        make_service(directory=tmp_path / "clean").restore(tmp_path / "b.bak", PASS)


def test_damaged_backup_is_refused_at_restore(store, make_service, tmp_path):
    _fill(store)
    store.backup(tmp_path / "b.bak")
    data = bytearray((tmp_path / "b.bak").read_bytes())
    data[-3000] ^= 0xFF
    (tmp_path / "bad.bak").write_bytes(bytes(data))
    target = make_service(directory=tmp_path / "clean")
    with pytest.raises(BackupInvalid):
        target.restore(tmp_path / "bad.bak", PASS)
    assert not target.is_initialised()
    assert [p.name for p in (tmp_path / "clean").iterdir()] == []
    (tmp_path / "junk.bak").write_bytes(b"hello")
    with pytest.raises(BackupInvalid, match="not a Faro"):
        target.restore(tmp_path / "junk.bak", PASS)


def test_cli_round_trip_with_fd_and_environment(faro_home, tmp_path):
    fast = "[storage]\nunlock_target_ms = 1\n"
    (faro_home / "config" / "faro.toml").write_text(fast)
    assert run_db("init", fd_text=PASS + "\n").code == 0
    assert run_db("init", passphrase=PASS).code == AlreadyInitialised.exit_code
    assert run_db("unlock-check", passphrase=PASS).code == 0
    assert run_db("unlock-check", passphrase="nope nope").code == 3
    r = run_db("stats", passphrase=PASS)
    assert r.code == 0 and '"time_cost"' in r.out and '"memory_kib": 65536' in r.out
    assert run_db("backup", str(tmp_path / "b.bak"), passphrase=PASS).code == 0
    r = run_db("passwd", fd_text=f"{PASS}\nanother passphrase\n")
    assert r.code == 0, r
    assert run_db("unlock-check", passphrase="another passphrase").code == 0
    assert run_db("rekey", passphrase="another passphrase").code == 0
    r = run_db("purge", "--dry-run", passphrase="another passphrase")
    assert r.code == 0 and "Would shred 0" in r.out
    assert run_db("check", passphrase="another passphrase").code == 0
    r = run_db("check")
    assert r.code == 2 and "FARO_PASSPHRASE" in r.err  # no TTY, no fd, no env
    r = run_db("init", fd_text="short\n")
    assert r.code in (2, 5)
    os.environ["FARO_HOME"] = str(tmp_path / "other")  # faro_home's monkeypatch restores it
    (tmp_path / "other" / "config").mkdir(parents=True)
    (tmp_path / "other" / "config" / "faro.toml").write_text(fast)
    r = run_db("restore", str(tmp_path / "b.bak"), passphrase=PASS)  # the backup's passphrase
    assert r.code == 0, r
    assert run_db("check", passphrase=PASS).code == 0


def test_real_faro_command_never_takes_a_passphrase_from_argv(faro_home):
    env = {
        **os.environ,
        "FARO_HOME": str(faro_home),
        "FARO_PASSPHRASE": PASS,
        "PYTHONPATH": str(ROOT),
    }
    bad = subprocess.run(
        [sys.executable, "-m", "console.cli", "db", "--passphrase", PASS, "unlock-check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    r, w = os.pipe()
    os.write(w, (PASS + "\n").encode())
    os.close(w)
    env.pop("FARO_PASSPHRASE")
    ok = subprocess.run(
        [sys.executable, "-m", "console.cli", "db", "--passphrase-fd", str(r), "init"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        pass_fds=(r,),
    )
    os.close(r)
    assert ok.returncode == 0, ok.stderr
    assert (faro_home / "data" / "cases.db").exists()
    missing = subprocess.run(
        [sys.executable, "-m", "console.cli", "db", "unlock-check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert missing.returncode == 2 and missing.stderr.startswith("faro: No passphrase")
