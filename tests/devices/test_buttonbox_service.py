"""The service in a real session: attach with defaults, start without a box, stop cleanly."""

from __future__ import annotations

from pathlib import Path

from app.session import Session
from core.config import Config
from devices.service import attach
from tests.devices.conftest import buttonbox_threads
from tests.support.toolkit import wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_session_with_attach_starts_without_a_box_and_stops(paths, tmp_path):
    config = Config({"devices.buttonbox.port": str(tmp_path / "no-box-here")})
    s = Session(config, paths=paths, attach=False)
    attach(s)
    svc = s.service("buttonbox")
    assert svc is not None and svc.status == "stopped"  # attach opens nothing
    s.start()
    assert wait_until(lambda: "No button box" in svc.message)
    assert svc.status == "searching"
    assert len(buttonbox_threads()) == 1
    s.stop()
    assert buttonbox_threads() == []


def test_disabled_box_adds_no_service(paths):
    s = Session(Config({"devices.buttonbox.enabled": False}), paths=paths, attach=False)
    attach(s)
    assert s.service("buttonbox") is None


def test_bad_bindings_are_reported_and_the_rest_works(paths):
    config = Config(
        {
            "devices.buttonbox.actions": {"help:press": "escalate", "answer:press": "answer"},
            "devices.buttonbox.leds": {"ringing": "answer=disco"},
        }
    )
    s = Session(config, paths=paths, attach=False)
    attach(s)
    svc = s.service("buttonbox")
    assert any("escalate needs a long press" in p for p in svc.problems)
    assert any("ringing" in p for p in svc.problems)
    assert svc.gestures.action("answer", "press") is not None
    s.stop()


def test_udev_rule_is_the_same_in_firmware_and_packaging():
    a = (ROOT / "devices/firmware/99-faro-buttonbox.rules").read_text()
    b = (ROOT / "packaging/udev/99-faro-buttonbox.rules").read_text()
    assert a == b and 'ATTRS{idVendor}=="2e8a"' in a and "faro-buttonbox" in a


def test_firmware_main_keeps_hardware_out_of_the_logic():
    logic = (ROOT / "devices/firmware/pico/boxlogic.py").read_text()
    assert "import machine" not in logic and "import time" not in logic
    main = (ROOT / "devices/firmware/pico/main.py").read_text()
    assert "from boxlogic import BoxLogic" in main
