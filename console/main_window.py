"""The counselor's main window, built from a running :class:`app.session.Session`.

Everything it shows comes from events through the one :class:`console.bridge.EventBridge`;
everything it does goes to the services as commands. It owns no state the services do not
also hold, so the button box, the keyboard and this window always agree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.session import Session
from calls import events as cev
from calls.model import Action, Call, CallState, Command, Source
from calls.options import ALLOW_DECLINE, disposition_codes
from console import texts, theme
from console.bridge import EventBridge
from console.flow_layout import FlowLayout
from console.options import (
    KEY_LOCK,
    KEY_NOTES,
    KEY_OUTSIDE_CONTACT,
    KEY_RESCUE,
    KEY_RISK,
    KEY_SAFETY_PLAN,
    KEY_SETTINGS,
    UI_TIMER_MS,
)
from console.screen import fit_to_screen
from console.texts import (
    channel_label,
    disposition_label,
    fmt_duration,
    miss_label,
    state_label,
)
from core.activity import Activity
from core.i18n import _, ngettext
from core.privacy import reveal
from core.status import Level, StatusReport
from devices import events as dev
from devices.keyboard import key_level, normalise, resolve_key, validate
from devices.options import KEYBOARD_MAP
from escalation.levels import URGENT as URGENT_LEVEL
from storage.events import StoreLocked, StoreUnlocked

if TYPE_CHECKING:
    from console.chat_panel import ChatPanel

log = logging.getLogger(__name__)

#: how long a one-off message (a refusal, a missed call) stays when nothing replaces it
MESSAGE_S = 10.0


def chats_text(n: int) -> str:
    """The status chip's words while ``n`` chats keep calls from ringing."""
    return ngettext("In a chat · no calls ring", "In {n} chats · no calls ring", n).format(n=n)


def chats_short(n: int) -> str:
    """The call panel's big state while ``n`` chats keep calls from ringing."""
    return ngettext("In a chat", "In {n} chats", n).format(n=n)


