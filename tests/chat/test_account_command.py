"""`faro chat account set|show|clear`: the chat token in the encrypted case store, from
--passphrase-fd (line 1 the passphrase, line 2 the token), never on the command line, never
printed; read back by the wiring at unlock."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.wiring import CHAT_PASSWORD
from tests.support.storage_cli import ROOT, fast_profile, run_faro

pytestmark = pytest.mark.timeout(120)
PASS = "correct horse battery staple 9"
TOKEN = "tok-3f9a-secret-of-c-alba"


def _faro_chat(home, *argv: str, fd_text: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARO_")}
    env.update(FARO_HOME=str(home), PYTHONPATH=ROOT, LANGUAGE="en")
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
            [sys.executable, "-m", "console.cli", "chat", "account", *argv, *extra],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=90, pass_fds=fds,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        if r is not None:
            os.close(r)


def test_the_token_is_stored_encrypted_shown_as_stored_and_cleared(tmp_path):
    home = tmp_path / "home"
    fast_profile(home)
    toml = home / "config" / "faro.toml"
    toml.write_text(
        toml.read_text()
        + '\n[identity]\ncounselor_id = "c-alba"\n[chat]\ndomain = "chat.example"\n'
    )
    assert run_faro(home, "init", fd_text=f"{PASS}\n").code == 0
    out = _faro_chat(home, "set", fd_text=f"{PASS}\n{TOKEN}\n")
    assert out.returncode == 0, out.stderr
    assert "stored in the case store" in out.stdout and TOKEN not in out.stdout + out.stderr
    shown = _faro_chat(home, "show", fd_text=f"{PASS}\n")
    assert shown.returncode == 0, shown.stderr
    assert "c-alba@chat.example" in shown.stdout and "stored (encrypted)" in shown.stdout
    assert TOKEN not in shown.stdout
    # the token is in the store only encrypted: not in any file in clear
    for path in home.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    # the wiring reads the very secret at unlock
    from app.session import Session
    from core.config import Config
    from core.paths import Paths

    s = Session(Config.load(home / "config" / "faro.toml"), paths=Paths.under(home),
                services=("storage.service",))  # fmt: skip
    store = s.service("store")
    store.unlock(PASS)
    assert store.secret(CHAT_PASSWORD) == TOKEN
    store.lock("shutdown")
    s.stop()
    gone = _faro_chat(home, "clear", fd_text=f"{PASS}\n")
    assert gone.returncode == 0 and "removed" in gone.stdout
    missing = _faro_chat(home, "set", fd_text=f"{PASS}\n")
    assert missing.returncode == 2 and "No chat token" in missing.stderr
