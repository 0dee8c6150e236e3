"""``faro doctor``: each check on a fake system tree or a real part (a TLS broker, a TLS
server, a real case store), the report's exit code, and the command."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.doctor import Check, Context, Status, hardware, links, run_checks, system
from core.clock import FakeClock
from core.config import Config
from core.paths import Paths
from tests.support.storage_helpers import FAST, PASS

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def home(tmp_path) -> Paths:
    return Paths.under(tmp_path / "home").ensure()


def _ctx(home: Paths, root: Path | None = None, **options) -> Context:
    return Context(
        Config(dict(options)),
        home,
        FakeClock(wall=NOW),
        root or Path("/nonexistent-root"),
        run=lambda argv: (1, ""),
        network_timeout_s=3.0,
    )


# -- disk encryption -----------------------------------------------------------------------
def _block(root: Path, name: str, uuid: str = "", slaves: tuple[str, ...] = ()) -> Path:
    dev = root / "sys/devices/virtual/block" / name
    (dev / "slaves").mkdir(parents=True, exist_ok=True)
    if uuid:
        (dev / "dm").mkdir(exist_ok=True)
        (dev / "dm" / "uuid").write_text(uuid + "\n")
    for s in slaves:
        (dev / "slaves" / s).symlink_to(root / "sys/devices/virtual/block" / s)
    return dev


def _mounts(root: Path, point: Path, devno: str, fstype: str = "ext4") -> None:
    (root / "proc/self").mkdir(parents=True, exist_ok=True)
    (root / "proc/self/mountinfo").write_text(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        f"36 22 {devno} / {point} rw,relatime shared:9 - {fstype} /dev/mapper/x rw\n"
    )
    (root / "sys/dev/block").mkdir(parents=True, exist_ok=True)


def test_luks_under_lvm_is_found_through_the_slaves(home, tmp_path):
    root = tmp_path / "root"
    _block(root, "dm-0", "CRYPT-LUKS2-0123abcd-luks")
    _block(root, "dm-1", "LVM-Xyz", slaves=("dm-0",))
    _mounts(root, home.data_dir.parent, "253:1")
    (root / "sys/dev/block/253:1").symlink_to(root / "sys/devices/virtual/block/dm-1")
    c = system.check_disk_encryption(_ctx(home, root))
    assert c.status is Status.OK and c.data["crypt"] == "LUKS2", c


def test_a_plain_disk_fails_and_a_container_cannot_tell(home, tmp_path):
    root = tmp_path / "root"
    _block(root, "sda2")
    _mounts(root, home.data_dir.parent, "8:2")
    (root / "sys/dev/block/8:2").symlink_to(root / "sys/devices/virtual/block/sda2")
    c = system.check_disk_encryption(_ctx(home, root))
    assert c.status is Status.FAIL and "LUKS" in c.summary and c.advice
    _mounts(root, home.data_dir.parent, "0:50", fstype="overlay")
    c = system.check_disk_encryption(_ctx(home, root))
    assert c.status is Status.WARN and "overlay" in c.summary


# -- updates, clock, idle lock, space --------------------------------------------------------
def test_updates_by_the_age_of_apt_stamps(home, tmp_path):
    root = tmp_path / "root"
    stamp = root / "var/lib/apt/periodic/update-success-stamp"
    stamp.parent.mkdir(parents=True)
    stamp.touch()
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/unattended-upgrade").touch()
    ctx = _ctx(home, root)
    t = NOW.timestamp()
    os.utime(stamp, (t - 86400, t - 86400))
    assert system.check_os_updates(ctx).status is Status.OK
    os.utime(stamp, (t - 12 * 86400,) * 2)
    assert system.check_os_updates(ctx).status is Status.WARN
    os.utime(stamp, (t - 45 * 86400,) * 2)
    c = system.check_os_updates(ctx)
    assert c.status is Status.FAIL and c.data["days_since_update"] == 45.0
    assert system.check_os_updates(_ctx(home)).status is Status.WARN  # cannot tell


def test_clock_synchronisation_from_timedatectl(home):
    ctx = _ctx(home)
    ctx.run = lambda argv: (0, "yes\n") if argv[0] == "timedatectl" else (1, "")
    assert system.check_clock(ctx).status is Status.OK
    ctx.run = lambda argv: (0, "no\n") if argv[0] == "timedatectl" else (1, "")
    assert system.check_clock(ctx).status is Status.FAIL
    ctx.run = lambda argv: (0, "Leap status     : Normal\n") if argv[0] == "chronyc" else (1, "")
    assert system.check_clock(ctx).data["source"] == "chrony"
    ctx.run = lambda argv: (1, "")
    assert system.check_clock(ctx).status is Status.WARN


@pytest.mark.parametrize(
    ("minutes", "status"), [(0, Status.FAIL), (30, Status.WARN), (10, Status.OK)]
)
def test_idle_lock_policy(home, minutes, status):
    assert (
        system.check_idle_lock(_ctx(home, **{"security.lock_idle_minutes": minutes})).status
        is status
    )


def test_disk_space_and_logs(home):
    assert system.check_disk_space(_ctx(home)).status in (Status.OK, Status.WARN)
    (home.log_dir / "faro.log").write_bytes(b"x" * 50000)
    ctx = _ctx(home, **{"logging.max_bytes": 10000, "logging.backups": 1})
    c = system.check_logs(ctx)
    assert c.status is Status.WARN and c.data["bytes"] == 50000


# -- the store, read locked ------------------------------------------------------------------
def test_store_checked_without_its_passphrase(home, fake_clock, bus):
    from storage.service import StoreService

    assert system.check_store(_ctx(home)).data == {"initialised": False}
    svc = StoreService(Config(dict(FAST)), fake_clock, bus, home.data_dir)
    svc.init(PASS)
    svc.save_note("c1", "a note")
    svc.flush()
    svc.stop()
    c = system.check_store(_ctx(home))
    assert c.status is Status.OK and c.data["db_bytes"] > 0, c
    os.chmod(home.data_dir / "cases.db", 0o644)
    c = system.check_store(_ctx(home))
    assert c.status is Status.FAIL and "0o644" in c.summary
    assert "Do not delete" in c.advice
    os.chmod(home.data_dir / "cases.db", 0o600)
    (home.data_dir / "cases.key").unlink()
    assert "missing" in system.check_store(_ctx(home)).summary


def test_a_plain_sqlite_file_is_called_unencrypted(home):
    import sqlite3

    sqlite3.connect(home.data_dir / "cases.db").execute("CREATE TABLE t(x)").connection.commit()
    (home.data_dir / "cases.key").write_text("{}")
    for p in home.data_dir.iterdir():
        os.chmod(p, 0o600)
    c = system.check_store(_ctx(home))
    assert c.status is Status.FAIL and "not encrypted" in c.summary


def test_sqlcipher_version(home):
    c = system.check_sqlcipher(_ctx(home))
    assert c.status is Status.OK and c.data["version"].startswith("4.")


# -- certificates and the broker (a real TLS Mosquitto) --------------------------------------
@pytest.fixture
def tls_broker(tmp_path):
    from tests.support.escalation_broker import TlsBroker

    b = TlsBroker(tmp_path / "tls").start()
    yield b
    b.stop()


def _at(ctx: Context, when: dt.datetime) -> Context:
    ctx.clock = FakeClock(wall=when)
    return ctx


def test_certificate_days_left_and_expiry(home, tls_broker):
    o = tls_broker.overrides("c-ana")
    ctx = _ctx(home, **o)
    now = dt.datetime.now(dt.UTC)
    c = links.check_certificate(_at(ctx, now))
    assert c.status is Status.OK and c.data["name"] == "c-ana" and c.data["days_left"] > 30
    after = dt.datetime.fromisoformat(c.data["not_after"])
    assert links.check_certificate(_at(ctx, after - dt.timedelta(days=10))).status is Status.WARN
    c = links.check_certificate(_at(ctx, after + dt.timedelta(days=1)))
    assert c.status is Status.FAIL and "expired" in c.summary
    c = links.check_certificate(_at(ctx, now - dt.timedelta(days=2)))
    assert c.status is Status.FAIL and "not valid yet" in c.summary


def test_a_certificate_of_another_organisation_fails(home, tls_broker, tmp_path):
    from tests.support.escalation_broker import TlsBroker

    other = TlsBroker(tmp_path / "other")
    cert, key = other.issue("c-ana")
    o = tls_broker.overrides("c-ana") | {
        "escalation.cert_file": str(cert),
        "escalation.key_file": str(key),
    }
    c = links.check_certificate(_ctx(home, **o))
    assert c.status is Status.FAIL and "not signed" in c.summary


def test_broker_reachable_as_the_command_line_identity(home, tls_broker):
    ctx = _ctx(home, **tls_broker.overrides("c-ana"))
    c = links.check_broker(ctx)
    assert c.status is Status.OK, c
    assert c.data["identity"] == "c-ana.cli"  # never the console's own id
    tls_broker.stop()
    c = links.check_broker(ctx)
    assert c.status is Status.FAIL and c.advice


def test_broker_with_a_foreign_ca_is_not_trusted(home, tls_broker, tmp_path):
    from tests.support.escalation_broker import TlsBroker

    other = TlsBroker(tmp_path / "other")
    o = tls_broker.overrides("c-ana") | {"escalation.ca_file": str(other.pki / "ca.crt")}
    o["escalation.cert_file"], o["escalation.key_file"] = map(str, other.issue("c-ana"))
    other.issue("c-ana.cli")
    c = links.check_broker(_ctx(home, **o))
    assert c.status is Status.FAIL and "not trusted" in c.summary, c


def test_escalation_not_set_up_is_skipped(home):
    ctx = _ctx(home)
    assert links.check_broker(ctx).status is Status.SKIP
    assert links.check_certificate(ctx).status is Status.SKIP


# -- the SIP server (a TLS listener) ---------------------------------------------------------
def _tls_server(certs: Path) -> tuple[int, threading.Event]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certs / "broker.crt", certs / "broker.key")
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True) as s:
                    s.recv(1)
            except (OSError, ssl.SSLError):
                pass
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], stop


def test_sip_server_over_tls(home, tls_broker):
    port, stop = _tls_server(tls_broker.pki)
    try:
        o = {
            "calls.backend": "sip",
            "sip.domain": f"127.0.0.1:{port}",
            "sip.ca_file": str(tls_broker.pki / "ca.crt"),
        }
        c = links.check_sip_server(_ctx(home, **o))
        assert c.status is Status.OK and "TLS" in c.summary, c
        c = links.check_sip_server(_ctx(home, **(o | {"sip.ca_file": ""})))
        assert c.status is Status.FAIL and "not trusted" in c.summary
    finally:
        stop.set()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    free = closed.getsockname()[1]
    closed.close()
    c = links.check_sip_server(
        _ctx(home, **{"calls.backend": "sip", "sip.domain": f"127.0.0.1:{free}"})
    )
    assert c.status is Status.FAIL and "cannot be reached" in c.summary
    assert links.check_sip_server(_ctx(home)).status is Status.SKIP


# -- devices, the report ---------------------------------------------------------------------
def test_button_box_port_and_permission(home, pty_pair):
    ctx = _ctx(home, **{"devices.buttonbox.port": pty_pair.device_path})
    assert hardware.check_button_box(ctx).status is Status.OK
    ctx = _ctx(home, **{"devices.buttonbox.port": "/dev/faro-nothing-here"})
    assert hardware.check_button_box(ctx).status is Status.WARN
    assert hardware.check_audio(_ctx(home, **{"audio.source": "simulated"})).status is Status.SKIP


def test_a_broken_check_is_one_failure_and_the_others_run(home):
    def check_boom(ctx: Context) -> Check:
        raise RuntimeError("/home/ana/secret path")

    def check_fine(ctx: Context) -> Check:
        return Check("fine", "Fine", Status.WARN, "meh")

    report = run_checks(_ctx(home), [check_boom, check_fine])
    assert [c.status for c in report.checks] == [Status.FAIL, Status.WARN]
    assert "secret" not in json.dumps(report.as_dict())  # the error's type only
    assert report.exit_code == 2 and report.worst is Status.FAIL
    assert run_checks(_ctx(home), [check_fine]).exit_code == 1


def test_the_command_prints_every_check_and_exits_by_the_worst(tmp_path):
    env = dict(os.environ, FARO_HOME=str(tmp_path / "h"), LANGUAGE="", LANG="C.UTF-8")
    p = subprocess.run(
        [sys.executable, "-m", "console.cli", "doctor", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    out = json.loads(p.stdout)
    ids = [c["id"] for c in out["checks"]]
    for wanted in ("disk_encryption", "os_updates", "clock", "idle_lock", "store", "broker"):
        assert wanted in ids
    assert (
        p.returncode == out["exit_code"] == {"ok": 0, "skip": 0, "warn": 1, "fail": 2}[out["worst"]]
    )
    human = subprocess.run(
        [sys.executable, "-m", "console.cli", "doctor"], capture_output=True, text=True, env=env
    )
    assert human.returncode == p.returncode
    assert len(human.stdout.splitlines()) >= len(ids)


# -- the support bundle: canaries -------------------------------------------------------------
def test_the_support_bundle_holds_no_personal_data(home, fake_clock, bus, tls_broker):
    import logging
    import tarfile

    from app.doctor.bundle import write_bundle
    from core import logs
    from core.privacy import Personal
    from storage.service import StoreService
    from tests.support.storage_helpers import ring

    note, number, secret = "CANARY-NOTE-she-lives-alone", "+52 55 4821 7733", "CANARY-PW-9931"
    svc = StoreService(Config(dict(FAST)), fake_clock, bus, home.data_dir)
    svc.init(PASS)
    ring(svc, "c1", number)
    svc.save_note("c1", note)
    svc.set_secret("sip.password", secret)
    svc.flush()
    svc.stop()
    logs.configure(home.log_dir)
    try:
        log = logging.getLogger("faro.test")
        log.warning("call from %s", Personal(number))
        log.warning("caller rang back from %s", number)  # forgotten wrapping: the filter masks it
    finally:
        logging.getLogger().handlers.clear()
    with open(home.log_dir / "faro.log", "a") as f:  # a line written around Faro's logger
        f.write(f"2026-12-02 other tool: number {number}\n")
    ctx = _ctx(home, **tls_broker.overrides("c-ana"))
    target = home.state_dir / "support.tar.gz"
    names = write_bundle(ctx, run_checks(ctx), target)
    assert {"doctor.json", "system.json", "options.txt", "devices.json", "logs/faro.log"} <= set(
        names
    )
    assert (target.stat().st_mode & 0o777) == 0o600
    blob = b""
    with tarfile.open(target) as tar:
        for m in tar.getmembers():
            blob += tar.extractfile(m).read()  # type: ignore[union-attr]
    text = blob.decode()
    digits = number.replace(" ", "").lstrip("+")
    for canary in (note, secret, number, digits, "4821 7733", "48217733"):
        assert canary not in text, canary
    assert "PRIVATE KEY" not in text
    assert key_bytes_absent(home, blob)
    assert "escalation.broker_port" in text  # the options IT needs are there
    assert "c-ana" in text  # the laptop's own identity is not personal data


def key_bytes_absent(home: Paths, blob: bytes) -> bool:
    for name in ("cases.key", "cases.db"):
        data = (home.data_dir / name).read_bytes()
        if data[:64] and data[:64] in blob:
            return False
    return True


def test_headset_buttons_from_the_hidraw_tree(home, tmp_path):
    from devices.headset.simulator import HeadsetSimulator

    root = tmp_path / "hid"
    ctx = _ctx(home, root)
    c = hardware.check_headset(ctx)
    assert c.status is Status.WARN and "No headset" in c.summary
    with HeadsetSimulator(root, "blackwire"):
        c = hardware.check_headset(ctx)
        assert c.status is Status.OK and "Blackwire" in c.summary, c
        assert c.data["chosen"] == "hidraw0"
        with HeadsetSimulator(root, "actions", index=1):
            c = hardware.check_headset(ctx)
            assert c.status is Status.OK and "1 other headset ignored" in c.summary
    off = _ctx(home, root, **{"devices.headset.enabled": False})
    assert hardware.check_headset(off).status is Status.SKIP


# -- the chat server (a real Prosody, Faro's shipped configuration) ---------------------------
def test_chat_server_over_starttls(home, tmp_path):
    from tests.support import prosody

    if not prosody.available():
        pytest.skip("prosody is not installed")
    with prosody.Prosody(tmp_path / "prosody") as srv:
        o = {
            "chat.enabled": True,
            "chat.domain": srv.domain,
            "chat.host": "127.0.0.1",
            "chat.port": srv.c2s_port,
            "chat.ca_file": str(srv.certs.ca),
        }
        c = links.check_chat_server(_ctx(home, **o))
        assert c.status is Status.OK and "TLS" in c.summary and srv.domain in c.summary, c
        c = links.check_chat_server(_ctx(home, **(o | {"chat.ca_file": ""})))
        assert c.status is Status.FAIL and "not trusted" in c.summary, c
        c = links.check_chat_server(_ctx(home, **(o | {"chat.domain": "other.example"})))
        assert c.status is Status.FAIL and "does not serve other.example" in c.summary, c
        # its web port speaks HTTP, not XMPP
        c = links.check_chat_server(_ctx(home, **(o | {"chat.port": srv.https_port})))
        assert c.status is Status.FAIL, c
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    free = closed.getsockname()[1]
    closed.close()
    c = links.check_chat_server(
        _ctx(
            home,
            **{
                "chat.enabled": True,
                "chat.domain": "x.example",
                "chat.host": "127.0.0.1",
                "chat.port": free,
            },
        )
    )
    assert c.status is Status.FAIL and "cannot be reached" in c.summary
    c = links.check_chat_server(_ctx(home, **{"chat.enabled": True}))
    assert c.status is Status.FAIL and "chat.domain" in c.summary
    assert links.check_chat_server(_ctx(home)).status is Status.SKIP
