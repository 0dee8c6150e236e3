"""The counselor's main window, built from a running :class:`app.session.Session`.

Everything it shows comes from events through the one :class:`console.bridge.EventBridge`;
everything it does goes to the services as commands. It owns no state the services do not
also hold, so the button box, the keyboard and this window always agree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.session import Session
from calls import events as cev
from calls.model import Action, CallState, Command, Source
from calls.options import DISPOSITIONS
from console.bridge import EventBridge
from console.options import KEY_LOCK, KEY_NOTES, UI_TIMER_MS
from console.screen import fit_to_screen
from console.texts import disposition_label, miss_label, state_label
from core.activity import Activity
from core.i18n import _
from core.privacy import reveal
from core.status import Level, StatusReport
from devices import events as dev
from devices.keyboard import key_level, normalise, resolve_key, validate
from devices.options import KEYBOARD_MAP
from escalation.levels import URGENT as URGENT_LEVEL
from storage.events import StoreLocked, StoreUnlocked

log = logging.getLogger(__name__)

STATE_COLOURS = {
    CallState.AVAILABLE: "#1b7f3b",
    CallState.RINGING: "#b35c00",
    CallState.ON_CALL: "#1f5fae",
    CallState.ON_HOLD: "#6b4fa3",
    CallState.WRAP_UP: "#555555",
    CallState.BREAK: "#7a7a7a",
}
LEVEL_COLOURS = {
    Level.OK: "#1b7f3b",
    Level.INFO: "#1f5fae",
    Level.WARNING: "#b35c00",
    Level.ERROR: "#b00020",
    Level.OFF: "#7a7a7a",
}


def fmt_duration(seconds: float) -> str:
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class StatusArea(QFrame):
    """One chip per component: availability first, then devices, broker, store."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusArea")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 4, 8, 4)
        self.availability = QLabel()
        self.availability.setObjectName("availability")
        self.availability.setAccessibleName(_("Availability"))
        self._layout.addWidget(self.availability)
        self._chips: dict[str, QLabel] = {}
        self._layout.addStretch(1)

    def set_availability(self, state: CallState, muted: bool = False) -> None:
        """The state, and "muted" with it while a call is muted (in words, not colour only)."""
        text = state_label(state)
        if muted and state.in_call:
            text = _("{state} · muted").format(state=text)
        self.availability.setText(text)
        self.availability.setAccessibleName(text)
        self.availability.setStyleSheet(
            f"color: white; background: {STATE_COLOURS[state]}; padding: 4px 10px;"
            "border-radius: 4px; font-weight: bold;"
            + (" border: 3px solid #b00020;" if muted and state.in_call else "")
        )

    def set_status(self, component: str, level: Level, text: str) -> None:
        chip = self._chips.get(component)
        if chip is None:
            chip = QLabel()
            chip.setObjectName(f"status_{component}")
            chip.setWordWrap(True)  # a long status wraps in its chip on a small screen
            self._layout.insertWidget(self._layout.count() - 1, chip)
            self._chips[component] = chip
        chip.setText(text)
        chip.setAccessibleName(text)
        chip.setStyleSheet(
            f"color: {LEVEL_COLOURS[level]}; padding: 2px 8px;"
            f"border: 1px solid {LEVEL_COLOURS[level]}; border-radius: 4px;"
        )

    def chip_text(self, component: str) -> str | None:
        chip = self._chips.get(component)
        return chip.text() if chip else None


