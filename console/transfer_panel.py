"""The supervisor's "Follow-up transfers" panel (docs/clinical.md, "Transferring a follow-up").

A counselor asks to hand a follow-up on; the request carries codes only (the counselor's id,
the due time, the attempts left, the call's risk level, the reason), so the panel can show
nothing personal. The supervisor selects a request, picks the recipient among the
counselors whose console announced a sealing key (escalation.transfers.SupervisorTransfers
.recipients; one offline now gets it when it connects), and presses Approve — or picks a
reason and presses Decline. Approved transfers stay listed while they travel (approved, sent,
done); done and declined ones fall off after :data:`SETTLED_KEEP_S`.

The window redraws the panel on every ``TransferChanged`` that reaches its bridge and on its
UI timer (the board's statuses beside each recipient, the fall-off), from
``SupervisorTransfers.snapshot()``, as it draws the board.
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

from console.follow_ups import due_at_words
from console.theme import set_role
from core.i18n import _, format_datetime, ngettext
from escalation.reasons import DECLINE_REASONS, decline_reason_label, transfer_reason_label
from escalation.transfers import TransferItem

#: a done or declined transfer stays listed this long after the panel saw it settle
SETTLED_KEEP_S = 300.0
_SETTLED = ("done", "declined")


def state_words(item: TransferItem) -> str:
    """Where a transfer stands, for the supervisor, in words."""
    who = item.recipient or "—"
    if item.state == "pending":
        return _("Waiting for you")
    if item.state == "approved":
        return _("Approved to {counselor}").format(counselor=who)
    if item.state == "sent":
        return _("Sent to {counselor}, not yet taken").format(counselor=who)
    if item.state == "done":
        return _("Done: {counselor} has it").format(counselor=who)
    if item.state == "declined":
        return _("Declined: {reason}").format(
            reason=decline_reason_label(item.decline_reason or "other")
        )
    return item.state


class TransferPanel(QGroupBox):
    """Pending requests first; the recipient chooser, Approve, the decline reason, Decline."""

    def __init__(self, transfers: Any, clock: Any, parent: QWidget | None = None) -> None:
        super().__init__(_("Follow-up transfers"), parent)
        self.setObjectName("transferPanel")
        #: escalation.transfers.SupervisorTransfers (commands go there; drawing reads its
        #: snapshot)
        self.transfers = transfers
        self.clock = clock
        self.items: list[TransferItem] = []
        self._settled_at: dict[str, float] = {}  # transfer → when the panel saw it settle
        self._drawn: tuple[Any, ...] = ()
        self._statuses: dict[str, str] = {}

        from console.supervisor_window import SupervisorWindow  # one table style

        self.table = SupervisorWindow._table(
            "transferTable",
            [
                _("Counselor"),
                _("Due"),
                # Translators: a narrow column: the attempts left of the follow-up
                _("Tries"),
                _("Risk"),
                _("Reason"),
                _("State"),
            ],
        )
        self.table.setAccessibleName(_("Follow-up transfer requests"))
        header_item = self.table.horizontalHeaderItem(2)
        if header_item is not None:
            header_item.setToolTip(_("Attempts left"))
        self.table.itemSelectionChanged.connect(self._selected)

        self.recipient = QComboBox()
        self.recipient.setObjectName("transferRecipient")
        self.recipient.setAccessibleName(_("Counselor to receive the follow-up"))
        self.approve_button = QPushButton(_("Approve"))
        self.approve_button.setObjectName("btn_transfer_approve")
        self.approve_button.setAccessibleName(_("Approve the transfer to the chosen counselor"))
        self.approve_button.clicked.connect(self.approve)
        self.reason = QComboBox()
        self.reason.setObjectName("transferDeclineReason")
        self.reason.setAccessibleName(_("Reason for declining"))
        for code in DECLINE_REASONS:
            self.reason.addItem(decline_reason_label(code), code)
        self.decline_button = QPushButton(_("Decline"))
        self.decline_button.setObjectName("btn_transfer_decline")
        self.decline_button.setAccessibleName(_("Decline the transfer with the chosen reason"))
        self.decline_button.clicked.connect(self.decline)
        self.hint = QLabel()
        self.hint.setObjectName("transferHint")
        self.hint.setAccessibleName(_("About the selected transfer"))
        self.hint.setWordWrap(True)

        to_caption = QLabel(_("Give it to:"))
        to_caption.setBuddy(self.recipient)
        or_caption = QLabel(_("Or decline:"))
        or_caption.setBuddy(self.reason)
        controls = QGridLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setVerticalSpacing(4)
        controls.addWidget(to_caption, 0, 0)
        controls.addWidget(self.recipient, 0, 1)
        controls.addWidget(self.approve_button, 0, 2)
        controls.addWidget(or_caption, 1, 0)
        controls.addWidget(self.reason, 1, 1)
        controls.addWidget(self.decline_button, 1, 2)
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
        """Keyboard order: the requests, the chooser, Approve, the decline reason, Decline."""
        return [self.table, self.recipient, self.approve_button, self.reason, self.decline_button]

    # -- drawing -------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return sum(1 for i in self.items if i.state == "pending")

    def title_text(self) -> str:
        n = self.pending
        if not n:
            return _("Follow-up transfers")
        return ngettext(
            "Follow-up transfers: {n} waiting for you",
            "Follow-up transfers: {n} waiting for you",
            n,
        ).format(n=n)

    def refresh(self, statuses: dict[str, str] | None = None) -> None:
        """Draw the transfers from the service's snapshot; ``statuses``: each counselor's
        board status in words, said beside the recipients."""
        if statuses is not None:
            self._statuses = statuses
        items, _keys = self.transfers.snapshot()
        now = self.clock.monotonic()
        for i in items:
            if i.state in _SETTLED:
                self._settled_at.setdefault(i.transfer, now)
        self.items = [
            i
            for i in items
            if i.state not in _SETTLED or now - self._settled_at[i.transfer] < SETTLED_KEEP_S
        ]
        wall = self.clock.now()
        rows = [self._cells(i, wall) for i in self.items]
        drawn = (tuple(rows), tuple(sorted(self._statuses.items())))
        self.setTitle(self.title_text())
        if drawn == self._drawn:
            self._selected()  # the recipients may have changed (a key announced)
            return
        self._drawn = drawn
        selected = self.selected_id()
        self.table.blockSignals(True)
        self.table.setRowCount(len(rows))
        for r, (item, cells) in enumerate(zip(self.items, rows, strict=True)):
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if c == 1 and item.due_at is not None:  # the words; the time in the tooltip
                    cell.setToolTip(
                        _("{words} ({time})").format(words=text, time=format_datetime(item.due_at))
                    )
                else:
                    cell.setToolTip(text)
                cell.setData(Qt.ItemDataRole.UserRole, item.transfer)
                if item.state == "pending":  # waiting for a decision: in bold, words first
                    font = cell.font()
                    font.setBold(True)
                    cell.setFont(font)
                self.table.setItem(r, c, cell)
        ids = [i.transfer for i in self.items]
        if selected in ids:
            self.table.selectRow(ids.index(selected))
        elif self.pending:
            self.table.selectRow(0)  # pending come first: the one to decide
        self.table.blockSignals(False)
        self.fit()
        self._selected()

    def fit(self) -> None:
        from console.supervisor_window import fit_columns

        fit_columns(self.table, keep=(0, 1, 5))  # who, when, and where it stands

    @staticmethod
    def _cells(i: TransferItem, now: dt.datetime) -> tuple[str, ...]:
        from console.supervisor_window import risk_text

        return (
            i.counselor,
            "—" if i.due_at is None else due_at_words(i.due_at, now),
            "—" if i.attempts_left is None else str(i.attempts_left),
            risk_text(i.risk),
            transfer_reason_label(i.reason),
            state_words(i),
        )

    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        cell = self.table.item(rows[0].row(), 0)
        return None if cell is None else str(cell.data(Qt.ItemDataRole.UserRole))

    def select(self, transfer: str) -> None:
        for r, item in enumerate(self.items):
            if item.transfer == transfer:
                self.table.selectRow(r)
                return

    def _item(self, transfer: str | None) -> TransferItem | None:
        return next((i for i in self.items if i.transfer == transfer), None)

    def _selected(self) -> None:
        """The chooser and the buttons follow the selected request."""
        item = self._item(self.selected_id())
        pending = item is not None and item.state == "pending"
        recipients = self.transfers.recipients(item.transfer) if pending and item else []
        entries = [(self._recipient_text(c), c) for c in recipients]
        current = self.recipient.currentData()
        if [
            (self.recipient.itemText(k), self.recipient.itemData(k))
            for k in range(self.recipient.count())
        ] != entries:
            self.recipient.clear()
            for text, code in entries:
                self.recipient.addItem(text, code)
            at = self.recipient.findData(current)
            self.recipient.setCurrentIndex(max(0, at) if entries else -1)
        self.recipient.setEnabled(bool(entries))
        self.approve_button.setEnabled(bool(entries))
        self.reason.setEnabled(pending)
        self.decline_button.setEnabled(pending)
        if item is None:
            text, role = (
                (_("Select a request to decide."), "dim")
                if self.pending
                else (_("No transfer is waiting for you."), "dim")
            )
        elif pending and not entries:
            text, role = (
                _(
                    "No counselor can receive it yet: a console must connect once to be "
                    "chosen. Decline it, or wait."
                ),
                "warning",
            )
        elif pending:
            text, role = (
                _("Only codes are here; the follow-up travels sealed to the counselor you pick."),
                "dim",
            )
        else:
            text, role = state_words(item), "ok" if item.state == "done" else "dim"
        if self.hint.text() != text:
            self.hint.setText(text)
        set_role(self.hint, role)

    def _recipient_text(self, counselor: str) -> str:
        status = self._statuses.get(counselor)
        if status is None:
            return counselor
        return _("{counselor} — {status}").format(counselor=counselor, status=status)

    # -- actions -------------------------------------------------------------------------
    def approve(self) -> None:
        transfer, recipient = self.selected_id(), self.recipient.currentData()
        if not transfer or not recipient:
            return
        try:
            self.transfers.approve(transfer, str(recipient))
        except (KeyError, ValueError):
            self._say(_("That counselor cannot receive this follow-up. Choose another."))
            return
        self.refresh()

    def decline(self) -> None:
        transfer, reason = self.selected_id(), self.reason.currentData()
        if not transfer or not reason:
            return
        try:
            self.transfers.decline(transfer, str(reason))
        except (KeyError, ValueError):
            self._say(_("This transfer can no longer be declined."))
            return
        self.refresh()

    def _say(self, text: str) -> None:
        self.hint.setText(text)
        set_role(self.hint, "danger")
