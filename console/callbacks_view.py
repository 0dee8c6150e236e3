"""The counselor's callbacks: missed contacts a supervisor asked this counselor to call back.

A side panel like the follow-ups (console/follow_ups.py), hidden while there is none. Each
line says how long ago the contact rang, why it was missed and whose laptop took it. The
number is shown only on "Show number" (read from this console's store, or opened from the
sealed package the other laptop sent; audited ``callback.view``) and hidden again when the
line changes. After calling, the counselor picks what happened and presses Record: the
outcome goes to the supervisors (``no_answer`` puts it back in their queue).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)

from console.callback_queue import outcome_text, reason_text
from console.texts import fmt_duration
from core.i18n import _, ngettext
from escalation import messages as m

TICK_MS = 1000


class CallbacksView(QGroupBox):
    def __init__(self, agent: Any, numbers: Any, clock: Any, bridge: Any = None) -> None:
        super().__init__(_("Callbacks"))
        self.setObjectName("callbacksView")
        self.agent = agent  # escalation.counselor.CounselorAgent (.callbacks)
        self.numbers = numbers  # app.callback_numbers.CallbackNumbers
        self.clock = clock
        self.items: list[m.CallbackState] = []
        self._shown: str | None = None  # the callback whose number is on screen
        self.list = QListWidget()
        self.list.setObjectName("callbackList")
        self.list.setAccessibleName(_("Callbacks assigned to you"))
        self.list.setWordWrap(True)
        self.list.currentRowChanged.connect(lambda _row: self._show_detail())
        self.detail = QLabel()
        self.detail.setObjectName("callbackDetail")
        self.detail.setWordWrap(True)
        self.detail.setAccessibleName(_("Selected callback"))
        self.number_button = QPushButton(_("Show number"))
        self.number_button.setObjectName("btn_callback_number")
        self.number_button.setAccessibleName(_("Show the number to call back"))
        self.number_button.clicked.connect(self.show_number)
        self.outcome = QComboBox()
        self.outcome.setObjectName("callbackOutcome")
        self.outcome.setAccessibleName(_("What happened on the callback"))
        for code in m.CALLBACK_OUTCOMES:
            self.outcome.addItem(outcome_text(code), code)
        self.record_button = QPushButton(_("Record"))
        self.record_button.setObjectName("btn_callback_record")
        self.record_button.setAccessibleName(_("Record what happened on the callback"))
        self.record_button.clicked.connect(self.record)
        row = QHBoxLayout()
        row.addWidget(self.outcome, 1)
        row.addWidget(self.record_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.detail)
        layout.addWidget(self.number_button)
        layout.addLayout(row)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.reload)
        self.timer.start()
        if bridge is not None:
            from escalation.callbacks import CallbackChanged

            bridge.on(CallbackChanged, lambda _e: self.reload())
        self.reload()

    @classmethod
    def for_session(cls, session: Any, bridge: Any = None) -> CallbacksView | None:
        """The panel on a counselor's console with escalation and a store (else None)."""
        numbers = getattr(getattr(session, "wiring", None), "callbacks", None)
        if numbers is None or not numbers.available:
            return None
        agent = session.service("escalation").counselor
        return cls(agent, numbers, session.clock, bridge)

    def reload(self) -> None:
        items = self.agent.callbacks.mine()
        now = self.clock.now()
        lines = [self._line(s, now) for s in items]
        self.setVisible(bool(items))
        n = len(items)
        self.setTitle(
            ngettext("Callbacks: {n} for you", "Callbacks: {n} for you", n).format(n=n)
            if n
            else _("Callbacks")
        )
        if [s.callback for s in items] == [s.callback for s in self.items] and self.list.count():
            for k, text in enumerate(lines):
                self.list.item(k).setText(text)  # the waiting time ticks
            self.items = items
            return
        current = self.selected_id()
        self.items = items
        self.list.blockSignals(True)
        self.list.clear()
        for text in lines:
            self.list.addItem(QListWidgetItem(text))
        ids = [s.callback for s in items]
        self.list.setCurrentRow(ids.index(current) if current in ids else (0 if ids else -1))
        self.list.blockSignals(False)
        self._show_detail()

    @staticmethod
    def _line(s: m.CallbackState, now: Any) -> str:
        waited = max(0.0, (now - s.rung_at).total_seconds())
        return _("{reason} · waiting {time}").format(
            reason=reason_text(s.reason), time=fmt_duration(waited)
        )

    def selected_id(self) -> str | None:
        row = self.list.currentRow()
        return self.items[row].callback if 0 <= row < len(self.items) else None

    def _show_detail(self) -> None:
        s = next((x for x in self.items if x.callback == self.selected_id()), None)
        if s is None or s.callback != self._shown:
            self._shown = None  # another line: the number goes
        has = s is not None
        self.number_button.setEnabled(has)
        self.record_button.setEnabled(has)
        self.outcome.setEnabled(has)
        if s is None:
            self.detail.setText("")
            return
        text = _("Taken by {counselor}.").format(counselor=s.counselor)
        if s.attempts:
            text += " " + ngettext(
                "{n} attempt without answer.", "{n} attempts without answer.", s.attempts
            ).format(n=s.attempts)
        self.detail.setText(text)

    def show_number(self) -> None:
        callback = self.selected_id()
        if callback is None:
            return
        number = self.numbers.number(callback)
        self._show_detail()
        if number is None:
            self.detail.setText(
                self.detail.text()
                + " "
                + _("The number has not arrived yet (or the records are locked).")
            )
            return
        self._shown = callback
        self.detail.setText(
            self.detail.text() + " " + _("Number: {number}").format(number=number.reveal())
        )

    def record(self) -> None:
        callback, outcome = self.selected_id(), self.outcome.currentData()
        if callback is None or outcome is None:
            return
        try:
            self.agent.callbacks.record(callback, str(outcome))
        except (KeyError, ValueError):
            pass
        self._shown = None
        self.reload()
