"""My figures: the counselor's own calls' quality figures and wellbeing (docs/quality.md).

Opened with ``keys.my_figures`` (Ctrl+Shift+M) while the case notes are open. Everything is
read from this laptop's own store (storage/figures.py), so it works offline and sends
nothing. It also holds the consent (``quality.share_figures``, kept in preferences.toml;
shown as set by the organisation when it locks it), the private requests — a debrief (an
alert at level ``debrief``) and a break (escalation/quality.py), which only supervisors can
read — and the debriefs a supervisor asked for, which are also said once in the status bar
("Your supervisor would like a debrief about the call at 03:12").
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.theme import set_role
from core.i18n import _, format_number, format_time, ngettext
from escalation import events as eev

if TYPE_CHECKING:
    from console.main_window import MainWindow

log = logging.getLogger(__name__)


def debrief_text(ended_at: dt.datetime) -> str:
    return _("Your supervisor would like a debrief about the call at {time}.").format(
        time=format_time(ended_at.astimezone())
    )


def _share(v: Any) -> str:
    return "—" if v is None else f"{format_number(100 * float(v))} %"


def _num(v: Any, decimals: int = 0) -> str:
    return "—" if v is None else format_number(float(v), decimals)


def _yes(v: Any) -> str:
    return _("Yes") if v else _("No")


class MyFiguresDialog(QDialog):
    def __init__(self, window: MainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.window_ = window
        self.session = window.session
        self.setObjectName("myFigures")
        self.setWindowTitle(_("My figures"))
        self.setAccessibleName(_("My figures"))
        outer = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setObjectName("myFiguresSummary")
        self.summary.setAccessibleName(_("This week"))
        self.summary.setWordWrap(True)
        outer.addWidget(self.summary)
        self.calls = QTableWidget(0, 7)
        self.calls.setObjectName("myFiguresCalls")
        self.calls.setAccessibleName(_("My calls this week"))
        self.calls.setHorizontalHeaderLabels(
            [
                _("Ended"),
                _("Length"),
                _("Talk share"),
                _("Interruptions"),
                _("Longest caller silence"),
                _("Assessed"),
                _("Follow-up"),
            ]
        )
        self.calls.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.calls.verticalHeader().setVisible(False)
        self.calls.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        outer.addWidget(self.calls, 1)
        self.marks = QLabel()
        self.marks.setObjectName("myFiguresMarks")
        self.marks.setAccessibleName(_("Debriefs your supervisor asked for"))
        self.marks.setWordWrap(True)
        set_role(self.marks, "info")
        outer.addWidget(self.marks)
        self.consent = QCheckBox(_("Share my calls' figures with the quality team"))
        self.consent.setObjectName("myFiguresConsent")
        self.consent.setAccessibleName(_("Share my calls' figures with the quality team"))
        self.consent_note = QLabel(
            _("Numbers and codes only: never audio, notes or the caller's number.")
        )
        self.consent_note.setObjectName("myFiguresConsentNote")
        self.consent_note.setAccessibleName(_("What is shared"))
        self.consent_note.setWordWrap(True)
        set_role(self.consent_note, "dim")
        outer.addWidget(self.consent)
        outer.addWidget(self.consent_note)
        self.outcome = QLabel()
        self.outcome.setObjectName("myFiguresResult")
        self.outcome.setAccessibleName(_("Request result"))
        self.outcome.setWordWrap(True)
        outer.addWidget(self.outcome)
        row = QHBoxLayout()
        self.ask_debrief = QPushButton(_("Ask for a debrief"))
        self.ask_debrief.setObjectName("myFiguresDebrief")
        self.ask_debrief.setAccessibleName(_("Ask a supervisor for a debrief, privately"))
        self.ask_break = QPushButton(_("Ask for a break"))
        self.ask_break.setObjectName("myFiguresBreak")
        self.ask_break.setAccessibleName(_("Ask a supervisor for a break, privately"))
        self.seen = QPushButton(_("Seen"))
        self.seen.setObjectName("myFiguresSeen")
        self.seen.setAccessibleName(_("I have seen the debrief requests"))
        close = QPushButton(_("Close"))
        close.setObjectName("myFiguresClose")
        close.setAccessibleName(_("Close My figures"))
        for b in (self.ask_debrief, self.ask_break, self.seen):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(close)
        outer.addLayout(row)
        self.ask_debrief.clicked.connect(self._debrief)
        self.ask_break.clicked.connect(self._break)
        self.seen.clicked.connect(self._seen)
        close.clicked.connect(self.close)
        self.consent.toggled.connect(self._consent)
        self.refresh()
        self.resize(900, 520)

    # -- data -----------------------------------------------------------------------------
    def _quality(self) -> Any:
        esc = self.session.service("escalation")
        if esc is None or esc.role != "counselor":
            return None
        return esc.counselor.quality

    def refresh(self) -> None:
        from console.wrap_up_care import hours_this_week, week_start
        from escalation.options import QUALITY_SHARE
        from storage import figures
        from storage.options import WEEKLY_HOURS_CAP

        cfg = self.session.config
        locked_by = cfg.locked_by(QUALITY_SHARE)
        self.consent.blockSignals(True)
        self.consent.setChecked(bool(cfg.get(QUALITY_SHARE)))
        self.consent.blockSignals(False)
        self.consent.setEnabled(locked_by is None)
        if locked_by:
            self.consent.setToolTip(_("Set by {organisation}").format(organisation=locked_by))
        now = self.session.clock.now()
        store = self.session.service("store")
        calls: list[dict[str, Any]] = []
        hours = 0.0
        if store is not None and not store.is_locked:
            cs = store.vault.require()
            calls = figures.my_calls(cs, week_start(now), now + dt.timedelta(minutes=1))
            hours = hours_this_week(store, now)
        self.rows = calls
        self.calls.setRowCount(len(calls))
        for i, c in enumerate(calls):
            ended = dt.datetime.fromisoformat(c["ended_at"])
            if c.get("channel") == "chat":  # a chat's figures in the voice figures' places
                cells = [
                    _("{time} (chat)").format(time=format_time(ended.astimezone())),
                    _("{m} min").format(m=format_number(c["duration_s"] / 60)),
                    _("{share} written").format(share=_share(c.get("message_share"))),
                    _("reply {s} s (median)").format(s=_num(c.get("response_median_s"))),
                    _("waited {s} s at most").format(s=_num(c.get("longest_wait_s"))),
                ]
            else:
                cells = [
                    format_time(ended.astimezone()),
                    _("{m} min").format(m=format_number(c["duration_s"] / 60)),
                    _share(c["talk_share"]),
                    _num(c["interruptions"]),
                    _("{s} s").format(s=_num(c["longest_caller_silence_s"])),
                ]
            for j, text in enumerate([*cells, _yes(c["assessed"]), _yes(c["follow_up"])]):
                self.calls.setItem(i, j, QTableWidgetItem(text))
        shares = [c["talk_share"] for c in calls if c["talk_share"] is not None]
        chats = [c for c in calls if c.get("channel") == "chat"]
        replies = [c["response_median_s"] for c in chats if c.get("response_median_s") is not None]
        waits = [c["longest_wait_s"] for c in chats if c.get("longest_wait_s") is not None]
        cap = cfg.get(WEEKLY_HOURS_CAP)
        shift_start = now - dt.timedelta(hours=12)
        high = sum(
            1
            for c in calls
            if c["risk"] in figures.HIGH_RISK
            and dt.datetime.fromisoformat(c["ended_at"]) >= shift_start
        )
        breaks = 0
        tracker = getattr(self.window_, "shift_tracker", None)
        if tracker is not None:
            breaks = len(tracker.breaks.within(shift_start, now))
        hours_text = (
            _("{hours} of {cap} h on calls").format(
                hours=format_number(hours, 1), cap=format_number(cap)
            )
            if cap > 0
            else _("{hours} h on calls").format(hours=format_number(hours, 1))
        )
        self.summary.setText(
            _(
                "This week: {calls} calls, {hours}; median talk share {share}. "
                "Last 12 hours: {high} high-risk calls, {breaks} breaks."
            ).format(
                calls=len(calls),
                hours=hours_text,
                share=_share(statistics.median(shares)) if shares else "—",
                high=high,
                breaks=breaks,
            )
        )
        if chats:  # the chat line's figures (docs/chat.md "Quality figures")
            self.summary.setText(
                self.summary.text()
                + " "
                + ngettext(
                    "{n} chat: median reply {reply} s, the longest wait {wait} s.",
                    "{n} chats: median reply {reply} s, the longest wait {wait} s.",
                    len(chats),
                ).format(
                    n=len(chats),
                    reply=_num(statistics.median(replies)) if replies else "—",
                    wait=_num(max(waits)) if waits else "—",
                )
            )
        quality = self._quality()
        marks = quality.unseen_marks() if quality is not None else []
        self.marks.setText("\n".join(debrief_text(mk.ended_at) for mk in marks))
        self.marks.setVisible(bool(marks))
        self.seen.setVisible(bool(marks))
        for b in (self.ask_debrief, self.ask_break):
            b.setEnabled(quality is not None)

    # -- actions -----------------------------------------------------------------------------
    def _consent(self, on: bool) -> None:
        from core import preferences
        from core.errors import ConfigError
        from escalation.options import QUALITY_SHARE

        cfg = self.session.config
        try:
            cfg.set(QUALITY_SHARE, on)
        except ConfigError as exc:
            self.outcome.setText(exc.user_text())
            self.refresh()
            return
        source = getattr(cfg, "source", None)
        if source is not None:
            path = preferences.preferences_file(source)
            try:
                values = preferences.load(path)
                values[QUALITY_SHARE.key] = on
                preferences.save(path, values)
            except OSError as exc:
                log.warning("the consent could not be saved: %s", type(exc).__name__)
        self.outcome.setText(
            _("Your calls' figures will be shared from the next wrap-up.")
            if on
            else _("Your calls' figures are no longer shared.")
        )

    def _debrief(self) -> None:
        esc = self.session.service("escalation")
        try:
            esc.request_debrief(None)
        except Exception:
            log.exception("debrief request failed")
            self.outcome.setText(_("The request could not be sent; try again."))
            return
        self.outcome.setText(_("A supervisor will be asked for a debrief, privately."))

    def _break(self) -> None:
        quality = self._quality()
        if quality is None:
            return
        quality.ask_break()
        self.outcome.setText(_("A supervisor will be asked for a break, privately."))

    def _seen(self) -> None:
        quality = self._quality()
        if quality is not None:
            for mk in quality.unseen_marks():
                quality.seen(mk.id)
        self.refresh()


def attach_my_figures(window: MainWindow) -> None:
    """The shortcut opening My figures, and the private debrief notice in the status bar."""
    from console.options import KEY_MY_FIGURES

    holder: Any = window  # the dialog is kept on the window (tests read it there)

    def open_dialog() -> None:
        if not window.locked:
            holder.my_figures = MyFiguresDialog(window)
            holder.my_figures.show()

    window.add_key(
        window.session.config.get(KEY_MY_FIGURES),
        open_dialog,
        _("Open My figures (your calls' figures, a private debrief or break)"),
    )
    holder.open_my_figures = open_dialog
    window.bridge.on(eev.DebriefMarked, lambda e: window.say(debrief_text(e.ended_at)))