class MainWindow(QMainWindow):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.calls = session.calls
        self.store = session.service("store")
        keymap = {normalise(k): v for k, v in session.config.get(KEYBOARD_MAP).items()}
        good, self._keymap_problems = validate(keymap)
        self._keymap = {k: v for k, v in keymap.items() if k.casefold() in good}
        self.setWindowTitle(_("Faro — counselor console"))
        self.setObjectName("counselorWindow")
        self.bridge = EventBridge(session.bus, self)
        self._register_handlers()
        #: the call as last rendered: the CallStateChanged the window was last given
        self._view = self.calls.state_event()
        self.activity = Activity(self.store.touch if self.store is not None else None)

        central = QWidget()
        root = QVBoxLayout(central)
        self.status_area = StatusArea()
        root.addWidget(self.status_area)

        self.splitter = self._build_columns()
        root.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.statusBar().addWidget(self.message, 1)
        self._build_actions()

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(session.config.get(UI_TIMER_MS))

        self._add_capability_panels()
        self._initial_status()
        self._render(self._view)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        fit_to_screen(self, 1320, 760)

    # -- construction ----------------------------------------------------------------------
    def _build_columns(self) -> QSplitter:
        """The call, the notes, and the capability panels' column (hidden until one comes)."""
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._build_call_panel())
        splitter.addWidget(self._build_notes_panel())
        self.side_column = QWidget()
        self.side_column.setObjectName("sideColumn")
        self._side_layout = QVBoxLayout(self.side_column)
        self._side_layout.setContentsMargins(0, 0, 0, 0)
        self._side_layout.addStretch(1)
        # the column scrolls when its panels are taller than a small laptop's screen
        self.side_scroll = QScrollArea()
        self.side_scroll.setObjectName("sideScroll")
        self.side_scroll.setWidget(self.side_column)
        self.side_scroll.setWidgetResizable(True)
        self.side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side_scroll.setVisible(False)
        splitter.addWidget(self.side_scroll)
        # the notes take what the screen gives beyond the call and side columns
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)
        splitter.setCollapsible(1, False)
        splitter.setSizes([320, 700, 340])
        return splitter

    def _build_call_panel(self) -> QWidget:
        box = QGroupBox(_("Call"))
        box.setObjectName("callPanel")
        grid = QGridLayout(box)
        self.state_label = QLabel()
        self.state_label.setObjectName("callState")
        self.state_label.setStyleSheet("font-size: 18pt; font-weight: bold;")
        self.caller_label = QLabel()
        self.caller_label.setObjectName("callerId")
        self.caller_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caller_label.setStyleSheet("font-size: 16pt;")
        self.timer_label = QLabel("00:00")
        self.timer_label.setObjectName("callTimer")
        self.timer_label.setStyleSheet("font-size: 22pt; font-family: monospace;")
        self.timer_label.setAccessibleName(_("Call duration"))
        self.muted_banner = QLabel(_("MICROPHONE MUTED — the caller cannot hear you"))
        self.muted_banner.setObjectName("mutedBanner")
        self.muted_banner.setWordWrap(True)  # whole, on two lines if the column is narrow
        self.muted_banner.setStyleSheet(
            "background: #b00020; color: white; font-weight: bold;padding: 6px;"
        )
        self.muted_banner.setVisible(False)
        self.ring_banner = QLabel()
        self.ring_banner.setObjectName("ringBanner")
        self.ring_banner.setWordWrap(True)
        self.ring_banner.setStyleSheet(
            "background: #b35c00; color: white; font-weight: bold; font-size: 13pt;padding: 8px;"
        )
        self.ring_banner.setVisible(False)
        grid.addWidget(self.state_label, 0, 0, 1, 2)
        grid.addWidget(self.caller_label, 1, 0, 1, 2)
        grid.addWidget(self.timer_label, 2, 0, 1, 2)
        grid.addWidget(self.muted_banner, 3, 0, 1, 2)
        grid.addWidget(self.ring_banner, 3, 0, 1, 2)  # never at once: ringing is not in a call

        self.buttons: dict[Action, QPushButton] = {}

        def button(
            action: Action,
            text: str,
            key_action: str,
            row: int,
            col: int,
            clicked: Callable[[], None] | None = None,
            span: int = 1,
        ) -> None:
            # a button as wide as the column (the long labels) has its key on a line of its own
            b = QPushButton(self.labelled(text, key_action, two_lines=span > 1))
            b.setObjectName(f"btn_{action.value}")
            b.setAccessibleName(text)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the notes, actions to shortcuts
            b.clicked.connect(clicked or (lambda: self._do(action, Source.UI)))
            grid.addWidget(b, row, col, 1, span)
            self.buttons[action] = b

        cfg = self.session.config
        button(Action.ANSWER, _("Answer"), "answer", 4, 0)
        button(Action.HANG_UP, _("Hang up"), "hang_up", 4, 1)
        button(Action.HOLD_TOGGLE, _("Hold"), "hold_toggle", 5, 0)
        button(Action.MUTE_TOGGLE, _("Mute"), "mute_toggle", 5, 1)
        button(Action.ESCALATE, _("Escalate to supervisor"), "escalate", 6, 0, span=2)
        # imminent risk: its own button and its own two-modifier chord, never the default's
        self.urgent_button = QPushButton(
            self.labelled(_("URGENT: imminent risk"), "escalate_urgent", two_lines=True)
        )
        self.urgent_button.setObjectName("btn_escalate_urgent")
        self.urgent_button.setAccessibleName(_("Urgent escalation: imminent risk"))
        self.urgent_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.urgent_button.setStyleSheet(
            "QPushButton:enabled { font-weight: bold; color: white; background: #b00020; }"
        )
        self.urgent_button.clicked.connect(
            lambda: self._do(Action.ESCALATE, Source.UI, level=URGENT_LEVEL)
        )
        grid.addWidget(self.urgent_button, 7, 0, 1, 2)
        button(Action.START_BREAK, _("Break"), "break_toggle", 8, 0, self._toggle_break)
        self.buttons[Action.ESCALATE].setStyleSheet(
            "QPushButton:enabled { font-weight: bold; color: #b00020; }"
        )

        self.wrap_box = QGroupBox(_("Wrap-up"))
        self.wrap_box.setObjectName("wrapUp")
        wl = QHBoxLayout(self.wrap_box)
        self.disposition = QComboBox()
        self.disposition.setObjectName("disposition")
        self.disposition.setAccessibleName(_("Disposition"))
        self.disposition.addItem(_("Choose a disposition…"), None)
        for code in cfg.get(DISPOSITIONS):
            self.disposition.addItem(disposition_label(code), code)
        self.finish_button = QPushButton(self.labelled(_("Finish wrap-up"), "finish_wrap_up"))
        self.finish_button.setObjectName("btn_finish_wrap_up")
        self.finish_button.clicked.connect(self._finish_wrap_up)
        wl.addWidget(self.disposition, 1)
        wl.addWidget(self.finish_button)
        grid.addWidget(self.wrap_box, 9, 0, 1, 2)

        grid.addWidget(QLabel(_("Missed and recent calls")), 10, 0, 1, 2)
        self.history = QListWidget()
        self.history.setObjectName("history")
        self.history.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        grid.addWidget(self.history, 11, 0, 1, 2)
        grid.setRowStretch(11, 1)
        box.setMaximumWidth(340)  # on a wide screen the notes grow, not the buttons
        return box

    def _initial_status(self) -> None:
        """What the status area says before any service reports: only what is true now."""
        names = set(self.session.service_names)
        box = self.session.service("buttonbox")
        if box is None:
            self.status_area.set_status("buttonbox", Level.OFF, _("Button box: not set up"))
        elif box.status == "connected":
            self.status_area.set_status("buttonbox", Level.OK, _("Button box: connected"))
        else:
            self.status_area.set_status("buttonbox", Level.INFO, _("Button box: looking for it…"))
        if "audio" not in names:
            self.status_area.set_status("headset", Level.OFF, _("Headset: not monitored"))
        if "escalation" not in names:
            self.status_area.set_status(
                "broker", Level.WARNING, _("Supervisors: not connected (no escalation service)")
            )
        if self.store is None:
            self.status_area.set_status(
                "store", Level.WARNING, _("Notes: kept in memory only, not saved")
            )
        else:
            self._store_status()

    def _store_status(self) -> None:
        if not self.store.is_initialised():
            self.status_area.set_status(
                "store", Level.ERROR, _("Notes: no case store on this laptop (ask IT)")
            )
        elif self.store.is_locked:
            self.status_area.set_status("store", Level.WARNING, _("Notes: locked"))
        else:
            self.status_area.set_status("store", Level.OK, _("Notes: encrypted, autosaved"))

    def _build_notes_panel(self) -> QWidget:
        box = QGroupBox(_("Notes"))
        box.setObjectName("notesPanel")
        layout = QVBoxLayout(box)
        self.store_panel = None
        if self.store is not None:
            from console.store_views import StorePanel

            self.store_panel = StorePanel(self.store, self.bridge)
            self.notes = self.store_panel.editor.editor
            layout.addWidget(self.store_panel, 1)
            return box
        self.notes_warning = QLabel(
            _(
                "These notes are kept in memory only and are lost when "
                "Faro closes: this build has no case store."
            )
        )
        self.notes_warning.setObjectName("notesWarning")
        self.notes_warning.setWordWrap(True)
        self.notes_warning.setStyleSheet("color: #b35c00;")
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("notes")
        self.notes.setAccessibleName(_("Call notes"))
        self.notes.setPlaceholderText(_("Notes for this call…"))
        layout.addWidget(self.notes_warning)
        layout.addWidget(self.notes, 1)
        self._notes_by_call: dict[str, str] = {}
        return box

    def _build_actions(self) -> None:
        """One shortcut per key of ``devices.keyboard_map`` (keyboard, pedals, button pads)."""
        cfg = self.session.config
        self.shortcut_actions: dict[str, QAction] = {}

        def add(key: str, slot) -> None:
            act = QAction(self)
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(slot)
            self.addAction(act)
            self.shortcut_actions[key] = act

        for key in self._keymap:
            add(key, lambda _checked=False, k=key: self._key_pressed(k))
        add(cfg.get(KEY_NOTES), lambda: self.notes.setFocus())
        add(cfg.get(KEY_LOCK), self._lock_notes)
        add("F1", self.show_help)
        if self._keymap_problems:
            log.warning("keyboard map problems: %s", "; ".join(self._keymap_problems))
            self.message.setText(
                _("Some keys in devices.keyboard_map are ignored: {problems}").format(
                    problems="; ".join(self._keymap_problems)
                )
            )

    def _key_pressed(self, key: str) -> None:
        action = resolve_key(key, self._keymap, self.calls.state)
        if action is Action.FINISH_WRAP_UP:
            self._finish_wrap_up()
        elif action is not None:
            self._do(action, Source.KEYBOARD, level=key_level(key, self._keymap))

    def show_help(self) -> None:
        """F1: every shortcut; closing it puts the cursor back in the notes."""
        from console.help_overlay import HelpOverlay, shortcut_rows

        cfg = self.session.config
        self.help = HelpOverlay(
            shortcut_rows(self._keymap, cfg.get(KEY_NOTES), cfg.get(KEY_LOCK)), self
        )
        self.help.finished.connect(lambda _r: self.notes.setFocus())
        self.help.open()

    def _lock_notes(self) -> None:
        if self.store is not None and not self.store.is_locked:
            self.store.lock("user")

    def _add_capability_panels(self) -> None:
        """Panels of the capabilities this session has, in the right-hand column."""
        if self.calls.backend.name == "sip":
            from console.phone_panel import PhonePanel

            self.phone_panel = PhonePanel(self.session, self.bridge)
            self.add_side_panel(self.phone_panel)
        if self.session.service("escalation") is not None:
            from console.escalation_panel import EscalationPanel

            self.escalation_panel = EscalationPanel(self.session, self.bridge)
            self.add_side_panel(self.escalation_panel)
        if self.session.service("audio") is not None:
            from console.call_health_panel import CallHealthPanel

            self.health_panel = CallHealthPanel(self.session, self.bridge)
            self.add_side_panel(self.health_panel)

    def key_for(self, action_name: str) -> str:
        """The first key bound to an action in the keyboard map ('' if none)."""
        return next((k for k, v in self._keymap.items() if v == action_name), "")

    def labelled(self, text: str, action_name: str, two_lines: bool = False) -> str:
        key = self.key_for(action_name)
        if not key:
            return text
        return f"{text}\n({key})" if two_lines else f"{text}  ({key})"

    def add_side_panel(self, widget: QWidget) -> None:
        """Add a capability's panel (call health, escalation…) to the right-hand column.

        A panel that shows events takes the window's :attr:`bridge` when it is built and
        registers its handlers there (``bridge.on(EventType, handler)``).
        """
        self._side_layout.insertWidget(self._side_layout.count() - 1, widget)
        self.side_column.setVisible(True)
        self.side_scroll.setVisible(True)
        # wide enough for the widest panel, never the horizontal scroll bar
        self.side_scroll.setMinimumWidth(self.side_column.minimumSizeHint().width() + 14)

    # -- commands --------------------------------------------------------------------------
    def _do(
        self,
        action: Action,
        source: Source,
        disposition: str | None = None,
        level: str | None = None,
    ) -> None:
        self.calls.handle(Command(action, source, disposition, level))

    def _toggle_break(self) -> None:
        """The Break button (the break key goes through the keyboard map as ``break_toggle``)."""
        if self.calls.state is CallState.BREAK:
            self._do(Action.END_BREAK, Source.UI)
        else:
            self._do(Action.START_BREAK, Source.UI)

    def _finish_wrap_up(self) -> None:
        code = self.disposition.currentData()
        self._do(Action.FINISH_WRAP_UP, Source.UI, disposition=code)

    # -- events ----------------------------------------------------------------------------
    def _register_handlers(self) -> None:
        on = self.bridge.on
        on(cev.CallStateChanged, self._on_state)
        on(cev.MuteChanged, self._on_mute)
        on(cev.MissedCall, self._on_missed)
        on(cev.WrapUpFinished, self._on_wrap_up_finished)
        on(cev.CommandRejected, self._on_rejected)
        on(dev.PressIgnored, self._on_press_ignored)
        on(cev.EscalationRequested, self._on_escalation_requested)
        on(StatusReport, self._on_status)
        on((StoreLocked, StoreUnlocked), self._on_store_lock)
        on(dev.ButtonBoxConnected, self._on_box_connected)
        on((dev.ButtonBoxDisconnected, dev.ButtonBoxRejected), self._on_box_lost)

    def _on_mute(self, event: cev.MuteChanged) -> None:
        self.muted_banner.setVisible(event.muted)
        self.status_area.set_availability(self._view.state, event.muted)
        self.buttons[Action.MUTE_TOGGLE].setText(
            self.labelled(_("Unmute") if event.muted else _("Mute"), "mute_toggle")
        )

    def _on_missed(self, event: cev.MissedCall) -> None:
        self.history.insertItem(
            0,
            f"{event.call.rung_at.astimezone():%H:%M}  "
            f"{miss_label(event.reason)}  "
            f"{reveal(event.call.caller_id) or _('unknown number')}",
        )
        self.message.setText(_("Missed call: {reason}").format(reason=miss_label(event.reason)))

    def _on_wrap_up_finished(self, event: cev.WrapUpFinished) -> None:
        self.history.insertItem(
            0,
            f"{event.call.rung_at.astimezone():%H:%M}  "
            f"{disposition_label(event.disposition)}  "
            f"{fmt_duration(event.call.talk_seconds(0))}",
        )

    def _on_rejected(self, event: cev.CommandRejected) -> None:
        self.message.setText(event.reason)

    def _on_press_ignored(self, event: dev.PressIgnored) -> None:
        self.message.setText(event.message)  # a box gesture bound to nothing: say so

    def _on_escalation_requested(self, event: cev.EscalationRequested) -> None:
        self.message.setText(_("Escalation requested: a supervisor is being alerted."))

    def _on_status(self, event: StatusReport) -> None:
        self.status_area.set_status(event.component, event.level, event.text)

    def _on_store_lock(self, event: StoreLocked | StoreUnlocked) -> None:
        self._store_status()
        if isinstance(event, StoreUnlocked) and self.store_panel is not None:
            call = self._view.call
            self.store_panel.show_contact(call.id if call else None)

    def _on_box_connected(self, event: dev.ButtonBoxConnected) -> None:
        self.status_area.set_status("buttonbox", Level.OK, _("Button box: connected"))

    def _on_box_lost(self, event: dev.ButtonBoxDisconnected | dev.ButtonBoxRejected) -> None:
        self.status_area.set_status(
            "buttonbox", Level.ERROR, _("Button box: {message}").format(message=event.message)
        )

    def _on_state(self, event: cev.CallStateChanged) -> None:
        call = event.call
        if self.store_panel is not None:
            self.store_panel.show_contact(call.id if call else None)
        elif event.previous is CallState.WRAP_UP and call is None:
            self.notes.clear()
        if event.state is CallState.RINGING:
            key = self.key_for("answer")
            self.message.setText(
                _("Incoming call — press {key} to answer").format(key=key)
                if key
                else _("Incoming call")
            )
            self.raise_()
            self.activateWindow()
        elif event.state is CallState.ON_CALL and event.previous is CallState.RINGING:
            self.message.clear()
            self.notes.setFocus()
        self._render(event)

    def _render(self, view: cev.CallStateChanged) -> None:
        """Draw the call panel from ``view`` (the last CallStateChanged), never from the machine."""
        self._view = view
        state, call = view.state, view.call
        self.status_area.set_availability(state, view.muted)
        self.state_label.setText(state_label(state))
        self.state_label.setStyleSheet(
            f"font-size: 18pt; font-weight: bold;color: {STATE_COLOURS[state]};"
        )
        if call is not None:
            number = reveal(call.caller_id)
            self.caller_label.setText(number or _("Number not available"))
        else:
            self.caller_label.setText("")
        in_call = state.in_call
        ringing = state is CallState.RINGING
        key = self.key_for("answer")
        self.ring_banner.setText(
            _("INCOMING CALL — press {key} to answer").format(key=key)
            if key
            else _("INCOMING CALL — press Answer")
        )
        self.ring_banner.setVisible(ringing)
        self.buttons[Action.ANSWER].setStyleSheet(
            "QPushButton:enabled { font-weight: bold; background: #b35c00; color: white; }"
            if ringing
            else ""
        )
        self.buttons[Action.ANSWER].setEnabled(
            state is CallState.RINGING or (view.follows_counselor and state is CallState.AVAILABLE)
        )
        self.buttons[Action.HANG_UP].setEnabled(in_call)
        self.buttons[Action.HOLD_TOGGLE].setEnabled(in_call)
        self.buttons[Action.HOLD_TOGGLE].setText(
            self.labelled(_("Resume") if state is CallState.ON_HOLD else _("Hold"), "hold_toggle")
        )
        self.buttons[Action.MUTE_TOGGLE].setEnabled(in_call)
        can_escalate = state in (CallState.ON_CALL, CallState.ON_HOLD, CallState.WRAP_UP)
        self.buttons[Action.ESCALATE].setEnabled(can_escalate)
        self.urgent_button.setEnabled(can_escalate)
        self.buttons[Action.START_BREAK].setEnabled(state in (CallState.AVAILABLE, CallState.BREAK))
        self.buttons[Action.START_BREAK].setText(
            self.labelled(
                _("End break") if state is CallState.BREAK else _("Break"), "break_toggle"
            )
        )
        self.wrap_box.setVisible(state is CallState.WRAP_UP)
        if state is CallState.WRAP_UP:
            self.disposition.setCurrentIndex(0)
        self.muted_banner.setVisible(view.muted and in_call)
        self._tick()

    def _tick(self) -> None:
        """The UI timer: the call timer, from the call as last rendered; and the idle policy
        told whether a call is in progress (core/activity.py)."""
        view = self._view
        self.activity.tick(view.state.in_call)
        call = view.call
        now = self.session.clock.monotonic()
        if call is None:
            self.timer_label.setText("00:00")
        elif call.answered_mono is None:
            self.timer_label.setText(fmt_duration(now - call.rung_mono))
        else:
            self.timer_label.setText(fmt_duration(call.talk_seconds(now)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Any key or click in the application is activity: it pushes the idle lock back."""
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress):
            self.activity.input()
        return False

    def closeEvent(self, event: QCloseEvent) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self._timer.stop()
        self.bridge.close()
        super().closeEvent(event)
