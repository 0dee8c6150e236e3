"""The demo's simulated button box answers the simulated call through the real driver."""

from __future__ import annotations

import pytest

from app.session import Session
from calls.model import CallState
from console.buttonbox_panel import ButtonBoxPanel
from console.commands.demo import demo_overrides
from console.main_window import MainWindow
from console.texts import state_label
from core.config import Config
from devices.buttonbox.simulator import ButtonBoxSimulator


@pytest.fixture
def box(paths):
    sim = ButtonBoxSimulator(paths.state_dir / "faro-buttonbox").start()
    yield sim
    sim.stop()


def test_simulated_box_answers_mutes_and_hangs_up(qtbot, paths, fake_clock, box, artifacts_dir):
    overrides = dict(
        demo_overrides("demo"),
        **{"devices.buttonbox.port": box.path, "storage.unlock_target_ms": 1},
    )
    session = Session(Config(overrides), paths=paths, clock=fake_clock)
    session.service("store").init("una frase larga de prueba")
    window = MainWindow(session)
    panel = ButtonBoxPanel(box)
    window.add_side_panel(panel)
    qtbot.addWidget(window)
    window.show()
    session.start()
    try:
        qtbot.waitUntil(lambda: box.connected, timeout=5000)
        qtbot.waitUntil(
            lambda: window.status_area.chip_text("buttonbox") == "Button box: connected",
            timeout=5000,
        )
        fake_clock.advance(3.0)
        qtbot.waitUntil(
            lambda: dict((n, m) for n, m, _c in box.leds)["answer"] == "blink_fast", timeout=5000
        )
        box.press("answer")
        qtbot.waitUntil(
            lambda: window.state_label.text() == state_label(CallState.ON_CALL), timeout=5000
        )
        assert session.calls.call.answered_at is not None
        box.press("mute")
        qtbot.waitUntil(lambda: window.muted_banner.isVisible(), timeout=5000)
        qtbot.waitUntil(
            lambda: dict((n, (m, c)) for n, m, c in box.leds)["mute"][0] == "on", timeout=5000
        )
        qtbot.waitUntil(
            lambda: panel.lamps["mute"].property("mode") == "on",  # drawn, for
            timeout=5000,
        )  # the screenshot
        window.grab().save(str(artifacts_dir / "answered-from-box-and-muted.png"))
        box.press("hangup")
        qtbot.waitUntil(
            lambda: window.state_label.text() == state_label(CallState.WRAP_UP), timeout=5000
        )
        assert not session.calls.muted
    finally:
        session.stop()


def test_demo_escalation_from_the_box_reaches_the_supervisor_and_lights_the_help_led(
    qtbot, paths, tmp_path, box, artifacts_dir
):
    """The whole demo house: box long-press → MQTT (embedded broker) → supervisor acknowledges
    → the counselor's panel and the box's help LED show it."""
    from console.supervisor_window import open_demo_supervisor
    from escalation import events as ev
    from escalation.broker import start_embedded_broker

    broker = start_embedded_broker(tmp_path / "broker")
    supervisor = None
    session = None
    try:
        overrides = dict(
            demo_overrides("demo"),
            **{
                "devices.buttonbox.port": box.path,
                "storage.unlock_target_ms": 1,
                "calls.backend": "companion",
            },
            **broker.client_overrides("demo-counselor"),
        )
        session = Session(Config(overrides), paths=paths)
        session.service("store").init("una frase larga de prueba")
        window = MainWindow(session)
        qtbot.addWidget(window)
        supervisor = open_demo_supervisor(broker, tmp_path / "supervisor")
        qtbot.addWidget(supervisor.window)
        session.start()
        qtbot.waitUntil(
            lambda: box.connected and session.service("escalation").connected, timeout=15000
        )
        box.press("answer")  # companion mode: the counselor's press starts the call
        qtbot.waitUntil(lambda: session.calls.state is CallState.ON_CALL, timeout=5000)
        box.long_press("help")
        qtbot.waitUntil(lambda: supervisor.window.queue.rowCount() == 1, timeout=15000)
        leds = lambda: {n: (m, c) for n, m, c in box.leds}  # noqa: E731
        qtbot.waitUntil(lambda: leds()["help"][0] == "blink_fast", timeout=5000)
        panel = window.escalation_panel
        eid = panel.current
        assert eid
        qtbot.waitUntil(lambda: panel.step_text(ev.DELIVERED) == "Delivered", timeout=10000)
        supervisor.window.select(eid)
        supervisor.window.ack_button.click()
        qtbot.waitUntil(
            lambda: panel.step_text(ev.ACKNOWLEDGED).startswith("Acknowledged by"), timeout=10000
        )
        qtbot.waitUntil(lambda: leds()["help"][0] == "on", timeout=5000)
        window.grab().save(str(artifacts_dir / "counselor-acknowledged.png"))
        supervisor.window.grab().save(str(artifacts_dir / "supervisor.png"))
    finally:
        if supervisor is not None:
            supervisor.close()
        if session is not None:
            session.stop()
        broker.stop()
