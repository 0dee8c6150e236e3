"""The supervisor console (``faro supervisor``), built from a supervisor-role Session.

A board of counselors (status, call duration, escalation state), the alert queue (sound and
a desktop notification naming only the level; acknowledge, whisper, resolve), the coverage
alarm and the missed/abandoned rings. The model is the service's
:class:`escalation.board.Board`; a UI timer redraws from a snapshot, events arrive through
the bridge for sound and notifications.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QPushButton,
    QSplitter,
    QSystemTrayIcon,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.session import Session
from calls.model import MissReason
from console.bridge import EventBridge
from console.main_window import fmt_duration
from console.screen import fit_to_screen
from core.i18n import N_, _
from core.status import Level, StatusReport
from escalation import events as ev
from escalation import options as o
from escalation.levels import URGENT, health_label, level_label, reason_label, status_label
from storage.events import StoreLocked, StoreUnlocked

log = logging.getLogger(__name__)

#: marked with N_ (defined at import time), translated with _() where shown
STATE_TEXT = {
    ev.DELIVERED: N_("New"),
    ev.ACKNOWLEDGED: N_("Acknowledged"),
    ev.RESOLVED: N_("Resolved"),
}


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
        self.service = session.service("escalation")
        self.agent = self.service.supervisor if self.service is not None else None
        self.setWindowTitle(_("Faro — supervisor console"))
        self.setObjectName("supervisorWindow")
        self.notifications: list[str] = []  # what was notified (for tests: no personal data)
        self.beeps = 0
        self.bridge = EventBridge(session.bus, self)
        self._register_handlers()

        central = QWidget()
        root = QVBoxLayout(central)
        root.addLayout(self._build_top_row())
        self.records = self._records_bar(session)
        if self.records is not None:
            root.addWidget(self.records)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self._build_alerts())
        split.addWidget(self._build_board())
        root.addWidget(split, 1)
        self.setCentralWidget(central)

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
        self.coverage = QLabel()
        self.coverage.setObjectName("coverage")
        top.addWidget(self.link)
        top.addStretch(1)
        top.addWidget(self.coverage)
        return top

    def _build_alerts(self) -> QGroupBox:
        """The alert queue, its buttons and the whisper thread of the selected alert."""
        self.queue = self._table(
            "alertQueue",
            [
                _("Level"),
                _("Counselor"),
                _("Reason"),
                _("Risk"),
                _("Call at raise"),
                _("Waiting"),
                _("State"),
                _("Acknowledged by"),
            ],
        )
        self.queue.itemSelectionChanged.connect(self._selected)
        qbox = QGroupBox(_("Alerts"))
        ql = QVBoxLayout(qbox)
        ql.addWidget(self.queue, 1)
        buttons = QHBoxLayout()
        self.ack_button = QPushButton(_("Acknowledge"))
        self.ack_button.setObjectName("btn_ack")
        self.ack_button.clicked.connect(self._ack)
        self.resolve_button = QPushButton(_("Resolve"))
        self.resolve_button.setObjectName("btn_resolve")
        self.resolve_button.clicked.connect(self._resolve)
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.resolve_button)
        buttons.addStretch(1)
        ql.addLayout(buttons)
        ql.addWidget(self._build_whisper_thread())
        ql.addLayout(self._build_whisper_row())
        return qbox

    def _build_whisper_thread(self) -> QListWidget:
        self.whisper_thread = QListWidget()
        self.whisper_thread.setObjectName("whisperThread")
        return self.whisper_thread

    def _build_whisper_row(self) -> QHBoxLayout:
        wrow = QHBoxLayout()
        self.whisper_edit = QLineEdit()
        self.whisper_edit.setObjectName("whisperEdit")
        self.whisper_edit.setPlaceholderText(
            _("Whisper to the counselor (the caller cannot hear)…")
        )
        self.whisper_edit.returnPressed.connect(self._whisper)
        wrow.addWidget(self.whisper_edit, 1)
        send = QPushButton(_("Send"))
        send.clicked.connect(self._whisper)
        wrow.addWidget(send)
        return wrow

    def _build_board(self) -> QGroupBox:
        """The counselors' board and the missed and abandoned rings."""
        bbox = QGroupBox(_("Counselors"))
        bl = QHBoxLayout(bbox)
        self.board = self._table(
            "board", [_("Counselor"), _("Status"), _("Call"), _("Escalation"), _("Call health")]
        )
        bl.addWidget(self.board, 3)
        rbox = QVBoxLayout()
        rbox.addWidget(QLabel(_("Missed and abandoned rings")))
        self.rings = QListWidget()
        self.rings.setObjectName("rings")
        rbox.addWidget(self.rings, 1)
        bl.addLayout(rbox, 2)
        return bbox

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
        layout.addWidget(self.unlock_screen)
        self._store = store
        bar.setVisible(store.is_locked)
        return bar

    @staticmethod
    def _table(name: str, headers: list[str]) -> QTableWidget:
        t = QTableWidget(0, len(headers))
        t.setObjectName(name)
        t.setHorizontalHeaderLabels(headers)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.horizontalHeader().setStretchLastSection(True)
        return t

    # -- drawing -------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.agent is None:
            return
        rows, alerts, rings, available, minimum = self.agent.snapshot()
        now = self.session.clock.monotonic()
        self.board.setRowCount(len(rows))
        for i, r in enumerate(rows):
            dur = r.call_duration(now)
            status = status_label(r.status) + (_(" (connection lost)") if r.lost else "")
            health = ", ".join(health_label(h) for h in r.health)
            for j, text in enumerate(
                (r.counselor, status, fmt_duration(dur) if dur else "", r.escalation or "", health)
            ):
                self.board.setItem(i, j, QTableWidgetItem(text))
        selected = self.selected_id()
        self.queue.blockSignals(True)
        self.queue.setRowCount(len(alerts))
        for i, a in enumerate(alerts):
            level = (
                _("Counselor lost during a call")
                if a.kind == "disconnect"
                else level_label(a.level)
            ) + (_(" — re-alerted") if a.realerted else "")
            urgent = a.level == URGENT and a.kind != "disconnect" and a.by is None
            waited = max(0.0, (self.session.clock.now() - a.raised_at).total_seconds())
            cells = (
                ("⚠ " + level) if urgent else level,  # the words say it, not only the colour
                a.counselor,
                reason_label(a.reason),
                a.risk,
                fmt_duration(a.call_s),
                fmt_duration(waited),
                _(STATE_TEXT.get(a.state, a.state)),
                a.by or "",
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, a.escalation_id)
                if urgent:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                    item.setBackground(QColor("#ffd7d7"))
                    item.setForeground(QColor("#7a0010"))
                self.queue.setItem(i, j, item)
            if a.escalation_id == selected:
                self.queue.selectRow(i)
        self.queue.blockSignals(False)
        self.rings.clear()
        for at, counselor, reason, rang in rings:
            self.rings.addItem(
                f"{at.astimezone():%H:%M}  {counselor}  {_ring_reason(reason)}  {rang:.0f}s"
            )
        alarm = minimum > 0 and available < minimum
        self.coverage.setText(
            _("Available: {n} (minimum {m})").format(n=available, m=minimum)
            + (_(" — COVERAGE ALARM") if alarm else "")
        )
        self.coverage.setStyleSheet(
            "color: white; background: #b00020; font-weight: bold; padding: 4px;"
            if alarm
            else "padding: 4px;"
        )
        self._selected()

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
        lines = (
            []
            if item is None
            else [
                f"{at.astimezone():%H:%M}  {_('You') if d == 'out' else by}: {text}"
                for d, by, text, at in item.whispers
            ]
        )
        thread = self.whisper_thread
        if [thread.item(i).text() for i in range(thread.count())] != lines:
            thread.clear()
            thread.addItems(lines)

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
        on(ev.CoverageAlarm, self._on_coverage)
        on(StatusReport, self._on_status)

    def _on_store_lock(self, event: StoreLocked | StoreUnlocked) -> None:
        if self.records is not None:
            self.records.setVisible(self._store.is_locked)

    def _on_alert_shown(self, event: ev.AlertShown) -> None:
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

    def _on_coverage(self, event: ev.CoverageAlarm) -> None:
        if event.alarm:
            self.refresh()

    def _on_status(self, event: StatusReport) -> None:
        if event.component == "broker":
            self.link.setText(event.text)
            self.link.setStyleSheet("" if event.level is Level.OK else "color: #b35c00;")

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

    def close() -> None:
        window.close()
        session.stop()

    return DemoSupervisor(session, window, close)
