"""Issue 9, escalation fault 5: packaging/broker/mosquitto.conf installed the way
docs/escalation.md says — in conf.d, under Debian's own /etc/mosquitto/mosquitto.conf — with
the files `faro certs` makes, started the way Debian's unit starts it: ``mosquitto -c
/etc/mosquitto/mosquitto.conf`` as root, which then drops to the ``mosquitto`` user. Every
Debian path is moved under a temporary root and the listener to 127.0.0.1 on a free port."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from escalation import messages as m
from escalation import topics
from tests.support.escalation_probe import raw_client
from tests.support.ports import free_port, wait_listening

ROOT = Path(__file__).resolve().parents[2]
MOSQUITTO = "/usr/sbin/mosquitto"
UNIT = Path("/lib/systemd/system/mosquitto.service")
EXEC_START = "ExecStart=/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf"
STOCK = Path("/etc/mosquitto/mosquitto.conf")
DEBIAN_DIRS = ("/etc/mosquitto", "/var/lib/mosquitto", "/var/log/mosquitto", "/run/mosquitto")


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        os.geteuid() != 0 or not _has_user("mosquitto") or not os.path.exists(MOSQUITTO),
        reason="needs root and Debian's mosquitto package (user mosquitto)",
    ),
]


@pytest.fixture
def debian_root():
    # not under pytest's 0700 tmp folder: the mosquitto user must be able to walk into it
    root = Path(tempfile.mkdtemp(prefix="faro-debian-"))
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _faro(*argv: str, home: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "console.cli", *argv],
        cwd=ROOT,
        env=dict(os.environ, FARO_HOME=str(home), PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr


def test_packaged_config_runs_under_debians_stock_config_as_its_unit_starts_it(
    debian_root, tmp_path
):
    if UNIT.exists():  # what this test reproduces is what the unit does
        assert EXEC_START in UNIT.read_text()
    r = debian_root

    def here(text: str) -> str:
        for d in DEBIAN_DIRS:
            text = text.replace(d, f"{r}{d}")
        return text

    etc = r / "etc" / "mosquitto"
    (etc / "conf.d").mkdir(parents=True)
    for d in (r / "etc", etc, etc / "conf.d"):
        os.chmod(d, 0o755)
    stock = (
        STOCK.read_text()
        if STOCK.exists()
        else (Path(__file__).with_name("debian_mosquitto.conf")).read_text()
    )
    (etc / "mosquitto.conf").write_text(here(stock))
    port = free_port()
    ours = here((ROOT / "packaging" / "broker" / "mosquitto.conf").read_text())
    assert "\nlistener 8883\n" in ours
    (etc / "conf.d" / "faro.conf").write_text(
        ours.replace("\nlistener 8883\n", f"\nlistener {port} 127.0.0.1\n")
    )
    uid = pwd.getpwnam("mosquitto").pw_uid
    (r / "var" / "lib" / "mosquitto").mkdir(parents=True)  # the package's, owned by mosquitto
    os.chown(r / "var" / "lib" / "mosquitto", uid, -1)
    for d in ("var/log/mosquitto", "run/mosquitto"):  # the unit's ExecStartPre lines
        (r / d).mkdir(parents=True, mode=0o740)
        os.chmod(r / d, 0o740)
        os.chown(r / d, uid, -1)
    for d in (r / "var", r / "var" / "lib", r / "var" / "log", r / "run"):
        os.chmod(d, 0o755)
    # the files, with faro certs as docs/escalation.md says (as root)
    pki = r / "root" / "faro-pki"
    home = tmp_path / "it-home"
    _faro("certs", "ca", "--org", "Test Helpline", "--dir", str(pki), home=home)
    _faro(
        "certs",
        "broker",
        "127.0.0.1",
        "localhost",
        "--dir",
        str(pki),
        "--out",
        str(etc / "faro"),
        home=home,
    )
    _faro(
        "certs",
        "acl",
        "--supervisor",
        "sup-ana",
        "--it",
        "it-desk",
        "--out",
        str(etc / "faro" / "acl"),
        home=home,
    )
    _faro("certs", "issue", "c-alba", "--dir", str(pki), home=home)

    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(etc / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    log_file = r / "var" / "log" / "mosquitto" / "mosquitto.log"
    try:
        try:
            wait_listening(port, 10)
        except TimeoutError:
            proc.kill()
            err = proc.communicate(timeout=5)[1].decode(errors="replace")
            log = log_file.read_text() if log_file.exists() else ""
            raise AssertionError(f"mosquitto did not start: {log}{err}") from None
        status = Path(f"/proc/{proc.pid}/status").read_text()
        assert f"Uid:\t{uid}\t" in status  # it did drop to the mosquitto user
        cert, key = pki / "c-alba.crt", pki / "c-alba.key"
        c, _got, state = raw_client(
            SimpleNamespace(pki=pki, port=port), cert, key, client_id="c-alba"
        )
        assert state["rc"] is not None and not state["rc"].is_failure
        alert = m.Alert(
            "e1",
            "e1",
            "c-alba",
            None,
            "consult",
            "test",
            0.0,
            "unknown",
            m.parse_time("2026-11-21T12:00:00+00:00"),
        )
        info = c.publish(topics.alert("c-alba", "e1"), m.encode(alert), qos=1, retain=True)
        info.wait_for_publish(5)
        assert info.is_published()
        c.disconnect()
        c.loop_stop()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(10)
        proc.stderr.close()
    end = time.monotonic() + 5
    while not log_file.exists() and time.monotonic() < end:
        time.sleep(0.05)
    log = log_file.read_text()
    assert "Error" not in log and "Warning" not in log, log  # no %u warning either
    # the organisation's and the laptop's keys were never made readable by the broker's group
    for f in ("ca.key", "c-alba.key", "c-alba.cli.key", "broker.key"):
        st = (pki / f).stat()
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0, f
    assert stat.S_IMODE(pki.stat().st_mode) == 0o700
