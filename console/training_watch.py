"""The supervisor's watch over trainees' practice calls (docs/training.md).

A window of its own, opened from the supervisor console's "Trainees" button: every trainee
in training mode, the practice call's live call-health signals (from the trainee's presence,
codes only) and the risk level of the assessment as it is saved, the rescue steps taken,
the practice escalations (marked PRACTICE: they never reach the alert queue or the ladder),
which the supervisor acknowledges here, and the feedback the supervisor writes to the
trainee (text, like a whisper, marked practice). Reads the models on a timer
(escalation/training.py ``SupervisorTraining`` and the board), as the supervisor window does.

:func:`add_watch_button` is the whole hook in console/supervisor_window.py.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from calls.training import TrainingScenario, bundled_training
from console.texts import fmt_duration
from console.theme import set_role
from core.errors import ConfigError
from core.i18n import N_, _, format_time
from escalation.health import health_label
from escalation.levels import level_label
from escalation.statuses import status_label
from escalation.training import Trainee
from storage.records import rescue_step_label
from storage.risk import level_label as risk_level_label

if TYPE_CHECKING:
    from console.supervisor_window import SupervisorWindow
    from escalation.board import CounselorRow

REFRESH_MS = 500
PRACTICE = N_("PRACTICE")


@functools.cache
def _scenarios() -> dict[str, TrainingScenario]:
    try:
        return bundled_training()
    except ConfigError:  # a damaged installation: ids are shown instead of titles
        return {}


def scenario_title(scenario_id: str) -> str:
    found = _scenarios().get(scenario_id)
    return found.title if found is not None else scenario_id


class TrainingWatch(QWidget):
    """The watch window (one per supervisor window)."""

    HEADERS = (
        N_("Trainee"),
        N_("Status"),
        N_("Scenario"),
        N_("Risk level"),
        N_("Call health"),
        N_("Practice escalation"),
    )

    def __init__(self, owner: SupervisorWindow) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.owner = owner
        assert owner.agent is not None, "the watch needs a supervisor agent"
        self.agent = owner.agent
        self.clock = owner.session.clock
        self.setObjectName("trainingWatch")
        self.setWindowTitle(_("Faro — trainees' practice calls"))
        self.setAccessibleName(_("Trainees' practice calls"))
        layout = QVBoxLayout(self)
        note = QLabel(
            _(
                "Practice calls only: nothing here is a real call, and practice escalations "
                "never reach the alert queue or the on-call ladder."
            )
        )
        note.setObjectName("watchNote")
        note.setAccessibleName(_("About this window"))
        note.setWordWrap(True)
        set_role(note, "warning")
        layout.addWidget(note)
        self.table = QTableWidget(0, len(self.HEADERS))
        self.table.setObjectName("watchTable")
        self.table.setAccessibleName(_("Trainees"))
        self.table.setHorizontalHeaderLabels([_(h) for h in self.HEADERS])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 2)
        self.detail = QLabel()
        self.detail.setObjectName("watchDetail")
        self.detail.setAccessibleName(_("The trainee's practice call"))
        self.detail.setWordWrap(True)
        layout.addWidget(self.detail)
        self.ack_button = QPushButton(_("Acknowledge the practice escalation"))
        self.ack_button.setObjectName("btn_practice_ack")
        self.ack_button.setAccessibleName(_("Acknowledge the practice escalation"))
        self.ack_button.clicked.connect(self.acknowledge)
        layout.addWidget(self.ack_button)
        self.notes = QListWidget()
        self.notes.setObjectName("watchNotes")
        self.notes.setAccessibleName(_("Feedback to and from the trainee"))
        self.notes.setWordWrap(True)
        layout.addWidget(self.notes, 1)
        row = QHBoxLayout()
        self.feedback = QLineEdit()
        self.feedback.setObjectName("watchFeedback")
        self.feedback.setAccessibleName(_("Feedback to the trainee"))
        self.feedback.setPlaceholderText(_("Feedback to the trainee…"))
        self.feedback.returnPressed.connect(self.send_feedback)
        self.send_button = QPushButton(_("Send feedback"))
        self.send_button.setObjectName("btn_practice_feedback")
        self.send_button.setAccessibleName(_("Send feedback to the trainee"))
        self.send_button.clicked.connect(self.send_feedback)
        row.addWidget(self.feedback, 1)
        row.addWidget(self.send_button)
        layout.addLayout(row)
        self.status = QLabel()
        self.status.setObjectName("watchStatus")
        self.status.setAccessibleName(_("Last message"))
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.trainees: list[Trainee] = []
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(REFRESH_MS)
        self.table.itemSelectionChanged.connect(self._draw_selected)
        self.resize(900, 560)
        self.refresh()

    # -- reading the models ----------------------------------------------------------------
    def _rows(self) -> dict[str, CounselorRow]:
        rows, *_rest = self.agent.snapshot()
        return {r.counselor: r for r in rows}

    def selected(self) -> Trainee | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if rows and rows[0].row() < len(self.trainees):
            return self.trainees[rows[0].row()]
        return self.trainees[0] if len(self.trainees) == 1 else None

    def refresh(self) -> None:
        chosen = self.selected()
        self.trainees = self.agent.training.snapshot()
        board = self._rows()
        now = self.clock.monotonic()
        self.table.setRowCount(len(self.trainees))
        for i, t in enumerate(self.trainees):
            r = board.get(t.counselor)
            dur = r.call_duration(now) if r is not None else None
            status = status_label(r.status) if r is not None else ""
            if dur:
                status = f"{status} {fmt_duration(dur)}"
            s = t.status
            cells = (
                t.counselor,
                status,
                scenario_title(s.scenario) if s else "",
                risk_level_label(s.risk) if s and s.risk else _("not assessed"),
                ", ".join(health_label(h) for h in r.health) if r is not None else "",
                self._alert_text(t),
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(i, j, item)
            if chosen is not None and chosen.counselor == t.counselor:
                self.table.selectRow(i)
        self._draw_selected()

    @staticmethod
    def _alert_text(t: Trainee) -> str:
        if not t.alerts:
            return ""
        a = t.alerts[-1]
        who = _("acknowledged by {who}").format(who=a.by) if a.by else _("waiting for you")
        return _("{practice}: {level}, {who}").format(
            practice=_(PRACTICE), level=level_label(a.level), who=who
        )

    def _draw_selected(self) -> None:
        t = self.selected()
        if t is None:
            self.detail.setText(_("No trainee selected."))
            self.ack_button.setEnabled(False)
            self.send_button.setEnabled(False)
            self.notes.clear()
            return
        s = t.status
        parts = [_("{who} is in training mode.").format(who=t.counselor)]
        if s is not None:
            parts.append(scenario_title(s.scenario))
            if s.steps:
                parts.append(
                    _("Rescue steps: {steps}.").format(
                        steps=", ".join(rescue_step_label(x) for x in s.steps)
                    )
                )
        for a in t.alerts:
            parts.append(
                _("{practice} escalation: {level}, {time} into the call, raised {at}.").format(
                    practice=_(PRACTICE),
                    level=level_label(a.level),
                    time=fmt_duration(a.call_s),
                    at=format_time(a.raised_at),
                )
            )
        text = "\n".join(parts)
        if self.detail.text() != text:
            self.detail.setText(text)
        waiting = any(a.by is None for a in t.alerts)
        self.ack_button.setEnabled(waiting)
        self.send_button.setEnabled(True)
        lines = [
            _("{time} {who}: {text}").format(
                time=format_time(at), who=_("You") if d == "out" else who, text=text
            )
            for d, who, text, at in t.notes
        ]
        if [self.notes.item(i).text() for i in range(self.notes.count())] != lines:
            self.notes.clear()
            self.notes.addItems(lines)
            self.notes.scrollToBottom()

    # -- what the supervisor does ------------------------------------------------------------
    def acknowledge(self) -> None:
        t = self.selected()
        waiting = [a for a in t.alerts if a.by is None] if t is not None else []
        if t is None or not waiting:
            return
        self.agent.training.acknowledge(t.counselor, waiting[0].escalation)
        self.status.setText(_("Practice escalation acknowledged."))
        self.refresh()

    def send_feedback(self) -> None:
        t = self.selected()
        text = self.feedback.text()
        if t is None or not text.strip():
            return
        try:
            self.agent.training.feedback(t.counselor, text)
        except ValueError:
            self.status.setText(_("Feedback has to be between 1 and the whisper's length."))
            return
        self.feedback.clear()
        self.status.setText(_("Feedback sent to {who}.").format(who=t.counselor))
        self.refresh()

    def closeEvent(self, event: object) -> None:  # noqa: D102 - Qt's
        self._timer.stop()
        super().closeEvent(event)  # type: ignore[arg-type]


class WatchButton(QPushButton):
    """ "Trainees (n)" in the supervisor window's top row; opens the watch."""

    def __init__(self, owner: SupervisorWindow) -> None:
        super().__init__(_("Trainees"))
        self.owner = owner
        self.setObjectName("btn_trainees")
        self.setAccessibleName(_("Trainees' practice calls"))
        self.watch: TrainingWatch | None = None
        self.clicked.connect(self.open_watch)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._count)
        self._timer.start(REFRESH_MS)

    def _count(self) -> None:
        n = len(self.owner.agent.training.trainees) if self.owner.agent is not None else 0
        text = _("Trainees ({n})").format(n=n) if n else _("Trainees")
        if self.text() != text:
            self.setText(text)

    def open_watch(self) -> TrainingWatch:
        if self.watch is None:
            self.watch = TrainingWatch(self.owner)
        self.watch.show()
        self.watch.raise_()
        return self.watch


def add_watch_button(window: SupervisorWindow, row: QHBoxLayout) -> WatchButton | None:
    """The hook: a "Trainees" button in ``row`` when the window has a supervisor agent."""
    if window.agent is None:
        return None
    button = WatchButton(window)
    row.addWidget(button)
    return button
