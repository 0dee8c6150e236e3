"""The demo's simulated button box answers the simulated call through the real driver."""
from __future__ import annotations

import pytest

from calls.model import CallState
from console.buttonbox_panel import ButtonBoxPanel
from console.commands.demo import demo_overrides
from console.main_window import MainWindow
from console.texts import state_label
from core.config import Config
from core.session import Session
from devices.buttonbox.simulator import ButtonBoxSimulator


@pytest.fixture
def box(paths):
    sim = ButtonBoxSimulator(paths.state_dir / "faro-buttonbox").start()
    yield sim
    sim.stop()


def test_simulated_box_answers_mutes_and_hangs_up(qtbot, paths, fake_clock, box, artifacts_dir):
    overrides = dict(demo_overrides("demo"), **{"devices.buttonbox.port": box.path,
                                                "storage.unlock_target_ms": 1})
    session = Session(Config(overrides), paths=paths, clock=fake_clock)
    session.service("store").init("una frase larga de prueba")
    window = MainWindow(session)
    window.add_side_panel(ButtonBoxPanel(box))
    qtbot.addWidget(window)
    window.show()
    session.start()
    try:
        qtbot.waitUntil(lambda: box.connected, timeout=5000)
        qtbot.waitUntil(lambda: window.status_area.chip_text("buttonbox") == "Button box: connected",
                        timeout=5000)
        fake_clock.advance(3.0)
        qtbot.waitUntil(lambda: dict((n, m) for n, m, _c in box.leds)["answer"] == "blink_fast",
                        timeout=5000)
        box.press("answer")
        qtbot.waitUntil(lambda: window.state_label.text() == state_label(CallState.ON_CALL),
                        timeout=5000)
        assert session.calls.call.answered_at is not None
        box.press("mute")
        qtbot.waitUntil(lambda: window.muted_banner.isVisible(), timeout=5000)
        qtbot.waitUntil(lambda: dict((n, (m, c)) for n, m, c in box.leds)["mute"][0] == "on",
                        timeout=5000)
        qtbot.wait(120)  # two refreshes of the panel's 50 ms timer, for the screenshot
        window.grab().save(str(artifacts_dir / "answered-from-box-and-muted.png"))
        box.press("hangup")
        qtbot.waitUntil(lambda: window.state_label.text() == state_label(CallState.WRAP_UP),
                        timeout=5000)
        assert not session.calls.muted
    finally:
        session.stop()
