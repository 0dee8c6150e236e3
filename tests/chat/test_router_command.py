"""`faro chat router --config FILE` as IT runs it: a real process against a real Prosody, the
secret from a file only its owner reads; without an escalation set-up it says once that
supervisors will not see the queue, and a person writing is queued."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import children
from tests.support.chat_peers import GuestPeer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(90)


def test_the_router_command_runs_and_queues_a_person(server, peers, tmp_path):
    secret = tmp_path / "router.secret"
    secret.write_text(server.secret + "\n")
    secret.chmod(0o600)
    cfg = tmp_path / "router.toml"
    cfg.write_text(
        "[router]\n"
        f'domain = "{server.domain}"\n'
        'host = "127.0.0.1"\n'
        f"port = {server.component_port}\n"
        'secret_file = "router.secret"\n'
    )
    env = dict(os.environ, FARO_HOME=str(tmp_path / "home"), LANGUAGE="en")
    log = tmp_path / "router.log"
    with log.open("wb") as out:
        proc = children.spawn(
            [sys.executable, "-m", "console.cli", "chat", "router", "--config", str(cfg)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        guest = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "connected" in log.read_text(errors="replace").lower():
                break
            if proc.poll() is not None:
                raise AssertionError(log.read_text())
            time.sleep(0.2)
        guest = GuestPeer(peers, server).connect().hello()
        state = guest.expect("state", state="waiting", timeout=20)
        assert state["position"] == "1"
        text = log.read_text(errors="replace")
        assert "supervisors will not see the chat queue" in text
        assert server.secret not in text  # the secret is never logged
    finally:
        children.stop(proc)
