"""Wrap-up care on the real demo window (FakeClock, a real store): after a high-risk call the
counselor is offered a break and a debrief, without being kept from the next call; going
available near or past the weekly cap says so in the status bar."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from calls.model import Call, CallState
from console.wrap_up_care import (
    attach_wrap_up_care,
    call_seconds_since,
    hours_warning,
    week_start,
)
from core.privacy import Personal
from escalation.levels import DEBRIEF, level_label
from tests.console.test_counselor_flow import settle
from tests.console.test_lock_and_messages import _window


def _cared(qtbot, paths, fake_clock, **extra):
    session, window = _window(qtbot, paths, fake_clock, **extra)
    care = attach_wrap_up_care(window)
    return session, window, care


def _call_through_wrap_up(
    qtbot, window, fake_clock, level: str | None, talk_s: float = 60.0, ring_after: float = 3.0
):
    """Ring (the demo's first call rings after 3 s, its second after 6 s), answer, (save an
    assessment at ``level``), hang up, finish the wrap-up."""
    settle(qtbot, window, CallState.AVAILABLE)
    fake_clock.advance(ring_after)
    settle(qtbot, window, CallState.RINGING)
    qtbot.keyClick(window.notes, Qt.Key.Key_F5)
    settle(qtbot, window, CallState.ON_CALL)
    call = window.session.calls.call
    fake_clock.advance(talk_s)
    if level is not None:
        window.risk_form.saved.emit(call.id, 1, level)  # what the form says once it saved
    qtbot.keyClick(window.notes, Qt.Key.Key_F8)
    settle(qtbot, window, CallState.WRAP_UP)
    window.disposition.setCurrentIndex(window.disposition.findData("support_given"))
    qtbot.keyClick(window.notes, Qt.Key.Key_F9)
    settle(qtbot, window, CallState.AVAILABLE)
    return call


def test_after_a_high_risk_call_enter_takes_a_break(qtbot, paths, fake_clock, artifacts_dir):
    session, window, care = _cared(qtbot, paths, fake_clock)
    try:
        _call_through_wrap_up(qtbot, window, fake_clock, "high")
        prompt = care.prompt
        qtbot.waitUntil(prompt.isVisible, timeout=2000)
        assert not window.wrap_box.isVisible()  # in the wrap-up's place, never both
        assert prompt.take_break.hasFocus()
        for w in (prompt, prompt.take_break, prompt.debrief, prompt.dismiss, prompt.title):
            assert w.accessibleName()
        window.grab().save(str(artifacts_dir / "wrap-up-care.png"))
        qtbot.keyClick(prompt.take_break, Qt.Key.Key_Return)
        settle(qtbot, window, CallState.BREAK)
        assert session.calls.state is CallState.BREAK
        assert not prompt.isVisible()
    finally:
        session.stop()


def test_debrief_goes_to_the_supervisors_at_its_own_level_and_esc_closes(qtbot, paths, fake_clock):
    # a broker configured (on loopback, plain MQTT, nobody there): the outbox keeps it
    broker = {"escalation.broker_host": "127.0.0.1", "escalation.broker_port": 1}
    session, window, care = _cared(qtbot, paths, fake_clock, **broker, **{"escalation.tls": False})
    try:
        call = _call_through_wrap_up(qtbot, window, fake_clock, "imminent")
        prompt = care.prompt
        qtbot.waitUntil(prompt.isVisible, timeout=2000)
        prompt.debrief.setFocus()
        qtbot.keyClick(prompt.debrief, Qt.Key.Key_Enter)
        agent = session.service("escalation").counselor
        (esc,) = agent.escalations.values()
        assert (esc.level, esc.call_id, esc.risk) == (DEBRIEF, call.id, "imminent")
        assert esc.reason == "counselor_wellbeing"
        assert "Debrief requested" in prompt.result.text()
        assert "Debrief requested" in window.message.text()
        assert not prompt.debrief.isEnabled()  # once per call
        assert level_label(DEBRIEF) == "Debrief requested"
        qtbot.keyClick(prompt.take_break, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not prompt.isVisible(), timeout=2000)
        assert session.calls.state is CallState.AVAILABLE  # Esc does not take the break
        # no ladder: long past any T1/T2, nothing re-alerted, no fallback number
        fake_clock.advance(3600)
        assert not esc.realerted and not esc.fallback_due
    finally:
        session.stop()


def test_the_next_call_is_never_kept_waiting_and_low_risk_shows_nothing(qtbot, paths, fake_clock):
    session, window, care = _cared(qtbot, paths, fake_clock)
    try:
        _call_through_wrap_up(qtbot, window, fake_clock, "high")
        qtbot.waitUntil(care.prompt.isVisible, timeout=2000)
        # the next call rings: the prompt goes, the call can be answered at once
        fake_clock.advance(6.0)
        settle(qtbot, window, CallState.RINGING)
        assert not care.prompt.isVisible()
        qtbot.keyClick(window.notes, Qt.Key.Key_F5)
        settle(qtbot, window, CallState.ON_CALL)
        fake_clock.advance(30)
        window.risk_form.saved.emit(session.calls.call.id, 1, "low")
        qtbot.keyClick(window.notes, Qt.Key.Key_F8)
        settle(qtbot, window, CallState.WRAP_UP)
        window.disposition.setCurrentIndex(window.disposition.findData("support_given"))
        qtbot.keyClick(window.notes, Qt.Key.Key_F9)
        settle(qtbot, window, CallState.AVAILABLE)
        assert not care.prompt.isVisible()
    finally:
        session.stop()


def test_going_available_near_and_past_the_weekly_cap_says_so(qtbot, paths, fake_clock):
    # (no idle lock: nobody types during these long calls)
    cfg = {"clinical.weekly_hours_cap": 1.0, "security.lock_idle_minutes": 0}
    session, window, care = _cared(qtbot, paths, fake_clock, **cfg)
    try:
        _call_through_wrap_up(qtbot, window, fake_clock, None, talk_s=55 * 60)  # 92 %
        qtbot.waitUntil(lambda: "close to" in window.message.text(), timeout=2000)
        assert "0.9 h" in window.message.text() and "1 h" in window.message.text()
        assert session.calls.state is CallState.AVAILABLE  # a reminder, nothing refused
        store = session.service("store")
        store.flush()
        hours = sum(store.talk_seconds_since(week_start(fake_clock.now())).values()) / 3600
        assert hours == pytest.approx(55 / 60, abs=0.01)
        _call_through_wrap_up(qtbot, window, fake_clock, None, talk_s=10 * 60, ring_after=6.0)
        qtbot.waitUntil(lambda: "past the" in window.message.text(), timeout=2000)
        assert "1.1 h" in window.message.text()
        assert not care.prompt.isVisible()
    finally:
        session.stop()


def test_no_cap_no_reminder_and_the_thresholds():
    assert hours_warning(500.0, 0.0) is None
    assert hours_warning(17.9, 20.0) is None
    assert "close to" in (hours_warning(18.0, 20.0) or "")
    assert "past the" in (hours_warning(20.0, 20.0) or "")


def test_week_starts_on_monday_and_only_this_week_counts():
    saturday = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
    start = week_start(saturday)
    assert start.weekday() == 0 and (start.hour, start.minute) == (0, 0)
    assert start <= saturday < start + dt.timedelta(days=7)
    call = Call(
        "c1",
        "phone",
        Personal("+52 55 5555 0199"),
        start - dt.timedelta(hours=1),
        0.0,
        answered_at=start - dt.timedelta(minutes=30),
        ended_at=start + dt.timedelta(minutes=15),
    )
    assert call_seconds_since(call, start) == pytest.approx(15 * 60)


def test_without_escalation_set_up_the_counselor_is_told_to_ask_in_person(qtbot, paths, fake_clock):
    session, window, care = _cared(qtbot, paths, fake_clock)
    try:
        _call_through_wrap_up(qtbot, window, fake_clock, "high")
        qtbot.waitUntil(care.prompt.isVisible, timeout=2000)
        care.prompt.debrief.click()
        assert "in person" in care.prompt.result.text()
        assert not session.service("escalation").counselor.escalations  # nothing sent
        assert care.prompt.take_break.hasFocus()  # the break is still on offer
    finally:
        session.stop()
