from __future__ import annotations

import threading

from app.session import Session
from calls.model import CallState
from core.config import Config


class Recorder:
    def __init__(self, log, name):
        self.log, self.name = log, name

    def start(self):
        self.log.append(("start", self.name))

    def stop(self):
        self.log.append(("stop", self.name))


def test_services_start_in_order_and_stop_in_reverse(paths, fake_clock):
    log = []
    s = Session(Config.defaults(), paths=paths, clock=fake_clock, attach=False)
    s.add_service("a", Recorder(log, "a"))
    s.add_service("b", Recorder(log, "b"))
    s.start()
    s.add_service("late", Recorder(log, "late"))  # added after start: started at once
    s.stop()
    assert log == [
        ("start", "a"),
        ("start", "b"),
        ("start", "late"),
        ("stop", "late"),
        ("stop", "b"),
        ("stop", "a"),
    ]
    assert s.service_names[0] == "calls"


def test_stop_is_thread_safe_and_idempotent(paths):
    log = []
    s = Session(Config.defaults(), paths=paths, attach=False)
    s.add_service("a", Recorder(log, "a"))
    s.start()
    threads = [threading.Thread(target=s.stop) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s.stop()
    assert log.count(("stop", "a")) == 1
    assert s.stopped


def test_session_open_reads_profile_config(faro_home, paths):
    paths.config_file.write_text('[calls]\nbackend = "simulated"\n')
    s = Session.open()
    try:
        assert s.config.get("calls.backend") == "simulated"
        assert s.calls.backend.name == "simulated"
        assert s.calls.state is CallState.AVAILABLE
        assert s.log_file.parent.is_dir()
    finally:
        s.stop()
