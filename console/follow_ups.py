"""Follow-ups in the console: the wrap-up's "schedule a follow-up" part, and the queue.

:class:`FollowUpScheduler` sits in the wrap-up box: "Follow up with this caller" (checked
when the organisation or the risk assessment suggests it, :meth:`~FollowUpScheduler.set_suggested`),
when (``clinical.follow_up_after_h`` from now by default, in hours or as a date) and how many
attempts (``clinical.follow_up_attempts``). The window calls
:meth:`~FollowUpScheduler.schedule` when the wrap-up finishes; while the store is locked the
follow-up waits in memory (contact id, due time and attempts only) and is written at unlock.

:class:`FollowUpQueue` is a side panel: the open follow-ups, the most overdue first; each row
says in words whether it is overdue or when it is due, its due time and the attempts made.
The number to call back is shown only for the selected follow-up, read from the store when
it is selected (an audited view) and never logged. Enter (or "Record attempt…") asks what
happened; an attempt that did not reach the person is due again after
``clinical.follow_up_retry_h``. Once a minute, by the session's clock, the queue redraws
and emits :attr:`~FollowUpQueue.due` when a follow-up has become due (those that fell due
while the laptop was off count at start). It empties on ``StoreLocked`` and reloads on
``StoreUnlocked``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDateTime, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from console.bridge import EventBridge
from console.store_views import HitList
from console.theme import set_role
from core.clock import Clock
from core.config import Config
from core.errors import FaroError
from core.forms import Form
from core.i18n import N_, _, current_language, format_datetime, ngettext
from storage.events import StoreLocked, StoreUnlocked
from storage.records import (
    FOLLOW_UP_OUTCOMES,
    FOLLOW_UP_REACHED,
    FollowUp,
    follow_up_rule,
    parse_iso,
)

if TYPE_CHECKING:  # escalation is optional in a build: imported where a transfer needs it
    from escalation.events import TransferChanged

log = logging.getLogger(__name__)

#: the queue redraws and looks for newly due follow-ups this often (by the session's clock)
TICK_MS = 60_000
#: a follow-up this close to its due time is "due now" rather than overdue
DUE_NOW_S = 60
#: what recording an attempt did stays said at least this long (until the next tick after it)
NOTICE_S = 30.0

#: labels of the outcome codes (storage.records.FOLLOW_UP_OUTCOMES), in the dialog's order
OUTCOME_LABELS: dict[str, str] = {
    "reached": N_("Reached the person"),
    "no_answer": N_("No answer"),
    "voicemail": N_("Left a voicemail"),
    "wrong_number": N_("Wrong number"),
    "declined": N_("Declined more contact"),
}
assert tuple(OUTCOME_LABELS) == FOLLOW_UP_OUTCOMES


def outcome_label(code: str) -> str:
    """The counselor's words for an outcome code (an unknown one as stored)."""
    label = OUTCOME_LABELS.get(code)
    return _(label) if label else code


