"""The demo panel drives the simulated box over the pty and shows the LEDs the driver set."""

from __future__ import annotations

from calls.model import CallState
from devices import events as ev


def test_panel_click_answers_and_long_press_escalates(qtbot, sim, wired, session, artifacts_dir):
    from PySide6.QtCore import Qt

    from calls.events import EscalationRequested
    from console.buttonbox_panel import ButtonBoxPanel

    svc, rec = wired(sim)
    assert rec.wait_count(ev.ButtonBoxConnected, 1)
    panel = ButtonBoxPanel(sim)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: "Connected" in panel.status.text(), timeout=3000)
    qtbot.mouseClick(panel.buttons["answer"], Qt.LeftButton)
    qtbot.waitUntil(lambda: session.calls.state is CallState.ON_CALL, timeout=3000)
    qtbot.waitUntil(lambda: panel.lamps["answer"].property("mode") == "on", timeout=3000)
    assert "#00c800" in panel.lamps["answer"].styleSheet()
    qtbot.mousePress(panel.buttons["help"], Qt.LeftButton)
    qtbot.wait(int(svc.driver.settings.long_press_ms + 250))
    qtbot.mouseRelease(panel.buttons["help"], Qt.LeftButton)
    assert rec.wait_count(EscalationRequested, 1, 3)
    panel.grab().save(str(artifacts_dir / "buttonbox_panel.png"))
    sim.unplug()
    qtbot.waitUntil(lambda: "Not connected" in panel.status.text(), timeout=3000)
    panel.close()


def test_panel_says_what_a_press_did_or_why_it_did_nothing(qtbot, sim, wired, session):
    """Given the window's event bridge, the panel tells the last press's outcome: the action,
    the machine's refusal, or a gesture bound to nothing."""
    from PySide6.QtCore import Qt

    from console.bridge import EventBridge
    from console.buttonbox_panel import ButtonBoxPanel

    svc, rec = wired(sim)
    assert rec.wait_count(ev.ButtonBoxConnected, 1)
    bridge = EventBridge(session.bus)
    panel = ButtonBoxPanel(sim, bridge)
    qtbot.addWidget(panel)
    feedback = panel.feedback
    qtbot.mouseClick(panel.buttons["hangup"], Qt.LeftButton)  # nothing to hang up
    qtbot.waitUntil(lambda: feedback.text() == "There is no call to hang up.", timeout=3000)
    assert feedback.property("outcome") == "refused"
    qtbot.mouseClick(panel.buttons["help"], Qt.LeftButton)  # a tap on Help
    qtbot.waitUntil(lambda: "hold it" in feedback.text(), timeout=3000)
    assert feedback.property("outcome") == "needs_long_press"
    qtbot.mouseClick(panel.buttons["answer"], Qt.LeftButton)  # companion: starts a call
    qtbot.waitUntil(lambda: feedback.property("outcome") == "done", timeout=3000)
    assert feedback.text() == "Answer: answer"
    assert session.calls.state is CallState.ON_CALL
    bridge.close()


def test_panel_press_and_hold_on_help_is_one_urgent_escalation(qtbot, sim, wired, session):
    """Held with the mouse, Help goes through the simulator's real protocol: the lamp changes
    at the long press and again at the hold, and the hold is an urgent escalation only."""
    from PySide6.QtCore import Qt

    from calls.events import EscalationRequested
    from console.bridge import EventBridge
    from console.buttonbox_panel import ButtonBoxPanel

    svc, rec = wired(sim)  # long press 400 ms, hold 1200 ms
    assert rec.wait_count(ev.ButtonBoxConnected, 1)
    bridge = EventBridge(session.bus)
    panel = ButtonBoxPanel(sim, bridge)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.mouseClick(panel.buttons["answer"], Qt.LeftButton)
    qtbot.waitUntil(lambda: session.calls.state is CallState.ON_CALL, timeout=3000)
    lamp = panel.lamps["help"]
    qtbot.mousePress(panel.buttons["help"], Qt.LeftButton)
    qtbot.waitUntil(lambda: lamp.property("mode") == "on", timeout=3000)  # a long press now
    assert "#ffa000" in lamp.styleSheet() and rec.of(EscalationRequested) == []
    qtbot.waitUntil(lambda: lamp.property("mode") == "blink_fast", timeout=4000)  # the hold
    qtbot.waitUntil(lambda: len(rec.of(EscalationRequested)) == 1, timeout=3000)
    qtbot.mouseRelease(panel.buttons["help"], Qt.LeftButton)
    qtbot.waitUntil(lambda: lamp.property("mode") == "off", timeout=3000)
    assert [e.level for e in rec.of(EscalationRequested)] == ["urgent"]
    qtbot.waitUntil(lambda: "Urgent: imminent risk" in panel.feedback.text(), timeout=3000)
    assert panel.feedback.text() == "Help: escalate (Urgent: imminent risk)"
    bridge.close()
    panel.close()
