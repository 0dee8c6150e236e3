"""The supervisor console (``faro supervisor``), built from a supervisor-role Session.

A board of counselors (status, call duration, escalation state), the alert queue (sound and
a desktop notification naming only the level; acknowledge, whisper, resolve) with the details
of the selected alert — or of the one Acknowledge takes — in words (codes and times only:
never the caller's number or the counselor's notes), the coverage line and the
missed/abandoned rings. The model is the service's
:class:`escalation.board.Board`; a UI timer redraws from a snapshot, events arrive through
the bridge for sound and notifications.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QColor, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QBoxLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QSystemTrayIcon,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.session import Session
from calls.model import CallState, MissReason
from console import texts, theme
from console.bridge import EventBridge
from console.roster_editor import CoverageLine, coverage_line
from console.screen import fit_to_screen
from console.texts import fmt_duration
from core.config import Config
from core.i18n import N_, _, format_time, ngettext
from core.status import Level, StatusReport
from escalation import events as ev
from escalation import options as o
from escalation import statuses
from escalation.board import RESCUE_OVERDUE, AlertItem, CounselorRow, RescueStepShown
from escalation.health import health_label
from escalation.levels import URGENT, level_label
from escalation.reasons import reason_label
from escalation.statuses import status_label
from storage.events import StoreLocked, StoreUnlocked
from storage.records import rescue_step_label

if TYPE_CHECKING:
    from console.transfer_panel import TransferPanel

log = logging.getLogger(__name__)

#: marked with N_ (defined at import time), translated with _() where shown
STATE_TEXT = {
    ev.DELIVERED: N_("New"),
    ev.ACKNOWLEDGED: N_("Acknowledged"),
    ev.RESOLVED: N_("Resolved"),
}
#: a counselor's newest open escalation on the board, by its state
ESCALATION_TEXT = {
    ev.RAISED: N_("Raised"),
    ev.SENT: N_("Sent"),
    ev.DELIVERED: N_("Delivered"),
    ev.ACKNOWLEDGED: N_("Acknowledged"),
    ev.RESOLVED: N_("Resolved"),
}

#: the risk summary an alert carries (escalation.reasons.RISKS), in words. "unknown" is what
#: every alert says until the counselor has filled in a risk assessment for the call.
RISK_TEXT = {
    "unknown": N_("Not assessed yet"),
    "none": N_("No risk identified"),
    "low": N_("Low"),
    "moderate": N_("Moderate"),
    "high": N_("High"),
    "imminent": N_("Imminent"),
}

#: a presence status's call state, for its colour on the board (offline has none)
_STATUS_STATE = {
    statuses.AVAILABLE: CallState.AVAILABLE,
    statuses.RINGING: CallState.RINGING,
    statuses.ON_CALL: CallState.ON_CALL,
    statuses.WRAP_UP: CallState.WRAP_UP,
    statuses.BREAK: CallState.BREAK,
    statuses.IN_CHAT: CallState.ON_CALL,  # working a contact, like a call
}
#: who counts as staffed for the coverage alarm: available, or working a call
_ON_A_CALL = (statuses.RINGING, statuses.ON_CALL)


def risk_text(risk: str) -> str:
    """An alert's risk summary code in words (the code itself when unknown to us)."""
    return _(RISK_TEXT[risk]) if risk in RISK_TEXT else risk


def presence_grace_s(config: Config) -> float:
    """How long after connecting the board may still be missing counselors' presence.

    Presence is retained on the broker and published again at every change and at every
    counselor's (re)connection, so it arrives right after we subscribe; a counselor whose
    link dropped with ours (a broker restart) is back within its longest reconnection
    back-off, plus the time we give a Last Will to be taken back. Before that, "0
    available" would be a false alarm.
    """
    return float(config.get(o.RECONNECT_MAX_S)) + float(config.get(o.LOST_GRACE_S))


