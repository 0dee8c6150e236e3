"""The supervisor window without a broker: the board fed by hand, time from a FakeClock.

The alert detail pane (codes and times in words, never the caller's number or a note), the
coverage line (a grace period for presence after connecting; counselors on a call count as
staffed), keyboard use and accessible names, and the fit on a 1024x600 laptop, with a
screenshot in test-artifacts/ for people to look at.
"""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
)

from app.session import Session
from console import theme
from console.supervisor_window import SupervisorWindow
from core import i18n
from core.config import Config
from core.paths import Paths
from core.status import Level, StatusReport
from escalation import messages as m
from escalation import statuses
from escalation.board import Board
from tests.console.test_layout_languages import _check_fits

CALLER_NUMBER = "+52 55 1234 5678"
WHISPER = "Ask about the means, stay with them"


def _window(qtbot, tmp_path, clock, **overrides) -> tuple[Session, SupervisorWindow]:
    cfg = Config.defaults().with_overrides(
        {
            "escalation.role": "supervisor",
            "escalation.coverage_minimum": 1,
            "escalation.alert_sound": False,
            "calls.backend": "companion",
            **overrides,
        }
    )
    session = Session(cfg, paths=Paths.under(tmp_path / "sup"), clock=clock, attach=False)
    from escalation.service import attach

    attach(session)
    window = SupervisorWindow(session)
    qtbot.addWidget(window)
    return session, window


def _board(window: SupervisorWindow) -> Board:
    assert window.agent is not None
    return window.agent.board


def _connected(window: SupervisorWindow) -> None:
    window.bridge.dispatch(StatusReport("broker", Level.OK, "Broker: connected"))


def _presence(window: SupervisorWindow, clock, counselor: str, status: str) -> None:
    call_s = 120.0 if status == statuses.ON_CALL else None
    _board(window).presence(
        m.Presence(counselor, status, clock.now(), call_s, id=m.new_id()), live=False
    )


def _alert(
    window: SupervisorWindow,
    clock,
    esc: str,
    level: str,
    reason: str,
    *,
    counselor: str = "c-alba",
    risk: str = "unknown",
    call_s: float = 300.0,
    ago_s: float = 90.0,
    realert: bool = False,
) -> None:
    raised = clock.now() - dt.timedelta(seconds=ago_s)
    _board(window).alert(
        m.Alert(
            m.new_id(), esc, counselor, CALLER_NUMBER, level, reason, call_s, risk, raised, realert
        )
    )


def _two_alerts(window: SupervisorWindow, clock) -> None:
    _alert(window, clock, "esc-consult", "consult", "consult", risk="high", ago_s=200.0)
    _alert(window, clock, "esc-urgent", "urgent", "imminent_risk", counselor="c-beto")
    _board(window).whispered("esc-urgent", "out", "sup-ana", WHISPER, clock.now())
    window.refresh()


def test_the_detail_pane_shows_the_first_waiting_alert_in_words(qtbot, tmp_path, fake_clock):
    session, window = _window(qtbot, tmp_path, fake_clock)
    assert "No open alerts." in window.detail_text()
    _two_alerts(window, fake_clock)
    assert window.selected_id() is None
    d = {k: label.text() for k, label in window.detail.items()}
    assert window.detail_header.text().startswith("First waiting alert")
    assert d["level"] == "⚠ Urgent: imminent risk"  # the words say it, not only the colour
    assert window.detail["level"].font().bold()
    assert d["reason"] == "Imminent risk"
    assert d["risk"] == "Not assessed yet"  # never the bare code "unknown"
    assert d["counselor"] == "c-beto"
    assert d["call"] == "05:00"
    assert d["waiting"] == "01:30 ago"
    assert d["ack"] == "Not yet"
    assert d["ladder"] == "First alert (not re-alerted)"
    fake_clock.advance(15.0)
    window.refresh()
    assert window.detail["waiting"].text() == "01:45 ago"  # it ticks
    # the queue says the risk in words too
    assert window.queue.item(0, 3).text() == "Not assessed yet"
    # privacy: codes and times only
    text = window.detail_text()
    assert CALLER_NUMBER not in text and "5678" not in text
    assert WHISPER not in text and "means" not in text
    window.close()
    session.stop()


def test_the_detail_pane_follows_the_selection_acknowledgement_and_re_alert(
    qtbot, tmp_path, fake_clock
):
    session, window = _window(qtbot, tmp_path, fake_clock)
    _two_alerts(window, fake_clock)
    window.select("esc-consult")
    window.refresh()
    d = {k: label.text() for k, label in window.detail.items()}
    assert window.detail_header.text() == "Selected alert"
    assert d["level"] == "Consultation" and not window.detail["level"].font().bold()
    assert d["reason"] == "Consultation"
    assert d["risk"] == "High"  # an alert that carries an assessed level says it
    assert d["counselor"] == "c-alba"
    assert d["waiting"] == "03:20 ago"
    # re-alerted (T1 passed), then acknowledged by another supervisor
    _alert(window, fake_clock, "esc-consult", "consult", "consult", realert=True)
    fake_clock.advance(5.0)
    _board(window).acknowledged("esc-consult", "sup-ben")
    window.refresh()
    assert window.detail["ladder"].text() == "Re-alerted: every supervisor and the backup group"
    ack = window.detail["ack"].text()
    assert ack.startswith("sup-ben at ") and ack == "sup-ben at " + i18n.format_time(
        fake_clock.now()
    )
    text = window.detail_text()
    assert CALLER_NUMBER not in text and WHISPER not in text
    window.close()
    session.stop()


