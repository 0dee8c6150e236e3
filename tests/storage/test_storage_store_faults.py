"""Store faults found by an outside tester (issue 9): each is a real file, a real process.

Every test here failed before its fix. Codes: 3 wrong secret, 5 exists, 7 damaged,
74 cannot write, 78 configuration (docs/storage.md).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.paths import Paths
from storage import audit, recovery, wal
from storage.errors import AlreadyInitialised, StoreDamaged
from storage.keys import CEILING_FACTOR, MAX_TIME_COST, MIN_TIME_COST, KdfParams
from tests.support.storage_cli import ROOT, fast_profile, run_faro
from tests.support.storage_helpers import PASS, data_key, raw_connect, snapshot


@pytest.fixture
def home(faro_home) -> Path:
    fast_profile(faro_home)
    return faro_home


def _init(home: Path) -> Path:
    r = run_faro(home, "init", passphrase=PASS)
    assert r.code == 0, r
    return home / "data"


def _one_line(r) -> None:
    """One line on stderr, no traceback anywhere, no SQLCipher chatter."""
    assert r.err.count("\n") == 1 and r.err.startswith("faro: "), r.err
    assert "Traceback" not in r.out + r.err and "ERROR CORE" not in r.err


def _store(home: Path, make_service, notes: int = 0):
    """An initialised store in the profile ``home`` (unlocked) and its data folder."""
    data = home / "data"
    svc = make_service(directory=data)
    svc.init(PASS)
    for i in range(notes):
        svc.draft(f"c{i}", f"some note text {i} " * 30)
    assert svc.flush()
    return data, svc


def _flip(path: Path, offset: int, n: int = 1) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        chunk = f.read(n)
        f.seek(offset)
        f.write(bytes(b ^ 0xFF for b in chunk))


def _log_text(home: Path) -> str:
    return "".join(p.read_text() for p in (home / "state" / "log").glob("faro.log*"))


# -- init never replaces a key or a database ---------------------------------------------------
def test_init_never_replaces_a_key_or_a_database(home, make_service):
    data = _init(home)
    key_before = (data / "cases.key").read_bytes()
    moved = home.parent / "moved"
    moved.mkdir()
    for p in data.glob("cases.db*"):
        shutil.move(p, moved / p.name)
    r = run_faro(home, "init", passphrase=PASS)
    assert r.code == AlreadyInitialised.exit_code, r
    _one_line(r)
    assert "cases.key" in r.err and "cases.db is missing" in r.err and "faro db restore" in r.err
    assert (data / "cases.key").read_bytes() == key_before
    with pytest.raises(AlreadyInitialised):
        make_service(directory=data).init(PASS)
    assert (data / "cases.key").read_bytes() == key_before
    # unlocking says the database is missing (7), not "no store yet, run init" (4)
    r = run_faro(home, "unlock-check", passphrase=PASS)
    assert r.code == StoreDamaged.exit_code and "cases.db is missing" in r.err, r
    # the other way round: a database without its key file
    for p in moved.iterdir():
        shutil.move(p, data / p.name)
    shutil.move(data / "cases.key", moved / "cases.key")
    db_before = snapshot(data)
    r = run_faro(home, "init", passphrase=PASS)
    assert r.code == AlreadyInitialised.exit_code and "key file cases.key is missing" in r.err, r
    assert snapshot(data) == db_before
    shutil.move(moved / "cases.key", data / "cases.key")
    assert run_faro(home, "unlock-check", passphrase=PASS).code == 0


# -- unlock-check reads the database; key-file damage is named ----------------------------
def test_unlock_check_reads_every_page(home, make_service):
    data, svc = _store(home, make_service, notes=200)
    svc.lock()
    original = (data / "cases.db").read_bytes()
    pages = len(original) // 4096
    for page, expect in ((1, "page 1"), (pages // 2, f"page {pages // 2}")):
        _flip(data / "cases.db", 4096 * (page - 1) + 200, 16)
        r = run_faro(home, "unlock-check", passphrase=PASS)
        assert r.code == StoreDamaged.exit_code, r
        _one_line(r)
        assert "cases.db is damaged" in r.err and expect in r.err and "faro db restore" in r.err
        (data / "cases.db").write_bytes(original)
    assert run_faro(home, "unlock-check", passphrase=PASS).code == 0


def _damage_key_file(path: Path, field: str) -> None:
    """Change one character of a field as a bad sector would, leaving the rest as it is."""
    text = path.read_text()
    d = json.loads(text)
    w = d["passphrase_wrap"]
    if field == "time_cost":
        old = f'"time_cost": {w["time_cost"]}'
        new = f'"time_cost": {w["time_cost"] + 1}'
    else:
        value = w[field]
        i = 3
        swapped = "B" if value[i] != "B" else "C"
        old, new = f'"{value}"', f'"{value[:i]}{swapped}{value[i + 1 :]}"'
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("field", ["salt", "wrapped", "time_cost"])
def test_damaged_key_file_is_not_a_wrong_passphrase(home, field):
    data = _init(home)
    good = (data / "cases.key").read_bytes()
    _damage_key_file(data / "cases.key", field)
    for action in ("unlock-check", "check"):
        r = run_faro(home, action, passphrase=PASS)
        assert r.code == StoreDamaged.exit_code, r
        _one_line(r)
        assert "key file cases.key is damaged" in r.err and "not right" not in r.err
        assert "faro db restore" in r.err
    (data / "cases.key").write_bytes(good)
    r = run_faro(home, "unlock-check", passphrase="wrong passphrase")
    assert r.code == 3 and "not right" in r.err  # an intact file: really a wrong passphrase


# -- backup: damaged store, missing folder ----------------------------------------------------
def test_backup_of_a_damaged_store_or_to_a_missing_folder_is_one_line(home, make_service):
    data, svc = _store(home, make_service, notes=200)
    svc.lock()
    r = run_faro(home, "backup", "/no/such/folder/b.bak")  # no passphrase needed to say so
    assert r.code == 74, r
    _one_line(r)
    assert "/no/such/folder does not exist" in r.err
    pages = (data / "cases.db").stat().st_size // 4096
    _flip(data / "cases.db", 4096 * (pages // 2 - 1) + 200, 16)
    target = home.parent / "b.bak"
    r = run_faro(home, "backup", str(target), passphrase=PASS)
    assert r.code == StoreDamaged.exit_code, r
    _one_line(r)
    assert "damaged" in r.err and not target.exists()
    assert "Traceback" not in _log_text(home)


# -- recovery key ----------------------------------------------------------------------------------
def test_recover_names_a_missing_or_foreign_recovery_key(faro_home, tmp_path):
    priv, pub = recovery.generate_pem_pair()
    other, _ = recovery.generate_pem_pair()
    (tmp_path / "org.pub").write_bytes(pub)
    (tmp_path / "org.pem").write_bytes(priv)
    (tmp_path / "other.pem").write_bytes(other)
    fast_profile(faro_home)
    with open(faro_home / "config" / "faro.toml", "a") as f:
        f.write(f'recovery_public_key = "{tmp_path / "org.pub"}"\n')
    _init(faro_home)
    new = "set by the supervisor\n"
    r = run_faro(faro_home, "recover", "--recovery-key", "/missing.pem", fd_text=new)
    assert r.code == 78 and "Cannot read the recovery key /missing.pem" in r.err, r
    _one_line(r)
    r = run_faro(faro_home, "recover", "--recovery-key", str(tmp_path / "other.pem"), fd_text=new)
    assert r.code == 3 and "another organisation" in r.err and "not right" not in r.err, r
    _one_line(r)
    r = run_faro(faro_home, "recover", "--recovery-key", str(tmp_path / "org.pem"), fd_text=new)
    assert r.code == 0, r
    assert run_faro(faro_home, "unlock-check", passphrase=new.strip()).code == 0


def test_recover_without_a_recovery_wrap_is_a_configuration_fact(home, tmp_path):
    priv, _ = recovery.generate_pem_pair()
    (tmp_path / "org.pem").write_bytes(priv)
    _init(home)
    r = run_faro(
        home, "recover", "--recovery-key", str(tmp_path / "org.pem"), fd_text="another passphrase\n"
    )
    assert r.code == 78 and "no recovery wrap" in r.err and "restore" not in r.err, r


# -- a flipped WAL frame ---------------------------------------------------------------------------
TYPIST = textwrap.dedent("""
    import os, sys
    from tests.support.storage_children import _service
    svc = _service(sys.argv[1])
    svc.unlock(sys.argv[2])
    text = ""
    for word in "la persona dice que hoy no ha dormido nada y tiene miedo".split():
        text += word + " "
        svc.draft("c1", text)
        assert svc.flush()
    os._exit(0)  # a crash: the WAL stays, never checkpointed
