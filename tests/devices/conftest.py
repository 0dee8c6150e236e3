"""Fixtures of the device tests: a simulated box on a real pty, a session wired to it."""

from __future__ import annotations

import threading

import pytest

from app.session import Session
from calls.events import CallStateChanged, CommandRejected, EscalationRequested, MuteChanged
from core.clock import SystemClock
from core.config import Config
from devices import events as ev
from devices.buttonbox.driver import DriverSettings
from devices.buttonbox.simulator import ButtonBoxSimulator
from devices.service import ButtonBoxService
from tests.support.toolkit import Recorder

ALL_EVENTS = (
    ev.ButtonBoxConnected,
    ev.ButtonBoxDisconnected,
    ev.ButtonBoxRejected,
    ev.ButtonPressed,
    ev.LedStateChanged,
    ev.BadFrames,
    CallStateChanged,
    MuteChanged,
    EscalationRequested,
    CommandRejected,
)


def fast_settings(port: str, **kw) -> DriverSettings:
    base = dict(
        port=port,
        heartbeat_s=0.1,
        heartbeat_timeout_s=0.6,
        hello_timeout_s=0.5,
        reconnect_max_s=0.3,
        long_press_ms=400,
        hold_ms=1200,
        led_retry_s=0.1,
    )
    base.update(kw)
    return DriverSettings(**base)


@pytest.fixture
def sim(tmp_path):
    box = ButtonBoxSimulator(tmp_path / "faro-buttonbox").start()
    yield box
    box.stop()


@pytest.fixture
def session(paths):
    """A real session (companion backend: ANSWER starts a call) with a real clock."""
    s = Session(Config.defaults(), paths=paths, clock=SystemClock(), attach=False)
    yield s
    s.stop()


@pytest.fixture
def wired(session):
    """``wired(sim, **settings)`` → (service, recorder): a started buttonbox service on the sim."""
    made: list[ButtonBoxService] = []

    def make(box: ButtonBoxSimulator, **kw):
        rec = Recorder(session.bus, *ALL_EVENTS)
        svc = ButtonBoxService(session, fast_settings(box.path, **kw))
        session.add_service("buttonbox", svc)
        made.append(svc)
        session.start()
        return svc, rec

    yield make
    for svc in made:
        svc.stop()
        assert svc.driver.thread is None or not svc.driver.thread.is_alive()


def buttonbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "faro-buttonbox" and t.is_alive()]