def test_coverage_waits_for_presence_then_counts_counselors_on_a_call(qtbot, tmp_path, fake_clock):
    session, window = _window(qtbot, tmp_path, fake_clock)
    grace = window.presence_grace_s
    assert grace == pytest.approx(10.0)  # the longest reconnection back-off + the Will's grace
    assert "not connected" in window.coverage.text()
    assert window.coverage.property("role") == "dim" and not window.coverage_alarm
    _connected(window)
    # at start nobody's presence has arrived yet: no false "0 available"
    window.refresh()
    assert window.coverage.text() == "Waiting for counselors' presence…"
    assert window.coverage.property("role") == "dim" and not window.coverage_alarm
    _presence(window, fake_clock, "c-alba", statuses.ON_CALL)
    fake_clock.advance(grace - 1.0)
    window.refresh()
    assert window.coverage.text() == "Waiting for counselors' presence…"
    fake_clock.advance(2.0)
    window.refresh()
    # one counselor on a call, minimum 1: working, not missing — not red
    assert window.coverage.text() == "Coverage: 1 on a call · 0 available (minimum 1)"
    assert window.coverage.property("role") == "ok" and not window.coverage_alarm
    # below the minimum: red, and the words say so
    _presence(window, fake_clock, "c-alba", statuses.BREAK)
    window.refresh()
    assert window.coverage_alarm and window.coverage.property("role") == "danger"
    assert window.coverage.text() == (
        "⚠ Coverage below minimum: 0 on a call · 0 available (minimum 1)"
    )
    assert window.coverage.accessibleName() == window.coverage.text()
    # a reconnection gives presence its grace again
    window.bridge.dispatch(StatusReport("broker", Level.WARNING, "Broker: not connected"))
    _connected(window)
    window.refresh()
    assert window.coverage.text() == "Waiting for counselors' presence…"
    assert not window.coverage_alarm
    window.close()
    session.stop()


def test_coverage_counts_both_figures_against_a_higher_minimum(qtbot, tmp_path, fake_clock):
    session, window = _window(qtbot, tmp_path, fake_clock, **{"escalation.coverage_minimum": 3})
    _connected(window)
    _presence(window, fake_clock, "c-alba", statuses.ON_CALL)
    _presence(window, fake_clock, "c-beto", statuses.AVAILABLE)
    _presence(window, fake_clock, "c-caro", statuses.WRAP_UP)
    fake_clock.advance(window.presence_grace_s + 1)
    window.refresh()
    assert window.coverage_alarm
    assert "1 on a call · 1 available (minimum 3)" in window.coverage.text()
    _presence(window, fake_clock, "c-caro", statuses.AVAILABLE)
    window.refresh()
    assert not window.coverage_alarm
    assert window.coverage.text() == "Coverage: 1 on a call · 2 available (minimum 3)"
    window.close()
    session.stop()


def test_every_control_is_named_and_the_keyboard_reaches_them_in_order(qtbot, tmp_path, fake_clock):
    session, window = _window(qtbot, tmp_path, fake_clock)
    _two_alerts(window, fake_clock)
    window.show()
    qtbot.waitExposed(window)
    controls = [
        w
        for kind in (QPushButton, QLineEdit, QTableWidget, QListWidget)
        for w in window.findChildren(kind)
    ]
    assert controls
    for w in controls:
        assert w.accessibleName(), (type(w).__name__, w.objectName())
    for label in window.detail.values():
        assert label.accessibleName()
    # queue → Acknowledge → Resolve → whisper field → Send
    order = [window.queue]
    while len(order) < 5:
        nxt = order[-1].nextInFocusChain()
        while nxt.focusPolicy() == Qt.FocusPolicy.NoFocus or nxt.window() is not window:
            nxt = nxt.nextInFocusChain()
        order.append(nxt)
    assert order == [
        window.queue,
        window.ack_button,
        window.resolve_button,
        window.whisper_edit,
        window.send_button,
    ]
    # keyboard only, nothing selected: Space on Acknowledge takes the first waiting alert
    window.ack_button.setFocus()
    qtbot.keyClick(window.ack_button, Qt.Key.Key_Space)
    assert window.agent.alert("esc-urgent").by is not None
    assert window.agent.alert("esc-consult").by is None
    window.close()
    session.stop()


@pytest.fixture
def themed():
    """The light theme, as the app applies it; the application's look restored after."""
    app = QApplication.instance()
    before = (app.style().name(), app.palette(), app.font(), app.styleSheet())
    theme.apply_theme(app, "light")
    yield
    style, palette, font, sheet = before
    app.setStyleSheet(sheet)
    app.setStyle(style)
    app.setPalette(palette)
    app.setFont(font)


def test_the_window_fits_1024x600_with_an_urgent_and_a_consultation_alert(
    qtbot, tmp_path, fake_clock, themed, language, artifacts_dir
):
    session, window = _window(
        qtbot,
        tmp_path,
        fake_clock,
        **{"escalation.coverage_minimum": 2, "ui.language": language},
    )
    _connected(window)
    _presence(window, fake_clock, "c-alba", statuses.ON_CALL)
    _presence(window, fake_clock, "c-beto", statuses.ON_CALL)
    _presence(window, fake_clock, "c-caro", statuses.AVAILABLE)
    _two_alerts(window, fake_clock)
    _board(window).ring(m.Ring(m.new_id(), "c-caro", "abandoned", 14.0, fake_clock.now()))
    fake_clock.advance(window.presence_grace_s + 1)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    window.refresh()
    _check_fits(window, (1024, 600))  # nothing clipped, no sideways scrolling
    # the urgent row reads as urgent in words and in bold, whatever the colours
    assert window.queue.item(0, 0).text().startswith("⚠ ")
    assert window.queue.item(0, 0).font().bold()
    path = artifacts_dir / f"supervisor-{language}-1024x600.png"
    assert window.grab().save(str(path))
    window.close()
    session.stop()
