"""The chat line in the counselor's console (docs/chat.md "The console").

- :class:`ChatOfferBanner`, under the status area: a chat offered rings like a call — the
  ring banner's colours, the ring (app/chat_flow.py), the answer key (F5) to accept it when
  no call rings and the hang-up key (F8) to decline it; how long the person has waited and
  how long the offer stands; it goes when the offer is withdrawn.
- :class:`ChatPanel`, the "Chat" tab of the contact area beside the notes and the clinical
  forms: the conversation of the chat in view (one tab per open chat when there are more,
  each with its unread count), the composer, the canned responses, the one-press safety
  check and quick-exit reminder, escalation and the chat's own wrap-up.

Messages are shown as plain text only: each is a list row whose text is the characters the
person wrote (markup stays characters, a link is never clickable nor followed). Each row says
who wrote it in words, when, and for the counselor's own the delivery state (sent, delivered,
read, not delivered and why), so neither side is told by colour and a screen reader reads it.

Everything is rendered from the chat service's events through the window's bridge; what the
counselor does goes to the chat flow (app/chat_flow.py), which says why when it cannot.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from calls.model import Action, Call, CallState
from calls.options import disposition_codes
from chat.canned import CannedSet, load_canned
from chat.protocol import MAX_BODY
from console import theme
from console.flow_layout import FlowLayout
from console.options import CHAT_CANNED_FILE, KEY_CHAT, KEY_CHAT_EXIT_HINT, KEY_CHAT_SAFETY
from console.texts import PHONE_ONLY_DISPOSITIONS, disposition_label, fmt_duration
from core.errors import FaroError
from core.i18n import _, format_number, format_time, ngettext
from core.privacy import reveal

if TYPE_CHECKING:
    from app.chat_flow import ChatFlow
    from console.main_window import MainWindow

log = logging.getLogger(__name__)

#: the counter shows from this share of the longest message on
COUNTER_FROM = 0.8
#: the counselor's "writing…" ends after this long without a keystroke
TYPING_IDLE_MS = 5000


def _lang_name(lang: str) -> str:
    return _("in English") if lang == "en" else _("in Spanish")


def delivery_words(state: str, reason: str = "") -> str:
    """A delivery state in words (with its tick marks for sighted readers)."""
    if state == "read":
        return _("✓✓ read")
    if state == "received":
        return _("✓✓ delivered")
    if state == "refused":
        return _("not delivered: {why}").format(why=refusal_words(reason))
    return _("✓ sent")


def refusal_words(reason: str) -> str:
    return {
        "too_long": _("too long"),
        "too_fast": _("too many messages at once, wait a moment"),
        "not_text": _("not text"),
        "unknown_chat": _("the chat is closed"),
    }.get(reason, _("the chat server refused it"))


def ended_words(reason: str) -> str:
    return {
        "by_counselor": _("You ended the chat."),
        "by_person": _("The person writing ended the chat."),
        "quick_exit": _("The person writing pressed Quick exit."),
        "person_lost": _("The person writing lost the connection."),
        "idle": _("The chat ended after a long silence."),
        "server": _("The chat server ended the chat."),
        "counselor_lost": _("This console lost the chat line; the chat went to another counselor."),
        "unknown_chat": _("The chat server no longer knows this chat."),
    }.get(reason, _("The chat ended."))


@dataclasses.dataclass
class _Conversation:
    chat: str
    number: int  # "Chat 1", "Chat 2"… in the order they came this session
    call: Call
    lang: str
    phase: str
    view: QListWidget
    rows: dict[str, QListWidgetItem] = dataclasses.field(default_factory=dict)
    #: mid → (direction, (delivery, reason), (text, at)): what its row shows
    texts: dict[str, tuple[str, tuple[str, str], tuple[str, Any]]] = dataclasses.field(
        default_factory=dict
    )
    unread: int = 0
    last_in: str = ""  # the newest message of the person (its read marker)
    read_sent: str = ""
    typing: bool = False
    ended_reason: str = ""


class ChatOfferBanner(QFrame):
    """The offer, as the incoming call's banner: words, waiting time, Accept and Decline."""

    def __init__(self, panel: ChatPanel) -> None:
        super().__init__()
        self.panel = panel
        self.setObjectName("chatOfferBanner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        self.label = QLabel()
        self.label.setObjectName("chatRing")
        self.label.setWordWrap(True)
        self.label.setAccessibleName(_("Chat offered"))
        theme.set_role(self.label, "ring")
        self.label.setStyleSheet(f"font-size: {theme.pt(12)};")
        layout.addWidget(self.label, 1)
        w = panel.main
        self.accept_button = QPushButton(w.labelled(_("Accept chat"), "answer", two_lines=True))
        self.accept_button.setObjectName("btn_chat_accept")
        self.accept_button.setAccessibleName(_("Accept chat"))
        self.accept_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        theme.set_role(self.accept_button, "ring_button")
        self.accept_button.clicked.connect(lambda: panel.accept_offer())
        self.decline_button = QPushButton(w.labelled(_("Decline"), "hang_up", two_lines=True))
        self.decline_button.setObjectName("btn_chat_decline")
        self.decline_button.setAccessibleName(_("Decline chat"))
        self.decline_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.decline_button.clicked.connect(lambda: panel.decline_offer())
        layout.addWidget(self.accept_button)
        layout.addWidget(self.decline_button)
        self.setVisible(False)

    def show_offers(self, offers: list[tuple[Any, float]], now: float, refusal: str | None) -> None:
        if not offers:
            self.setVisible(False)
            return
        offer, at = offers[0]
        since = max(0.0, now - at)
        key = self.panel.main.key_for("answer")
        if refusal:  # the key would not take it now (on a call it answers the call)
            lines = [_("CHAT OFFERED — {why}").format(why=refusal)]
        elif key:
            lines = [_("CHAT OFFERED — press {key} to accept").format(key=key)]
        else:
            lines = [_("CHAT OFFERED — press Accept chat")]
        left = max(0.0, float(offer.expires_s) - since)
        lines.append(
            _(
                "The person writing has waited {waited}, {lang}; the offer stands {left} more."
            ).format(
                waited=fmt_duration(float(offer.waited_s) + since),
                lang=_lang_name(offer.lang),
                left=fmt_duration(left),
            )
        )
        if len(offers) > 1:
            n = len(offers) - 1
            lines.append(
                ngettext("{n} more chat offered.", "{n} more chats offered.", n).format(n=n)
            )
        text = "\n".join(lines)
        if self.label.text() != text:
            self.label.setText(text)
            self.label.setAccessibleDescription(text)
        self.accept_button.setEnabled(refusal is None)
        self.setVisible(True)


class ChatPanel(QWidget):
    def __init__(self, window: MainWindow, flow: ChatFlow) -> None:
        super().__init__()
        self.main = window
        self.flow = flow
        self.session = window.session
        self.setObjectName("chatPanel")
        self.setAccessibleName(_("Chat"))
        self.canned: CannedSet = self._load_canned()
        self._conversations: dict[str, _Conversation] = {}
        self._order: list[str] = []  # the tabs' chats, in order
        self._offers: dict[str, tuple[Any, float]] = {}
        self._counted = 0
        self._typing_sent = False
        self.banner = ChatOfferBanner(self)

        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        self.tabs = QTabBar()
        self.tabs.setObjectName("chatTabs")
        self.tabs.setAccessibleName(_("Open chats"))
        self.tabs.setExpanding(False)
        self.tabs.setDrawBase(False)
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tabs.currentChanged.connect(self._on_tab)
        self.tabs.setVisible(False)
        root.addWidget(self.tabs)
        self.header = QLabel()
        self.header.setObjectName("chatHeader")
        self.header.setWordWrap(True)
        self.header.setAccessibleName(_("Chat in view"))
        root.addWidget(self.header)
        self.empty = QLabel(
            _("No chat open. A chat offered to you rings like a call, in the banner above.")
        )
        self.empty.setObjectName("chatEmpty")
        self.empty.setWordWrap(True)
        theme.set_role(self.empty, "dim")
        root.addWidget(self.empty)
        self.views = QStackedWidget()
        self.views.setObjectName("chatViews")
        root.addWidget(self.views, 1)
        self.typing_label = QLabel()
        self.typing_label.setObjectName("chatTyping")
        self.typing_label.setAccessibleName(_("Writing indicator"))
        theme.set_role(self.typing_label, "dim")
        root.addWidget(self.typing_label)
        self.ended = QLabel()
        self.ended.setObjectName("chatEnded")
        self.ended.setWordWrap(True)
        self.ended.setAccessibleName(_("Chat ended"))
        theme.set_role(self.ended, "warning")
        self.ended.setVisible(False)
        root.addWidget(self.ended)

        self.composer = QPlainTextEdit()
        self.composer.setObjectName("chatComposer")
        self.composer.setAccessibleName(_("Message to the person writing"))
        self.composer.setAccessibleDescription(_("Enter sends; Shift+Enter starts a new line."))
        self.composer.setPlaceholderText(_("Write here… (Enter sends, Shift+Enter: new line)"))
        self.composer.setTabChangesFocus(True)
        self.composer.setFixedHeight(self.composer.fontMetrics().lineSpacing() * 3 + 14)
        self.composer.installEventFilter(self)
        self.composer.textChanged.connect(self._on_composing)
        root.addWidget(self.composer)
        self.counter = QLabel()
        self.counter.setObjectName("chatCounter")
        self.counter.setAccessibleName(_("Characters left"))
        self.counter.setVisible(False)
        self.refusal = QLabel()
        self.refusal.setObjectName("chatRefusal")
        self.refusal.setWordWrap(True)
        self.refusal.setAccessibleName(_("Not sent"))
        theme.set_role(self.refusal, "warning")
        self.refusal.setVisible(False)
        root.addWidget(self.counter)
        root.addWidget(self.refusal)

        actions = QWidget()
        self._actions = FlowLayout(actions, spacing=4)
        self._actions.setContentsMargins(0, 0, 0, 0)
        cfg = self.session.config

        def button(name: str, text: str, slot: Any, key: str = "", tip: str = "") -> QPushButton:
            b = QPushButton(f"{text}  ({key})" if key else text)
            b.setObjectName(name)
            b.setAccessibleName(text)
            if tip:
                b.setToolTip(tip)
                b.setAccessibleDescription(tip)
            b.clicked.connect(slot)
            self._actions.addWidget(b)
            return b

        self.send_button = button("btn_chat_send", _("Send"), self.send_composer)
        self.safety_button = button(
            "btn_chat_safety",
            _("Safe to keep writing?"),
            self.send_safety_check,
            cfg.get(KEY_CHAT_SAFETY),
            self.canned.safety_check.text_in("es"),
        )
        self.exit_button = button(
            "btn_chat_exit_hint",
            _("Quick-exit reminder"),
            self.send_exit_hint,
            cfg.get(KEY_CHAT_EXIT_HINT),
            self.canned.exit_hint.text_in("es"),
        )
        self.canned_box = QComboBox()
        self.canned_box.setObjectName("chatCanned")
        self.canned_box.setAccessibleName(_("Canned responses"))
        self.canned_box.setToolTip(_("A canned response goes into the message, to edit and send."))
        self.canned_box.addItem(_("Canned responses…"), None)
        for r in self.canned.others:
            self.canned_box.addItem(r.title_in(_current_lang()), r.code)
        self.canned_box.activated.connect(self._use_canned)
        self._actions.addWidget(self.canned_box)
        self.escalate_button = button("btn_chat_escalate", _("Escalate"), lambda: self.escalate())
        self.end_button = button("btn_chat_end", _("End chat"), self.end_chat)
        root.addWidget(actions)

        self.wrap = QFrame()
        self.wrap.setObjectName("chatWrapUp")
        wl = QHBoxLayout(self.wrap)
        wl.setContentsMargins(0, 0, 0, 0)
        self.disposition = QComboBox()
        self.disposition.setObjectName("chatDisposition")
        self.disposition.setAccessibleName(_("Disposition of the chat"))
        self.disposition.addItem(_("Choose how the chat ended…"), None)
        # the built-in form's words are a call's ("Call disconnected"): Faro's chat words
        # instead (console/texts.py); an organisation's own form keeps its words
        for code in disposition_codes(cfg, self.session.form):
            if code in PHONE_ONLY_DISPOSITIONS:
                continue  # a wrong number: only a call
            self.disposition.addItem(disposition_label(code, "chat"), code)
        self.finish_button = QPushButton(window.labelled(_("Finish wrap-up"), "finish_wrap_up"))
        self.finish_button.setObjectName("btn_chat_finish_wrap_up")
        self.finish_button.setAccessibleName(_("Finish the chat's wrap-up"))
        self.finish_button.clicked.connect(self.finish_wrap_up)
        wl.addWidget(self.disposition, 1)
        wl.addWidget(self.finish_button)
        self.wrap.setVisible(False)
        root.addWidget(self.wrap)

        self._typing_timer = QTimer(self)
        self._typing_timer.setSingleShot(True)
        self._typing_timer.setInterval(TYPING_IDLE_MS)
        self._typing_timer.timeout.connect(lambda: self._typing(False))
        self._register()
        self._render()

    # -- set-up -----------------------------------------------------------------------------------
    def _load_canned(self) -> CannedSet:
        from chat.canned import builtin_canned

        try:
            return load_canned(self.session.config.get(CHAT_CANNED_FILE))
        except FaroError as exc:  # said once; the built-in texts keep the buttons working
            log.warning("canned responses not loaded: %s", exc.message)
            self.main.say(exc.message)
            return builtin_canned()

    def _register(self) -> None:
        from app.chat_flow import ChatCapacity, ChatContactChanged
        from chat import events as ev

        on = self.main.bridge.on
        on(ev.ChatOffered, self._on_offered)
        on(ev.ChatWithdrawn, self._on_gone)
        on(ChatContactChanged, self._on_contact)
        on(ev.ChatMessage, self._on_message)
        on(ev.ChatDelivery, self._on_delivery)
        on(ev.ChatTyping, self._on_typing)
        on(ev.ChatEnded, self._on_ended)
        on(ChatCapacity, self._on_capacity)

    def _on_capacity(self, event: Any) -> None:
        """The status area says how many chats are open and whether new ones may come."""
        from core.status import Level

        held = ngettext("Chats: {n} open", "Chats: {n} open", event.held).format(n=event.held)
        why = {
            "call": _("no new chats during a call"),
            "break": _("no new chats on a break"),
            "locked": _("no new chats while locked"),
            "full": _("no new chats: all your places are taken"),
        }.get(event.reason, _("taking new chats"))
        level = Level.OK if not event.busy else Level.INFO
        self.main.status_area.set_status("chat", level, f"{held} · {why}")
        self.main.show_chats_occupying(event.held if getattr(event, "occupied", False) else 0)
        self._render_banner()

    # -- what is in view ----------------------------------------------------------------------------
    @property
    def current(self) -> _Conversation | None:
        i = self.tabs.currentIndex()
        if 0 <= i < len(self._order):
            return self._conversations.get(self._order[i])
        return None

    def current_contact(self) -> Call | None:
        """The chat in view's contact (the notes and forms follow it when no call is on)."""
        c = self.current
        return c.call if c is not None else None

    def show_contact(self, contact_id: str | None, call: Call | None) -> None:
        """A form of the contact area (console/main_window.py): the chat follows its own."""

    def focus_first(self) -> None:
        c = self.current
        if c is not None and c.phase == "wrap_up":
            self.disposition.setFocus()
        else:
            self.composer.setFocus()
        self._mark_read()

    def _shown(self) -> bool:
        tabs = self.main.contact_tabs
        return tabs.currentWidget() is self and not self.main.locked

    def select(self, chat: str) -> None:
        if chat in self._order:
            self.tabs.setCurrentIndex(self._order.index(chat))

    def _on_tab(self, index: int) -> None:
        c = self.current
        if c is not None:
            self.views.setCurrentWidget(c.view)
        self._render()
        self.main.show_contact()
        self._mark_read()

    # -- offers -------------------------------------------------------------------------------------
    def _on_offered(self, event: Any) -> None:
        self._offers[event.chat] = (event, self.session.clock.monotonic())
        self._render_banner()
        if self.main.calls.state is not CallState.RINGING:
            self.main.raise_()
            self.main.activateWindow()

    def _on_gone(self, event: Any) -> None:
        if self._offers.pop(event.chat, None) is not None:
            self._render_banner()

    def _render_banner(self) -> None:
        offers = [o for o in self._offers.values()]
        self.banner.show_offers(offers, self.session.clock.monotonic(), self.flow.refusal())

    def accept_offer(self) -> bool:
        """Accept the oldest offer (the answer key when no call rings); False: none."""
        if not self._offers or self.main.locked:
            return False
        chat = next(iter(self._offers))
        why = self.flow.accept(chat)
        if why is not None:
            self.main.say(why, notice=True)
        return True

    def decline_offer(self) -> bool:
        if not self._offers or self.main.locked:
            return False
        chat = next(iter(self._offers))
        self._offers.pop(chat, None)
        self.flow.decline(chat)
        self._render_banner()
        return True

    def key_action(self, action: Action, level: str | None = None) -> bool:
        """A call key pressed when the call machine has nothing for it: the chat's (True)."""
        calls = self.main.calls
        ringing = calls.state is CallState.RINGING
        if action is Action.ANSWER and not ringing:
            return self.accept_offer()
        if action is Action.HANG_UP and not ringing and not calls.state.in_call:
            return self.decline_offer()
        no_call = calls.call is None
        if action is Action.ESCALATE and no_call and self.current is not None:
            return self.escalate(level)
        if action is Action.FINISH_WRAP_UP and calls.state is not CallState.WRAP_UP:
            c = self.current
            if c is not None and c.phase == "wrap_up":
                self.finish_wrap_up()
                return True
        return False

    # -- the contact's life -------------------------------------------------------------------------
    def _on_contact(self, event: Any) -> None:
        chat = event.chat
        if event.phase == "offered":
            return
        self._offers.pop(chat, None)
        self._render_banner()
        c = self._conversations.get(chat)
        if event.phase == "done":
            if c is not None:
                self._close(chat)
            return
        if c is None:
            c = self._open(chat, event)
            first = len(self._order) == 1
            if first or self.current is None:
                self.select(chat)
            if not self.main.calls.state.in_call and not self.main.locked:
                self.main.show_contact_tab(self)
        c.call, c.lang, c.phase = event.call, event.lang, event.phase
        self._render()
        if self.current is c:
            self.main.show_contact()

    def _open(self, chat: str, event: Any) -> _Conversation:
        self._counted += 1
        view = QListWidget()
        view.setObjectName("chatTranscript")
        view.setAccessibleName(_("Conversation of chat {n}").format(n=self._counted))
        view.setWordWrap(True)
        view.setUniformItemSizes(False)
        view.setResizeMode(QListWidget.ResizeMode.Adjust)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setTextElideMode(Qt.TextElideMode.ElideNone)
        view.setSpacing(3)
        c = _Conversation(chat, self._counted, event.call, event.lang, event.phase, view)
        self._conversations[chat] = c
        self._order.append(chat)
        self.views.addWidget(view)
        self.tabs.addTab(self._tab_text(c))
        return c

    def _close(self, chat: str) -> None:
        c = self._conversations.pop(chat)
        i = self._order.index(chat)
        self._order.remove(chat)
        self.tabs.blockSignals(True)
        self.tabs.removeTab(i)
        self.tabs.blockSignals(False)
        self.views.removeWidget(c.view)
        c.view.deleteLater()
        if self._order:
            self.tabs.setCurrentIndex(min(i, len(self._order) - 1))
        self._on_tab(self.tabs.currentIndex())

    def _tab_text(self, c: _Conversation) -> str:
        base = _("Chat {n}").format(n=c.number)
        if c.phase == "wrap_up":
            base = _("Chat {n} (ended)").format(n=c.number)
        if c.unread:
            base += " · " + ngettext("{n} new", "{n} new", c.unread).format(n=c.unread)
        return base

    # -- messages --------------------------------------------------------------------------------------
    def _on_message(self, event: Any) -> None:
        c = self._conversations.get(event.chat)
        if c is None:
            return
        text = reveal(event.text)
        item = c.rows.get(event.mid)
        if item is None:
            item = QListWidgetItem()
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            c.rows[event.mid] = item
            c.view.addItem(item)
        state: tuple[str, str] = ("sent", "") if event.direction == "out" else ("", "")
        old = c.texts.get(event.mid)
        if old is not None:  # a repeat keeps the delivery it has reached
            state = old[1]
        c.texts[event.mid] = (event.direction, state, (text, event.at))
        self._draw(item, event.direction, text, event.at, state)
        c.view.scrollToBottom()
        if event.direction == "in":
            c.last_in = event.mid
            c.typing = False
            if self.current is c and self._shown() and self.main.isActiveWindow():
                self._mark_read()
            else:
                c.unread += 1
                self.tabs.setTabText(self._order.index(c.chat), self._tab_text(c))
        self._render()

    def _draw(
        self, item: QListWidgetItem, direction: str, text: str, at: Any, state: tuple[str, str]
    ) -> None:
        when = format_time(at.astimezone()) if at is not None else ""
        if direction == "in":
            head = _("The person writing · {time}").format(time=when)
            item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        else:
            head = _("You · {time} · {state}").format(time=when, state=delivery_words(*state))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # the text as characters: a list row never interprets markup nor follows a link
        item.setText(f"{head}\n{text}")
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{head}. {text}")
        item.setData(Qt.ItemDataRole.UserRole, direction)

    def _on_delivery(self, event: Any) -> None:
        c = self._conversations.get(event.chat)
        if c is None:
            return
        old = c.texts.get(event.mid)
        item = c.rows.get(event.mid)
        if old is None or item is None:
            return
        direction, (now, _reason), (text, at) = old
        order = ("", "sent", "received", "read")
        if now == "refused" or direction != "out":
            return
        if event.state == "refused" or (
            event.state in order and order.index(event.state) > order.index(now)
        ):
            new = (event.state, event.reason)
            c.texts[event.mid] = (direction, new, (text, at))
            self._draw(item, direction, text, at, new)
            if event.state == "refused":
                self._say_refusal(
                    _("A message was not delivered: {why}.").format(why=refusal_words(event.reason))
                )

    def _on_typing(self, event: Any) -> None:
        c = self._conversations.get(event.chat)
        if c is not None:
            c.typing = bool(event.typing)
            self._render()

    def _on_ended(self, event: Any) -> None:
        c = self._conversations.get(event.chat)
        if c is not None:
            c.ended_reason = event.reason
            c.typing = False
            self._render()

    def _mark_read(self) -> None:
        c = self.current
        if c is None or not self._shown():
            return
        if c.unread:
            c.unread = 0
            self.tabs.setTabText(self._order.index(c.chat), self._tab_text(c))
        if c.last_in and c.last_in != c.read_sent and c.phase == "active":
            c.read_sent = c.last_in
            self.flow.read(c.chat, c.last_in)

    # -- the counselor writes -------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.composer and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    self.composer.insertPlainText("\n")
                else:
                    self.send_composer()
                return True
        return False

    def _on_composing(self) -> None:
        n = len(self.composer.toPlainText())
        near = n >= COUNTER_FROM * MAX_BODY
        self.counter.setVisible(near)
        if near:
            left = MAX_BODY - n
            text = (
                _("{n} characters left").format(n=format_number(left))
                if left >= 0
                else _("{n} characters too many: shorten it or split it").format(
                    n=format_number(-left)
                )
            )
            self.counter.setText(text)
            theme.set_role(self.counter, "warning" if left < 0 else None)
        if n:
            self.refusal.setVisible(False)
            self._typing(True)
            self._typing_timer.start()
        else:
            self._typing(False)

    def _typing(self, on: bool) -> None:
        c = self.current
        if c is None or c.phase != "active" or on == self._typing_sent:
            return
        self._typing_sent = on
        self.flow.typing(c.chat, on)

    def _say_refusal(self, text: str) -> None:
        self.refusal.setText(text)
        self.refusal.setVisible(bool(text))

    def send_text(self, text: str) -> bool:
        c = self.current
        if c is None or c.phase != "active":
            self._say_refusal(_("No chat in progress: nothing was sent."))
            return False
        try:
            self.flow.send(c.chat, text)
        except FaroError as exc:  # the service's words: too long, not text, closed…
            self._say_refusal(exc.message)
            return False
        self._say_refusal("")
        return True

    def send_composer(self) -> None:
        text = self.composer.toPlainText()
        if not text.strip():
            return
        if self.send_text(text):
            self.composer.clear()
            self._typing(False)

    def send_safety_check(self) -> None:
        c = self.current
        if c is not None:
            self.send_text(self.canned.safety_check.text_in(c.lang))

    def send_exit_hint(self) -> None:
        c = self.current
        if c is not None:
            self.send_text(self.canned.exit_hint.text_in(c.lang))

    def _use_canned(self, index: int) -> None:
        code = self.canned_box.itemData(index)
        self.canned_box.setCurrentIndex(0)
        c = self.current
        response = self.canned.get(code) if code else None
        if response is None or c is None:
            return
        self.composer.insertPlainText(response.text_in(c.lang))
        self.composer.setFocus()

    def escalate(self, level: str | None = None) -> bool:
        c = self.current
        if c is None:
            return False
        if self.flow.escalate(c.chat, level):
            self.main.say(_("Escalation requested: a supervisor is being alerted."))
            return True
        return False

    def end_chat(self) -> None:
        c = self.current
        if c is not None and c.phase == "active":
            self.flow.end(c.chat)

    def finish_wrap_up(self) -> None:
        c = self.current
        if c is None:
            return
        why = self.flow.finish_wrap_up(c.chat, self.disposition.currentData())
        if why is not None:
            self.main.say(why, notice=True)
            self.disposition.setFocus()
        else:
            self.disposition.setCurrentIndex(0)

    # -- drawing ------------------------------------------------------------------------------------
    def _render(self) -> None:
        c = self.current
        several = len(self._order) > 1
        self.tabs.setVisible(several)
        self.empty.setVisible(c is None)
        self.views.setVisible(c is not None)
        active = c is not None and c.phase == "active"
        wrap = c is not None and c.phase == "wrap_up"
        for w in (
            self.composer,
            self.send_button,
            self.safety_button,
            self.exit_button,
            self.canned_box,
            self.end_button,
        ):
            w.setEnabled(active)
            w.setVisible(not wrap)  # the wrap-up takes their room: only Escalate stays
        self.escalate_button.setEnabled(c is not None)
        self.wrap.setVisible(wrap)
        if c is None:
            self.header.setText("")
            self.header.setVisible(False)
            self.typing_label.setText("")
            self.ended.setVisible(False)
            return
        self.header.setVisible(True)
        self.header.setText(
            _("Chat {n} · the person writes {lang}").format(n=c.number, lang=_lang_name(c.lang))
        )
        self.typing_label.setText(_("The person is writing…") if c.typing and active else "")
        if wrap:
            self.ended.setText(
                ended_words(c.ended_reason) + " " + _("Choose its disposition to finish.")
            )
        self.ended.setVisible(wrap)

    def tick(self) -> None:
        """The window's UI timer: the banner's waiting time."""
        if self._offers:
            self._render_banner()


def _current_lang() -> str:
    from core.i18n import current_language

    return "en" if current_language().startswith("en") else "es"


def attach_chat(window: MainWindow) -> ChatPanel | None:
    """The chat line in the window, when this console takes chats (``chat.enabled`` and the
    chat service): the offer banner under the status area and the Chat tab."""
    flow = getattr(getattr(window.session, "wiring", None), "chat", None)
    if flow is None or not flow.available:
        return None
    panel = ChatPanel(window, flow)
    layout = window.console_page.layout()
    if layout is not None:
        layout.insertWidget(1, panel.banner)  # type: ignore[attr-defined]
    cfg = window.session.config
    window.add_contact_tab(panel, _("Chat"), cfg.get(KEY_CHAT))
    window.add_key(
        cfg.get(KEY_CHAT_SAFETY),
        panel.send_safety_check,
        _("Chat: ask if it is safe to keep writing"),
    )
    window.add_key(
        cfg.get(KEY_CHAT_EXIT_HINT), panel.send_exit_hint, _("Chat: remind of the quick exit")
    )
    return panel
