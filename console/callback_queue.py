"""The supervisor's callback queue and service-level line (docs/callbacks.md).

Every missed or abandoned contact is a row: how long ago it rang, the counselor whose laptop
took it (the number stays there), why it was missed, whether the organisation's rule allows a
callback, and where it stands. The supervisor picks a counselor (connected ones, available
first) and presses Assign, or picks a reason and presses Close. Nothing personal is shown:
the number appears only on the assignee's console. A change made here counts once it comes
back from the broker ("Assigning…" until then); if another supervisor's change came first,
the row says so. Hidden while the queue is empty; closed ones fall off after
:data:`CLOSED_KEEP_S`.

The service-level line (:func:`service_level_text`) sits on the board beside the rings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QWidget,
)

from console.texts import fmt_duration
from core.i18n import N_, _, format_number, ngettext
from escalation import callbacks as cb
from escalation.callbacks import CallbackItem, HourFigures

#: a closed callback stays listed this long after the panel saw it close
CLOSED_KEEP_S = 600.0

REASON_TEXT = {
    "unanswered": N_("Missed"),
    "abandoned": N_("Abandoned"),
    "busy": N_("Arrived while busy"),
}
OUTCOME_TEXT = {
    "reached": N_("Called back: reached"),
    "no_answer": N_("No answer"),
    "wrong_number": N_("Wrong number"),
    "not_allowed": N_("Not allowed to call back"),
    "duplicate": N_("Duplicate"),
    "other": N_("Other"),
}


def reason_text(code: str) -> str:
    return _(REASON_TEXT[code]) if code in REASON_TEXT else code


def outcome_text(code: str | None) -> str:
    return _(OUTCOME_TEXT[code]) if code in OUTCOME_TEXT else (code or "")


def consent_text(item: CallbackItem) -> str:
    s = item.state
    if s.allowed:
        return _("Allowed")
    return _("Number withheld") if not s.shown else _("Not allowed by the rule")


def state_text(item: CallbackItem) -> str:
    s = item.state
    if item.writing is not None and item.writing.id != s.id:
        text = _("Sending your change…")
    elif s.state == cb.OPEN:
        text = _("Unassigned")
        if s.why == cb.ASSIGNEE_OFFLINE:
            text = _("Unassigned (assignee logged off)")
        elif s.why == "no_answer":
            text = ngettext(
                "Unassigned (no answer, {n} attempt)",
                "Unassigned (no answer, {n} attempts)",
                s.attempts,
            ).format(n=s.attempts)
    elif s.state == cb.ASSIGNED:
        text = _("Assigned to {counselor}").format(counselor=s.assignee or "—")
    else:
        text = _("Closed: {outcome}").format(outcome=outcome_text(s.outcome))
    if item.lost_to:
        text += " — " + _("{supervisor} changed it first").format(supervisor=item.lost_to)
    return text


def _pct(level: float | None) -> str:
    return "—" if level is None else f"{format_number(round(level * 100))} %"


def service_level_text(now: HourFigures, last: HourFigures, threshold_s: float) -> str:
    """ "Service level this hour 82 % (answered within 20 s) · last hour 90 % · speed to
    answer 12 s" — a dash for an hour with no contact yet."""
    text = _("Service level this hour {now} (answered within {s} s) · last hour {last}").format(
        now=_pct(now.level), s=format_number(round(threshold_s)), last=_pct(last.level)
    )
    if now.asa_s is not None:
        text += " · " + _("speed to answer {s} s").format(s=format_number(round(now.asa_s)))
    return text


def service_level_tooltip(day: list[HourFigures]) -> str:
    """Every hour of the day so far, one line each."""
    lines = [
        _("{hour}: {level} of {n} contacts").format(
            hour=h.start.strftime("%H:00"), level=_pct(h.level), n=h.contacts
        )
        for h in day
    ]
    return "\n".join(lines) or _("No contact yet today.")


