"""The supervisors' quality view and the counselor's My figures, offscreen, with real stores:
both fit 1024x600 in Spanish and English with every tab shown, every control is named,
an outlier and a wellbeing flag show in words, marking a call keeps the mark, and a debrief a
supervisor asked for is said privately in the counselor's window."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import QAbstractButton, QCheckBox, QTableWidget, QTabWidget

from app.session import Session
from calls.model import CallState
from console.my_figures import MyFiguresDialog, debrief_text
from console.quality_view import QualityDialog
from core.config import Config
from core.paths import Paths
from escalation import events as eev
from storage import figures
from tests.console.test_counselor_flow import settle
from tests.console.test_layout_languages import _check_fits
from tests.console.test_lock_and_messages import _window

PASS = "una frase larga de prueba"


def _supervisor(tmp_path, clock, language="en"):
    cfg = Config.defaults().with_overrides(
        {
            "escalation.role": "supervisor",
            "calls.backend": "companion",
            "storage.unlock_target_ms": 1,
            "ui.language": language,
        }
    )
    s = Session(
        cfg,
        paths=Paths.under(tmp_path / "sup"),
        clock=clock,
        services=("storage.service", "escalation.service"),
    )
    s.service("store").init(PASS)
    return s


def _records(session, now):
    cs = session.service("store").vault.require()
    for c in range(6):
        for n in range(6):
            ended = now - dt.timedelta(hours=1 + n * 0.5)
            share = 0.9 if c == 5 else 0.40 + 0.02 * c
            figures.keep_quality_record(
                cs,
                {
                    "id": f"r{c}{n}",
                    "counselor": f"c-{c}",
                    "seq": 6 - n,
                    "ended_at": ended.isoformat(),
                    "offset_s": 0.0,
                    "duration_s": 900.0,
                    "audio": True,
                    "talk_share": share,
                    "interruptions": 1,
                    "longest_caller_silence_s": 20.0,
                    "muted_speech": 0,
                    "assessed": True,
                    "risk": "high" if (c == 0 and n < 2) else "low",
                    "follow_up": False,
                    "breaks": 0,
                    "break_s": 0.0,
                },
            )


def _named(dialog):
    for w in dialog.findChildren(QAbstractButton) + dialog.findChildren(QTableWidget):
        if isinstance(w, QAbstractButton) and w.parent() is not None and not w.text():
            continue  # Qt's own tab-bar scroll arrows
        assert w.accessibleName(), w.objectName()
    for w in dialog.findChildren(QTabWidget) + dialog.findChildren(QCheckBox):
        assert w.accessibleName(), w.objectName()


def test_the_quality_view_fits_names_everything_and_shows_outliers_and_flags(
    qtbot, tmp_path, fake_clock, language, artifacts_dir
):
    session = _supervisor(tmp_path, fake_clock, language)
    try:
        now = fake_clock.now()
        _records(session, now)
        dialog = QualityDialog(session)
        qtbot.addWidget(dialog)
        dialog.resize(1024, 600)
        dialog.show()
        qtbot.waitExposed(dialog)
        for i in range(dialog.tabs.count()):
            dialog.tabs.setCurrentIndex(i)
            _check_fits(dialog, (1024, 600))
            dialog.grab().save(str(artifacts_dir / f"quality-{language}-tab{i}.png"))
        _named(dialog)
        assert "c-5" in dialog.outliers.text()
        assert dialog.review.rowCount() == 36
        flags = {
            dialog.wellbeing.item(r, 0).text(): dialog.wellbeing.item(r, 4).text()
            for r in range(dialog.wellbeing.rowCount())
        }
        assert flags["c-0"] != "—" and flags["c-1"] == "—"  # two high-risk calls, no break
        # ask for a debrief about the first call in the queue (a high-risk one)
        dialog.tabs.setCurrentIndex(0)
        dialog.review.selectRow(0)
        first = dialog._review[0]
        dialog.mark_selected()
        # no broker on this laptop: nobody can be told, so nothing is marked (on a broker:
        # tests/escalation/test_quality.py)
        assert "not set up" in dialog.outcome.text() or dialog.outcome.text()
        cs = session.service("store").vault.require()
        assert not any(r.get("marked_at") for r in figures.quality_records(cs))
        assert first["risk"] == "high"  # the queue puts calls with a reason first
        dialog.close()
    finally:
        session.stop()


def test_my_figures_fits_is_named_and_a_debrief_mark_is_said_privately(
    qtbot, paths, fake_clock, language, artifacts_dir
):
    session, window = _window(qtbot, paths, fake_clock)
    try:
        settle(qtbot, window, CallState.AVAILABLE)
        dialog = MyFiguresDialog(window)
        qtbot.addWidget(dialog)
        dialog.resize(1024, 600)
        dialog.show()
        qtbot.waitExposed(dialog)
        _check_fits(dialog, (1024, 600))
        _named(dialog)
        dialog.grab().save(str(artifacts_dir / f"my-figures-{language}.png"))
        ended = fake_clock.now() - dt.timedelta(hours=1)
        window.bridge.dispatch(eev.DebriefMarked("call-1", ended, "sup-ana"))
        assert window.message.text() == debrief_text(ended)
        assert "sup-ana" not in window.message.text()  # which supervisor is theirs to ask
        dialog.close()
    finally:
        session.stop()


def _chats(session, now):
    """Chat records of the same six counselors: c-5 replies far slower than the others."""
    cs = session.service("store").vault.require()
    for c in range(6):
        for n in range(5):
            ended = now - dt.timedelta(hours=1 + n * 0.5, minutes=10)
            figures.keep_quality_record(
                cs,
                {
                    "id": f"chat{c}{n}",
                    "counselor": f"c-{c}",
                    "seq": 100 + n,
                    "ended_at": ended.isoformat(),
                    "offset_s": 0.0,
                    "duration_s": 1200.0,
                    "audio": False,
                    "assessed": True,
                    "risk": "low",
                    "follow_up": False,
                    "breaks": 0,
                    "break_s": 0.0,
                    "channel": "chat",
                    "messages_in": 20,
                    "messages_out": 18,
                    "response_median_s": 240.0 if c == 5 else 30.0 + 2 * c,
                    "response_longest_s": 300.0,
                    "longest_wait_s": 300.0,
                    "message_share": 0.45,
                },
            )


def test_chats_are_reviewed_beside_calls_with_their_own_figures(qtbot, tmp_path, fake_clock):
    session = _supervisor(tmp_path, fake_clock)
    try:
        now = fake_clock.now()
        _records(session, now)
        _chats(session, now)
        dialog = QualityDialog(session)
        qtbot.addWidget(dialog)
        # the review queue: chats marked as chats, their share is of the text written
        chat_rows = [
            i for i in range(dialog.review.rowCount()) if "chat" in dialog.review.item(i, 2).text()
        ]
        assert len(chat_rows) == 30
        assert dialog.review.item(chat_rows[0], 3).text() == "45 %"
        # trends: calls and chats counted apart; the chats' median reply
        trends = {dialog.trends.item(r, 0).text(): r for r in range(dialog.trends.rowCount())}
        row = trends["c-1"]
        assert dialog.trends.item(row, 1).text().startswith("6 ")  # six calls, not eleven
        assert dialog.trends.item(row, 5).text().startswith("5: 32 s")
        # outliers: the slow replier, found by the same robust rule as the calls' figures
        assert "c-5: Median reply in chats" in dialog.outliers.text()
        dialog.close()
    finally:
        session.stop()
