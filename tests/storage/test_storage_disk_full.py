"""A really full disk (a 16 MiB tmpfs filled to ENOSPC): "cannot write" (74), never
"damaged" (7) or a crash (70), and nothing is lost once space is freed."""

from __future__ import annotations

import logging
from pathlib import Path

from core import logs
from storage.events import FAILED, SAVED, AutosaveState, StoreError
from tests.support.storage_cli import fast_profile, run_faro
from tests.support.storage_helpers import PASS
from tests.support.toolkit import Recorder

FULL = "disk is full"


def _profile_on(disk) -> Path:
    home = disk.path / "home"
    fast_profile(home)
    return home


def test_every_faro_db_command_on_a_full_disk_says_so(small_disk, make_service):
    home = _profile_on(small_disk)
    r = run_faro(home, "init", passphrase=PASS)
    assert r.code == 0, r
    svc = make_service(directory=home / "data")
    svc.unlock(PASS)
    svc.save_note("c1", "written before the disk filled")
    svc.lock()
    key_before = (home / "data" / "cases.key").read_bytes()
    small_disk.fill()
    outside = small_disk.path.parent / "b.bak"
    for argv, fd_text in (
        (["unlock-check"], None),
        (["check"], None),
        (["stats"], None),
        (["backup", str(outside)], None),
        (["passwd"], f"{PASS}\nanother passphrase\n"),
        (["rekey"], None),
    ):
        r = run_faro(home, *argv, passphrase=None if fd_text else PASS, fd_text=fd_text)
        assert r.code == 74, (argv, r)
        assert FULL in r.err and "damaged" not in r.err and "Traceback" not in r.err, (argv, r)
        assert "internal error" not in r.err
    assert (home / "data" / "cases.key").read_bytes() == key_before
    assert not outside.exists()
    r = run_faro(home, "init", passphrase=PASS)
    assert r.code == 5  # and never a second store over the first
    small_disk.free()
    assert run_faro(home, "check", passphrase=PASS).code == 0
    svc = make_service(directory=home / "data")
    svc.unlock(PASS)
    assert svc.notes("c1").text == "written before the disk filled"


def test_init_on_a_full_disk_leaves_nothing_half_made(small_disk):
    home = _profile_on(small_disk)
    (home / "data").mkdir(mode=0o700)
    small_disk.fill()
    r = run_faro(home, "init", passphrase=PASS)
    assert r.code == 74 and FULL in r.err, r
    assert list((home / "data").iterdir()) == []  # so a later init is not refused
    small_disk.free()
    assert run_faro(home, "init", passphrase=PASS).code == 0


def test_autosave_on_a_full_disk_fails_clearly_and_catches_up(small_disk, make_service, bus):
    home = _profile_on(small_disk)
    svc = make_service(directory=home / "data")
    svc.init(PASS)
    svc.save_note("c1", "EARLIER NOTE")
    rec = Recorder(bus, AutosaveState, StoreError)
    small_disk.fill()
    svc.draft("c2", "typed while the disk is full " * 2000)
    assert not svc.flush(3)
    failed = [e for e in rec.of(AutosaveState) if e.state == FAILED]
    assert failed and FULL in failed[0].detail and "intact" in failed[0].detail
    assert rec.of(StoreError)
    rec.clear()
    small_disk.free()
    assert rec.wait_for(lambda: any(e.state == SAVED for e in rec.of(AutosaveState)), 10), (
        "the retry (every 2 s) never saved the text"
    )
    assert svc.flush(10)
    assert svc.notes("c2").text.startswith("typed while the disk is full")
    assert svc.notes("c1").text == "EARLIER NOTE"


def test_a_log_that_cannot_be_written_never_stops_faro(small_disk, capsys):
    log_dir = small_disk.path / "log"
    path = logs.configure(log_dir)
    try:
        assert path is not None
        small_disk.fill()
        log = logging.getLogger("faro.test")
        for i in range(3):
            log.warning("line %d that will not fit on the disk %s", i, "x" * 8192)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot be written" in err and "Traceback" not in err
        assert logs.problem()
        small_disk.free()
        log.warning("room again")
        for h in logging.getLogger().handlers:
            h.flush()
        assert "room again" in path.read_text()
    finally:
        logs.configure(small_disk.path.parent / "log-after")  # leave a working log behind


def test_a_log_file_that_cannot_be_opened_is_said_once(tmp_path, capsys):
    (tmp_path / "log" / "faro.log").mkdir(parents=True)  # in the way of the file
    try:
        assert logs.configure(tmp_path / "log") is None
        logging.getLogger("faro.test").warning("still running")
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot be opened" in err
    finally:
        logs.configure(tmp_path / "log-after")