class CallbackQueue(QGroupBox):
    """The queue, the assignee chooser, Assign, the close reason, Close."""

    def __init__(self, callbacks: Any, clock: Any, parent: QWidget | None = None) -> None:
        super().__init__(_("Callbacks"), parent)
        self.setObjectName("callbackQueue")
        #: escalation.callbacks.SupervisorCallbacks
        self.callbacks = callbacks
        self.clock = clock
        self.items: list[CallbackItem] = []
        self._closed_at: dict[str, float] = {}
        self._drawn: tuple[Any, ...] = ()
        self._statuses: dict[str, str] = {}
        from console.supervisor_window import SupervisorWindow  # one table style

        self.table = SupervisorWindow._table(
            "callbackTable",
            [_("Waiting"), _("Counselor"), _("Reason"), _("Callback"), _("State")],
        )
        self.table.setAccessibleName(_("Missed contacts to call back"))
        self.table.setToolTip(_("The number is shown only to the counselor who calls back."))
        self.table.itemSelectionChanged.connect(self._selected)
        self.assignee = QComboBox()
        self.assignee.setObjectName("callbackAssignee")
        self.assignee.setAccessibleName(_("Counselor to call back"))
        self.assign_button = QPushButton(_("Assign"))
        self.assign_button.setObjectName("btn_callback_assign")
        self.assign_button.setAccessibleName(_("Assign the callback to the chosen counselor"))
        self.assign_button.clicked.connect(self.assign)
        self.reason = QComboBox()
        self.reason.setObjectName("callbackCloseReason")
        self.reason.setAccessibleName(_("Reason for closing"))
        for code in cb.CLOSE_REASONS:
            self.reason.addItem(outcome_text(code), code)
        self.close_button = QPushButton(_("Close"))
        self.close_button.setObjectName("btn_callback_close")
        self.close_button.setAccessibleName(_("Close the callback with the chosen reason"))
        self.close_button.clicked.connect(self.close_callback)
        self.hint = QLabel()
        self.hint.setObjectName("callbackHint")
        self.hint.setAccessibleName(_("About the selected callback"))
        self.hint.setWordWrap(True)
        to_caption = QLabel(_("Call back:"))
        to_caption.setBuddy(self.assignee)
        or_caption = QLabel(_("Or close:"))
        or_caption.setBuddy(self.reason)
        controls = QGridLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setVerticalSpacing(4)
        controls.addWidget(to_caption, 0, 0)
        controls.addWidget(self.assignee, 0, 1)
        controls.addWidget(self.assign_button, 0, 2)
        controls.addWidget(or_caption, 1, 0)
        controls.addWidget(self.reason, 1, 1)
        controls.addWidget(self.close_button, 1, 2)
        controls.addWidget(self.hint, 2, 0, 1, 3)
        controls.setColumnStretch(1, 1)
        controls.setRowStretch(3, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.table, 2)
        layout.addLayout(controls, 1)
        chain = self.focus_chain()
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)
        self._selected()

    def focus_chain(self) -> list[QWidget]:
        return [self.table, self.assignee, self.assign_button, self.reason, self.close_button]

    @property
    def waiting(self) -> int:
        return sum(1 for i in self.items if i.state.state == cb.OPEN and i.state.allowed)

    # -- drawing ---------------------------------------------------------------------------
    def refresh(self, statuses: dict[str, str] | None = None) -> None:
        """Draw from the service's snapshot; ``statuses``: each counselor's board status in
        words, said beside the choices."""
        if statuses is not None:
            self._statuses = statuses
        now = self.clock.monotonic()
        items = self.callbacks.snapshot()
        for i in items:
            if i.state.state == cb.CLOSED:
                self._closed_at.setdefault(i.state.callback, now)
        self.items = [
            i
            for i in items
            if i.state.state != cb.CLOSED or now - self._closed_at[i.state.callback] < CLOSED_KEEP_S
        ]
        n = self.waiting
        self.setTitle(
            ngettext("Callbacks: {n} to assign", "Callbacks: {n} to assign", n).format(n=n)
            if n
            else _("Callbacks")
        )
        wall = self.clock.now()
        rows = [self._cells(i, wall) for i in self.items]
        drawn = (tuple(rows), tuple(sorted(self._statuses.items())))
        if drawn == self._drawn:
            self._selected()
            return
        self._drawn = drawn
        selected = self.selected_id()
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        for r, (item, cells) in enumerate(zip(self.items, rows, strict=True)):
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                cell.setData(Qt.ItemDataRole.UserRole, item.state.callback)
                if item.state.state == cb.OPEN and item.state.allowed:  # to do: bold
                    font = cell.font()
                    font.setBold(True)
                    cell.setFont(font)
                self.table.setItem(r, c, cell)
        ids = [i.state.callback for i in self.items]
        if selected in ids:
            self.table.selectRow(ids.index(selected))
        elif ids:
            self.table.selectRow(0)  # the longest waiting comes first
        self.table.blockSignals(False)
        self.fit()
        self._selected()

    def fit(self) -> None:
        from console.supervisor_window import fit_columns

        fit_columns(self.table, keep=(0, 4))

    @staticmethod
    def _cells(i: CallbackItem, now: dt.datetime) -> tuple[str, ...]:
        waited = max(0.0, (now - i.state.rung_at).total_seconds())
        return (
            fmt_duration(waited),
            i.state.counselor,
            reason_text(i.state.reason),
            consent_text(i),
            state_text(i),
        )

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        cell = self.table.item(rows[0].row(), 0)
        return None if cell is None else str(cell.data(Qt.ItemDataRole.UserRole))

    def select(self, callback: str) -> None:
        for r, item in enumerate(self.items):
            if item.state.callback == callback:
                self.table.selectRow(r)
                return

    def _item(self, callback: str | None) -> CallbackItem | None:
        return next((i for i in self.items if i.state.callback == callback), None)

    def _selected(self) -> None:
        item = self._item(self.selected_id())
        s = item.state if item else None
        open_ = s is not None and s.state != cb.CLOSED
        who = self.callbacks.assignees(s.callback) if open_ and s and s.allowed else []
        entries = [(self._choice_text(c), c) for c in who if not s or c != s.assignee]
        if [
            (self.assignee.itemText(k), self.assignee.itemData(k))
            for k in range(self.assignee.count())
        ] != entries:
            current = self.assignee.currentData()
            self.assignee.clear()
            for text, code in entries:
                self.assignee.addItem(text, code)
            at = self.assignee.findData(current)
            if at >= 0:
                self.assignee.setCurrentIndex(at)
        self.assign_button.setEnabled(bool(entries))
        self.assignee.setEnabled(bool(entries))
        self.close_button.setEnabled(open_)
        self.reason.setEnabled(open_)
        if s is None or s.state == cb.CLOSED:
            hint = ""
        elif not s.allowed:
            hint = _("Cannot be called back: close it.")
        elif not entries:
            hint = _("Nobody connected can call back.")
        else:
            hint = ""
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))

    def _choice_text(self, counselor: str) -> str:
        status = self._statuses.get(counselor)
        return f"{counselor} ({status})" if status else counselor

    # -- commands ------------------------------------------------------------------------------
    def assign(self) -> None:
        callback, counselor = self.selected_id(), self.assignee.currentData()
        if callback is None or counselor is None:
            return
        try:
            self.callbacks.assign(callback, str(counselor))
        except (ValueError, KeyError) as exc:
            self.hint.setText(str(exc) if isinstance(exc, ValueError) else "")
            self.hint.setVisible(bool(self.hint.text()))
            return
        self.refresh()

    def close_callback(self) -> None:
        callback, reason = self.selected_id(), self.reason.currentData()
        if callback is None or reason is None:
            return
        try:
            self.callbacks.close(callback, str(reason))
        except (ValueError, KeyError):
            return
        self.refresh()


