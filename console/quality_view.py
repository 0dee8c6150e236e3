"""Quality review and wellbeing for supervisors (docs/quality.md): a dialog opened from the
supervisor window (its "Quality" button, ``keys.quality_view``).

Four tabs, read from this console's store (every record it kept) and the records of this
run, every two seconds on a UI timer; arithmetic in escalation/quality_stats.py:

- Review: the last week's calls, those marked for a debrief first, then those with a reason
  to look; "Ask for a debrief" tells the counselor privately ("your supervisor would like a
  debrief about the call at 03:12").
- Trends: each counselor's week against the week before.
- Outliers: counselors whose median is far from the centre's (median/MAD rule).
- Wellbeing: hours this week against ``clinical.weekly_hours_cap``, high-risk calls this
  shift, breaks, who needs a debrief or a break, break requests (and "Answered").

Codes, numbers and times only: there is no note, number or name to show.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.theme import set_role
from core.i18n import _, format_datetime, format_number, format_time
from escalation import quality_stats as qs

log = logging.getLogger(__name__)


def reason_text(code: str) -> str:
    return {
        "high_risk": _("High risk"),
        "not_assessed": _("No risk assessment"),
        "talked_more": _("Talked more than listened"),
        "interruptions": _("Many interruptions"),
        "muted_speech": _("Spoke while muted"),
    }.get(code, code)


def figure_text(name: str) -> str:
    return {
        "talk_share": _("Talk share"),
        "interruptions_per_10min": _("Interruptions per 10 min"),
        "longest_caller_silence_s": _("Longest caller silence"),
        "muted_speech": _("Spoke while muted"),
        "response_median_s": _("Median reply in chats"),
        "longest_wait_s": _("Longest wait in chats"),
        "message_share": _("Share of the chat written"),
    }.get(name, name)


def flag_text(code: str) -> str:
    return {
        "over_cap": _("Over the weekly cap"),
        "near_cap": _("Near the weekly cap"),
        "debrief": _("Needs a debrief"),
        "break": _("Needs a break"),
        "asked_break": _("Asked for a break"),
    }.get(code, code)


def _share(v: float | None) -> str:
    return "—" if v is None else f"{format_number(100 * v)} %"


def _num(v: float | None, decimals: int = 1) -> str:
    return "—" if v is None else format_number(v, decimals)


def _table(name: str, headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setObjectName(name)
    t.setHorizontalHeaderLabels(headers)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    t.setWordWrap(True)
    return t


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            table.setItem(i, j, QTableWidgetItem(text))


class QualityDialog(QDialog):
    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("qualityView")
        self.setWindowTitle(_("Quality and wellbeing"))
        self.setAccessibleName(_("Quality and wellbeing"))
        self.records: list[dict[str, Any]] = []
        self._review: list[dict[str, Any]] = []
        self._wellbeing: list[qs.Wellbeing] = []
        outer = QVBoxLayout(self)
        self.status = QLabel()
        self.status.setObjectName("qualityStatus")
        self.status.setAccessibleName(_("Quality records"))
        self.status.setWordWrap(True)
        set_role(self.status, "dim")
        outer.addWidget(self.status)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("qualityTabs")
        self.tabs.setAccessibleName(_("Quality and wellbeing"))
        outer.addWidget(self.tabs, 1)
        # review
        review = QWidget()
        rl = QVBoxLayout(review)
        self.review = _table(
            "qualityReview",
            [
                _("Counselor"),
                _("Ended"),
                _("Length"),
                # the counselor's share of a call's talk, or of a chat's text
                _("Counselor's share"),
                _("Why look"),
                _("Debrief"),
            ],
        )
        self.review.setAccessibleName(_("Review queue"))
        rl.addWidget(self.review, 1)
        row = QHBoxLayout()
        self.outcome = QLabel()
        self.outcome.setObjectName("qualityResult")
        self.outcome.setAccessibleName(_("Review result"))
        self.outcome.setWordWrap(True)
        self.mark_button = QPushButton(_("Ask for a debrief"))
        self.mark_button.setObjectName("qualityMark")
        self.mark_button.setAccessibleName(_("Ask the counselor for a debrief about this call"))
        self.mark_button.clicked.connect(self.mark_selected)
        row.addWidget(self.outcome, 1)
        row.addWidget(self.mark_button)
        rl.addLayout(row)
        self.tabs.addTab(review, _("Review"))
        # trends
        self.trends = _table(
            "qualityTrends",
            [
                _("Counselor"),
                _("Calls (last week)"),
                _("Talk share (last week)"),
                _("Interruptions per 10 min (last week)"),
                _("Longest caller silence (last week)"),
                _("Chats, median reply (last week)"),
                _("Assessed"),
            ],
        )
        self.trends.setAccessibleName(_("Trends, week over week"))
        self.tabs.addTab(self.trends, _("Trends"))
        # outliers
        outl = QWidget()
        ol = QVBoxLayout(outl)
        self.outliers = QLabel()
        self.outliers.setObjectName("qualityOutliers")
        self.outliers.setAccessibleName(_("Outliers"))
        self.outliers.setWordWrap(True)
        ol.addWidget(self.outliers)
        ol.addStretch(1)
        self.tabs.addTab(outl, _("Outliers"))
        # wellbeing
        well = QWidget()
        wl = QVBoxLayout(well)
        self.wellbeing = _table(
            "qualityWellbeing",
            [
                _("Counselor"),
                _("Hours this week"),
                _("High-risk this shift"),
                _("Breaks"),
                _("Needs"),
            ],
        )
        self.wellbeing.setAccessibleName(_("Counselor wellbeing"))
        wl.addWidget(self.wellbeing, 1)
        wrow = QHBoxLayout()
        wrow.addStretch(1)
        self.answered_button = QPushButton(_("Break request answered"))
        self.answered_button.setObjectName("qualityAnswered")
        self.answered_button.setAccessibleName(
            _("The selected counselor's break request is answered")
        )
        self.answered_button.clicked.connect(self.answer_selected)
        wrow.addWidget(self.answered_button)
        wl.addLayout(wrow)
        self.tabs.addTab(well, _("Wellbeing"))
        close = QPushButton(_("Close"))
        close.setObjectName("qualityClose")
        close.setAccessibleName(_("Close quality and wellbeing"))
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(close)
        outer.addLayout(bottom)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(2000)
        self.refresh()
        self.resize(980, 560)

    # -- data ---------------------------------------------------------------------------------
    def _quality(self) -> Any:
        esc = self.session.service("escalation")
        agent = getattr(esc, "supervisor", None) if esc is not None else None
        return getattr(agent, "quality", None)

    def _load(self) -> tuple[list[dict[str, Any]], bool]:
        by_id: dict[str, dict[str, Any]] = {}
        quality = self._quality()
        if quality is not None:
            by_id.update({r["id"]: r for r in quality.snapshot()})
        store = self.session.service("store")
        locked = store is None or store.is_locked
        if not locked:
            from storage import figures

            try:
                for r in figures.quality_records(store.vault.require()):
                    by_id[str(r.get("id"))] = r
            except Exception:  # a store that locks meanwhile: the next tick reads it again
                log.exception("quality records not read")
        return list(by_id.values()), locked

    def refresh(self) -> None:
        self.records, locked = self._load()
        now = self.session.clock.now()
        n = len(self.records)
        status = _("{n} calls and chats with figures (from counselors who share them).").format(n=n)
        if locked:
            status += " " + _("Records are locked: only this session's calls are shown.")
        self.status.setText(status)
        self._fill_review(now)
        self._fill_trends(now)
        self._fill_outliers(now)
        self._fill_wellbeing(now)

    def _fill_review(self, now: Any) -> None:
        selected = self._selected_review()
        queue = qs.review_queue(self.records, now)
        self._review = [r for r, _why in queue]
        rows = []
        for r, why in queue:
            ended = qs.placed(r)
            chat = qs.is_chat(r)
            length = _("{m} min").format(m=format_number((r.get("duration_s") or 0) / 60))
            rows.append(
                [
                    str(r.get("counselor")),
                    format_datetime(ended),
                    _("{length}, chat").format(length=length) if chat else length,
                    # a chat's share is of the text written; a call's, of the talk
                    _share(qs.figure(r, "message_share" if chat else "talk_share")),
                    ", ".join(reason_text(c) for c in why) or "—",
                    _("Asked") if r.get("marked_at") else "—",
                ]
            )
        _fill(self.review, rows)
        if selected is not None:
            for i, r in enumerate(self._review):
                if r.get("id") == selected:
                    self.review.selectRow(i)

    def _fill_trends(self, now: Any) -> None:
        rows = []
        for counselor, (this, last) in sorted(qs.trends(self.records, now).items()):
            rows.append(
                [
                    counselor,
                    f"{this.calls} ({last.calls})",
                    f"{_share(this.talk_share)} ({_share(last.talk_share)})",
                    f"{_num(this.interruptions_per_10min)} ({_num(last.interruptions_per_10min)})",
                    f"{_num(this.longest_caller_silence_s, 0)} s "
                    f"({_num(last.longest_caller_silence_s, 0)} s)",
                    _("{n}: {reply} s ({last_n}: {last_reply} s)").format(
                        n=this.chats,
                        reply=_num(this.reply_median_s, 0),
                        last_n=last.chats,
                        last_reply=_num(last.reply_median_s, 0),
                    ),
                    _share(this.assessed),
                ]
            )
        _fill(self.trends, rows)

    def _fill_outliers(self, now: Any) -> None:
        found = qs.outliers(self.records, now)
        if not found:
            self.outliers.setText(
                _(
                    "No counselor is far from the centre. Judged over the last four weeks, for "
                    "counselors with at least 5 calls, when at least 4 counselors share figures."
                )
            )
            return
        lines = []
        for o in found:
            shares = ("talk_share", "message_share")
            value = _share(o.value) if o.figure in shares else _num(o.value)
            centre = _share(o.centre) if o.figure in shares else _num(o.centre)
            words = _("above") if o.z > 0 else _("below")
            lines.append(
                _("{who}: {figure} {value}, {words} the centre's {centre}").format(
                    who=o.counselor,
                    figure=figure_text(o.figure),
                    value=value,
                    words=words,
                    centre=centre,
                )
            )
        self.outliers.setText("\n".join(lines))

    def _fill_wellbeing(self, now: Any) -> None:
        from escalation.options import BREAK_AFTER_HIGH_RISK
        from storage.options import WEEKLY_HOURS_CAP

        quality = self._quality()
        asked = [r.counselor for r in quality.care_requests()] if quality is not None else []
        cfg = self.session.config
        self._wellbeing = qs.wellbeing(
            self.records, now, cfg.get(WEEKLY_HOURS_CAP), cfg.get(BREAK_AFTER_HIGH_RISK), asked
        )
        rows = []
        for w in self._wellbeing:
            hours = _num(w.hours_week)
            rows.append(
                [
                    w.counselor,
                    _("{hours} of {cap} h").format(hours=hours, cap=_num(w.cap_h, 0))
                    if w.cap_h > 0
                    else _("{hours} h").format(hours=hours),
                    str(w.high_risk_shift),
                    str(w.breaks_shift),
                    ", ".join(flag_text(f) for f in w.flags) or "—",
                ]
            )
        _fill(self.wellbeing, rows)

    # -- actions --------------------------------------------------------------------------------
    def _selected_review(self) -> str | None:
        rows = self.review.selectionModel().selectedRows() if self.review.selectionModel() else []
        if not rows or rows[0].row() >= len(self._review):
            return None
        return str(self._review[rows[0].row()].get("id"))

    def mark_selected(self) -> None:
        record_id = self._selected_review()
        quality = self._quality()
        if record_id is None or quality is None:
            self.outcome.setText(_("Choose a call first."))
            return
        record = next(r for r in self._review if r.get("id") == record_id)
        if record.get("marked_at"):
            self.outcome.setText(_("A debrief about this call was already asked for."))
            return
        if not quality.me:
            self.outcome.setText(
                _("Escalation is not set up on this laptop: the counselor cannot be told.")
            )
            return
        quality.mark(record)
        self.outcome.setText(
            _("{who} will be asked, privately, for a debrief about the call at {time}.").format(
                who=record.get("counselor"), time=format_time(qs.placed(record))
            )
        )
        self.refresh()

    def answer_selected(self) -> None:
        rows = self.wellbeing.selectionModel().selectedRows()
        quality = self._quality()
        if not rows or quality is None or rows[0].row() >= len(self._wellbeing):
            return
        quality.care_answered(self._wellbeing[rows[0].row()].counselor)
        self.refresh()


def add_quality_button(window: Any, row: QHBoxLayout) -> None:
    """The supervisor window's "Quality" button (and shortcut) opening the dialog."""
    from console.options import KEY_QUALITY

    key = window.session.config.get(KEY_QUALITY) or ""
    text = _("Quality")
    button = QPushButton(f"{text}  ({key})" if key else text)
    button.setObjectName("qualityButton")
    button.setAccessibleName(_("Quality and wellbeing"))
    if key:
        button.setShortcut(QKeySequence(key))

    def open_view() -> None:
        window.quality_view = QualityDialog(window.session, window)
        window.quality_view.show()

    button.clicked.connect(open_view)
    window.quality_button = button
    row.addWidget(button)
