"""Bad input and faults, each with real files and real processes."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from storage.errors import WrongPassphrase
from tests.support import storage_children as kids
from tests.support.storage_cli import run_db
from tests.support.storage_helpers import PASS, data_key, raw_connect, snapshot

ROOT = Path(__file__).resolve().parents[2]


def _init_profile(make_service, directory: Path | None = None):
    svc = make_service(directory=directory)
    svc.init(PASS)
    return svc


# -- SIGKILL while typing ------------------------------------------------------------------
@pytest.mark.slow
def test_sigkill_while_typing_50_times(make_service, tmp_path):
    """Five profiles typed in parallel, ten rounds: every kill leaves an intact store that
    holds everything typed more than a second before the kill, and a WAL that the damage
    scan (storage.wal) does not mistake for a damaged one."""
    lanes = []
    for n in range(5):
        d = tmp_path / f"lane{n}"
        d.mkdir()
        svc = _init_profile(make_service, d)
        svc.lock()
        lanes.append((d, data_key(d)))
    ctx = kids.context()
    rnd = random.Random(3)
    from concurrent.futures import ThreadPoolExecutor

    results = []
    with ThreadPoolExecutor(len(lanes)) as pool:
        for round_ in range(10):
            futures = []
            for n, (d, key) in enumerate(lanes):
                text = kids.text_for(round_ * 10 + n)
                futures.append(
                    (
                        text,
                        pool.submit(
                            kids.kill_while_typing,
                            ctx,
                            d,
                            key,
                            PASS,
                            f"contact-{round_}",
                            text,
                            rate_hz=40.0,
                            kill_after=rnd.uniform(1.15, 1.6),
                        ),
                    )
                )
            for text, fut in futures:
                results.append((text, fut.result()))
    assert len(results) == 50
    for text, r in results:
        assert r.check_ok, r.problems
        assert not r.wal_damaged, "a kill mid-write is not WAL damage (no false alarm)"
        assert r.typed_at, "the typist typed nothing"
        assert kids.lost_seconds(r, text) <= 1.0
        assert len(r.saved) > 0


# -- SIGKILL during rekey ---------------------------------------------------------------
def test_sigkill_during_rekey_leaves_old_or_new_key(make_service, tmp_path):
    d = tmp_path / "rekey"
    d.mkdir()
    svc = _init_profile(make_service, d)
    for i in range(300):
        svc.draft(f"c{i}", f"note number {i} " * 20)
    svc.save_note("c1")
    svc.lock()
    ctx = kids.context()
    rnd = random.Random(5)
    key_ids = set()
    for _attempt in range(8):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=kids.rekeyer, args=(str(d), PASS, child), daemon=True)
        proc.start()
        child.close()
        assert parent.poll(30)
        parent.recv()
        time.sleep(rnd.uniform(0.05, 0.8))
        proc.kill()
        proc.join(10)
        parent.close()
        check = make_service(directory=d)
        check.unlock(PASS)  # old or new key: never neither
        assert check.check().ok
        assert check.notes("c299").text.startswith("note number 299")
        key_ids.add(json.loads((d / "cases.key").read_text())["key_id"])
        assert json.loads((d / "cases.key").read_text())["pending"] is None
        check.lock()
    assert len(key_ids) > 1, "the kills never let a rekey finish: the test proved nothing"


def test_rekey_killed_between_database_and_key_file(make_service, tmp_path):
    """The window where only the database has the new key: unlock uses the pending wrap."""
    svc = _init_profile(make_service)
    svc.draft("c1", "survives")
    svc.lock()

    class Crash(Exception):
        pass

    from storage.keys import KeyFile

    real = KeyFile.promote_pending
    calls = []

    def crash_once(self, path):
        if not calls:
            calls.append(1)
            raise Crash()
        return real(self, path)

    KeyFile.promote_pending = crash_once
    try:
        with pytest.raises(Crash):
            svc.rekey(PASS)
        assert json.loads(svc.key_path.read_text())["pending"] is not None
        svc.unlock(PASS)
    finally:
        KeyFile.promote_pending = real
    assert svc.notes("c1").text == "survives"
    assert json.loads(svc.key_path.read_text())["pending"] is None


# -- wrong passphrase, flipped bytes, edited audit row -----------------------------------------
def test_wrong_passphrase_on_the_cli_leaves_files_byte_identical(make_service, data_dir):
    svc = _init_profile(make_service)
    svc.draft("c1", "text")
    svc.lock()
    before = snapshot(data_dir)
    for action in ("unlock-check", "check", "stats", "backup"):
        argv = [action, str(data_dir.parent / "b.bak")] if action == "backup" else [action]
        res = run_db(*argv, passphrase="wrong passphrase")
        assert res.code == WrongPassphrase.exit_code, res
        assert res.err.count("\n") == 1 and "not right" in res.err
    assert snapshot(data_dir) == before
    assert not (data_dir.parent / "b.bak").exists()


def _flip_page(path: Path, page: int, page_size: int = 4096) -> None:
    with open(path, "r+b") as f:
        f.seek(page_size * (page - 1) + 200)
        chunk = bytearray(f.read(16))
        f.seek(page_size * (page - 1) + 200)
        f.write(bytes(b ^ 0xFF for b in chunk))


def test_flipped_page_is_named_by_check(make_service, data_dir):
    svc = _init_profile(make_service)
    for i in range(200):
        svc.draft(f"c{i}", f"some note text {i} " * 30)
    assert svc.flush()
    svc.lock()
    assert not (data_dir / "cases.db-wal").exists()  # checkpointed at close
    pages = (data_dir / "cases.db").stat().st_size // 4096
    assert run_db("check", passphrase=PASS).code == 0
    _flip_page(data_dir / "cases.db", pages // 2)
    res = run_db("check", passphrase=PASS)
    assert res.code == 7
    assert f"page {pages // 2}" in res.out
    assert "faro db restore" in res.err and "Traceback" not in res.out + res.err


def test_hand_edited_audit_row_is_named(make_service, data_dir):
    svc = _init_profile(make_service)
    for i in range(5):
        svc.audit("export", f"c{i}", {"n": i})
    svc.lock()
    db = raw_connect(data_dir)
    db.execute("UPDATE audit SET subject='someone-else' WHERE id=3")
    db.close()
    res = run_db("check", passphrase=PASS)
    assert res.code == 7
    assert "row(s) 3 " in res.out
    db = raw_connect(data_dir)
    db.execute("DELETE FROM audit WHERE id=5")
    db.execute("UPDATE audit SET subject='c2' WHERE id=3")  # put row 3 back
    db.close()
    # deleting the tail is caught by the key file's anchor (test_storage_store_faults);
    # in the middle the chain itself names the row:
    db = raw_connect(data_dir)
    db.execute("DELETE FROM audit WHERE id=2")
    db.close()
    res = run_db("check", passphrase=PASS)
    assert res.code == 7 and "row(s) 3" in res.out


# -- write failure ------------------------------------------------------------------------
WRITE_FAILURE_CHILD = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path
    from tests.support.storage_children import _service
    from storage.events import AutosaveState, StoreError
    from storage.errors import StoreWriteFailed
    svc = _service(sys.argv[1])
    svc.unlock(sys.argv[2])
    got = []
    def on(e): got.append([type(e).__name__, getattr(e, "state", ""), e.detail])
    svc.bus.subscribe(AutosaveState, on); svc.bus.subscribe(StoreError, on)
    svc.save_note("c1", "EARLIER NOTE")
    svc.flush()
    size = sum(p.stat().st_size for p in Path(sys.argv[1]).glob("cases.db*"))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.RLIM_INFINITY))
    svc.draft("c2", "x" * 3_000_000)
    svc.flush(3)
    error = None
    try:
        svc.save_note("c3", "y" * 3_000_000)
    except StoreWriteFailed as exc:
        error = exc.user_text()
    print(json.dumps({"events": got, "error": error}))
    sys.stdout.flush()
    import os; os._exit(0)
""")


