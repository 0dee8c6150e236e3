"""``faro call``: the SIP password goes into the encrypted store, and ``faro call test`` calls
an echo extension over the real rig and reports registration, TLS, SRTP, round trip and loss.
Run as the real command in a child process, as IT would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.calls.sip_rig import USERS, rig
from tests.support.storage_cli import ROOT, fast_profile, run_faro

pytestmark = pytest.mark.timeout(120)

PASS = "correct horse battery staple 9"


def _faro_call(home, *argv: str, fd_text: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARO_")}
    env.update(FARO_HOME=str(home), PYTHONPATH=ROOT)
    extra: list[str] = []
    fds: tuple[int, ...] = ()
    r = None
    if fd_text is not None:
        r, w = os.pipe()
        os.write(w, fd_text.encode())
        os.close(w)
        extra, fds = ["--passphrase-fd", str(r)], (r,)
    try:
        return subprocess.run(
            [sys.executable, "-m", "console.cli", "call", *extra, *argv],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=90, pass_fds=fds,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        if r is not None:
            os.close(r)


def _profile(home, r, user: str = "counselor") -> None:
    fast_profile(home)
    toml = home / "config" / "faro.toml"
    toml.write_text(
        toml.read_text()
        + "\n[sip]\n"
        + f'user = "{user}"\ndomain = "{r.domain}"\nca_file = "{r.certs.ca}"\n'
        + 'listen = "127.0.0.1"\nsystem_resolver = true\ntest_uri = "echo"\n'
    )
    assert run_faro(home, "init", fd_text=f"{PASS}\n").code == 0


def test_password_stored_encrypted_then_a_test_call_reports_everything(tmp_path):
    home = tmp_path / "home"
    with rig(tmp_path) as r, r.peer("echo", auto_answer=True, echo=True) as echo:
        echo.wait("registered")
        _profile(home, r)
        out = _faro_call(home, "account", "set", fd_text=f"{PASS}\n{USERS['counselor']}\n")
        assert out.returncode == 0, out.stderr
        assert "encrypted" in out.stdout
        toml = (home / "config" / "faro.toml").read_text()
        assert USERS["counselor"] not in toml
        shown = _faro_call(home, "account", "show", fd_text=f"{PASS}\n")
        assert "stored (encrypted)" in shown.stdout, shown.stdout + shown.stderr
        assert USERS["counselor"] not in shown.stdout + shown.stderr
        test = _faro_call(home, "test", "--json", fd_text=f"{PASS}\n")
        assert test.returncode == 0, test.stdout + test.stderr
        report = json.loads(test.stdout.strip().splitlines()[-1])
        assert report["registered"] and report["call_ok"]
        assert report["srtp"].startswith("AES"), report
        assert report["codec"].startswith("opus")
        assert report["bursts_heard"] >= report["bursts_sent"] - 1 >= 3, report
        assert 0 < report["median_round_trip_ms"] < 400, report
        assert report["loss_pct"] is not None and report["loss_pct"] < 1.0
        human = _faro_call(home, "test", fd_text=f"{PASS}\n")
        assert human.returncode == 0
        for word in ("registration", "TLS", "SRTP", "round trip", "loss"):
            assert word in human.stdout, human.stdout


def test_a_wrong_password_is_a_registration_failure_with_its_own_exit_code(tmp_path):
    home = tmp_path / "home"
    with rig(tmp_path) as r:
        _profile(home, r)
        assert _faro_call(home, "account", "set", fd_text=f"{PASS}\nnot-it\n").returncode == 0
        test = _faro_call(home, "test", fd_text=f"{PASS}\n")
        assert test.returncode == 4, test.stdout + test.stderr
        assert "FAILED" in test.stdout and "not-it" not in test.stdout + test.stderr


def test_an_unconfigured_account_says_what_is_missing(tmp_path):
    home = tmp_path / "home"
    fast_profile(home)
    test = _faro_call(home, "test")
    assert test.returncode == 3
    assert "sip.user" in test.stderr and "sip.domain" in test.stderr
