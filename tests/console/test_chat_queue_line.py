"""The chat line's queue on the supervisor's board: hidden until a router speaks, the waiting
count and the oldest wait in words, and in danger colours with a sound when a chat waited past
the alert with nobody accepting it; the chats' service level beside the whole figure."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtWidgets import QLabel

from console.supervisor_window import chat_queue_text
from escalation import events as ev
from escalation import messages as m
from escalation.chat_queue import WaitingChat
from tests.console.test_supervisor_window import _connected, _window, themed  # noqa: F401


def test_the_words_of_the_queue():
    now = dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC)
    assert chat_queue_text(0, 2, None, [], now) == ("Chats: 2 open", None)
    text, role = chat_queue_text(3, 1, 75.0, [], now)
    assert text == "Chats: 3 waiting (oldest 01:15) · 1 open" and role == "warning"
    late = WaitingChat("chat-router", "chat-aaaa1111", 120.0, 4, now - dt.timedelta(seconds=10))
    text, role = chat_queue_text(1, 0, 130.0, [late], now)
    assert role == "danger" and text.startswith("⚠ 1 chat has waited 02:10")


def _heard_queue(window, clock, *, waiting: int, open_chats: int, oldest_s: float):
    """The router's retained queue and one chat nobody accepted (waited 02:05), as heard."""
    q = window.agent.chat_queue
    queue = m.ChatQueue("q1", "chat-router", waiting, open_chats, oldest_s, clock.now())
    q.on_message("chat-router", "chatq", None, m.encode(queue))
    alert = m.ChatAlert("a1", "chat-router", "chat-aaaa1111", 125.0, 3, clock.now())
    q.on_message("chat-router", "chatalert", "chat-aaaa1111", m.encode(alert))
    window.bridge.dispatch(ev.ChatQueueChanged(waiting, open_chats, 1, new_alert=True))
    return q


def test_the_board_shows_the_queue_and_sounds_a_chat_nobody_accepted(qtbot, tmp_path, fake_clock):
    session, window = _window(qtbot, tmp_path, fake_clock)
    _connected(window)
    window.refresh()
    assert not window.chat_queue.isVisibleTo(window)  # no chat line here yet
    q = _heard_queue(window, fake_clock, waiting=2, open_chats=1, oldest_s=30.0)
    assert window.chat_queue.isVisibleTo(window)
    assert window.chat_queue.text().startswith("⚠ 1 chat has waited 02:05")
    assert window.chat_queue.property("role") == "danger"
    assert "A chat is waiting and nobody has accepted it" in window.notifications
    q.on_message("chat-router", "chatalert", "chat-aaaa1111", b"")  # answered: cleared
    window.bridge.dispatch(ev.ChatQueueChanged(2, 1, 0))
    assert window.chat_queue.text().startswith("Chats: 2 waiting")
    session.stop()


@pytest.mark.usefixtures("themed")
def test_the_board_with_the_chat_line_and_a_counselor_in_a_chat_fits_1024x600(
    qtbot, tmp_path, fake_clock, language, artifacts_dir
):
    from escalation import statuses
    from tests.console.test_layout_languages import _check_fits

    session, window = _window(
        qtbot, tmp_path, fake_clock, **{"escalation.coverage_minimum": 2, "ui.language": language}
    )
    _connected(window)
    board = window.agent.board
    for c, status, chats in (
        ("c-alba", statuses.AVAILABLE, 2),
        ("c-beto", statuses.ON_CALL, 0),
        ("c-cruz", statuses.AVAILABLE, 0),
    ):
        board.presence(m.Presence(c, status, fake_clock.now(), id=m.new_id(), chats=chats))
    _heard_queue(window, fake_clock, waiting=3, open_chats=2, oldest_s=95.0)
    fake_clock.advance(window.presence_grace_s + 1)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    window.refresh()
    assert window.chat_queue.isVisible()
    texts = " ".join(w.text() for w in window.findChildren(QLabel) if w.isVisible())
    assert ("in a chat" in texts) or ("en un chat" in texts), texts
    _check_fits(window, (1024, 600))
    # the roster's coverage line with its on-call ladder, as long as the demo's: it wraps
    window.coverage.setText(
        "⚠ Cobertura insuficiente: 0 disponibles · 1 en llamada · 1 en un chat · "
        "de guardia: demo-supervisor, sup-beatriz"
    )
    _check_fits(window, (1024, 600))
    assert window.grab().save(str(artifacts_dir / f"board-chat-{language}-1024x600.png"))
    window.close()
    session.stop()
