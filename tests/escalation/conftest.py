"""Fixtures of the escalation tests: a TLS Mosquitto with Faro's ACL, agents, processes."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.clock import Clock, SystemClock
from core.config import Config
from core.events import EventBus
from tests.support.toolkit import Recorder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tls_broker(tmp_path):
    from tests.support.escalation_broker import TlsBroker

    broker = TlsBroker(tmp_path / "tls").start()
    yield broker
    broker.stop()


def fields(**match: Any) -> Callable[[Any], bool]:
    """A ``Recorder.wait_event`` match on field values: ``fields(escalation_id=eid)``."""
    return lambda e: all(getattr(e, k) == v for k, v in match.items())


def matching(events: list[Any], **match: Any) -> list[Any]:
    """The events whose fields have these values."""
    return [e for e in events if fields(**match)(e)]


def _agent_maker(broker, made: list):
    from escalation.counselor import CounselorAgent
    from escalation.outbox import MemoryOutbox
    from escalation.supervisor import SupervisorAgent
    from escalation.transport import LinkSettings

    def make(
        kind: str,
        cn: str,
        clock: Clock | None = None,
        outbox=None,
        start: bool = True,
        **options: Any,
    ):
        cfg = Config.defaults().with_overrides(broker.overrides(cn, kind, **options))
        clk = clock or SystemClock()
        bus = EventBus()
        ev = Recorder(bus)
        cls = SupervisorAgent if kind == "supervisor" else CounselorAgent
        agent = cls(cfg, clk, bus, outbox or MemoryOutbox(), LinkSettings.from_config(cfg, kind))
        made.append((agent, clk))
        if start:
            agent.start()
        return agent, ev

    return make


def _agents_on(broker):
    made: list = []
    yield _agent_maker(broker, made)
    for agent, clk in reversed(made):
        agent.stop()
        clk.stop()


@pytest.fixture
def agents(tls_broker):
    """make(kind, cn, clock=None, outbox=None, **options) → (agent, Recorder); stopped after."""
    yield from _agents_on(tls_broker)


@pytest.fixture
def lazy_broker(tmp_path):
    """A broker that saves its state only when stopped cleanly: a SIGKILL loses everything
    since (production saves every second; this makes "within a second" the whole test)."""
    from tests.support.escalation_broker import TlsBroker

    broker = TlsBroker(tmp_path / "lazy", autosave_interval=3600).start()
    yield broker
    broker.stop()


@pytest.fixture
def lazy_agents(lazy_broker):
    """``agents`` on the lazy broker."""
    yield from _agents_on(lazy_broker)


class App:
    """A process with line output collected on a thread."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        e = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
        e.update(env or {})
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=e,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, pred: Callable[[str], bool], timeout: float = 20.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in list(self.lines):
                if pred(line):
                    return line
            if self.proc.poll() is not None and not any(pred(x) for x in self.lines):
                time.sleep(0.2)
                if not any(pred(x) for x in self.lines):
                    err = self.proc.stderr.read() if self.proc.stderr else ""
                    raise AssertionError(f"process exited {self.proc.returncode}: {err[-3000:]}")
            time.sleep(0.02)
        raise AssertionError(f"line not seen within {timeout}s; got {self.lines[-20:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, 9)
            self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
                self.proc.wait(15)
            except (subprocess.TimeoutExpired, OSError):
                self.kill()
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                f and f.close()
            except OSError:
                pass


@pytest.fixture
def apps():
    made: list[App] = []

    def start(argv: list[str], env: dict[str, str] | None = None) -> App:
        app = App(argv, env)
        made.append(app)
        return app

    yield start
    for app in made:
        app.kill() if app.proc.poll() is None else None
        app.close()


def counselor_home(tmp_path: Path, broker, cn: str, **more: Any) -> Path:
    home = tmp_path / f"home-{cn}"
    (home / "config").mkdir(parents=True, exist_ok=True)
    opts = {
        "storage.unlock_target_ms": 1,
        "security.lock_idle_minutes": 0,
        "storage.auto_purge": False,
    }
    opts.update(more)
    (home / "config" / "faro.toml").write_text(broker.toml(cn, "counselor", **opts))
    return home


def counselor_app(apps, home: Path, *extra: str) -> App:
    return apps([sys.executable, "-m", "tests.support.escalation_apps", str(home), *extra])


def faro_cli(apps, home: Path, *argv: str) -> App:
    return apps([sys.executable, "-m", "console.cli", *argv], env={"FARO_HOME": str(home)})


def cli_home(tmp_path: Path, broker, cn: str, role: str, **more: Any) -> Path:
    """A profile for the ``faro`` command of laptop ``cn`` (its .cli certificate is issued)."""
    home = tmp_path / f"cli-{cn}"
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "faro.toml").write_text(broker.toml(cn, role, **more))
    return home
