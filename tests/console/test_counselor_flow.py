"""The demo flow through the real window: ring, answer by keyboard, hold, mute, end, wrap up.

Time is a FakeClock, so the scripted call rings when the test says so. A screenshot of each
state is saved under test-artifacts/ for people to look at.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.session import Session
from calls.model import Action, CallState
from console.commands.demo import demo_overrides
from console.main_window import MainWindow
from core.config import Config

PASSPHRASE = "una frase larga de prueba"


@pytest.fixture
def demo_window(qtbot, paths, fake_clock):
    overrides = dict(demo_overrides("demo"), **{"storage.unlock_target_ms": 1})
    session = Session(Config(overrides), paths=paths, clock=fake_clock)
    session.service("store").init(PASSPHRASE)  # leaves the store unlocked
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.resize(1100, 700)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    session.start()
    yield session, window
    session.stop()


def settle(qtbot, window, state):
    qtbot.waitUntil(lambda: window.state_label.text() == window_state_text(state), timeout=3000)


def window_state_text(state):
    from console.texts import state_label

    return state_label(state)


def shot(window, artifacts_dir, name):
    path = artifacts_dir / f"{name}.png"
    assert window.grab().save(str(path))
    assert path.stat().st_size > 1000


def test_demo_call_flow_by_keyboard(qtbot, demo_window, fake_clock, artifacts_dir):
    session, window = demo_window
    settle(qtbot, window, CallState.AVAILABLE)
    shot(window, artifacts_dir, "1-available")

    fake_clock.advance(3.0)  # the demo scenario rings 3 s after the counselor is available
    settle(qtbot, window, CallState.RINGING)
    assert window.caller_label.text() == "+52 55 5555 0101"
    assert window.buttons[Action.ANSWER].isEnabled()
    shot(window, artifacts_dir, "2-ringing")

    qtbot.keyClick(window.notes, Qt.Key.Key_F5)  # answer from the keyboard, focus in the notes
    settle(qtbot, window, CallState.ON_CALL)
    assert session.calls.state is CallState.ON_CALL
    fake_clock.advance(65)
    qtbot.waitUntil(lambda: window.timer_label.text() == "01:05", timeout=2000)
    qtbot.keyClicks(window.notes, "Caller safe at home; agreed to call back.")
    shot(window, artifacts_dir, "3-on-call")

    qtbot.keyClick(window.notes, Qt.Key.Key_F6)
    settle(qtbot, window, CallState.ON_HOLD)
    shot(window, artifacts_dir, "4-on-hold")
    qtbot.keyClick(window.notes, Qt.Key.Key_F6)
    settle(qtbot, window, CallState.ON_CALL)

    qtbot.keyClick(window.notes, Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: window.muted_banner.isVisible(), timeout=2000)
    assert session.calls.muted
    assert "muted" in window.status_area.availability.text()  # the top pill says it too
    shot(window, artifacts_dir, "5-muted")
    qtbot.keyClick(window.notes, Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: not window.muted_banner.isVisible(), timeout=2000)
    assert "muted" not in window.status_area.availability.text()

    qtbot.keyClick(window.notes, Qt.Key.Key_F8)
    settle(qtbot, window, CallState.WRAP_UP)
    assert window.wrap_box.isVisible()
    # finishing without a disposition is refused, with a message, and nothing changes
    qtbot.keyClick(window.notes, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: "disposition" in window.message.text(), timeout=2000)
    assert session.calls.state is CallState.WRAP_UP
    window.disposition.setCurrentIndex(window.disposition.findData("support_given"))
    shot(window, artifacts_dir, "6-wrap-up")
    qtbot.keyClick(window.notes, Qt.Key.Key_F9)
    settle(qtbot, window, CallState.AVAILABLE)
    assert window.history.count() == 1
    assert window.notes.toPlainText() == ""  # the next call starts with empty notes
    shot(window, artifacts_dir, "7-available-again")

    call = session.calls.history[-1]
    store = session.service("store")
    store.flush()
    assert store.notes(call.id).text == "Caller safe at home; agreed to call back."
    assert store.contact(call.id)["disposition"] == "support_given"
    assert call.disposition == "support_given"
    assert call.talk_seconds(0) == pytest.approx(65)
    assert [a for a, _ in session.calls.backend.actions] == [
        "answer",
        "hold",
        "resume",
        "mute",
        "unmute",
        "hangup",
    ]


def test_buttons_follow_the_state(qtbot, demo_window, fake_clock):
    session, window = demo_window
    settle(qtbot, window, CallState.AVAILABLE)
    assert not window.buttons[Action.ANSWER].isEnabled()
    assert not window.buttons[Action.HANG_UP].isEnabled()
    assert not window.buttons[Action.ESCALATE].isEnabled()
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)
    assert window.buttons[Action.ANSWER].isEnabled()
    assert not window.buttons[Action.HANG_UP].isEnabled()  # a crisis call is not declined
    qtbot.mouseClick(window.buttons[Action.ANSWER], Qt.MouseButton.LeftButton)
    settle(qtbot, window, CallState.ON_CALL)
    assert window.buttons[Action.ESCALATE].isEnabled()
    assert window.buttons[Action.HANG_UP].isEnabled()


def test_missed_call_appears_in_history(qtbot, demo_window, fake_clock):
    session, window = demo_window
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)
    fake_clock.advance(30.0)  # default ring timeout
    settle(qtbot, window, CallState.AVAILABLE)
    qtbot.waitUntil(lambda: window.history.count() == 1, timeout=2000)
    assert "unanswered" in window.history.item(0).text()
    assert "Missed call" in window.message.text()


def test_keyboard_escalation_publishes_request(qtbot, demo_window, fake_clock):
    from calls.events import EscalationRequested

    session, window = demo_window
    seen = []
    session.bus.subscribe(EscalationRequested, seen.append)
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)
    qtbot.keyClick(window.notes, Qt.Key.Key_F5)
    settle(qtbot, window, CallState.ON_CALL)
    qtbot.keyClick(
        window.notes,
        Qt.Key.Key_E,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=2000)
    assert seen[0].call_id == session.calls.call.id
    assert seen[0].level == "consult"


def test_the_window_renders_from_the_event_it_was_given(qtbot, paths, fake_clock):
    """Fed a CallStateChanged the machine never produced, the window draws that event: the
    call, muted, and whether Answer works while available come from it, not the machine."""
    import datetime as dt

    from calls import events as cev
    from calls.model import Call, Source
    from core.privacy import Personal

    session = Session(
        Config({"calls.backend": "simulated"}), paths=paths, clock=fake_clock, attach=False
    )
    window = MainWindow(session)
    qtbot.addWidget(window)
    assert session.calls.state is CallState.AVAILABLE and session.calls.call is None
    fake_clock.advance(100)
    call = Call(
        "c1",
        "phone",
        Personal("555 0199"),
        dt.datetime.now(dt.UTC),
        fake_clock.monotonic() - 70,
        answered_mono=fake_clock.monotonic() - 65,
    )
    window.bridge.dispatch(
        cev.CallStateChanged(CallState.RINGING, CallState.ON_CALL, call, True, Source.UI, False)
    )
    assert window.state_label.text() == window_state_text(CallState.ON_CALL)
    assert window.caller_label.text() == "555 0199"
    assert not window.muted_banner.isHidden()
    assert window.timer_label.text() == "01:05"
    assert window.buttons[Action.HANG_UP].isEnabled()
    window.bridge.dispatch(
        cev.CallStateChanged(CallState.WRAP_UP, CallState.AVAILABLE, None, False, Source.UI, True)
    )
    assert window.caller_label.text() == "" and window.muted_banner.isHidden()
    assert window.buttons[Action.ANSWER].isEnabled()  # the backend follows the counselor
    assert session.calls.state is CallState.AVAILABLE  # the machine was never asked


def test_the_break_button_is_ui_and_the_break_key_is_keyboard(qtbot, demo_window):
    from calls.events import CallStateChanged
    from calls.model import Source

    session, window = demo_window
    seen = []
    session.bus.subscribe(CallStateChanged, seen.append)
    settle(qtbot, window, CallState.AVAILABLE)
    qtbot.mouseClick(window.buttons[Action.START_BREAK], Qt.MouseButton.LeftButton)
    settle(qtbot, window, CallState.BREAK)
    qtbot.keyClick(window.notes, Qt.Key.Key_F10)
    settle(qtbot, window, CallState.AVAILABLE)
    assert [(e.state, e.source) for e in seen] == [
        (CallState.BREAK, Source.UI),
        (CallState.AVAILABLE, Source.KEYBOARD),
    ]


def test_a_counselor_on_a_call_is_not_idle(qtbot, demo_window, fake_clock):
    """The idle lock never closes the notes during a call (core/activity.py), though the
    counselor touches nothing; once the call is over, idle time counts again."""
    session, window = demo_window
    store = session.service("store")
    idle_s = session.config.get("security.lock_idle_minutes") * 60
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)
    qtbot.keyClick(window.notes, Qt.Key.Key_F5)
    settle(qtbot, window, CallState.ON_CALL)
    for _ in range(4 * int(idle_s) // 30):  # four idle periods listening, the UI timer on
        fake_clock.advance(30)
        window._tick()
    assert not store.is_locked
    session.calls.do(Action.HANG_UP)
    settle(qtbot, window, CallState.WRAP_UP)
    for _ in range(int(idle_s) // 30 + 2):  # wrap-up with no input: idle
        fake_clock.advance(30)
        window._tick()
    qtbot.waitUntil(lambda: store.is_locked, timeout=2000)


def test_urgent_escalation_has_its_own_chord_and_button(qtbot, demo_window, fake_clock):
    from calls import events as cev
    from tests.support.toolkit import Recorder

    session, window = demo_window
    rec = Recorder(session.bus, cev.EscalationRequested)
    settle(qtbot, window, CallState.AVAILABLE)
    assert not window.urgent_button.isEnabled()
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)
    qtbot.keyClick(window.notes, Qt.Key.Key_F5)
    settle(qtbot, window, CallState.ON_CALL)
    assert window.urgent_button.isEnabled() and "Ctrl+Shift+U" in window.urgent_button.text()
    qtbot.keyClick(
        window.notes,
        Qt.Key.Key_U,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: len(rec.events) == 1, timeout=2000)
    assert rec.events[0].level == "urgent"
    qtbot.keyClick(
        window.notes,
        Qt.Key.Key_E,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: len(rec.events) == 2, timeout=2000)
    assert rec.events[1].level == "consult"  # the one-press default
    window.urgent_button.click()
    qtbot.waitUntil(lambda: len(rec.events) == 3, timeout=2000)
    assert rec.events[2].level == "urgent"


def test_ringing_is_a_banner_and_f1_lists_every_key(qtbot, demo_window, fake_clock, artifacts_dir):
    session, window = demo_window
    settle(qtbot, window, CallState.AVAILABLE)
    assert not window.ring_banner.isVisible()
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)
    assert window.ring_banner.isVisible() and "F5" in window.ring_banner.text()
    qtbot.keyClick(window.notes, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: getattr(window, "help", None) is not None and window.help.isVisible())
    keys = [k for k, _t in window.help.rows]
    for key in (
        "F5",
        "F6",
        "F7",
        "F8",
        "Ctrl+Shift+E",
        "Ctrl+Shift+U",
        "F9",
        "F10",
        "Ctrl+N",
        "Ctrl+L",
        "F1",
    ):
        assert key in keys, key
    window.help.grab().save(str(artifacts_dir / "help.png"))
    qtbot.keyClick(window.help, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.help.isVisible())
    qtbot.waitUntil(lambda: window.notes.hasFocus(), timeout=2000)
    qtbot.keyClick(window.notes, Qt.Key.Key_F5)
    settle(qtbot, window, CallState.ON_CALL)
    assert not window.ring_banner.isVisible()
