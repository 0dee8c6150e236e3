"""Abusive and frequent-caller flags: the organisation's policy when a flagged caller rings.

:class:`CallerFlags` is a side panel. The window calls :meth:`CallerFlags.show_contact` on
every call state change; while the contact rings or is in progress, the panel asks the store
for its caller's flag (``store.caller_flag``: through the salted caller key, never the
number) and, when there is one, shows the organisation's policy for it
(``clinical.policy_abusive`` / ``clinical.policy_frequent``, shown as the organisation wrote
it, not translated) in a banner — never who set the flag or when. Three buttons flag the
caller of the contact in progress (also during its wrap-up) or remove the flag, each asking
for a confirmation in place (Enter confirms, Escape cancels). The panel empties on
``StoreLocked`` and looks again on ``StoreUnlocked``.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from console.bridge import EventBridge
from console.theme import set_role
from core.errors import FaroError
from core.i18n import N_, _
from storage.events import StoreLocked, StoreUnlocked
from storage.options import POLICY_ABUSIVE, POLICY_FREQUENT

log = logging.getLogger(__name__)

#: a flag's banner title (N_: translated where shown)
FLAG_TITLES = {
    "abusive": N_("This caller is flagged as abusive"),
    "frequent": N_("This caller is flagged as a frequent caller"),
}
#: the option holding the organisation's policy for each flag
POLICIES = {"abusive": POLICY_ABUSIVE, "frequent": POLICY_FREQUENT}


def flag_title(flag: str) -> str:
    title = FLAG_TITLES.get(flag)
    return _(title) if title else flag


class CallerFlags(QWidget):
    """The caller-flags side panel; fits the 340 px side column (every text wraps)."""

    #: a flag was set or removed: (contact id, the flag or "" when removed)
    changed = Signal(str, str)

    def __init__(self, session: Any, bridge: EventBridge | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("callerFlags")
        self.session = session
        self.store = session.service("store")
        self.config = session.config
        self.contact_id: str | None = None
        self._in_progress = False
        self._flag: str | None = None
        self._looked_up: str | None = None  # the contact whose flag was read
        self._pending: str | None = None  # the action waiting for its confirmation

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        box = QGroupBox(_("Caller flags"))
        outer.addWidget(box)
        layout = QVBoxLayout(box)

        self.banner = QLabel()
        self.banner.setObjectName("callerFlagBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setAccessibleName(_("Policy for this caller"))
        self.banner.hide()
        layout.addWidget(self.banner)

        self.flag_abusive = QPushButton(_("Flag: abusive"))
        self.flag_abusive.setAccessibleName(_("Flag this caller as abusive"))
        self.flag_frequent = QPushButton(_("Flag: frequent caller"))
        self.flag_frequent.setAccessibleName(_("Flag this caller as a frequent caller"))
        self.remove = QPushButton(_("Remove flag"))
        self.remove.setAccessibleName(_("Remove this caller's flag"))
        for button, action in (
            (self.flag_abusive, "abusive"),
            (self.flag_frequent, "frequent"),
            (self.remove, "remove"),
        ):
            button.clicked.connect(lambda _c=False, a=action: self.ask(a))
            layout.addWidget(button)

        self.question = QLabel()
        self.question.setWordWrap(True)
        self.question.setAccessibleName(_("Confirmation"))
        set_role(self.question, "warning")
        self.confirm = QPushButton(_("Confirm"))
        self.confirm.setAccessibleName(_("Confirm the change of flag"))
        self.confirm.setDefault(True)
        self.cancel = QPushButton(_("Cancel"))
        self.cancel.setAccessibleName(_("Cancel the change of flag"))
        self.confirm.clicked.connect(self._confirmed)
        self.cancel.clicked.connect(self._cancelled)
        self._confirm_row = QWidget()
        row = QHBoxLayout(self._confirm_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.confirm)
        row.addWidget(self.cancel)
        layout.addWidget(self.question)
        layout.addWidget(self._confirm_row)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName(_("Caller flag status"))
        layout.addWidget(self.status)

        if bridge is not None:
            bridge.on(StoreLocked, self._on_locked)
            bridge.on(StoreUnlocked, self._on_unlocked)
        self._render()

    # -- the window's API ----------------------------------------------------------------------
    def show_contact(self, contact_id: str | None, call: Any = None) -> None:
        """Follow the contact in progress (called on every call state change)."""
        if contact_id != self.contact_id:
            self.contact_id = contact_id
            self._flag, self._looked_up, self._pending = None, None, None
            self.status.setText("")
        self._in_progress = call is not None and getattr(call, "ended_at", None) is None
        if contact_id is not None and self._looked_up != contact_id:
            self._look_up()
        self._render()

    def flag(self) -> str | None:
        """The flag of the current contact's caller, as last read ("" never)."""
        return self._flag

    # -- confirmation ----------------------------------------------------------------------------
    def ask(self, action: str) -> None:
        """Ask to confirm ``action`` ("abusive", "frequent" or "remove") in place."""
        if self.contact_id is None:
            return
        self._pending = action
        self.question.setText(
            {
                "abusive": _(
                    "Flag this caller as abusive? Counselors will see the policy "
                    "for abusive callers when they call again."
                ),
                "frequent": _(
                    "Flag this caller as a frequent caller? Counselors will see the "
                    "policy for frequent callers when they call again."
                ),
                "remove": _("Remove this caller's flag?"),
            }[action]
        )
        self._render()
        self.confirm.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802  # Qt's name
        if self._pending is not None and event.key() == Qt.Key.Key_Escape:
            self._cancelled()
            return
        super().keyPressEvent(event)

    def _cancelled(self) -> None:
        action, self._pending = self._pending, None
        self._render()
        focus = {"abusive": self.flag_abusive, "frequent": self.flag_frequent}.get(
            action or "", self.remove
        )
        if focus.isEnabled():
            focus.setFocus()

    def _confirmed(self) -> None:
        action, self._pending = self._pending, None
        contact_id = self.contact_id
        if action is None or contact_id is None:
            self._render()
            return
        try:
            if action == "remove":
                self.store.clear_caller_flag(contact_id)
                self._flag = None
                self.status.setText(_("Flag removed."))
            else:
                self.store.set_caller_flag(contact_id, action)
                self._flag = action
                self.status.setText(_("Flag saved."))
            set_role(self.status, "ok")
        except FaroError as exc:
            self.status.setText(str(exc))
            set_role(self.status, "danger")
        except Exception:  # logged with its traceback, never with caller data
            log.exception("caller flag change failed")
            self.status.setText(_("Could not save the flag to the case store."))
            set_role(self.status, "danger")
        else:
            self.changed.emit(contact_id, self._flag or "")
        self._render()
        for button in (self.flag_abusive, self.flag_frequent, self.remove):
            if button.isEnabled():
                button.setFocus()
                break

    # -- store -----------------------------------------------------------------------------------
    def _look_up(self) -> None:
        contact_id = self.contact_id
        if contact_id is None or self.store.is_locked:
            return
        try:
            self._flag = self.store.caller_flag(contact_id)
        except FaroError:
            self._flag = None
            return
        except Exception:
            log.exception("caller flag lookup failed")
            self._flag = None
            return
        self._looked_up = contact_id

    def _on_locked(self, event: StoreLocked) -> None:
        self._flag, self._looked_up, self._pending = None, None, None
        self.status.setText("")
        self._render()

    def _on_unlocked(self, event: StoreUnlocked) -> None:
        if self.contact_id is not None:
            self._look_up()
        self._render()

    # -- drawing -----------------------------------------------------------------------------------
    def _render(self) -> None:
        flag = self._flag
        if flag is not None and self._in_progress:
            policy = str(self.config.get(POLICIES[flag])).strip()
            # the organisation's own words: shown as written, not through the catalogue
            self.banner.setText(f"{flag_title(flag)}\n{policy}" if policy else flag_title(flag))
            set_role(self.banner, "danger" if flag == "abusive" else "warning")
            self.banner.show()
        else:
            self.banner.hide()
            self.banner.setText("")
        has_contact = self.contact_id is not None and not self.store.is_locked
        asking = self._pending is not None
        self.flag_abusive.setEnabled(has_contact and not asking and flag != "abusive")
        self.flag_frequent.setEnabled(has_contact and not asking and flag != "frequent")
        self.remove.setEnabled(has_contact and not asking and flag is not None)
        self.question.setVisible(asking)
        self._confirm_row.setVisible(asking)
        if not asking:
            self.question.setText("")