class StatusArea(QFrame):
    """One chip per component: availability first, then devices, broker, store."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusArea")
        # chips flow onto a second line on a small screen, whole, never wrapped inside
        self._layout = FlowLayout(self, spacing=6)
        self._layout.setContentsMargins(8, 4, 8, 4)
        self.availability = QLabel()
        self.availability.setObjectName("availability")
        self.availability.setAccessibleName(_("Availability"))
        self._layout.addWidget(self.availability)
        self._chips: dict[str, QLabel] = {}
        self._levels: dict[str, tuple[Level, str]] = {}

    def set_availability(self, state: CallState, muted: bool = False, chats: int = 0) -> None:
        """The state, and "muted" with it while a call is muted (in words, not colour only);
        ``chats`` that keep calls from ringing are said instead of "available"."""
        text = state_label(state)
        if muted and state.in_call:
            text = _("{state} · muted").format(state=text)
        colours = state
        if chats and state is CallState.AVAILABLE:
            text = chats_text(chats)
            colours = CallState.ON_CALL
        self.availability.setText(text)
        self.availability.setAccessibleName(text)
        bg, _fg = theme.state_colours(colours)
        self.availability.setStyleSheet(
            f"color: white; background: {bg}; padding: 4px 10px;"
            "border-radius: 4px; font-weight: bold;"
            + (
                f" border: 3px solid {theme.colour('danger_bg')};"
                if muted and state.in_call
                else ""
            )
        )

    def restyle(self) -> None:
        for component, (level, text) in list(self._levels.items()):
            self.set_status(component, level, text)

    def set_status(self, component: str, level: Level, text: str) -> None:
        self._levels[component] = (level, text)
        chip = self._chips.get(component)
        if chip is None:
            chip = QLabel()
            chip.setObjectName(f"status_{component}")
            self._layout.addWidget(chip)
            self._chips[component] = chip
        chip.setText(text)
        chip.setAccessibleName(text)
        colour = theme.level_colour(level)
        chip.setStyleSheet(
            f"color: {colour}; padding: 2px 8px; border: 1px solid {colour}; border-radius: 4px;"
        )

    def chip_text(self, component: str) -> str | None:
        chip = self._chips.get(component)
        return chip.text() if chip else None


class MainWindow(QMainWindow):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        texts.use_form(getattr(session, "form", None))  # the organisation's words
        self.calls = session.calls
        self.store = session.service("store")
        keymap = {normalise(k): v for k, v in session.config.get(KEYBOARD_MAP).items()}
        good, self._keymap_problems = validate(keymap)
        self._keymap = {k: v for k, v in keymap.items() if k.casefold() in good}
        self.setWindowTitle(_("Faro — counselor console"))
        self.setObjectName("counselorWindow")
        self.bridge = EventBridge(session.bus, self)
        self.chat: ChatPanel | None = None  # the chat line, when this console takes chats
        self._register_handlers()
        #: the call as last rendered: the CallStateChanged the window was last given
        self._view = self.calls.state_event()
        #: chats that keep calls from ringing (the chat flow's ChatCapacity), said in the
        #: call panel instead of "available"
        self._chats_occupying = 0
        self._muted = self._view.muted
        self.activity = Activity(self.store.touch if self.store is not None else None)

        self.console_page = QWidget()
        root = QVBoxLayout(self.console_page)
        self.status_area = StatusArea()
        root.addWidget(self.status_area)

        self.splitter = self._build_columns()
        root.addWidget(self.splitter, 1)
        #: the console, or the lock screen over all of it while the case store is locked
        self.pages = QStackedWidget()
        self.pages.setObjectName("pages")
        self.pages.addWidget(self.console_page)
        self.lock_screen = None
        if self.store is not None:
            from console.lock_screen import LockScreen

            self.lock_screen = LockScreen(self.store, self._keymap)
            self.pages.addWidget(self.lock_screen)
        self.setCentralWidget(self.pages)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setAccessibleName(_("Last message"))
        self.statusBar().addWidget(self.message, 1)
        self._message_until: float | None = None
        # where help and settings are, for a counselor who does not know the keys yet
        cfg = session.config
        for name, text, key, slot in (
            ("btn_help", _("Help"), "F1", self.show_help),
            ("btn_settings", _("Settings"), cfg.get(KEY_SETTINGS), self.show_settings),
        ):
            b = QPushButton(f"{text}  ({key})" if key else text)
            b.setObjectName(name)
            b.setAccessibleName(text)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setFlat(True)
            b.clicked.connect(slot)
            self.statusBar().addPermanentWidget(b)
        self._build_actions()

        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(session.config.get(UI_TIMER_MS))

        self._add_capability_panels()
        from console.training import attach_training

        self.training = attach_training(self)  # training mode: banner, practice panel, debrief
        from console.assist_panel import attach_banner

        self.assist_banner = attach_banner(self)  # a supervisor on the call, always shown
        try:
            from console.chat_panel import attach_chat
        except ModuleNotFoundError:  # a build without the chat line
            pass
        else:
            self.chat = attach_chat(self)  # chats ring like calls; the Chat tab (docs/chat.md)
        self._initial_status()
        self._render(self._view)
        self._show_page()
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
        self.state_label.setAccessibleName(_("Call state"))
        self.caller_label = QLabel()
        self.caller_label.setObjectName("callerId")
        self.caller_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caller_label.setAccessibleName(_("Caller's number"))
        self.caller_label.setStyleSheet(f"font-size: {theme.pt(16)};")
        self.timer_label = QLabel("00:00")
        self.timer_label.setObjectName("callTimer")
        self.timer_label.setStyleSheet(f"font-size: {theme.pt(22)}; font-family: monospace;")
        self.timer_label.setAccessibleName(_("Call duration"))
        self.muted_banner = QLabel(_("MICROPHONE MUTED — the caller cannot hear you"))
        self.muted_banner.setObjectName("mutedBanner")
        self.muted_banner.setWordWrap(True)  # whole, on two lines if the column is narrow
        theme.set_role(self.muted_banner, "danger")
        self.muted_banner.setVisible(False)
        self.ring_banner = QLabel()
        self.ring_banner.setObjectName("ringBanner")
        self.ring_banner.setWordWrap(True)
        self.ring_banner.setAccessibleName(_("Incoming call"))
        theme.set_role(self.ring_banner, "ring")
        self.ring_banner.setStyleSheet(f"font-size: {theme.pt(13)};")
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
        theme.set_role(self.urgent_button, "danger_button")
        self.urgent_button.clicked.connect(
            lambda: self._do(Action.ESCALATE, Source.UI, level=URGENT_LEVEL)
        )
        grid.addWidget(self.urgent_button, 7, 0, 1, 2)
        button(Action.START_BREAK, _("Break"), "break_toggle", 8, 0, self._toggle_break)
        #: why the last press did nothing, next to the buttons (not only in the status bar)
        self.notice = QLabel()
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName(_("Notice"))
        theme.set_role(self.notice, "warning")
        self.notice.setVisible(False)
        grid.addWidget(self.notice, 9, 0, 1, 2)
        self.buttons[Action.ESCALATE].setStyleSheet("QPushButton:enabled { font-weight: bold; }")

        self.wrap_box = QGroupBox(_("Wrap-up"))
        self.wrap_box.setObjectName("wrapUp")
        wl = QVBoxLayout(self.wrap_box)  # one above the other: both fit a narrow column
        self._wrap_layout = wl
        #: what the wrap-up should not miss (an assessment started and not saved…)
        self.wrap_warning = QLabel()
        self.wrap_warning.setObjectName("wrapWarning")
        self.wrap_warning.setWordWrap(True)
        self.wrap_warning.setAccessibleName(_("Before you finish"))
        theme.set_role(self.wrap_warning, "warning")
        self.wrap_warning.setVisible(False)
        wl.addWidget(self.wrap_warning)
        self.disposition = QComboBox()
        self.disposition.setObjectName("disposition")
        self.disposition.setAccessibleName(_("Disposition"))
        self.disposition.addItem(_("Choose a disposition…"), None)
        # the organisation's form (core/forms.py); calls.dispositions, when set, overrides it
        form = self.session.form
        for code in disposition_codes(cfg, form):
            entry = form.entry("disposition", code)
            self.disposition.addItem(entry.label() if entry else disposition_label(code), code)
        self.finish_button = QPushButton(self.labelled(_("Finish wrap-up"), "finish_wrap_up"))
        self.finish_button.setObjectName("btn_finish_wrap_up")
        self.finish_button.clicked.connect(self._finish_wrap_up)
        wl.addWidget(self.disposition)
        wl.addWidget(self.finish_button)
        grid.addWidget(self.wrap_box, 10, 0, 1, 2)

        self.history_title = QLabel(_("Missed and recent calls"))
        grid.addWidget(self.history_title, 11, 0, 1, 2)
        self.history = QListWidget()
        self.history.setObjectName("history")
        self.history.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.history.setAccessibleName(_("Missed and recent calls"))
        # the list gives its room up first (it scrolls) when the wrap-up needs it on a laptop
        self.history.setMinimumHeight(40)
        grid.addWidget(self.history, 12, 0, 1, 2)
        grid.setRowStretch(12, 1)
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
                "store", Level.WARNING, _("Notes: choose your passphrase to start")
            )
        elif self.store.is_locked:
            self.status_area.set_status("store", Level.WARNING, _("Notes: locked"))
        else:
            self.status_area.set_status("store", Level.OK, _("Notes: encrypted, autosaved"))

    def add_contact_tab(self, widget: QWidget, title: str, key: str = "", short: str = "") -> None:
        """A form of the contact in progress (risk assessment, safety plan…) as a tab next
        to the notes. ``widget.show_contact(contact_id, call)`` is called on every call state
        change, like the notes; ``key`` (a key sequence) brings the tab up while typing;
        ``short``, when given, is the tab's own text (the title stays in its tooltip and F1)."""
        index = self.contact_tabs.addTab(widget, short or title)
        # the key in the tooltip and in F1's list: four titles with keys do not fit 360 px
        self.contact_tabs.setTabToolTip(index, f"{title} ({key})" if key else title)
        if key:
            self._form_keys.append((key, _("Open: {form}").format(form=title)))
        self.contact_tabs.tabBar().setVisible(True)
        self._notes_box.setTitle("")  # the tab says "Notes"
        self._contact_forms.append(widget)
        self.add_key(key, lambda _c=False, w=widget: self.show_contact_tab(w))
        call = self.current_contact()
        widget.show_contact(call.id if call else None, call)  # type: ignore[attr-defined]

    def current_contact(self) -> Call | None:
        """The contact the notes and forms follow: the call, else the chat in view."""
        call = self._view.call
        if call is None and self.chat is not None:
            return self.chat.current_contact()
        return call

    def show_contact(self) -> None:
        """The notes and every form of the contact area on :meth:`current_contact`."""
        call = self.current_contact()
        if self.store_panel is not None:
            self.store_panel.show_contact(call.id if call else None)
        for form in self._contact_forms:
            form.show_contact(call.id if call else None, call)  # type: ignore[attr-defined]

    def show_contact_tab(self, widget: QWidget) -> None:
        if self.locked:
            return
        self.contact_tabs.setCurrentWidget(widget)
        focus = getattr(widget, "focus_first", None)
        if callable(focus):
            focus()
        else:
            widget.setFocus()

    def _show_notes(self) -> None:
        """Ctrl+N: the notes tab, the cursor in the notes."""
        self.contact_tabs.setCurrentIndex(0)
        self.notes.setFocus()

    def _build_notes_panel(self) -> QWidget:
        """The contact area: the notes, and the forms of the contact as tabs beside them."""
        self.contact_tabs = QTabWidget()
        self.contact_tabs.setObjectName("contactTabs")
        self.contact_tabs.setDocumentMode(True)
        # every tab in view (the notes never scrolled off by the wrap-up's summary): titles
        # shorten with "…" instead, the whole title and key in the tooltip
        self.contact_tabs.setUsesScrollButtons(False)
        self.contact_tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.contact_tabs.tabBar().setVisible(False)  # until a form is added
        self.contact_tabs.tabBar().setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._contact_forms: list[QWidget] = []
        self._form_keys: list[tuple[str, str]] = []
        notes = self._notes_box = self._build_notes_box()
        self.contact_tabs.addTab(notes, _("Notes"))
        return self.contact_tabs

    def _build_notes_box(self) -> QGroupBox:
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
        theme.set_role(self.notes_warning, "warning")
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("notes")
        self.notes.setAccessibleName(_("Call notes"))
        self.notes.setPlaceholderText(_("Notes for this call…"))
        layout.addWidget(self.notes_warning)
        layout.addWidget(self.notes, 1)
        self._notes_by_call: dict[str, str] = {}
        return box

    def add_key(self, key: str, slot: Callable[..., object], help_text: str = "") -> None:
        """A window shortcut (it works from any field); ``help_text`` lists it in F1."""
        if not key:
            return
        act = QAction(self)
        act.setShortcut(QKeySequence(key))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(slot)
        self.addAction(act)
        self.shortcut_actions[key] = act
        if help_text:
            self._form_keys.append((key, help_text))

    def _build_actions(self) -> None:
        """One shortcut per key of ``devices.keyboard_map`` (keyboard, pedals, button pads)."""
        cfg = self.session.config
        self.shortcut_actions: dict[str, QAction] = {}
        add = self.add_key
        for key in self._keymap:
            add(key, lambda _checked=False, k=key: self._key_pressed(k))
        add(cfg.get(KEY_NOTES), self._show_notes)
        add(cfg.get(KEY_LOCK), self._lock_notes)
        add(cfg.get(KEY_SETTINGS), self.show_settings)
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
        level = key_level(key, self._keymap)
        if action is not None and self.chat is not None and self.chat.key_action(action, level):
            return  # a chat's: an offer accepted or declined, its escalation or wrap-up
        if action is Action.FINISH_WRAP_UP:
            self._finish_wrap_up()
        elif action is not None:
            self._do(action, Source.KEYBOARD, level=level)

    def show_help(self) -> None:
        """F1: every shortcut; closing it puts the cursor back in the notes."""
        from console.help_overlay import HelpOverlay, shortcut_rows

        cfg = self.session.config
        self.help = HelpOverlay(
            shortcut_rows(
                self._keymap,
                cfg.get(KEY_NOTES),
                cfg.get(KEY_LOCK),
                cfg.get(KEY_SETTINGS),
                forms=self._form_keys,
            ),
            self,
        )
        self.help.finished.connect(lambda _r: QTimer.singleShot(0, self._back_to_notes))
        self.help.open()

    def show_settings(self) -> None:
        """Language, colours, text size and ring; never while locked (a locked console
        opens for its passphrase only)."""
        if self.locked:
            return
        from console.settings_dialog import SettingsDialog
        from core.preferences import preferences_file

        self.settings = SettingsDialog(
            self.session.config,
            preferences_file(self.session.paths.config_file),
            self.session.service("ringer"),
            on_applied=self.restyle,
            parent=self,
        )
        self.settings.finished.connect(lambda _r: QTimer.singleShot(0, self._back_to_notes))
        self.settings.open()

    def _back_to_notes(self) -> None:
        """A dialog closed: the keyboard back in this window's notes (or the lock screen)."""
        self.activateWindow()
        if self.locked:
            self._focus_lock()
        else:
            self.notes.setFocus()

    def restyle(self) -> None:
        """Draw again what takes its colours or sizes from the theme (after a change)."""
        self.caller_label.setStyleSheet(f"font-size: {theme.pt(16)};")
        self.timer_label.setStyleSheet(f"font-size: {theme.pt(22)}; font-family: monospace;")
        self.ring_banner.setStyleSheet(f"font-size: {theme.pt(13)};")
        self.status_area.restyle()
        self._render(self._view)
        self.status_area.set_availability(self._view.state, self._muted, self._chats_occupying)

    def _lock_notes(self) -> None:
        if self.store is not None and not self.store.is_locked:
            self.store.lock("user")

    @property
    def locked(self) -> bool:
        return self.lock_screen is not None and self.pages.currentWidget() is self.lock_screen

    def _show_page(self) -> None:
        """The lock screen over everything while the store is locked (nothing personal on
        screen: number, notes, whispers, history), the console otherwise."""
        if self.lock_screen is None:
            return
        locked = self.store.is_locked
        was = self.locked
        self.pages.setCurrentWidget(self.lock_screen if locked else self.console_page)
        if locked:
            self.lock_screen.show_call(self._view, self._muted)
            # after every handler of this event ran (the notes panel focuses its own field)
            QTimer.singleShot(0, self._focus_lock)
        elif was:
            QTimer.singleShot(0, self.notes.setFocus)  # once the editor is enabled again

    def _focus_lock(self) -> None:
        if self.lock_screen is not None and self.locked:
            self.lock_screen.focus()

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
        if self.store is not None:
            self._add_clinical_forms()

    def _add_clinical_forms(self) -> None:
        """The contact's clinical record beside the notes (docs/clinical.md): the risk
        assessment, the safety plan and the imminent-risk rescue steps as tabs, the follow-up
        queue in the side column, and scheduling a follow-up in the wrap-up."""
        from console.follow_ups import FollowUpQueue, FollowUpScheduler
        from console.rescue_panel import RescuePanel
        from console.risk_form import RiskForm
        from console.safety_plan_editor import SafetyPlanEditor

        cfg, session = self.session.config, self.session
        self.risk_form = RiskForm(session, self.bridge)
        self.add_contact_tab(self.risk_form, _("Risk"), cfg.get(KEY_RISK))
        self.safety_plan = SafetyPlanEditor(session, self.bridge)
        self.add_contact_tab(
            self.safety_plan,
            _("Safety plan"),
            cfg.get(KEY_SAFETY_PLAN),
            # Translators: the safety plan's tab, beside Notes, Risk, Rescue and Summary
            short=_("Plan"),
        )
        self.rescue_panel = RescuePanel(session, self.bridge)
        self.add_contact_tab(self.rescue_panel, _("Rescue"), cfg.get(KEY_RESCUE))
        self.rescue_panel.wants_attention.connect(lambda: self.show_contact_tab(self.rescue_panel))
        self._add_summary_and_report()
        # Transfer… (through a supervisor) only on a counselor's console with escalation
        transfers = getattr(getattr(session, "wiring", None), "transfers", None)
        self.follow_up_queue = FollowUpQueue(
            self.store,
            session.clock,
            self.bridge,
            transfers=transfers if transfers is not None and transfers.available else None,
        )
        self.add_side_panel(self.follow_up_queue)
        self.follow_up_queue.due.connect(self._on_follow_ups_due)
        from console.callbacks_view import CallbacksView  # missed contacts to call back

        self.callbacks_view = CallbacksView.for_session(session, self.bridge)
        if self.callbacks_view is not None:
            self.add_side_panel(self.callbacks_view)
        self.follow_up_scheduler = FollowUpScheduler(
            self.store, cfg, session.clock, self.bridge, form=session.form
        )
        self._wrap_layout.insertWidget(
            self._wrap_layout.indexOf(self.finish_button), self.follow_up_scheduler
        )
        self.follow_up_scheduler.scheduled.connect(self.follow_up_queue.reload)
        self.follow_up_scheduler.failed.connect(lambda text: self.say(text, notice=True))
        self.risk_form.saved.connect(self._on_risk_saved)
        self._contact_forms.append(self.follow_up_scheduler)
        from console.caller_flags import CallerFlags
        from console.outside_contact import OutsideContactDialog

        self.caller_flags = CallerFlags(session, self.bridge)
        self.add_side_panel(self.caller_flags)
        self._contact_forms.append(self.caller_flags)
        call = self._view.call
        self.caller_flags.show_contact(call.id if call else None, call)
        self.add_key(
            cfg.get(KEY_OUTSIDE_CONTACT),
            self.log_outside_contact,
            _("Log a contact that happened outside Faro"),
        )
        self._outside_dialog = OutsideContactDialog
        from console.wrap_up_care import attach_wrap_up_care

        attach_wrap_up_care(self)  # a break and a debrief offered after a hard call
        from console.my_figures import attach_my_figures

        attach_my_figures(self)  # the counselor's own figures, private requests (docs/quality.md)

    def _on_risk_saved(self, _contact: str, _version: int, level: str) -> None:
        """A saved assessment sets the follow-up defaults of its level (the organisation's
        rule); a high or imminent one suggests a follow-up."""
        self.follow_up_scheduler.set_level(level)
        if level in ("high", "imminent"):
            self.follow_up_scheduler.set_suggested(True)

    def _add_summary_and_report(self) -> None:
        """The post-call summary, a tab only during the wrap-up, and the shift report
        (``keys.shift_report``), docs/clinical.md "Post-call summary and shift report"."""
        from console.call_summary import CallSummary
        from console.options import KEY_SHIFT_REPORT
        from console.shift_report import ShiftTracker

        self.call_summary = CallSummary(self.session, self.bridge)
        self.add_contact_tab(self.call_summary, _("Summary"))
        tabs = self.contact_tabs
        tabs.setTabVisible(tabs.indexOf(self.call_summary), self.call_summary.shown)
        self.call_summary.visible_changed.connect(
            lambda on: tabs.setTabVisible(tabs.indexOf(self.call_summary), on)
        )
        self.shift_tracker = ShiftTracker(self.session, self.bridge)
        self.add_key(
            self.session.config.get(KEY_SHIFT_REPORT),
            self.open_shift_report,
            _("Open the report of your shift"),
        )

    def open_shift_report(self) -> None:
        if not self.locked:
            from console.shift_report import ShiftReportDialog

            self.shift_report = ShiftReportDialog.open_for(self, self.shift_tracker)

    def log_outside_contact(self) -> None:
        if not self.locked:
            self.outside_contact = self._outside_dialog.open_for(self)

    def _on_follow_ups_due(self, count: int) -> None:
        if count:
            self.say(
                ngettext(
                    "A follow-up is due: see Follow-ups.",
                    "{n} follow-ups are due: see Follow-ups.",
                    count,
                ).format(n=count)
            )

    def key_for(self, action_name: str) -> str:
        """The first key bound to an action in the keyboard map ('' if none)."""
        return next((k for k, v in self._keymap.items() if v == action_name), "")

    def labelled(self, text: str, action_name: str, two_lines: bool = False) -> str:
        key = self.key_for(action_name)
        if not key:
            return text
        return f"{text}\n({key})" if two_lines else f"{text}  ({key})"

    def add_side_panel(self, widget: QWidget, first: bool = False) -> None:
        """Add a capability's panel (call health, escalation…) to the right-hand column
        (``first``: at its top, as training mode's practice panel).

        A panel that shows events takes the window's :attr:`bridge` when it is built and
        registers its handlers there (``bridge.on(EventType, handler)``).
        """
        self._side_layout.insertWidget(0 if first else self._side_layout.count() - 1, widget)
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
        try:
            from escalation.events import EscalationStateChanged
        except ModuleNotFoundError:  # a build without escalation
            pass
        else:
            on(EscalationStateChanged, self._on_escalation_state)
        on(StatusReport, self._on_status)
        on((StoreLocked, StoreUnlocked), self._on_store_lock)
        on(dev.ButtonBoxConnected, self._on_box_connected)
        on((dev.ButtonBoxDisconnected, dev.ButtonBoxRejected), self._on_box_lost)
        on(dev.HeadsetConnected, self._on_headset_connected)
        on((dev.HeadsetDisconnected, dev.HeadsetRejected), self._on_headset_lost)
        on(dev.HeadsetPressIgnored, self._on_press_ignored)

    def _on_mute(self, event: cev.MuteChanged) -> None:
        self._muted = event.muted
        if self.lock_screen is not None and self.locked:
            self.lock_screen.show_call(self._view, event.muted)
        self.muted_banner.setVisible(event.muted)
        self.status_area.set_availability(self._view.state, event.muted, self._chats_occupying)
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
        self.say(_("Missed call: {reason}").format(reason=miss_label(event.reason)))

    def _on_wrap_up_finished(self, event: cev.WrapUpFinished) -> None:
        scheduler = getattr(self, "follow_up_scheduler", None)
        if scheduler is not None:
            scheduler.schedule(event.call.id)
        self.history.insertItem(
            0,
            f"{event.call.rung_at.astimezone():%H:%M}  "
            f"{disposition_label(event.disposition)}  "
            f"{fmt_duration(event.call.talk_seconds(0))}",
        )

    def say(self, text: str, notice: bool = False) -> None:
        """A message in the status bar (and, with ``notice``, next to the call buttons), until
        it stops being true: the next call state, or :data:`MESSAGE_S` with nothing new."""
        self.message.setText(text)
        self._message_until = self.session.clock.monotonic() + MESSAGE_S
        self.notice.setText(text if notice else "")
        self.notice.setVisible(notice)

    def clear_message(self) -> None:
        self.message.clear()
        self.notice.clear()
        self.notice.setVisible(False)
        self._message_until = None

    def _on_rejected(self, event: cev.CommandRejected) -> None:
        # the button box's or the headset's Answer with no call ringing takes a chat offer,
        # as the answer key does (a chat rings like a call)
        if (
            event.action is Action.ANSWER
            and event.source in (Source.BUTTON_BOX, Source.HEADSET)
            and self.chat is not None
            and self.chat.accept_offer()
        ):
            return
        self.say(event.reason, notice=True)
        if event.action is Action.FINISH_WRAP_UP and self.wrap_box.isVisible():
            self.disposition.setFocus()  # the control that is missing, ready for the arrows

    def _on_press_ignored(self, event: dev.PressIgnored | dev.HeadsetPressIgnored) -> None:
        self.say(event.message, notice=True)  # a press that did nothing: say why

    def _on_headset_connected(self, event: dev.HeadsetConnected) -> None:
        self.status_area.set_status("headset_buttons", Level.OK, _("Headset buttons: ready"))

    def _on_headset_lost(self, event: dev.HeadsetDisconnected | dev.HeadsetRejected) -> None:
        """Unplugged (the call goes on: the screen and the keys still act) or unusable."""
        if isinstance(event, dev.HeadsetDisconnected) and event.reason == "stopped":
            return
        if isinstance(event, dev.HeadsetDisconnected):
            short = _("Headset buttons: unplugged")
            self.say(event.message, notice=True)
        else:
            short = _("Headset buttons: not usable (ask IT)")
        self.status_area.set_status("headset_buttons", Level.WARNING, short)

    def _on_escalation_requested(self, event: cev.EscalationRequested) -> None:
        self.say(_("Escalation requested: a supervisor is being alerted."))

    def _on_escalation_state(self, event: object) -> None:
        """The status line follows the escalation: alerted → acknowledged → gone."""
        state = getattr(event, "state", None)
        if state == "acknowledged" and getattr(event, "level", None) == "debrief":
            self.say(_("A supervisor acknowledged your debrief request."))
        elif state == "acknowledged":
            self.say(_("A supervisor acknowledged your request and is on the way."))
        elif state == "resolved":
            self.clear_message()

    def _on_status(self, event: StatusReport) -> None:
        self.status_area.set_status(event.component, event.level, event.text)

    def _on_store_lock(self, event: StoreLocked | StoreUnlocked) -> None:
        self._store_status()
        self._show_page()
        if isinstance(event, StoreUnlocked) and self.store_panel is not None:
            call = self.current_contact()
            self.store_panel.show_contact(call.id if call else None)

    def _on_box_connected(self, event: dev.ButtonBoxConnected) -> None:
        self.status_area.set_status("buttonbox", Level.OK, _("Button box: connected"))

    def _on_box_lost(self, event: dev.ButtonBoxDisconnected | dev.ButtonBoxRejected) -> None:
        self.status_area.set_status(
            "buttonbox", Level.ERROR, _("Button box: {message}").format(message=event.message)
        )

    def _on_state(self, event: cev.CallStateChanged) -> None:
        self._view = event  # the contact area follows it (or the chat in view, without a call)
        if self.store_panel is None and event.previous is CallState.WRAP_UP and event.call is None:
            self.notes.clear()
        self.show_contact()
        if event.state is not event.previous:
            self.clear_message()  # a refusal or a note about the last state is no longer true
        if event.state is CallState.RINGING:
            self.raise_()
            self.activateWindow()
        elif (
            event.state is CallState.ON_CALL
            and event.previous is CallState.RINGING
            and not self.locked
        ):
            self.contact_tabs.setCurrentIndex(0)  # a new contact starts in its notes
            self.notes.setFocus()
        self._render(event)
        if self.lock_screen is not None and self.locked:
            self.lock_screen.show_call(event)
            QTimer.singleShot(0, self._focus_lock)

    def show_chats_occupying(self, n: int) -> None:
        """``n`` chats keep calls from ringing (0: none): the call panel says so."""
        if n != self._chats_occupying:
            self._chats_occupying = n
            self._render(self._view)

    def _render(self, view: cev.CallStateChanged) -> None:
        """Draw the call panel from ``view`` (the last CallStateChanged), never from the machine."""
        self._view = view
        self._muted = view.muted
        state, call = view.state, view.call
        chats = self._chats_occupying
        self.status_area.set_availability(state, view.muted, chats)
        occupied = bool(chats) and state is CallState.AVAILABLE
        self.state_label.setText(chats_short(chats) if occupied else state_label(state))
        _bg, fg = theme.state_colours(CallState.ON_CALL if occupied else state)
        self.state_label.setStyleSheet(
            f"font-size: {theme.pt(18)}; font-weight: bold; color: {fg};"
        )
        if call is not None:
            number = reveal(call.caller_id)
            self.caller_label.setText(number or _("Number not available"))
        else:
            self.caller_label.setText("")
        in_call = state.in_call
        ringing = state is CallState.RINGING
        self.ring_banner.setText(self._ring_text(call))
        self.ring_banner.setVisible(ringing)
        theme.set_role(self.buttons[Action.ANSWER], "ring_button" if ringing else None)
        self.buttons[Action.ANSWER].setEnabled(
            state is CallState.RINGING or (view.follows_counselor and state is CallState.AVAILABLE)
        )
        decline = ringing and self.session.config.get(ALLOW_DECLINE)
        self.buttons[Action.HANG_UP].setEnabled(in_call or decline)
        self.buttons[Action.HANG_UP].setText(
            self.labelled(_("Decline") if decline else _("Hang up"), "hang_up")
        )
        self.buttons[Action.HOLD_TOGGLE].setEnabled(in_call)
        self.buttons[Action.HOLD_TOGGLE].setText(
            self.labelled(_("Resume") if state is CallState.ON_HOLD else _("Hold"), "hold_toggle")
        )
        self.buttons[Action.MUTE_TOGGLE].setEnabled(in_call)
        # the wrap-up takes the room of the four call buttons it cannot use (a 600 px laptop)
        for action in (Action.ANSWER, Action.HANG_UP, Action.HOLD_TOGGLE, Action.MUTE_TOGGLE):
            self.buttons[action].setVisible(state is not CallState.WRAP_UP)
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
        # during the wrap-up its box takes the list's place (a 600 px laptop has no room for both)
        self.history_title.setVisible(state is not CallState.WRAP_UP)
        self.history.setVisible(state is not CallState.WRAP_UP)
        if state is CallState.WRAP_UP:
            self.disposition.setCurrentIndex(0)
        self._flag_wrap_up(view)
        self.muted_banner.setVisible(view.muted and in_call)
        self._tick()

    def _ring_text(self, call: Call | None) -> str:
        """The incoming-call banner: the line it came on, the number, and which keys act."""
        answer = self.key_for("answer")
        lines = [
            _("INCOMING CALL — press {key} to answer").format(key=answer)
            if answer
            else _("INCOMING CALL — press Answer")
        ]
        if call is not None:  # the number is right above it, in large type
            lines.append(channel_label(call.channel))
        if self.session.config.get(ALLOW_DECLINE):
            hang_up = self.key_for("hang_up")
            lines.append(
                _("{key} declines it (it goes to the next counselor)").format(key=hang_up)
                if hang_up
                else _("Decline sends it to the next counselor")
            )
        return "\n".join(lines)

    def _flag_wrap_up(self, view: cev.CallStateChanged) -> None:
        """At wrap-up, say what the record lacks (allowed, never blocking): a risk assessment
        started and not saved, or none at all."""
        form = getattr(self, "risk_form", None)
        text = ""
        if view.state is CallState.WRAP_UP and view.call is not None and form is not None:
            if form.incomplete(view.call.id):
                text = _("Risk assessment not saved ({key}). You may finish without it.").format(
                    key=self.session.config.get(KEY_RISK)
                )
        self.wrap_warning.setText(text)
        self.wrap_warning.setVisible(bool(text))

    def _tick(self) -> None:
        """The UI timer: the call timer, from the call as last rendered; the idle policy told
        whether a call is in progress (core/activity.py); one-off messages cleared."""
        view = self._view
        self.activity.tick(view.state.in_call)
        call = view.call
        now = self.session.clock.monotonic()
        if self._message_until is not None and now > self._message_until:
            self.clear_message()
        if self.lock_screen is not None and self.locked:
            service = self.session.service("chat")
            chats = len(getattr(service, "chats", ())) if service is not None else 0
            self.lock_screen.tick(view, now, self._muted, chats)
        if self.chat is not None:
            self.chat.tick()
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