def test_write_failure_is_clear_and_keeps_earlier_data(make_service, data_dir):
    svc = _init_profile(make_service)
    svc.lock()
    out = subprocess.run(
        [sys.executable, "-c", WRITE_FAILURE_CHILD, str(data_dir), PASS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["error"] and "disk is full" in report["error"] and "intact" in report["error"]
    failed = [e for e in report["events"] if e[1] == "failed"]
    assert failed and "disk is full" in failed[0][2]
    assert any(e[0] == "StoreError" for e in report["events"])
    svc.unlock(PASS)
    assert svc.notes("c1").text == "EARLIER NOTE"
    assert svc.check().ok


# -- canary ---------------------------------------------------------------------------------
CANARY = "CANARYzq7wX2KMB"
CANARY_CHILD = textwrap.dedent(f"""
    import logging, sys
    from pathlib import Path
    from core import logs
    from core.paths import Paths
    from tests.support.storage_children import _service
    from storage.records import RiskAssessment, SafetyPlan
    paths = Paths.default().ensure()
    logs.configure(paths.log_dir, "DEBUG")
    svc = _service(str(paths.data_dir))
    svc.init(sys.argv[1])
    text = ""
    for ch in "Caller said {CANARY} twice. " * 3:
        text += ch
        svc.draft("c1", text)
    svc.save_note("c1")
    svc.add_risk_assessment("c1", RiskAssessment(desire=frozenset({{"hopelessness"}}),
                                                 comment="{CANARY} in assessment"))
    svc.set_safety_plan("c1", SafetyPlan(reasons_for_living=("{CANARY}",)))
    assert svc.search("{CANARY}")
    svc.notes("c1")
    svc.backup(sys.argv[2])
    logging.getLogger("faro.test").info("done with %s", svc.notes("c1"))
    svc.lock()
    svc.unlock(sys.argv[1])
    svc.draft("c1", text + " more")
    svc.flush()
    import os; os._exit(0)  # leave -wal and -shm behind, as a crash would
""")


def test_canary_never_reaches_disk_in_clear(tmp_path):
    home, tmp, backups = tmp_path / "home", tmp_path / "tmp", tmp_path / "backups"
    for d in (home, tmp, backups):
        d.mkdir()
    env = {**os.environ, "FARO_HOME": str(home), "TMPDIR": str(tmp)}
    out = subprocess.run(
        [sys.executable, "-c", CANARY_CHILD, PASS, str(backups / "b.bak")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr.decode()
    files = [p for d in (home, tmp, backups) for p in d.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"cases.db", "cases.db-wal", "cases.db-shm", "b.bak", "faro.log"} <= names
    needles = [CANARY.encode(), CANARY.encode("utf-16-le"), CANARY.lower().encode()]
    for p in files:
        data = p.read_bytes()
        for needle in needles:
            assert needle not in data, f"canary found in {p.name}"
    assert b"CANARY" not in out.stdout + out.stderr
