"""The caller-flags side panel on the real demo window (FakeClock, a real encrypted store):
flag the caller in progress after a confirmation, the organisation's policy when the same
caller rings again (never the flag's history nor anything translated), the lock."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QScrollArea

from calls.events import IncomingCall
from calls.model import CallState
from console.caller_flags import CallerFlags
from storage.options import POLICY_ABUSIVE
from tests.console.test_counselor_flow import PASSPHRASE, settle, shot
from tests.console.test_lock_and_messages import NUMBER, _window

POLICY = "Pon límites con calma; avisa a tu supervisor."


def _with_flags(qtbot, paths, fake_clock, **extra):
    session, window = _window(qtbot, paths, fake_clock, **extra)
    panel = CallerFlags(session, window.bridge)
    window.add_side_panel(panel)
    window._contact_forms.append(panel)
    return session, window, panel


def _ringing(qtbot, window, fake_clock):
    settle(qtbot, window, CallState.AVAILABLE)
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)


def test_flag_the_caller_then_the_policy_shows_when_they_ring_again(
    qtbot, paths, fake_clock, artifacts_dir
):
    session, window, panel = _with_flags(qtbot, paths, fake_clock, **{POLICY_ABUSIVE.key: POLICY})
    try:
        _ringing(qtbot, window, fake_clock)
        store = session.service("store")
        call = session.calls.call
        assert not panel.banner.isVisible() and panel.flag() is None
        assert panel.flag_abusive.isEnabled() and not panel.remove.isEnabled()
        # a press asks first; Escape cancels and nothing is stored
        qtbot.mouseClick(panel.flag_abusive, Qt.MouseButton.LeftButton)
        assert panel.question.isVisible() and panel.confirm.hasFocus()
        qtbot.keyClick(panel.confirm, Qt.Key.Key_Escape)
        assert not panel.question.isVisible()
        assert store.caller_flag(call.id) is None
        # confirmed from the keyboard: stored, and the banner shows the policy
        panel.flag_abusive.setFocus()
        qtbot.keyClick(panel.flag_abusive, Qt.Key.Key_Space)
        qtbot.keyClick(panel.confirm, Qt.Key.Key_Space)
        assert store.caller_flag(call.id) == "abusive"
        qtbot.waitUntil(panel.banner.isVisible, timeout=2000)
        assert POLICY in panel.banner.text() and NUMBER not in panel.banner.text()
        assert panel.banner.property("role") == "danger"
        assert panel.remove.isEnabled() and not panel.flag_abusive.isEnabled()
        shot(window, artifacts_dir, "flagged-ringing")
        # the same caller rings again on another contact: the banner, never who or when
        again = dataclasses.replace(call, id="second-contact")
        session.bus.publish(IncomingCall(again))
        panel.show_contact(again.id, again)
        assert panel.banner.isVisible() and POLICY in panel.banner.text()
        assert "local" not in panel.banner.text() and "2026" not in panel.banner.text()
        # frequent replaces it, with the English default policy; remove clears it
        panel.ask("frequent")
        panel.confirm.click()
        assert store.caller_flag(call.id) == "frequent"
        assert "frequent" in panel.banner.text() and panel.banner.property("role") == "warning"
        panel.ask("remove")
        panel.confirm.click()
        assert store.caller_flag(again.id) is None and not panel.banner.isVisible()
        # the call ended: no banner, but the buttons still act on the contact in wrap-up
        ended = dataclasses.replace(again, ended_at=fake_clock.now())
        panel.show_contact(ended.id, ended)
        assert not panel.banner.isVisible() and panel.flag_abusive.isEnabled()
        panel.show_contact(None, None)
        assert not any(b.isEnabled() for b in (panel.flag_abusive, panel.flag_frequent))
    finally:
        session.stop()


def test_lock_hides_the_banner_and_unlock_brings_it_back(qtbot, paths, fake_clock):
    session, window, panel = _with_flags(qtbot, paths, fake_clock)
    try:
        _ringing(qtbot, window, fake_clock)
        store = session.service("store")
        store.set_caller_flag(session.calls.call.id, "abusive")
        panel.show_contact(session.calls.call.id, session.calls.call)
        panel._looked_up = None  # the flag was set behind the panel's back: read again
        panel.show_contact(session.calls.call.id, session.calls.call)
        assert panel.banner.isVisible()
        store.lock("user")
        qtbot.waitUntil(lambda: window.locked, timeout=3000)
        assert panel.banner.text() == "" and not panel.flag_abusive.isEnabled()
        store.unlock(PASSPHRASE)
        qtbot.waitUntil(lambda: not window.locked, timeout=5000)
        qtbot.waitUntil(lambda: panel.banner.isVisible(), timeout=3000)
    finally:
        session.stop()


def test_a_withheld_number_is_refused_in_words(qtbot, paths, fake_clock):
    session, window, panel = _with_flags(qtbot, paths, fake_clock)
    try:
        _ringing(qtbot, window, fake_clock)
        from core.privacy import Personal

        hidden = dataclasses.replace(session.calls.call, id="withheld", caller_id=Personal(""))
        session.bus.publish(IncomingCall(hidden))
        panel.show_contact(hidden.id, hidden)
        panel.ask("abusive")
        panel.confirm.click()
        assert "cannot be flagged" in panel.status.text()
        assert panel.status.property("role") == "danger"
    finally:
        session.stop()


def test_every_control_is_named_and_fits_the_side_column(qtbot, paths, fake_clock, language):
    session, window, panel = _with_flags(qtbot, paths, fake_clock)
    try:
        _ringing(qtbot, window, fake_clock)
        panel.ask("abusive")
        qtbot.wait(50)
        for w in panel.findChildren(QAbstractButton) + panel.findChildren(QLabel):
            if w.isVisible() and w is not panel.question and w.text():
                assert w.accessibleName() or isinstance(w, QLabel), w.text()
        for w in panel.findChildren(QAbstractButton):
            assert w.accessibleName(), w.text()
        scroll = window.side_scroll
        assert isinstance(scroll, QScrollArea)
        assert not scroll.horizontalScrollBar().isVisible()
        assert panel.width() <= 340 + 20
    finally:
        session.stop()