# -- in the supervisor window (console/supervisor_window.py calls these) ----------------------
def build(window: Any) -> CallbackQueue | None:
    """The panel for ``window``'s agent (None: no callback queue in this build), hidden until
    a callback is listed."""
    callbacks = getattr(window.agent, "callbacks", None)
    if callbacks is None:
        return None
    panel = CallbackQueue(callbacks, window.session.clock)
    panel.setVisible(False)
    return panel


def service_level_label() -> QLabel:
    label = QLabel()
    label.setObjectName("serviceLevel")
    label.setWordWrap(True)
    label.setAccessibleName(_("Service level"))
    return label


def draw(window: Any, statuses: dict[str, str]) -> None:
    """Redraw the service-level line and the queue (on the window's UI timer)."""
    callbacks = getattr(window.agent, "callbacks", None)
    if callbacks is None:
        return
    sl = callbacks.service_level
    now = window.session.clock.now()
    text = service_level_text(sl.hour(now), sl.hour(now - dt.timedelta(hours=1)), sl.threshold_s)
    chats = sl.hour(now, "chat")
    if chats.contacts:  # the chat line this hour, beside the whole figure
        text += " · " + _("chats {level}").format(level=_pct(chats.level))
    label = window.service_level
    if label.text() != text:
        label.setText(text)
        label.setToolTip(service_level_tooltip(sl.day(now)))
    panel = window.callback_panel
    if panel is None:
        return
    panel.refresh(statuses)
    if panel.isHidden() == bool(panel.items):
        panel.setVisible(bool(panel.items))
        split = window._split  # room from the alerts and the board, as their stretch says
        weights = [3, 2] + [
            2 if split.widget(k).isVisibleTo(window) else 0 for k in range(2, split.count())
        ]
        total = sum(split.sizes())
        if total > 0 and window.isVisible():  # before the first show the stretch does it
            split.setSizes([total * w // sum(weights) for w in weights])
        panel.fit()