def duration_words(seconds: float) -> str:
    """A rough duration in words: minutes under an hour, hours under two days, else days."""
    minutes = max(1, int(abs(seconds) // 60))
    if minutes < 60:
        return ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
    hours = minutes // 60
    if hours < 48:
        return ngettext("{n} hour", "{n} hours", hours).format(n=hours)
    days = hours // 24
    return ngettext("{n} day", "{n} days", days).format(n=days)


def due_words(follow_up: FollowUp, now: dt.datetime) -> str:
    """ "Overdue by 3 hours", "Due now", "Due in 20 hours": never colour alone."""
    return due_at_words(follow_up.due, now)


def due_at_words(due: dt.datetime, now: dt.datetime) -> str:
    """:func:`due_words` for a due time alone (a transfer request carries no follow-up)."""
    left = (due - now).total_seconds()
    if left > 0:
        return _("Due in {duration}").format(duration=duration_words(left))
    if -left < DUE_NOW_S:
        return _("Due now")
    return _("Overdue by {duration}").format(duration=duration_words(left))


def attempts_words(follow_up: FollowUp) -> str:
    return ngettext(
        "{made} of {max} attempt made", "{made} of {max} attempts made", follow_up.max_attempts
    ).format(made=follow_up.attempts, max=follow_up.max_attempts)


def _when(text: str | None) -> str:
    return format_datetime(parse_iso(text)) if text else ""


def _date_format() -> str:
    """The due-date field: weekday, day and month, time (the year adds nothing a week
    ahead, and the field must fit the call column): "dom 22/11 12:00", "Sun 11/22 12:00 PM"."""
    if current_language() == "es_MX":
        return "ddd dd/MM HH:mm"
    return "ddd MM/dd h:mm AP"


# -- scheduling at wrap-up ---------------------------------------------------------------------
class FollowUpScheduler(QWidget):
    """The wrap-up's "schedule a follow-up" part. Fits the 340 px call column."""

    #: a follow-up was written: its id (connect the queue's :meth:`FollowUpQueue.reload`)
    scheduled = Signal(int)
    #: a follow-up could not be written: a message fit for the counselor
    failed = Signal(str)

    def __init__(
        self,
        store: Any,
        config: Config,
        clock: Clock,
        bridge: EventBridge | None = None,
        parent: QWidget | None = None,
        form: Form | None = None,
    ) -> None:
        super().__init__(parent)
        #: the organisation's form: its follow-up rule (per risk level) gives the defaults
        self.form = form
        self._level: str | None = None  # the contact's assessed risk level, when saved
        self.setObjectName("followUpScheduler")
        self.store = store
        self.config = config
        self.clock = clock
        self._suggested = False
        self._touched = False  # the counselor ticked or unticked the box for this contact
        self._absolute = False  # the counselor chose a date (else: hours from now)
        self._contact: str | None = None
        #: follow-ups asked for while the store was locked: (contact id, due, attempts)
        self._pending: list[tuple[str, dt.datetime, int]] = []

        # Three short lines, narrow (the wrap-up box shares the 340 px call column, 600 px
        # high): the box, "[in 24 h] [Sun 11/22 12:00 PM]", "Attempts [3]  Suggested";
        # each field is named for a screen reader.
        self.enabled = QCheckBox(_("Follow up with this caller"))
        self.enabled.setObjectName("followUpEnabled")
        self.enabled.setAccessibleName(_("Follow up with this caller"))
        self.enabled.clicked.connect(self._on_clicked)
        self.enabled.toggled.connect(self._on_toggled)

        self.hours = QSpinBox()
        self.hours.setObjectName("followUpHours")
        self.hours.setAccessibleName(_("Hours until the follow-up"))
        self.hours.setToolTip(_("Hours until the follow-up"))
        # Translators: before and after a number of hours in a spin box ("in 24 h")
        self.hours.setPrefix(_("in "))
        self.hours.setSuffix(_(" h"))
        self.hours.setRange(1, 168)
        self.hours.valueChanged.connect(self._on_hours)
        self.when = QDateTimeEdit()
        self.when.setObjectName("followUpWhen")
        self.when.setAccessibleName(_("When the follow-up is due"))
        self.when.setToolTip(_("When the follow-up is due"))
        self.when.dateTimeChanged.connect(self._on_when)
        self.attempts = QSpinBox()
        self.attempts.setObjectName("followUpAttempts")
        self.attempts.setAccessibleName(_("Attempts for the follow-up"))
        self.attempts.setToolTip(_("Attempts for the follow-up"))
        self.attempts.setRange(1, 20)
        self.attempts.valueChanged.connect(self._on_attempts)

        self.details = QWidget()
        self.details.setObjectName("followUpDetails")
        grid = QGridLayout(self.details)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(2)
        attempts_label = QLabel(_("Attempts"))
        attempts_label.setBuddy(self.attempts)
        self.hint = QLabel(_("Suggested"))
        self.hint.setObjectName("followUpSuggested")
        set_role(self.hint, "dim")
        grid.addWidget(self.hours, 0, 0, 1, 2)
        grid.addWidget(self.when, 0, 2, 1, 2)
        grid.addWidget(attempts_label, 1, 0)
        grid.addWidget(self.attempts, 1, 1)
        grid.addWidget(self.hint, 1, 3, Qt.AlignmentFlag.AlignRight)
        grid.setColumnStretch(2, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.enabled)
        layout.addWidget(self.details)
        if bridge is not None:
            bridge.on(StoreUnlocked, self._on_unlocked)
        self.reset()

    # -- what the window calls --------------------------------------------------------------
    def set_level(self, level: str | None) -> None:
        """The contact's risk assessment was saved at ``level``: the defaults follow the
        form's rule for that level (unless the counselor already changed them)."""
        self._level = level
        if not self._touched_values:
            self._apply_rule()

    def set_suggested(self, on: bool) -> None:
        """The organisation or a high/imminent assessment asks for a follow-up: ticked (unless
        the counselor already chose for this contact), with a word saying why."""
        self._suggested = on
        self._label_box()
        if not self._touched:
            self.enabled.setChecked(on)

    def reset(self) -> None:
        """Back to the defaults for a new contact (not suggested, not ticked)."""
        self._suggested = self._touched = self._absolute = False
        self._touched_values = False
        self._level = None
        self._label_box()
        self.enabled.setChecked(False)
        self.details.setVisible(False)
        self._apply_rule()
        self.when.setDisplayFormat(_date_format())
        self._refresh_when()

    def _apply_rule(self) -> None:
        """The defaults: the form's follow-up rule for the contact's level (the options
        ``clinical.follow_up_*``, when set, override it: storage.records.follow_up_rule)."""
        rule = follow_up_rule(self.config, self.form, self._level)
        self.hours.blockSignals(True)
        self.attempts.blockSignals(True)
        self.hours.setValue(round(rule.after_h))
        self.attempts.setValue(rule.attempts)
        self.hours.blockSignals(False)
        self.attempts.blockSignals(False)
        self._refresh_when()

    def show_contact(self, contact_id: str | None, call: Any = None) -> None:
        """Like the contact forms: a new contact starts from the defaults."""
        if contact_id is not None and contact_id != self._contact:
            self._contact = contact_id
            self.reset()
        else:
            self._refresh_when()

    def due_at(self) -> dt.datetime:
        """When the follow-up would be due if scheduled now (aware, UTC)."""
        now = self.clock.now()
        if not self._absolute:
            return now + dt.timedelta(hours=self.hours.value())
        chosen = dt.datetime.fromtimestamp(self.when.dateTime().toSecsSinceEpoch(), dt.UTC)
        return max(chosen, now)

    def schedule(self, contact_id: str) -> int | None:
        """Write the follow-up if the box is ticked (the wrap-up has finished). Returns its id;
        None when not asked for, kept for the unlock while the store is locked, or failed
        (:attr:`failed` says why). Resets the form for the next contact."""
        if not self.enabled.isChecked():
            self.reset()
            return None
        request = (contact_id, self.due_at(), self.attempts.value())
        self.reset()
        if self.store.is_locked:
            self._pending.append(request)
            return None
        return self._write(*request)

    @property
    def pending(self) -> int:
        """Follow-ups waiting for the store to unlock."""
        return len(self._pending)

    # -- inside -------------------------------------------------------------------------------
    def _write(self, contact_id: str, due: dt.datetime, attempts: int) -> int | None:
        try:
            follow_up_id = int(self.store.add_follow_up(contact_id, due, attempts))
        except FaroError as exc:
            log.warning("follow-up not saved: %s", type(exc).__name__)
            self.failed.emit(
                _("The follow-up could not be saved: {reason}").format(reason=exc.user_text())
            )
            return None
        self.scheduled.emit(follow_up_id)
        return follow_up_id

    def _on_unlocked(self, _event: StoreUnlocked) -> None:
        pending, self._pending = self._pending, []
        for request in pending:
            self._write(*request)

    def _label_box(self) -> None:
        self.hint.setVisible(self._suggested)
        self.enabled.setAccessibleName(
            _("Follow up with this caller (suggested)")
            if self._suggested
            else _("Follow up with this caller")
        )

    def _on_clicked(self) -> None:
        self._touched = True

    def _on_toggled(self, on: bool) -> None:
        self.details.setVisible(on)
        if on:
            self._refresh_when()

    def _on_hours(self) -> None:
        self._absolute = False
        self._touched_values = True
        self._refresh_when()

    def _on_attempts(self) -> None:
        self._touched_values = True

    def _on_when(self) -> None:
        self._absolute = True
        self._touched_values = True
        left = (self.due_at() - self.clock.now()).total_seconds() / 3600
        self.hours.blockSignals(True)
        self.hours.setValue(max(1, round(left)))
        self.hours.blockSignals(False)

    def _refresh_when(self) -> None:
        """The date field shows "hours from now" unless the counselor chose a date."""
        now = self.clock.now()
        self.when.blockSignals(True)
        self.when.setMinimumDateTime(QDateTime.fromSecsSinceEpoch(int(now.timestamp())))
        if not self._absolute:
            due = now + dt.timedelta(hours=self.hours.value())
            self.when.setDateTime(QDateTime.fromSecsSinceEpoch(int(due.timestamp())))
        self.when.blockSignals(False)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh_when()


# -- the queue ---------------------------------------------------------------------------------
class FollowUpRow(QWidget):
    """One follow-up in the queue: due in words, then its time and the attempts, wrapped."""

    def __init__(self, follow_up: FollowUp, now: dt.datetime, parent: QWidget | None = None):
        super().__init__(parent)
        self.status = QLabel()
        self.status.setObjectName("followUpStatus")
        self.status.setWordWrap(True)
        self.meta = QLabel()
        self.meta.setObjectName("followUpMeta")
        self.meta.setWordWrap(True)
        #: where a transfer of this follow-up stands, or whom it came from (hidden: neither)
        self.transfer = QLabel()
        self.transfer.setObjectName("followUpTransferState")
        self.transfer.setWordWrap(True)
        self.transfer.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 3, 4, 3)
        layout.setSpacing(1)
        layout.addWidget(self.status)
        layout.addWidget(self.meta)
        layout.addWidget(self.transfer)
        self.show_follow_up(follow_up, now)

    def show_follow_up(
        self, follow_up: FollowUp, now: dt.datetime, transfer: tuple[str, str] | None = None
    ) -> str:
        """Draw ``follow_up`` at ``now`` with ``transfer`` ((words, theme role) of where its
        transfer stands, see :func:`transfer_words`); returns the row's text for a screen
        reader."""
        due = follow_up.is_due(now)
        self.status.setText(due_words(follow_up, now))
        set_role(self.status, "warning" if due else None)  # the banner repeats the words
        parts = [format_datetime(follow_up.due), attempts_words(follow_up)]
        text = " · ".join(parts)
        if follow_up.outcome:
            text += "\n" + _("Last attempt: {outcome}").format(
                outcome=outcome_label(follow_up.outcome)
            )
        self.meta.setText(text)
        set_role(self.meta, None if due else "dim")
        if transfer is None and follow_up.transferred_from:
            transfer = (
                _("Transferred to you from {counselor}").format(
                    counselor=follow_up.transferred_from
                ),
                "info",
            )
        self.transfer.setVisible(transfer is not None)
        if transfer is None:
            return f"{self.status.text()}. {text}"
        self.transfer.setText(transfer[0])
        set_role(self.transfer, transfer[1])
        return f"{self.status.text()}. {text}. {transfer[0]}"


class FollowUpList(HitList):
    """The rows, as tall as their wrapped text and never wider than the list (as search
    hits are)."""

    def sizeHint(self) -> QSize:  # a few rows; the side column scrolls for more
        return QSize(super().sizeHint().width(), 150)


class OutcomeDialog(QDialog):
    """What happened on this attempt: arrows choose, Enter records, Escape cancels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("followUpOutcome")
        self.setWindowTitle(_("Record attempt"))
        self.setAccessibleName(_("Record attempt"))
        prompt = QLabel(_("What happened when you called?"))
        prompt.setWordWrap(True)
        self.outcomes = QListWidget()
        self.outcomes.setObjectName("followUpOutcomes")
        self.outcomes.setAccessibleName(_("Outcome of the attempt"))
        for code in FOLLOW_UP_OUTCOMES:
            item = QListWidgetItem(outcome_label(code))
            item.setData(Qt.ItemDataRole.UserRole, code)
            self.outcomes.addItem(item)
        self.outcomes.setCurrentRow(0)
        self.outcomes.itemActivated.connect(lambda _item: self.accept())
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(_("Record"))
        ok.setAccessibleName(_("Record the attempt"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(prompt)
        layout.addWidget(self.outcomes)
        layout.addWidget(self.buttons)
        self.outcomes.setFocus()

    def outcome(self) -> str | None:
        item = self.outcomes.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))


#: why a follow-up is handed on (escalation.reasons.TRANSFER_REASONS), in the dialog's order
TRANSFER_LABELS: dict[str, str] = {
    "end_of_shift": N_("End of shift"),
    "language": N_("Language"),
    "continuity": N_("Continuity of care"),
    "other": N_("Other"),
}


#: the steps of a transfer during which the follow-up is on its way (no second request)
TRANSFER_MOVING = ("requested", "approved", "sent", "accepted")


def transfer_words(state: str, recipient: str | None, reason: str | None) -> tuple[str, str]:
    """Where a transfer of ours stands, in words, and its theme role: the words say it all,
    the colour only repeats them."""
    from escalation.reasons import decline_reason_label

    someone = recipient or _("the other counselor")
    if state == "requested":
        return _("Transfer requested: waiting for a supervisor"), "info"
    if state == "approved":
        return _("Transfer approved to {counselor}: sending it").format(counselor=someone), "info"
    if state == "sent":
        return (
            _("Sent to {counselor}: waiting for their console to take it").format(
                counselor=someone
            ),
            "info",
        )
    if state == "accepted":
        return _("{counselor} has it: closing it here").format(counselor=someone), "ok"
    if state == "declined":
        return (
            _("Transfer declined: {reason}. It stays with you.").format(
                reason=decline_reason_label(reason or "other")
            ),
            "warning",
        )
    return state, "dim"


class TransferDialog(QDialog):
    """Hand the selected follow-up to another counselor, through the supervisor: a reason,
    and an optional short handover note (sealed; supervisors never read it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("followUpTransfer")
        self.setWindowTitle(_("Transfer follow-up"))
        self.setAccessibleName(_("Transfer follow-up"))
        prompt = QLabel(_("Why should another counselor take this follow-up?"))
        prompt.setWordWrap(True)
        self.reasons = QListWidget()
        self.reasons.setObjectName("followUpTransferReasons")
        self.reasons.setAccessibleName(_("Reason for the transfer"))
        for code, label in TRANSFER_LABELS.items():
            item = QListWidgetItem(_(label))
            item.setData(Qt.ItemDataRole.UserRole, code)
            self.reasons.addItem(item)
        self.reasons.setCurrentRow(0)
        self.note = QPlainTextEdit()
        self.note.setObjectName("followUpTransferNote")
        self.note.setAccessibleName(_("Handover note for the next counselor (optional)"))
        self.note.setPlaceholderText(_("Handover note for the next counselor (optional)"))
        self.note.setTabChangesFocus(True)
        self.note.setMaximumHeight(80)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(_("Ask the supervisor"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(prompt)
        layout.addWidget(self.reasons)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.reasons.setFocus()

    def reason(self) -> str | None:
        item = self.reasons.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))


class FollowUpQueue(QGroupBox):
    """The open follow-ups, due and overdue first, for the 340 px side column."""

    #: follow-ups have become due (also at start, for those overdue): how many are due now
    due = Signal(int)

    def __init__(
        self,
        store: Any,
        clock: Clock,
        bridge: EventBridge | None = None,
        parent: QWidget | None = None,
        transfers: Any = None,
    ) -> None:
        super().__init__(_("Follow-ups"), parent)
        #: app.follow_up_transfer.FollowUpTransfers (None: no transfer on this console)
        self.transfers = transfers
        self.transfer_dialog: TransferDialog | None = None
        #: follow-up id (str, as transfers carry it) → (state, recipient, decline reason)
        self.transfer_states: dict[str, tuple[str, str | None, str | None]] = {}
        self._transfer_of: dict[str, str] = {}  # transfer id → follow-up id
        self.setObjectName("followUpQueue")
        self.store = store
        self.clock = clock
        self.items: list[FollowUp] = []
        self._announced: set[int] = set()  # due ids already told through `due`
        self._shown: int | None = None  # the follow-up whose number is on screen
        self.dialog: OutcomeDialog | None = None
        self._said_at = 0.0  # when the notice was said (the clock's monotonic seconds)

        self.summary = QLabel()
        self.summary.setObjectName("followUpSummary")
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName(_("Follow-ups due"))
        self.list = FollowUpList()
        self.list.setObjectName("followUpList")
        self.list.setAccessibleName(_("Follow-ups waiting"))
        self.list.currentItemChanged.connect(lambda *_a: self._show_detail())
        self.list.itemActivated.connect(lambda _item: self.record_attempt())
        self.detail = QLabel()
        self.detail.setObjectName("followUpDetail")
        self.detail.setWordWrap(True)
        self.detail.setAccessibleName(_("Selected follow-up"))
        self.record_button = QPushButton(_("Record attempt…"))
        self.record_button.setObjectName("btn_follow_up_attempt")
        self.record_button.setAccessibleName(_("Record an attempt for the selected follow-up"))
        self.record_button.clicked.connect(self.record_attempt)
        self.transfer_button = QPushButton(_("Transfer…"))
        self.transfer_button.setObjectName("btn_follow_up_transfer")
        self.transfer_button.setAccessibleName(
            _("Transfer the selected follow-up to another counselor")
        )
        self.transfer_button.clicked.connect(self.ask_transfer)
        self.transfer_button.setVisible(transfers is not None)
        self.notice = QLabel()
        self.notice.setObjectName("followUpNotice")
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName(_("Follow-up notice"))
        self.notice.setVisible(False)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.detail)
        layout.addWidget(self.record_button)
        layout.addWidget(self.transfer_button)
        layout.addWidget(self.notice)

        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        if bridge is not None:
            bridge.on(StoreLocked, self._on_locked)
            bridge.on(StoreUnlocked, lambda _e: self.reload())
            if transfers is not None:
                from escalation.events import TransferChanged

                bridge.on(TransferChanged, self.show_transfer)
        self.reload()

    # -- loading and drawing ------------------------------------------------------------------
    def reload(self, *_args: Any) -> None:
        """Read the open follow-ups from the store (nothing while it is locked)."""
        if self.store.is_locked:
            self.clear()
            return
        try:
            self.items = self.store.follow_ups(open_only=True)
        except FaroError:  # locked meanwhile: StoreLocked follows and clears
            self.clear()
            return
        if self.transfers is not None:  # the steps kept in the outbox (after a restart)
            for follow_up, step in self.transfers.pending().items():
                known = self.transfer_states.get(follow_up)
                if known is None or known[0] != step:
                    self.transfer_states[follow_up] = (step, known[1] if known else None, None)
        self._draw()
        self._check_due()

    def clear(self) -> None:
        """Nothing on screen, nothing in memory: the store is locked."""
        if self.dialog is not None:
            self.dialog.reject()
        self.items = []
        self._announced = set()
        self._shown = None
        self.list.clear()
        self.detail.clear()
        self.notice.clear()
        self.notice.setVisible(False)
        self.summary.clear()
        self.record_button.setEnabled(False)
        self.transfer_button.setEnabled(False)

    def tick(self) -> None:
        """Every minute: the words follow the clock; newly due follow-ups are told; a notice
        older than :data:`NOTICE_S` goes."""
        if self.notice.isVisible() and self.clock.monotonic() - self._said_at >= NOTICE_S:
            self.notice.clear()
            self.notice.setVisible(False)
        if self.items:
            self._draw()
        self._check_due()

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def select(self, follow_up_id: int) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == follow_up_id:
                self.list.setCurrentRow(i)
                return

    def _draw(self) -> None:
        now = self.clock.now()
        current = self.current_id()
        same = [f.id for f in self.items] == [
            self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
        ]
        self.list.blockSignals(True)
        if not same:
            self.list.clear()
        for i, f in enumerate(self.items):
            if same:
                item = self.list.item(i)
                row = self.list.itemWidget(item)
                assert isinstance(row, FollowUpRow)
                text = row.show_follow_up(f, now, self._transfer_words(f.id))
            else:
                item = QListWidgetItem()
                item.setData(Qt.ItemDataRole.UserRole, f.id)
                self.list.addItem(item)
                row = FollowUpRow(f, now)
                text = row.show_follow_up(f, now, self._transfer_words(f.id))
                self.list.setItemWidget(item, row)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, text)
        ids = [f.id for f in self.items]
        if current in ids:
            self.list.setCurrentRow(ids.index(current))
        elif ids:
            self.list.setCurrentRow(0)
        self.list.blockSignals(False)
        self.list.fit_rows()
        self._draw_summary(now)
        self._show_detail()

    def _draw_summary(self, now: dt.datetime) -> None:
        due = sum(1 for f in self.items if f.is_due(now))
        if due:
            text = ngettext("{n} follow-up is due.", "{n} follow-ups are due.", due)
            set_role(self.summary, "warning")
        elif self.items:
            n = len(self.items)
            text = ngettext(
                "{n} follow-up waiting, none due yet.", "{n} follow-ups waiting, none due yet.", n
            )
            set_role(self.summary, "dim")
        else:
            text = _("No follow-ups waiting.")
            set_role(self.summary, "dim")
        self.summary.setText(text.format(n=due or len(self.items)))
        self.record_button.setEnabled(bool(self.items))
        self._enable_transfer()

    def _transfer_words(self, follow_up_id: int) -> tuple[str, str] | None:
        known = self.transfer_states.get(str(follow_up_id))
        return None if known is None else transfer_words(*known)

    def _enable_transfer(self) -> None:
        """Transfer… acts on a selected follow-up that is not already on its way."""
        fid = self.current_id()
        moving = fid is not None and (
            self.transfer_states.get(str(fid), ("",))[0] in TRANSFER_MOVING
        )
        self.transfer_button.setEnabled(fid is not None and not moving)

    def _show_detail(self) -> None:
        """The selected follow-up: the number to call back (read now, audited), the call."""
        follow_up_id = self.current_id()
        f = next((x for x in self.items if x.id == follow_up_id), None)
        self._enable_transfer()
        if f is None:
            self._shown = None
            self.detail.setText(_("Choose a follow-up to see the number to call back."))
            set_role(self.detail, "dim")
            return
        if self._shown == f.id and self.detail.text():
            return  # already on screen: no second read of the number every minute
        try:
            number = self.store.follow_up_caller(f.id)
        except FaroError:
            self.detail.clear()
            return
        lines = [
            _("Call back: {number}").format(number=number.reveal())
            if number
            else _("No number was recorded for this call.")
        ]
        if f.contact_at:
            lines.append(_("Call of {when}").format(when=_when(f.contact_at)))
        if f.outcome and f.last_attempt_at:
            lines.append(
                _("Last attempt: {outcome}, {when}").format(
                    outcome=outcome_label(f.outcome), when=_when(f.last_attempt_at)
                )
            )
        self._shown = f.id
        self.detail.setText("\n".join(lines))
        set_role(self.detail, None)

    def _check_due(self) -> None:
        now = self.clock.now()
        due = {f.id for f in self.items if f.is_due(now)}
        new = due - self._announced
        self._announced = due
        if new:
            self.due.emit(len(due))

    # -- recording an attempt ---------------------------------------------------------------
    def record_attempt(self) -> None:
        """Ask what happened on an attempt for the selected follow-up (Enter on the list)."""
        follow_up_id = self.current_id()
        if follow_up_id is None or self.store.is_locked:
            return
        dialog = OutcomeDialog(self)
        self.dialog = dialog
        dialog.finished.connect(lambda result, d=dialog, fid=follow_up_id: self._done(d, fid))
        dialog.open()
        dialog.outcomes.setFocus()

    def _done(self, dialog: OutcomeDialog, follow_up_id: int) -> None:
        if self.dialog is dialog:
            self.dialog = None
        outcome = dialog.outcome()
        dialog.deleteLater()
        if dialog.result() == QDialog.DialogCode.Accepted and outcome:
            self.record(follow_up_id, outcome)
        self.list.setFocus()

    def record(self, follow_up_id: int, outcome: str) -> FollowUp | None:
        """Record one attempt with ``outcome`` (a code) and redraw; says what happens next."""
        try:
            f = self.store.record_follow_up_attempt(
                follow_up_id, outcome, reached=outcome in FOLLOW_UP_REACHED
            )
        except FaroError as exc:
            self._say(exc.user_text(), "danger")
            return None
        if not f.done:
            self._say(
                _("Attempt recorded. The next one is due {when}.").format(
                    when=format_datetime(f.due)
                ),
                "ok",
            )
        elif outcome in FOLLOW_UP_REACHED or outcome == "wrong_number":
            self._say(
                _("Follow-up closed: {outcome}.").format(outcome=outcome_label(outcome)), "ok"
            )
        else:
            self._say(
                _(
                    "That was the last attempt: the follow-up is closed without reaching the person."
                ),
                "warning",
            )
        self._shown = None  # the detail is drawn again (the last attempt changed)
        self.reload()
        if not f.done:
            self.select(f.id)
        return f

    # -- transferring one to another counselor --------------------------------------------------
    def ask_transfer(self) -> None:
        """Ask for the reason and a handover note, then send the request to supervisors."""
        follow_up_id = self.current_id()
        if follow_up_id is None or self.store.is_locked or self.transfers is None:
            return
        dialog = TransferDialog(self)
        self.transfer_dialog = dialog
        dialog.finished.connect(lambda _r, d=dialog, fid=follow_up_id: self._transfer_done(d, fid))
        dialog.open()

    def _transfer_done(self, dialog: TransferDialog, follow_up_id: int) -> None:
        if self.transfer_dialog is dialog:
            self.transfer_dialog = None
        reason = dialog.reason()
        note = dialog.note.toPlainText()
        dialog.deleteLater()
        if dialog.result() == QDialog.DialogCode.Accepted and reason:
            self.transfer(follow_up_id, reason, note)
        self.list.setFocus()

    def transfer(self, follow_up_id: int, reason: str, note: str = "") -> str | None:
        """Send the transfer request (codes only; the note stays in the store, sealed later)."""
        try:
            transfer = str(self.transfers.request(follow_up_id, reason, note))
        except FaroError as exc:
            self._say(exc.user_text(), "danger")
            return None
        self._say(_("Transfer requested: waiting for a supervisor."), "ok")
        from escalation.events import TransferChanged

        self.show_transfer(TransferChanged(transfer, "requested", str(follow_up_id)))
        return transfer

    def show_transfer(self, event: TransferChanged) -> None:
        """A transfer moved on (escalation.events.TransferChanged): the row of ours says
        where it stands, the notice says what just happened. Drawn from the event alone."""
        from escalation.reasons import decline_reason_label

        follow_up = event.follow_up or self._transfer_of.get(event.transfer)
        if follow_up and event.state in TRANSFER_MOVING + ("declined",):
            self._transfer_of[event.transfer] = follow_up
            known = self.transfer_states.get(follow_up)
            recipient = event.recipient or (known[1] if known else None)
            self.transfer_states[follow_up] = (event.state, recipient, event.reason)
        recipient = event.recipient
        if recipient is None and follow_up in self.transfer_states:
            recipient = self.transfer_states[follow_up][1]
        someone = recipient or _("the other counselor")
        said = {
            "approved": (
                _("Transfer approved to {counselor}: sending the follow-up, sealed.").format(
                    counselor=someone
                ),
                "ok",
            ),
            "declined": (
                _("The supervisor declined the transfer: {reason}.").format(
                    reason=decline_reason_label(event.reason or "other")
                ),
                "warning",
            ),
            "closed": (
                _("Follow-up transferred: {counselor} has it now.").format(counselor=someone),
                "ok",
            ),
            "imported": (
                _("A follow-up was transferred to you from {counselor}.").format(
                    counselor=event.counselor or _("another counselor")
                ),
                "ok",
            ),
            "unreadable": (
                _("A transferred follow-up could not be read; it is kept. Tell a supervisor."),
                "danger",
            ),
        }
        if event.state in said:
            self._say(*said[event.state])
        if event.state == "closed" and follow_up:
            self.transfer_states.pop(follow_up, None)
            self._transfer_of.pop(event.transfer, None)
        if event.state in ("closed", "imported"):
            self.reload()
        elif follow_up and self.items:
            self._draw()

    def _say(self, text: str, role: str) -> None:
        self._said_at = self.clock.monotonic()
        self.notice.setText(text)
        set_role(self.notice, role)
        self.notice.setVisible(True)

    def _on_locked(self, _event: StoreLocked) -> None:
        self.clear()