""")


def _crash_after_typing(data: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", TYPIST, str(data), PASS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return "la persona dice que hoy no ha dormido nada y tiene miedo "


def _flip_wal_frame(data: Path, frame: int) -> bytes:
    path = data / "cases.db-wal"
    _flip(path, wal.HEADER + (frame - 1) * (wal.FRAME_HEADER + 4096) + wal.FRAME_HEADER + 300)
    return path.read_bytes()


def test_a_flipped_wal_frame_is_reported_and_kept_for_support(home, make_service):
    data, svc = _store(home, make_service)
    svc.lock()
    typed = _crash_after_typing(data)
    found = wal.scan(data / "cases.db")
    assert found.frames > 12 and not found.damaged  # a crash alone is no damage
    frame = found.frames // 2  # a word typed in the middle of the note
    damaged = _flip_wal_frame(data, frame)
    r = run_faro(home, "check", passphrase=PASS)
    assert r.code == StoreDamaged.exit_code, r
    assert f"frame {frame} of {found.frames}" in r.out and "could not be read" in r.out
    assert "Keep the copy" in r.err and "Traceback" not in r.out + r.err
    copies = wal.preserved_copies(data / "cases.db")
    assert len(copies) == 1 and copies[0].read_bytes() == damaged  # byte for byte
    assert stat.S_IMODE(copies[0].stat().st_mode) == 0o600
    # what SQLite kept is an older text; the rest is only in the copy
    svc = make_service(directory=data)
    svc.unlock(PASS)
    kept = svc.notes("c1").text
    assert typed.startswith(kept) and len(kept) < len(typed)
    svc.lock()
    r = run_faro(home, "check", passphrase=PASS)  # until IT takes the copy away
    assert r.code == StoreDamaged.exit_code and "kept for support" in r.out
    r = run_faro(home, "rekey", passphrase=PASS)  # the copy needs today's data key
    assert r.code == StoreDamaged.exit_code and "unreadable" in r.err, r
    assert copies[0].exists() and copies[0].read_bytes() == damaged


def test_a_torn_last_write_is_not_called_damage(home, make_service):
    """What a crash leaves mid-write (the last frame's page never written) is no loss of
    acknowledged data, and must not raise an alarm at every unlock."""
    data, svc = _store(home, make_service)
    svc.lock()
    _crash_after_typing(data)
    intact = (data / "cases.db-wal").read_bytes()
    frames = wal.scan(data / "cases.db").frames
    last = wal.HEADER + (frames - 1) * (wal.FRAME_HEADER + 4096) + wal.FRAME_HEADER
    (data / "cases.db-wal").write_bytes(intact[:last] + bytes(4096) + intact[last + 4096 :])
    torn = wal.scan(data / "cases.db")
    assert torn.damaged_frame == frames and not torn.damaged
    assert run_faro(home, "check", passphrase=PASS).code == 0
    assert wal.preserved_copies(data / "cases.db") == []


def test_unlock_with_a_damaged_wal_tells_the_counselor(home, make_service, bus):
    from storage.events import StoreError
    from tests.support.toolkit import Recorder

    data, svc = _store(home, make_service)
    svc.lock()
    _crash_after_typing(data)
    lost = wal.scan(data / "cases.db")
    _flip_wal_frame(data, lost.frames // 2)
    expected = wal.scan(data / "cases.db")
    assert expected.damaged and expected.frames == lost.frames
    rec = Recorder(bus, StoreError)
    svc = make_service(directory=data)
    svc.unlock(PASS)
    errors = rec.of(StoreError)
    assert errors and f"last {expected.lost_commits} saved change(s)" in errors[0].detail
    assert "la persona" not in errors[0].detail  # the event names counts, never text
    row = svc.vault.store._read("SELECT detail FROM audit WHERE action='store.wal_damaged'")
    assert json.loads(row[0][0])["lost_commits"] == expected.lost_commits
    assert len(wal.preserved_copies(data / "cases.db")) == 1
    svc.lock()


# -- the audit chain: keyed, anchored -------------------------------------------------------------
def _rechain_with_sha256(db, start: int) -> None:
    """The old attack: edit a row, then recompute every later link with plain SHA-256."""
    rows = db.execute(
        "SELECT id, at, actor, action, subject, detail FROM audit WHERE id >= ? ORDER BY id",
        (start,),
    ).fetchall()
    prev = db.execute("SELECT hash FROM audit WHERE id=?", (start - 1,)).fetchone()[0]
    for row_id, *fields in rows:
        h = audit.row_hash(prev, row_id, *fields)
        db.execute("UPDATE audit SET prev_hash=?, hash=? WHERE id=?", (prev, h, row_id))
        prev = h


def test_audit_chain_cannot_be_recomputed_or_cut_short(home, make_service):
    data, svc = _store(home, make_service)
    for i in range(6):
        svc.audit("export", f"c{i}", {"n": i})
    svc.lock()
    anchored = json.loads((data / "cases.key").read_text())["audit_head"]
    assert anchored["seq"] >= 7
    pristine = snapshot(data)
    # 1. edit + recompute with SHA-256: the keyed chain names the rows
    db = raw_connect(data)
    db.execute("UPDATE audit SET subject='someone-else' WHERE id=3")
    _rechain_with_sha256(db, 3)
    db.close()
    r = run_faro(home, "check", passphrase=PASS)
    assert r.code == StoreDamaged.exit_code and "row(s) 3, 4" in r.out, r
    for name, content in pristine.items():
        (data / name).write_bytes(content)
    # 2. the newest rows deleted: the key file's anchor says how many are missing
    db = raw_connect(data)
    db.execute("DELETE FROM audit WHERE id > ?", (anchored["seq"] - 2,))
    db.close()
    r = run_faro(home, "check", passphrase=PASS)
    assert r.code == StoreDamaged.exit_code, r
    assert f"rows {anchored['seq'] - 1}-{anchored['seq']} were deleted" in r.out
    assert "do not restore over it" in r.err
    # and unlocking does not move the anchor down over the evidence
    svc = make_service(directory=data)
    svc.unlock(PASS)
    svc.lock()
    assert json.loads((data / "cases.key").read_text())["audit_head"] == anchored
    for name, content in pristine.items():
        (data / name).write_bytes(content)
    assert run_faro(home, "check", passphrase=PASS).code == 0


def test_the_organisation_head_catches_a_key_holder_rewriting_history(home, make_service):
    """Someone with the passphrase can rewrite the chain and the key file: the head the
    organisation received earlier still exposes it (the documented limit of local checks)."""
    data, svc = _store(home, make_service)
    svc.audit("export", "c1", {})
    svc.lock()
    r = run_faro(home, "check", "--json", passphrase=PASS)
    assert r.code == 0, r
    shipped = json.loads(r.out)["audit_head"]
    stats = json.loads(run_faro(home, "stats", passphrase=PASS).out)
    assert stats["audit_head"]["seq"] >= shipped["seq"]
    head = f"{shipped['seq']}:{shipped['mac']}"
    assert run_faro(home, "check", "--audit-head", head, passphrase=PASS).code == 0
    # a key holder rewrites row 2 with the audit key and re-anchors the key file
    db = raw_connect(data)
    chain_key = bytes.fromhex(
        db.execute("SELECT value FROM settings WHERE key='audit_key'").fetchone()[0]
    )
    rows = db.execute(
        "SELECT id, at, actor, action, subject, detail FROM audit ORDER BY id"
    ).fetchall()
    prev = audit.GENESIS
    for row_id, at, actor, action, subject, detail in rows:
        if row_id == 2:
            subject = "rewritten"
        h = audit.row_mac(chain_key, prev, row_id, at, actor, action, subject, detail)
        db.execute(
            "UPDATE audit SET subject=?, prev_hash=?, hash=? WHERE id=?", (subject, prev, h, row_id)
        )
        prev = h
    new_head = audit.head(db)
    db.close()
    from storage.keys import KeyFile

    kf = KeyFile.load(data / "cases.key")
    kf.audit_head = new_head
    kf.save(data / "cases.key")
    assert run_faro(home, "check", passphrase=PASS).code == 0  # locally consistent...
    r = run_faro(home, "check", "--audit-head", head, passphrase=PASS)
    assert r.code == StoreDamaged.exit_code, r  # ...but not what the organisation holds
    assert f"row {shipped['seq']} is not the row the head you gave recorded" in r.out


def test_an_older_copy_of_the_database_is_detected(home, make_service):
    data, svc = _store(home, make_service)
    svc.draft("c1", "first")
    svc.lock()
    old = {p.name: p.read_bytes() for p in data.glob("cases.db*")}
    svc.unlock(PASS)
    svc.save_note("c1", "second, saved")
    svc.lock()
    for p in data.glob("cases.db*"):
        p.unlink()
    for name, content in old.items():
        (data / name).write_bytes(content)
    r = run_faro(home, "check", passphrase=PASS)
    assert r.code == StoreDamaged.exit_code and "older copy of the database" in r.out, r


# -- folders ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_every_folder_faro_creates_is_0700(tmp_path, umask):
    home = tmp_path / "new" / "faro-home"
    old = os.umask(umask)
    try:
        Paths.under(home).ensure()
    finally:
        os.umask(old)
    made = [tmp_path / "new", home, *(p for p in home.rglob("*") if p.is_dir())]
    assert {str(p.relative_to(tmp_path)): stat.S_IMODE(p.stat().st_mode) for p in made} == {
        str(p.relative_to(tmp_path)): 0o700 for p in made
    }


def test_faro_db_init_makes_its_home_0700_under_umask_000(tmp_path):
    home = tmp_path / "fresh-home"
    r = run_faro(home, "init", passphrase=PASS, umask=0o000)
    assert r.code == 0, r
    dirs = [home, *(p for p in home.rglob("*") if p.is_dir())]
    assert {stat.S_IMODE(p.stat().st_mode) for p in dirs} == {0o700}, dirs
    assert {stat.S_IMODE(p.stat().st_mode) for p in home.rglob("*") if p.is_file()} == {0o600}


def test_a_store_made_in_a_missing_folder_gets_0700_folders(make_service, tmp_path):
    svc = make_service(directory=tmp_path / "a" / "b" / "data")
    old = os.umask(0)
    try:
        svc.init(PASS)
    finally:
        os.umask(old)
    for p in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "data"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o700, p


# -- SQLCipher's own log --------------------------------------------------------------------------
def test_sqlcipher_log_lines_do_not_bury_the_error(home, tmp_path):
    data = _init(home)
    other = tmp_path / "other-home"
    fast_profile(other)
    _init(other)
    shutil.copy(other / "data" / "cases.key", data / "cases.key")  # a mismatched key file
    for action in ("unlock-check", "check", "stats"):
        r = run_faro(home, action, passphrase=PASS)
        assert r.code == StoreDamaged.exit_code, r
        if action != "check":
            _one_line(r)
        assert "ERROR CORE" not in r.err and "another key file" in r.out + r.err


# -- Argon2 tuning bounds (a fake clock for the KDF: deterministic) --------------------------
def _fake(per_pass: float, base: float, noise: dict[int, float] | None = None, calls=None):
    def measure(t: int) -> float:
        if calls is not None:
            calls.append(t)
        if noise and t in noise:
            return noise.pop(t)
        return base + per_pass * t

    return measure


def test_argon2_tuning_is_bounded_on_a_busy_machine():
    target = 0.5
    # the measurement that once gave time cost 50 (2.3 s): a slow first run, a fast second
    busy = _fake(0.045, 0.03, noise={MIN_TIME_COST: 0.30, MIN_TIME_COST + 2: 0.301})
    kdf = KdfParams.tuned(65536, 1, target, measure=busy)
    assert MIN_TIME_COST <= kdf.time_cost
    assert 0.03 + 0.045 * kdf.time_cost <= target * CEILING_FACTOR
    # runs that look almost free until the chosen cost is measured: scaled back down
    calls: list[int] = []
    flat = _fake(0.045, 0.03, noise={MIN_TIME_COST: 0.05, MIN_TIME_COST + 2: 0.05}, calls=calls)
    kdf = KdfParams.tuned(65536, 1, target, measure=flat)
    assert 0.03 + 0.045 * kdf.time_cost <= target * CEILING_FACTOR and kdf.time_cost < MAX_TIME_COST
    assert len(calls) <= 5


def test_argon2_tuning_has_a_floor_and_reaches_the_target():
    slow_machine = _fake(0.4, 0.1)
    assert KdfParams.tuned(65536, 1, 0.5, measure=slow_machine).time_cost == MIN_TIME_COST
    steady = _fake(0.045, 0.03)
    kdf = KdfParams.tuned(65536, 1, 0.5, measure=steady)
    took = 0.03 + 0.045 * kdf.time_cost
    assert 0.35 <= took <= 0.5 * CEILING_FACTOR
    fast_machine = _fake(0.0001, 0.0001)
    assert KdfParams.tuned(65536, 1, 0.5, measure=fast_machine).time_cost == MAX_TIME_COST


def test_init_records_a_bounded_time_cost(store, data_dir):
    w = json.loads((data_dir / "cases.key").read_text())["passphrase_wrap"]
    assert MIN_TIME_COST <= w["time_cost"] <= MAX_TIME_COST
    assert data_key(data_dir)  # the recorded parameters open the key
