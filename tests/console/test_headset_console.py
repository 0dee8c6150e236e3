"""The demo's USB headset in the console: its call button answers and hangs up, its mute
button, the keyboard and the screen are one mute with the headset's light agreeing, an
unplug is told at once and the call goes on. Raw HID reports on the simulator's hidraw
node, the real headset driver, the real window."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.session import Session
from calls.model import CallState
from console.commands.demo import demo_overrides
from console.headset_panel import HeadsetPanel
from console.main_window import MainWindow
from core.config import Config
from core.i18n import current_language
from devices.headset.service import HeadsetService
from devices.headset.simulator import HeadsetSimulator
from tests.console.test_counselor_flow import PASSPHRASE, settle, shot
from tests.console.test_layout_languages import _check_fits


def _status(window, key):
    return window.status_area.text_of(key) if hasattr(window.status_area, "text_of") else ""


def test_the_headset_answers_mutes_and_is_missed_when_unplugged(
    qtbot, paths, fake_clock, artifacts_dir, language
):
    headset = HeadsetSimulator(paths.state_dir / "headset", "blackwire").plug()
    overrides = dict(
        demo_overrides("demo"),
        **{
            "storage.unlock_target_ms": 1,
            "ui.language": current_language(),
            "devices.headset.enabled": False,
        },
    )
    session = Session(Config(overrides), paths=paths, clock=fake_clock)
    session.add_service(
        "headset", HeadsetService(session, sysfs_root=headset.sysfs_root, dev_root=headset.dev_root)
    )
    session.service("store").init(PASSPHRASE)
    try:
        window = MainWindow(session)
        panel = HeadsetPanel(headset, window.bridge)
        window.add_side_panel(panel)
        qtbot.addWidget(window)
        window.resize(1024, 600)
        window.show()
        qtbot.waitExposed(window)
        session.start()
        session.service("store").unlock(PASSPHRASE)
        qtbot.waitUntil(lambda: session.service("headset").status == "connected", timeout=5000)
        settle(qtbot, window, CallState.AVAILABLE)
        fake_clock.advance(3.0)  # the demo rings
        settle(qtbot, window, CallState.RINGING)
        qtbot.waitUntil(lambda: headset.leds.get("ring") is True, timeout=3000)  # the ring light
        panel.buttons["hook"].click()  # the headset's call button
        settle(qtbot, window, CallState.ON_CALL)
        qtbot.waitUntil(lambda: headset.leds.get("off_hook") is True, timeout=3000)
        assert headset.leds.get("ring") is False
        # one mute: the headset's button...
        panel.buttons["mute"].click()
        qtbot.waitUntil(lambda: session.calls.muted, timeout=3000)
        qtbot.waitUntil(lambda: window.muted_banner.isVisible(), timeout=3000)
        qtbot.waitUntil(lambda: headset.leds.get("mute") is True, timeout=3000)
        window.side_scroll.ensureWidgetVisible(panel)
        qtbot.waitUntil(lambda: panel.lamps["mute"].property("on") is True, timeout=3000)
        _check_fits(window, (1024, 600))
        shot(window, artifacts_dir, f"headset-muted-{language}")
        # ...and the keyboard: the light follows what goes on the line
        qtbot.keyClick(window.notes, Qt.Key.Key_F7)
        qtbot.waitUntil(lambda: not session.calls.muted, timeout=3000)
        qtbot.waitUntil(lambda: headset.leds.get("mute") is False, timeout=3000)
        # pulled mid-call: told at once, the call goes on, F8 still hangs up
        headset.unplug()
        qtbot.waitUntil(lambda: window.notice.isVisible(), timeout=1000)
        assert session.calls.state is CallState.ON_CALL
        shot(window, artifacts_dir, f"headset-unplugged-{language}")
        headset.plug()  # back: the lights are the call's again
        qtbot.waitUntil(lambda: headset.leds.get("off_hook") is True, timeout=5000)
        panel.buttons["hook"].click()  # the call button again: hang up
        settle(qtbot, window, CallState.WRAP_UP)
    finally:
        session.stop()
        headset.unplug()
