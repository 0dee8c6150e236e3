"""The lock screen: over the whole console while the case store is locked.

Nothing personal stays on screen: no caller number, no notes, no whispers, no call list.
What stays is what a counselor needs to keep a call safe without unlocking: the call state
and its timer, which keys still work (the call keys act while locked: a ringing call can be
answered, a call hung up or muted), and the passphrase field. In the demo, the throwaway
passphrase is printed here (:meth:`LockScreen.show_hint`), not only on the terminal.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from calls import events as cev
from calls.model import CallState
from console import theme
from console.store_views import UnlockScreen
from console.texts import fmt_duration, state_label
from core.i18n import _, ngettext


class LockScreen(QWidget):
    def __init__(self, store: Any, keymap: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        self._keys = {action: key for key, action in reversed(list(keymap.items()))}
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()  # the card centred by stretches: its labels' wrapped height counts
        card = QFrame()
        card.setObjectName("lockCard")
        card.setMaximumWidth(520)
        col = QVBoxLayout(card)
        col.setSpacing(10)
        self.title = QLabel(_("Faro is locked"))
        self.title.setObjectName("lockTitle")
        self.title.setStyleSheet(f"font-size: {theme.pt(20)}; font-weight: bold;")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.explain = QLabel(
            _(
                "Notes, the caller's number and messages are hidden. "
                "Type your passphrase to go back to the console."
            )
        )
        self.explain.setWordWrap(True)
        self.explain.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.call_line = QLabel()
        self.call_line.setObjectName("lockCall")
        self.call_line.setWordWrap(True)
        self.call_line.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.call_line.setAccessibleName(_("Call state"))
        self.unlock = UnlockScreen(store)
        self.unlock.title.setVisible(False)  # the screen's own title says it
        self.unlock.unlocked.connect(self._texts)
        self.hint = QLabel()
        self.hint.setObjectName("lockHint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        theme.set_role(self.hint, "dim")
        self.hint.setVisible(False)
        for w in (self.title, self.explain, self.call_line, self.unlock, self.hint):
            col.addWidget(w)
        row.addStretch(1)
        row.addWidget(card, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self._view: cev.CallStateChanged | None = None
        self._styled: tuple[CallState, str] | None = None
        self._texts()

    def _texts(self) -> None:
        if self.unlock.creating:  # the first login: there is nothing to unlock yet
            self.title.setText(_("Welcome to Faro"))
            self.explain.setText(
                _("Choose the passphrase that will protect your case notes on this laptop.")
            )
        else:
            self.title.setText(_("Faro is locked"))
            self.explain.setText(
                _(
                    "Notes, the caller's number and messages are hidden. "
                    "Type your passphrase to go back to the console."
                )
            )

    def show_hint(self, text: str) -> None:
        """A line under the passphrase field (the demo's throwaway passphrase)."""
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    def focus(self) -> None:
        self.unlock.passphrase.setFocus()

    def show_call(self, view: cev.CallStateChanged, muted: bool | None = None) -> None:
        """The call as the window last rendered it, without the caller's number."""
        self._view = view
        self.tick(view, None, muted)

    def tick(
        self,
        view: cev.CallStateChanged,
        now: float | None,
        muted: bool | None = None,
        chats: int = 0,
    ) -> None:
        """``chats``: chats still open (their people wait: no new ones come while locked)."""
        state, call = view.state, view.call
        parts = [state_label(state)]
        if call is not None and now is not None:
            if call.answered_mono is None:
                parts.append(fmt_duration(now - call.rung_mono))
            else:
                parts.append(fmt_duration(call.talk_seconds(now)))
        if (view.muted if muted is None else muted) and state.in_call:
            parts.append(_("muted"))
        keys = []
        if state is CallState.RINGING and self._keys.get("answer"):
            keys.append(_("{key} answers").format(key=self._keys["answer"]))
        if state.in_call:
            if self._keys.get("mute_toggle"):
                keys.append(_("{key} mutes").format(key=self._keys["mute_toggle"]))
            if self._keys.get("hang_up"):
                keys.append(_("{key} hangs up").format(key=self._keys["hang_up"]))
        text = " · ".join(parts)
        if keys:
            text += "\n" + _("While locked: {keys}").format(keys=", ".join(keys))
        if chats:
            text += "\n" + ngettext(
                "{n} chat is open: unlock to answer the person writing.",
                "{n} chats are open: unlock to answer the people writing.",
                chats,
            ).format(n=chats)
        if self.call_line.text() != text:
            self.call_line.setText(text)
        if self._styled == (state, theme.current().name):
            return
        self._styled = (state, theme.current().name)
        bg, _fg = theme.state_colours(state)
        self.call_line.setStyleSheet(
            f"color: white; background: {bg}; padding: 8px; border-radius: 4px;"
            f"font-size: {theme.pt(13)}; font-weight: bold;"
        )