def fit_columns(table: QTableWidget, keep: tuple[int, ...] = ()) -> None:
    """Size ``table``'s columns to their contents and headers, within the table's width.

    Room to spare goes to every column alike; short of room, the ``keep`` columns keep their
    width, so do the short ones, and the widest are cut to a common width (their cells
    elide, with the full text in the tooltip). The table never needs a horizontal scroll
    bar."""
    header = table.horizontalHeader()
    n = table.columnCount()
    avail = table.viewport().width()
    if n == 0 or avail <= 0:
        return
    want = [max(table.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(n)]
    spare = avail - sum(want)
    if spare >= 0:
        widths = [w + spare // n for w in want]
    else:  # the widest of the others are cut to one common width, the short ones kept
        room = max(0, avail - sum(want[c] for c in keep))
        others = sorted(w for c, w in enumerate(want) if c not in keep)
        cap, left = max(others, default=0), len(others)
        for w in others:
            if w * left > room:
                cap = room // left
                break
            room, left = room - w, left - 1
        widths = [w if c in keep else max(24, min(w, cap)) for c, w in enumerate(want)]
    widths[-1] = max(24, widths[-1] + avail - sum(widths))  # the last takes the rounding
    for c, w in enumerate(widths):
        if header.sectionSize(c) != w:
            header.resizeSection(c, w)


@dataclass(frozen=True)
class Coverage:
    """What the coverage line says, and in which role (console.theme) it is drawn."""

    text: str
    role: str | None
    alarm: bool = False


def coverage(
    rows: list[CounselorRow], minimum: int, connected_s: float | None, grace_s: float
) -> Coverage:
    """The coverage line from the board's rows. ``connected_s``: how long the link has been
    up (None: not connected). Counselors on a call are working, not missing: available and on
    a call both count against the minimum."""
    if connected_s is None:
        return Coverage(_("Coverage not known: not connected to the broker"), "dim")
    if connected_s < grace_s:
        return Coverage(_("Waiting for counselors' presence…"), "dim")
    rows = [r for r in rows if not r.practice]  # trainees take practice calls only
    on_call = sum(1 for r in rows if r.status in _ON_A_CALL)
    in_chat = sum(1 for r in rows if r.status == statuses.IN_CHAT)
    available = sum(1 for r in rows if r.status == statuses.AVAILABLE)
    parts = [ngettext("{n} on a call", "{n} on a call", on_call).format(n=on_call)]
    if in_chat:
        parts.append(ngettext("{n} in a chat", "{n} in chats", in_chat).format(n=in_chat))
    parts.append(ngettext("{n} available", "{n} available", available).format(n=available))
    counts = " · ".join(parts)
    on_call += in_chat  # working a contact counts against the minimum as a call does
    if minimum <= 0:
        return Coverage(_("Coverage: {counts}").format(counts=counts), None)
    if on_call + available < minimum:
        return Coverage(
            _("⚠ Coverage below minimum: {counts} (minimum {minimum})").format(
                counts=counts, minimum=minimum
            ),
            "danger",
            alarm=True,
        )
    return Coverage(
        _("Coverage: {counts} (minimum {minimum})").format(counts=counts, minimum=minimum), "ok"
    )


def chat_queue_text(
    waiting: int, open_chats: int, oldest_s: float | None, alerts: list, now: object = None
) -> tuple[str, str | None]:
    """The chat line's queue in words, and its theme role: danger while a chat waits past
    the alert with nobody accepting it."""
    if alerts:
        worst = alerts[0].waited(now) if now is not None else alerts[0].waited_s
        return (
            ngettext(
                "⚠ {n} chat has waited {wait} and nobody accepted it",
                "⚠ {n} chats are waiting; the oldest {wait}, and nobody accepted them",
                len(alerts),
            ).format(n=len(alerts), wait=fmt_duration(worst)),
            "danger",
        )
    parts = [ngettext("{n} open", "{n} open", open_chats).format(n=open_chats)]
    if waiting:
        parts.insert(
            0,
            ngettext("{n} waiting (oldest {wait})", "{n} waiting (oldest {wait})", waiting).format(
                n=waiting, wait=fmt_duration(oldest_s or 0.0)
            ),
        )
    return _("Chats: {parts}").format(parts=" · ".join(parts)), "warning" if waiting else None


def _ring_reason(reason: str) -> str:
    """A missed ring's reason code (``MissReason``) in a word (the code itself when unknown)."""
    return {
        MissReason.UNANSWERED.value: _("unanswered"),
        MissReason.ABANDONED.value: _("abandoned"),
        MissReason.BUSY.value: _("busy"),
    }.get(reason, reason)


class SupervisorWindow(QMainWindow):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        texts.use_form(getattr(session, "form", None))  # the organisation's words
        self.service = session.service("escalation")
        self.agent = self.service.supervisor if self.service is not None else None
        self.setWindowTitle(_("Faro — supervisor console"))
        self.setObjectName("supervisorWindow")
        self.notifications: list[str] = []  # what was notified (for tests: no personal data)
        self.beeps = 0
        self.coverage_alarm = False  # the coverage line is red (below the minimum)
        #: the coverage line waits this long after each connection for counselors' presence
        self.presence_grace_s = presence_grace_s(session.config)
        #: when the link last came up (monotonic; None while it is down)
        self._connected_at: float | None = (
            session.clock.monotonic() if self.agent is not None and self.agent.connected else None
        )
        self.bridge = EventBridge(session.bus, self)
        #: what each board row shows (cells, colour), so refresh touches only what changed
        self._board_drawn: list[tuple[tuple[str, ...], str]] = []
        self._register_handlers()

        central = QWidget()
        root = QVBoxLayout(central)
        root.setContentsMargins(6, 6, 6, 6)
        root.addLayout(self._build_top_row())
        self.records = self._records_bar(session)
        if self.records is not None:
            root.addWidget(self.records)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self._build_alerts())
        split.addWidget(self._build_board())
        split.setStretchFactor(0, 3)  # the alerts first; the board gives up room
        split.setStretchFactor(1, 2)
        self.transfer_panel = self._build_transfers()
        if self.transfer_panel is not None:  # shown while there is a transfer to list
            split.addWidget(self.transfer_panel)
            split.setStretchFactor(2, 2)
        from console import callback_queue  # missed contacts to call back (issue 17)

        self.callback_panel = callback_queue.build(self)
        if self.callback_panel is not None:  # shown while there is a callback to list
            split.addWidget(self.callback_panel)
            split.setStretchFactor(split.count() - 1, 2)
        self._split = split
        root.addWidget(split, 1)
        self.setCentralWidget(central)
        self._set_tab_order()

        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(self)
            self.tray.show()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(500)
        if self.agent is None:
            self.link.setText(_("Broker: escalation is not available in this build"))
        self.refresh()
        fit_to_screen(self, 1000, 700)

    # -- construction ----------------------------------------------------------------------
    def _build_top_row(self) -> QHBoxLayout:
        """The broker link and the coverage alarm."""
        top = QHBoxLayout()
        self.link = QLabel(_("Broker: not connected"))
        self.link.setObjectName("linkStatus")
        self.link.setAccessibleName(_("Broker connection"))
        self.coverage = QLabel()
        self.coverage.setObjectName("coverage")
        # the coverage line grows with the chat line and the on-call ladder: it wraps, so
        # the window still fits a 1024 px screen
        self.coverage.setWordWrap(True)
        self.coverage.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.coverage.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        top.addWidget(self.link)
        top.addWidget(self.coverage, 1)
        self.roster_button = QPushButton(_("Roster"))
        self.roster_button.setObjectName("rosterButton")
        self.roster_button.setAccessibleName(_("Roster: shifts and on-call duty"))
        self.roster_button.clicked.connect(self.open_roster)
        self.roster_button.setEnabled(self.agent is not None)
        top.addWidget(self.roster_button)
        self.report_button: QPushButton | None = None
        if self.session.service("store") is not None:  # the report reads the own store
            from console.options import KEY_SHIFT_REPORT

            key = self.session.config.get(KEY_SHIFT_REPORT) or ""
            text = _("Shift report")
            self.report_button = QPushButton(f"{text}  ({key})" if key else text)
            self.report_button.setObjectName("shiftReport")
            self.report_button.setAccessibleName(text)
            self.report_button.clicked.connect(self.open_shift_report)
            if key:
                self.report_button.setShortcut(QKeySequence(key))
            top.addWidget(self.report_button)
        from console.quality_view import add_quality_button

        add_quality_button(self, top)  # quality review and wellbeing (docs/quality.md)
        from console.training_watch import add_watch_button

        self.trainees_button = add_watch_button(self, top)  # trainees' practice calls
        return top

    def open_shift_report(self) -> None:
        """The supervisor's shift report (docs/clinical.md): alerts received, times to
        acknowledge, urgent alerts, debriefs; exportable as PDF. Nothing while the records
        are locked (the dialog says so)."""
        from console.shift_report import SupervisorReportDialog

        self.shift_report = SupervisorReportDialog.open_for(self)

    def _build_alerts(self) -> QGroupBox:
        """The alert queue and its buttons; beside them the details of the selected alert (or
        of the one Acknowledge takes) and its whisper thread."""
        self.queue = self._table(
            "alertQueue",
            [
                _("Level"),
                _("Counselor"),
                _("Reason"),
                _("Risk"),
                _("Waiting"),
                _("State"),
                _("Acknowledged by"),
            ],
        )
        self.queue.setAccessibleName(_("Alert queue"))
        self.queue.itemSelectionChanged.connect(self._selected)
        qbox = QGroupBox(_("Alerts"))
        ql = QVBoxLayout(qbox)
        ql.setContentsMargins(6, 6, 6, 6)
        ql.addWidget(self.queue, 1)
        buttons = QHBoxLayout()
        self.ack_button = QPushButton(_("Acknowledge"))
        self.ack_button.setObjectName("btn_ack")
        self.ack_button.setAccessibleName(_("Acknowledge"))
        self.ack_button.setAccessibleDescription(
            _("Acknowledges the selected alert, or the first one waiting when none is selected.")
        )
        self.ack_button.clicked.connect(self._ack)
        self.resolve_button = QPushButton(_("Resolve"))
        self.resolve_button.setObjectName("btn_resolve")
        self.resolve_button.setAccessibleName(_("Resolve"))
        self.resolve_button.setAccessibleDescription(_("Resolves the selected alert."))
        self.resolve_button.clicked.connect(self._resolve)
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.resolve_button)
        buttons.addStretch(1)
        ql.addLayout(buttons)
        lower = QHBoxLayout()
        lower.addWidget(self._build_detail(), 3)
        lower.addLayout(self._build_whispers(), 2)
        ql.addLayout(lower)
        ql.addLayout(self._build_whisper_row())
        return qbox

    def _build_detail(self) -> QFrame:
        """The selected alert (or the one Acknowledge takes) in words: codes and times only,
        never the caller's number or the counselor's notes."""
        box = QFrame()
        box.setObjectName("alertDetail")
        box.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(box)
        grid.setContentsMargins(8, 4, 8, 4)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        self.detail_header = QLabel()
        self.detail_header.setObjectName("detail_header")
        theme.set_role(self.detail_header, "title")
        grid.addWidget(self.detail_header, 0, 0, 1, 4)
        # (key, caption, row, column, columns spanned by the value)
        fields = (
            ("level", N_("Level"), 1, 0, 3),
            ("counselor", N_("Counselor"), 2, 0, 1),
            ("reason", N_("Reason"), 2, 2, 1),
            ("risk", N_("Risk"), 3, 0, 1),
            ("call", N_("Call at raise"), 3, 2, 1),
            ("waiting", N_("Raised"), 4, 0, 1),
            ("ack", N_("Acknowledged"), 4, 2, 1),
            ("ladder", N_("Ladder"), 5, 0, 3),
            ("rescue", N_("Rescue steps"), 6, 0, 3),
        )
        self.detail: dict[str, QLabel] = {}
        for key, name, row, col, span in fields:
            caption = QLabel(_("{field}:").format(field=_(name)))
            theme.set_role(caption, "dim")
            value = QLabel()
            value.setObjectName(f"detail_{key}")
            value.setAccessibleName(_(name))
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            caption.setBuddy(value)
            grid.addWidget(caption, row, col, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, col + 1, 1, span, Qt.AlignmentFlag.AlignTop)
            self.detail[key] = value
        level = self.detail["level"]  # short: one line, as wide as its words (a banner)
        level.setWordWrap(False)
        level.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        return box

    def _build_whispers(self) -> QVBoxLayout:
        """The whisper thread of the selected alert, under its title."""
        col = QVBoxLayout()
        col.setSpacing(2)
        title = QLabel(_("Whispers with the counselor"))
        theme.set_role(title, "dim")
        col.addWidget(title)
        col.addWidget(self._build_whisper_thread(), 1)
        title.setBuddy(self.whisper_thread)
        return col

    def _build_whisper_thread(self) -> QListWidget:
        self.whisper_thread = QListWidget()
        self.whisper_thread.setObjectName("whisperThread")
        self.whisper_thread.setAccessibleName(_("Whispers of the selected alert"))
        self.whisper_thread.setWordWrap(True)
        # as tall as the details beside it: the queue above keeps the room
        self.whisper_thread.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.whisper_thread.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return self.whisper_thread

    def _build_whisper_row(self) -> QHBoxLayout:
        wrow = QHBoxLayout()
        self.whisper_edit = QLineEdit()
        self.whisper_edit.setObjectName("whisperEdit")
        self.whisper_edit.setAccessibleName(_("Whisper to the counselor"))
        self.whisper_edit.setPlaceholderText(
            _("Whisper to the counselor (the caller cannot hear)…")
        )
        self.whisper_edit.returnPressed.connect(self._whisper)
        wrow.addWidget(self.whisper_edit, 1)
        self.send_button = QPushButton(_("Send"))
        self.send_button.setObjectName("btn_send")
        self.send_button.setAccessibleName(_("Send the whisper"))
        self.send_button.clicked.connect(self._whisper)
        wrow.addWidget(self.send_button)
        return wrow

    def _build_board(self) -> QGroupBox:
        """The counselors' board and the missed and abandoned rings."""
        bbox = QGroupBox(_("Counselors"))
        bl = QHBoxLayout(bbox)
        bl.setContentsMargins(6, 6, 6, 6)
        self.board = self._table(
            "board", [_("Counselor"), _("Status"), _("Call"), _("Escalation"), _("Call health")]
        )
        self.board.setAccessibleName(_("Counselors"))
        from console.assist_panel import AssistBar

        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.board, 1)
        self.assist_bar = AssistBar(self)  # listen, coach, join the selected counselor's call
        left.addWidget(self.assist_bar)
        bl.addLayout(left, 2)
        rbox = QVBoxLayout()
        from console.callback_queue import service_level_label

        self.service_level = service_level_label()
        rbox.addWidget(self.service_level)
        #: the chat line's queue (escalation/chat_queue.py): shown once a router speaks
        self.chat_queue = QLabel()
        self.chat_queue.setObjectName("chatQueue")
        self.chat_queue.setWordWrap(True)
        self.chat_queue.setAccessibleName(_("Chat queue"))
        self.chat_queue.setVisible(False)
        rbox.addWidget(self.chat_queue)
        rings_title = QLabel(_("Missed and abandoned rings"))
        rbox.addWidget(rings_title)
        self.rings = QListWidget()
        self.rings.setObjectName("rings")
        self.rings.setAccessibleName(_("Missed and abandoned rings"))
        self.rings.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.rings.setWordWrap(True)
        rings_title.setBuddy(self.rings)
        rbox.addWidget(self.rings, 1)
        bl.addLayout(rbox, 1)
        return bbox

    def _build_transfers(self) -> TransferPanel | None:
        """Follow-ups counselors ask to hand on (console/transfer_panel.py): hidden until one
        is asked, and again once the last has fallen off."""
        transfers = getattr(self.agent, "transfers", None)
        if transfers is None:
            return None
        from console.transfer_panel import TransferPanel

        panel = TransferPanel(transfers, self.session.clock)
        panel.setVisible(False)
        return panel

    def _on_transfer(self, event: ev.TransferChanged) -> None:
        """A transfer moved on: a new request is notified (no sound: it is not an alert)."""
        if event.state == "requested" and event.counselor:
            text = _("Follow-up transfer asked by {counselor}").format(counselor=event.counselor)
            self.notifications.append(text)
            if self.session.config.get(o.DESKTOP_NOTIFICATIONS) and self.tray is not None:
                self.tray.showMessage("Faro", text, QSystemTrayIcon.MessageIcon.Information, 10000)
        self.refresh()

    def _records_bar(self, session: Session) -> QWidget | None:
        """While the supervisor's encrypted store is locked, a passphrase bar above the queue.

        Alerts arrive and are acknowledged while it is locked; the records of what happened
        (lifecycle, whispers, audit) wait in memory and are written once it is unlocked.
        """
        store = session.service("store")
        if store is None:
            return None
        from console.store_views import UnlockScreen

        bar = QGroupBox(_("Records locked: alerts still arrive; unlock to keep their records"))
        bar.setObjectName("recordsBar")
        layout = QVBoxLayout(bar)
        self.unlock_screen = UnlockScreen(store)
        # one row, not the counselor's full-window form: the queue below keeps its room on a
        # 1024x600 screen (the bar's title already says what is locked)
        self.unlock_screen.title.setVisible(False)
        inner = self.unlock_screen.layout()
        if isinstance(inner, QBoxLayout):
            inner.setDirection(QBoxLayout.Direction.LeftToRight)
            inner.setContentsMargins(0, 0, 0, 0)
        self.unlock_screen.passphrase.setMinimumWidth(260)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.unlock_screen)
        self._store = store
        bar.setVisible(store.is_locked)
        return bar

    def _set_tab_order(self) -> None:
        """Keyboard order: queue → Acknowledge → Resolve → whisper field → Send → the board,
        live assistance's buttons and the rings (the passphrase bar, when shown, comes before the queue)."""
        chain: list[QWidget] = [
            self.queue,
            self.ack_button,
            self.resolve_button,
            self.whisper_edit,
            self.send_button,
            self.whisper_thread,
            self.board,
            *self.assist_bar.focus_chain(),  # listen, coach, join, leave: right under the board
            self.rings,
        ]
        if self.transfer_panel is not None:  # then the transfers: table, chooser, buttons
            chain.extend(self.transfer_panel.focus_chain())
        if self.callback_panel is not None:  # then the callbacks: table, chooser, buttons
            chain.extend(self.callback_panel.focus_chain())
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)

    @staticmethod
    def _table(name: str, headers: list[str]) -> QTableWidget:
        t = QTableWidget(0, len(headers))
        t.setObjectName(name)
        t.setHorizontalHeaderLabels(headers)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setTabKeyNavigation(False)  # Tab leaves the table; arrows move between rows
        t.verticalHeader().setVisible(False)
        t.setWordWrap(False)
        # the columns always fit the width (fit_columns): never a horizontal scroll bar
        t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        t.horizontalHeader().setStretchLastSection(False)
        return t

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_tables()

    def _fit_tables(self) -> None:
        fit_columns(self.queue, keep=(0,))  # the level in full, always
        fit_columns(self.board, keep=(0, 1))  # who, and their status
        panel: TransferPanel | None = getattr(self, "transfer_panel", None)
        if panel is not None:
            panel.fit()
        callbacks = getattr(self, "callback_panel", None)
        if callbacks is not None:
            callbacks.fit()

    # -- drawing -------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.agent is None:
            return
        rows, alerts, rings, _available, minimum = self.agent.snapshot()
        now = self.session.clock.monotonic()
        self._labels: dict[tuple, tuple[str, str, str, str]] = {}  # words of this redraw
        self._draw_board(rows, now)
        selected = self.selected_id()
        self.queue.blockSignals(True)
        self.queue.setRowCount(len(alerts))
        for i, a in enumerate(alerts):
            level = self._level_text(a)
            urgent = self._urgent_waiting(a)
            cells = (
                ("⚠ " + level) if urgent else level,  # the words say it, not only the colour
                a.counselor,
                reason_label(a.reason),
                risk_text(a.risk),
                fmt_duration(self._waited(a)),
                _(STATE_TEXT.get(a.state, a.state)) + (_(" — re-alerted") if a.realerted else ""),
                a.by or "",
            )
            fg, bg = self._row_colours(a, urgent)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)  # in full, should a narrow column shorten it
                item.setData(Qt.ItemDataRole.UserRole, a.escalation_id)
                if urgent:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if fg is not None:
                    item.setForeground(QColor(fg))
                if bg is not None:
                    item.setBackground(QColor(bg))
                self.queue.setItem(i, j, item)
            if a.escalation_id == selected:
                self.queue.selectRow(i)
        self.queue.blockSignals(False)
        self.rings.clear()
        for at, counselor, reason, rang in rings:
            who = counselor or _("chat")  # a chat abandoned in the queue: nobody had it
            self.rings.addItem(f"{format_time(at)}  {who}  {_ring_reason(reason)}  {rang:.0f}s")
        self._fit_tables()
        self._draw_coverage(rows, minimum, now)
        self._selected()
        if self.transfer_panel is not None:
            self._draw_transfers(rows)
        from console import callback_queue

        callback_queue.draw(self, {r.counselor: status_label(r.status) for r in rows})
        self._draw_chat_queue()

    def _draw_chat_queue(self) -> None:
        """How many people wait on the chat line, and any chat nobody accepted in time."""
        queue = getattr(self.agent, "chat_queue", None)
        if queue is None or not queue.queues:
            return
        waiting, open_chats, oldest, alerts = queue.summary()
        text, role = chat_queue_text(
            waiting, open_chats, oldest, alerts, now=self.session.clock.now()
        )
        if self.chat_queue.text() != text:
            self.chat_queue.setText(text)
            self.chat_queue.setAccessibleName(text)
        theme.set_role(self.chat_queue, role)
        self.chat_queue.setVisible(True)

    @staticmethod
    def board_cells(
        r: CounselorRow, now: float, labels: dict[tuple, tuple[str, str, str, str]] | None = None
    ) -> tuple[tuple[str, ...], str]:
        """A counselor's row on the board: the five cells' texts and the status's colour.
        ``labels``: the words already found in this redraw, by (status, lost, escalation,
        health) — a few dozen kinds for thousands of rows."""
        key = (r.status, r.lost, r.escalation, r.health, r.practice)
        words = labels.get(key) if labels is not None else None
        if words is None:
            status = status_label(r.status) + (_(" (connection lost)") if r.lost else "")
            status += _(" (practice)") if r.practice else ""  # a trainee: never a real call
            health = ", ".join(health_label(h) for h in r.health)
            esc = _(ESCALATION_TEXT.get(r.escalation, r.escalation)) if r.escalation else ""
            state = _STATUS_STATE.get(r.status)
            if r.lost:
                colour = theme.level_colour(Level.ERROR)
            elif state is None:  # offline, said goodbye
                colour = theme.level_colour(Level.OFF)
            else:
                colour = theme.state_colours(state)[1]
            words = (status, esc, health, colour)
            if labels is not None:
                labels[key] = words
        status, esc, health, colour = words
        dur = r.call_duration(now)
        return (r.counselor, status, fmt_duration(dur) if dur else "", esc, health), colour

    def _draw_board(self, rows: list[CounselorRow], now: float) -> None:
        """Only the cells whose text or colour changed are touched: with 5,000 counselors,
        making every item anew took 120-270 ms of each 500 ms tick
        (bench/results/escalation_scale.md). Same table as a full redraw (tested)."""
        table, drawn, labels = self.board, self._board_drawn, self._labels
        table.setRowCount(len(rows))
        del drawn[len(rows) :]
        for i, r in enumerate(rows):
            cells = self.board_cells(r, now, labels)
            old = drawn[i] if i < len(drawn) else None
            if old == cells:
                continue
            texts, colour = cells
            for j, text in enumerate(texts):
                if old is not None and old[0][j] == text:
                    continue
                item = table.item(i, j) if old is not None else None
                if item is None:
                    item = QTableWidgetItem(text)
                    item.setToolTip(text)
                    table.setItem(i, j, item)
                else:
                    item.setText(text)
                    item.setToolTip(text)
            if old is None or old[1] != colour:
                status = table.item(i, 1)
                if status is not None:
                    status.setForeground(QColor(colour))
            if old is None:
                drawn.append(cells)
            else:
                drawn[i] = cells

    def _draw_transfers(self, rows: list[CounselorRow]) -> None:
        panel = self.transfer_panel
        assert panel is not None
        statuses = {cells[0]: cells[1] for cells, _colour in self._board_drawn}  # as drawn
        panel.refresh(statuses)
        if panel.isHidden() == bool(panel.items):
            panel.setVisible(bool(panel.items))
            if panel.items:  # room from the alerts and the board, as the stretch factors say
                total = sum(self._split.sizes())
                self._split.setSizes([total * 3 // 7, total * 2 // 7, total * 2 // 7])
            panel.fit()

    def _draw_coverage(self, rows: list[CounselorRow], minimum: int, now: float) -> None:
        up = None if self._connected_at is None else max(0.0, now - self._connected_at)
        rostered = self.agent.coverage() if self.agent is not None else None
        c: Coverage | CoverageLine
        if rostered is not None and up is not None and up >= self.presence_grace_s:
            c = coverage_line(rostered)  # the roster's hour (console/roster_editor.py)
        else:
            c = coverage(rows, minimum, up, self.presence_grace_s)
        if self.coverage.text() != c.text:
            self.coverage.setText(c.text)
            self.coverage.setAccessibleName(c.text)
        theme.set_role(self.coverage, c.role)
        self.coverage_alarm = c.alarm

    @staticmethod
    def _level_text(a: AlertItem) -> str:
        return _("Counselor lost during a call") if a.kind == "disconnect" else level_label(a.level)

    @staticmethod
    def _urgent_waiting(a: AlertItem) -> bool:
        return a.level == URGENT and a.kind != "disconnect" and a.by is None

    def _waited(self, a: AlertItem) -> float:
        return max(0.0, (self.session.clock.now() - a.raised_at).total_seconds())

    @staticmethod
    def _row_colours(a: AlertItem, urgent: bool) -> tuple[str | None, str | None]:
        """(text, background) of an alert's row: urgent and waiting on the danger colours, a
        lost counselor on the warning ones, an acknowledged alert in secondary text."""
        if urgent:
            return theme.colour("danger_fg"), theme.colour("danger_bg")
        if a.kind == "disconnect" and a.by is None:
            return theme.colour("warning_fg"), theme.colour("warning_bg")
        if a.by is not None:
            return theme.colour("dim"), None
        return None, None

    def selected_id(self) -> str | None:
        rows = self.queue.selectionModel().selectedRows() if self.queue.selectionModel() else []
        if not rows:
            return None
        item = self.queue.item(rows[0].row(), 0)
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def select(self, escalation_id: str) -> None:
        for i in range(self.queue.rowCount()):
            item = self.queue.item(i, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == escalation_id:
                self.queue.selectRow(i)
                return

    def _waiting_first(self) -> str | None:
        """The alert Acknowledge takes with no row selected: the queue's first still waiting
        (urgent first, then the longest waiting)."""
        for i in range(self.queue.rowCount()):
            item = self.queue.item(i, 0)
            esc = item.data(Qt.ItemDataRole.UserRole) if item else None
            alert = self.agent.alert(esc) if (esc and self.agent) else None
            if alert is not None and alert.by is None:
                return str(esc)
        return None

    def _selected(self) -> None:
        esc = self.selected_id()
        item = self.agent.alert(esc) if (esc and self.agent) else None
        waiting = self._waiting_first()
        self.ack_button.setEnabled(
            bool(item and item.by is None) or (item is None and bool(waiting))
        )
        self.resolve_button.setEnabled(item is not None)
        mine = bool(item and item.by == self.agent.identity) if self.agent else False
        self.whisper_edit.setEnabled(mine)
        self.send_button.setEnabled(mine)
        if item is not None:
            self._draw_detail(item, _("Selected alert"))
        else:
            first = self.agent.alert(waiting) if (waiting and self.agent) else None
            if first is not None:
                self._draw_detail(first, _("First waiting alert: Acknowledge takes this one"))
            else:
                self._draw_detail(
                    None,
                    _("Select an alert to see its details.")
                    if self.queue.rowCount()
                    else _("No open alerts."),
                )
        lines = (
            []
            if item is None
            else [
                f"{format_time(at)}  {_('You') if d == 'out' else by}: {text}"
                for d, by, text, at in item.whispers
            ]
        )
        thread = self.whisper_thread
        if [thread.item(i).text() for i in range(thread.count())] != lines:
            thread.clear()
            thread.addItems(lines)

    def _draw_detail(self, a: AlertItem | None, header: str) -> None:
        """The alert in words. Only codes and times: no caller number, no note or whisper."""
        self._set_text(self.detail_header, header)
        if a is None:
            values = dict.fromkeys(self.detail, "—")
            urgent = False
        else:
            urgent = a.level == URGENT and a.kind != "disconnect"
            level = self._level_text(a)
            if a.by is not None and a.ack_at is not None:
                ack = _("{who} at {time}").format(who=a.by, time=format_time(a.ack_at))
            else:
                ack = a.by or _("Not yet")
            values = {
                "level": ("⚠ " + level) if urgent else level,
                "counselor": a.counselor,
                "reason": reason_label(a.reason),
                "risk": risk_text(a.risk),
                "call": "—" if a.kind == "disconnect" else fmt_duration(a.call_s),
                "waiting": _("{duration} ago").format(duration=fmt_duration(self._waited(a))),
                "ack": ack,
                "ladder": (
                    _("Re-alerted: every supervisor and the backup group")
                    if a.realerted
                    else _("First alert (not re-alerted)")
                ),
                "rescue": self._rescue_text(a),
            }
        for key, label in self.detail.items():
            self._set_text(label, values[key])
        level_label_ = self.detail["level"]
        font = level_label_.font()
        if font.bold() != urgent:
            font.setBold(urgent)
            level_label_.setFont(font)
        theme.set_role(level_label_, "danger" if urgent and a and a.by is None else None)
        theme.set_role(self.detail["rescue"], "danger" if a and a.rescue_overdue else None)

    @staticmethod
    def _rescue_text(a: AlertItem) -> str:
        """The call's rescue steps, codes in words with their times (never the location)."""
        if not a.rescue:
            return _("None recorded")
        steps = "  ·  ".join(
            f"{format_time(at)} {rescue_step_label(code)}" for code, at in a.rescue
        )
        if a.rescue_overdue:
            return (
                _(
                    "⚠ Emergency services' arrival not confirmed in time: help the counselor "
                    "act again."
                )
                + "\n"
                + steps
            )
        return steps

    @staticmethod
    def _set_text(label: QLabel, text: str) -> None:
        if label.text() != text:
            label.setText(text)

    def detail_text(self) -> str:
        """Everything the detail pane says (for tests and screen readers)."""
        return "\n".join(
            [self.detail_header.text()] + [label.text() for label in self.detail.values()]
        )

    # -- actions ----------------------------------------------------------------------------
    def _ack(self) -> None:
        esc = self.selected_id() or self._waiting_first()
        if esc and self.agent:
            self.agent.acknowledge(esc)
            self.refresh()

    def _resolve(self) -> None:
        esc = self.selected_id()
        if esc and self.agent:
            self.agent.resolve(esc, "resolved")
            self.refresh()

    def _whisper(self) -> None:
        esc, text = self.selected_id(), self.whisper_edit.text().strip()
        if not (esc and text and self.agent):
            return
        try:
            self.agent.whisper(esc, text)
        except (ValueError, KeyError) as exc:
            self.statusBar().showMessage(str(exc), 5000)
            return
        self.whisper_edit.clear()
        self.refresh()

    # -- events ------------------------------------------------------------------------------
    def _register_handlers(self) -> None:
        on = self.bridge.on
        on((StoreLocked, StoreUnlocked), self._on_store_lock)
        on(ev.AlertShown, self._on_alert_shown)
        on(ev.AlertUpdated, self._on_alert_updated)
        on(RescueStepShown, self._on_rescue_step)
        on(ev.CoverageAlarm, self._on_coverage)
        on(ev.CoverageLevel, self._on_coverage_level)
        on(ev.LadderMoved, self._on_ladder_moved)
        on(ev.RosterChanged, lambda event: self.refresh())
        on(StatusReport, self._on_status)
        on(ev.TransferChanged, self._on_transfer)
        on(ev.ChatQueueChanged, self._on_chat_queue)

    def _on_store_lock(self, event: StoreLocked | StoreUnlocked) -> None:
        if self.records is not None:
            self.records.setVisible(self._store.is_locked)

    def _on_alert_shown(self, event: ev.AlertShown) -> None:
        if (
            event.kind != "disconnect"
            and self.agent is not None
            and not self.agent.roster.sounds_here(event.escalation_id)
        ):
            self.refresh()  # in the queue, silently: the roster's on-call supervisor has it
            return
        text = (
            _("Counselor lost during a call")
            if event.kind == "disconnect"
            else _("New escalation: {level}").format(level=level_label(event.level))
        )
        self._alarm(text, urgent=event.kind != "disconnect" and event.level == URGENT)
        self.refresh()

    def _on_alert_updated(self, event: ev.AlertUpdated) -> None:
        if event.realerted and event.state == ev.DELIVERED:
            self._alarm(_("Escalation still waiting for a supervisor"))
        self.refresh()

    def _on_rescue_step(self, event: RescueStepShown) -> None:
        """A rescue step of an alert's call: its detail pane follows; a dispatch whose arrival
        was not confirmed in time prompts the supervisor who acknowledged it (everyone
        while nobody has)."""
        me = self.agent.identity if self.agent is not None else None
        if event.step == RESCUE_OVERDUE and event.by in (None, me):
            self._alarm(_("Rescue: emergency services' arrival not confirmed in time"), True)
        self.refresh()

    def _on_coverage(self, event: ev.CoverageAlarm) -> None:
        if event.alarm:
            self.refresh()

    def _on_coverage_level(self, event: ev.CoverageLevel) -> None:
        """With a roster, only "nobody can answer" sounds, once when it starts."""
        if event.level == "uncovered":
            self._alarm(_("Coverage: nobody can answer now"))

    def _on_chat_queue(self, event: ev.ChatQueueChanged) -> None:
        if event.new_alert:
            self._alarm(_("A chat is waiting and nobody has accepted it"), urgent=True)
        self._draw_chat_queue()

    def _on_ladder_moved(self, event: ev.LadderMoved) -> None:
        self._alarm(_("Escalation waiting: the on-call supervisor went offline"), urgent=True)
        self.refresh()

    def open_roster(self) -> None:
        from console.roster_editor import RosterEditor

        if self.agent is not None:
            self.roster_editor = RosterEditor.open_for(self, self.agent)

    def _on_status(self, event: StatusReport) -> None:
        if event.component == "broker":
            self.link.setText(event.text)
            self.link.setAccessibleName(event.text)
            connected = event.level is Level.OK
            theme.set_role(self.link, None if connected else "warning")
            # presence is replayed at every connection: the coverage line waits for it again
            if connected and self._connected_at is None:
                self._connected_at = self.session.clock.monotonic()
            elif not connected:
                self._connected_at = None
            self.refresh()

    def _alarm(self, text: str, urgent: bool = False) -> None:
        """Sound and a desktop notification carrying no personal data (level only). Urgent
        alerts beep three times. The window asks for attention (the taskbar flashes) but never
        takes the keyboard: the person at this laptop may be typing into a call's notes."""
        self.notifications.append(text)
        if self.session.config.get(o.ALERT_SOUND):
            for k in range(3 if urgent else 1):
                self.beeps += 1
                QTimer.singleShot(400 * k, QApplication.beep)
        if self.session.config.get(o.DESKTOP_NOTIFICATIONS) and self.tray is not None:
            icon = (
                QSystemTrayIcon.MessageIcon.Critical
                if urgent
                else QSystemTrayIcon.MessageIcon.Warning
            )
            self.tray.showMessage("Faro", text, icon, 10000)
        QApplication.alert(self, 0)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._timer.stop()
        self.bridge.close()
        super().closeEvent(event)


@dataclass
class DemoSupervisor:
    """The demo's supervisor: its own session (own profile) and window beside the counselor's."""

    session: Session
    window: SupervisorWindow
    close: Callable[[], None]


def open_demo_supervisor(broker, home: Path) -> DemoSupervisor:
    """Start a supervisor-role session on ``broker`` (escalation.broker.EmbeddedBroker) in the
    profile ``home`` and build its window. Call ``close()`` after the event loop ends."""
    from core.config import Config
    from core.paths import Paths

    paths = Paths.under(Path(home)).ensure()
    config = Config.defaults().with_overrides(
        {
            **broker.client_overrides("demo-supervisor", "supervisor"),
            "escalation.coverage_minimum": 1,
        }
    )
    session = Session(config, paths=paths, attach=False)  # no second button box / store
    from escalation.service import attach

    attach(session)
    window = SupervisorWindow(session)
    session.start()
    _demo_roster(session)

    def close() -> None:
        window.close()
        session.stop()

    return DemoSupervisor(session, window, close)


def _demo_roster(session: Session) -> None:
    """The demo's roster: the demo counselor and this supervisor, on call, through the next
    eight hours (so the coverage line and the ladder show what a real centre's would)."""
    import datetime as dt

    from escalation.roster import COUNSELOR, SUPERVISOR, Shift

    agent = session.service("escalation").supervisor
    now = session.clock.now().replace(minute=0, second=0, microsecond=0)
    until = now + dt.timedelta(hours=8)
    shifts = [
        Shift(agent.identity, SUPERVISOR, now, until, on_call=True),
        Shift("demo-counselor", COUNSELOR, now, until),
    ]
    if agent.roster.current is None:
        agent.roster.publish(shifts, base=0)
