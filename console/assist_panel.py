"""Live assistance on screen (issue 17; docs/escalation.md "Live assistance").

- :class:`AssistBar` (the supervisor's console, under the counselors' board): Listen, Coach,
  Join and Leave for the selected counselor's call, and where the session is, in words that
  say who hears the supervisor. Without a SIP line on this laptop the bar says so and the
  text whisper (on any alert) stays the way to help.
- :class:`AssistBanner` (the counselor's console, above the call): who is on the call with
  them and who hears that supervisor, always shown while a supervisor is there (live
  assistance is never silent to the counselor), with End assistance.

Both draw from :class:`escalation.events.AssistShown` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from console import theme
from core.i18n import _
from escalation import events as ev
from escalation.assist import AssistRefused, reason_text
from escalation.statuses import ON_CALL

if TYPE_CHECKING:
    from console.main_window import MainWindow
    from console.supervisor_window import SupervisorWindow

_LIVE = ("live", "mode")
_OVER = ("ended", "refused", "failed")
#: how long the end of a session stays in words before the banner goes
ENDED_SHOWN_MS = 8000


def supervisor_status(e: ev.AssistShown) -> tuple[str, str]:
    """(text, theme role) of the supervisor's own session."""
    who = e.counselor
    if e.state == "asked":
        return _("Asking {who}'s console to join the call…").format(who=who), "dim"
    if e.state == "ready":
        return _("Connecting the audio of {who}'s call…").format(who=who), "dim"
    if e.state in _LIVE:
        return {
            "listen": (
                _("Listening to {who}'s call. Nobody hears you.").format(who=who),
                "info",
            ),
            "coach": (
                _("Coaching {who}: only the counselor hears you.").format(who=who),
                "info",
            ),
            "barge": (
                _("On {who}'s call: the caller hears you too.").format(who=who),
                "warning",
            ),
        }.get(e.mode, (e.mode, "info"))
    if e.state == "refused":
        return _("Not joined: {why}").format(why=reason_text(e.reason)), "warning"
    if e.state == "failed":
        return _("Live assistance failed: {why}").format(why=reason_text(e.reason)), "danger"
    return _("Live assistance ended: {why}").format(why=reason_text(e.reason or "hangup")), "dim"


def counselor_status(e: ev.AssistShown) -> tuple[str, str]:
    """(text, theme role) of the banner on the counselor's console."""
    who = e.supervisor
    if e.state in ("asked", "ready"):
        return _("Supervisor {who} is joining this call…").format(who=who), "info"
    if e.state in _LIVE:
        return {
            "listen": (
                _(
                    "Supervisor {who} is listening to this call. The caller does not hear them."
                ).format(who=who),
                "info",
            ),
            "coach": (
                _(
                    "Supervisor {who} is coaching you: only you hear them. While muted, only "
                    "they hear you."
                ).format(who=who),
                "info",
            ),
            "barge": (
                _("Supervisor {who} has joined the call: the caller hears them.").format(who=who),
                "warning",
            ),
        }.get(e.mode, (e.mode, "info"))
    return _("Supervisor {who} is no longer on the call. {why}").format(
        who=who, why=reason_text(e.reason or "hangup")
    ), "dim"


class AssistBanner(QFrame):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.setObjectName("assistBanner")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        self.text = QLabel()
        self.text.setObjectName("assistText")
        self.text.setWordWrap(True)
        self.end_button = QPushButton(_("End assistance"))
        self.end_button.setObjectName("assistEnd")
        self.end_button.setAccessibleName(_("End assistance"))
        self.end_button.setAccessibleDescription(
            _("Ends the supervisor's audio on this call; the call goes on.")
        )
        self.end_button.clicked.connect(self._end)
        row.addWidget(self.text, 1)
        row.addWidget(self.end_button)
        self.setVisible(False)
        self._hide = QTimer(self)
        self._hide.setSingleShot(True)
        self._hide.timeout.connect(lambda: self.setVisible(False))
        window.bridge.on(ev.AssistShown, self.show_state)

    def show_state(self, e: ev.AssistShown) -> None:
        if e.side != "counselor":
            return
        text, role = counselor_status(e)
        self.text.setText(text)
        self.text.setAccessibleName(text)
        theme.set_role(self.text, role)
        over = e.state in _OVER
        self.end_button.setVisible(not over)
        self.setVisible(True)
        if over:
            self._hide.start(ENDED_SHOWN_MS)
        else:
            self._hide.stop()

    def _end(self) -> None:
        assist = getattr(getattr(self.window_.session, "wiring", None), "assist", None)
        if assist is not None:
            assist.end()


class AssistBar(QWidget):
    MODES = ("listen", "coach", "barge")

    def __init__(self, window: SupervisorWindow) -> None:
        super().__init__()
        self.window_ = window
        self.setObjectName("assistBar")
        self.assist: Any = getattr(getattr(window.session, "wiring", None), "assist", None)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 2, 0, 0)
        self.status = QLabel()
        self.status.setObjectName("assistStatus")
        self.status.setAccessibleName(_("Live assistance"))
        self.status.setWordWrap(True)
        row.addWidget(self.status, 1)
        self.buttons: dict[str, QPushButton] = {}
        words = {
            "listen": (_("Listen"), _("Hear the selected counselor's call; nobody hears you.")),
            "coach": (_("Coach"), _("Speak to the selected counselor only; the caller does not hear you.")),
            "barge": (_("Join"), _("Join the selected counselor's call: the caller hears you.")),
        }  # fmt: skip
        for mode in self.MODES:
            text, tip = words[mode]
            b = QPushButton(text)
            b.setObjectName(f"assist_{mode}")
            b.setCheckable(True)
            b.setToolTip(tip)
            b.setAccessibleName(text)
            b.setAccessibleDescription(tip)
            b.clicked.connect(lambda _checked=False, m=mode: self._mode(m))
            self.buttons[mode] = b
            row.addWidget(b)
        self.leave = QPushButton(_("Leave call"))
        self.leave.setObjectName("assist_leave")
        self.leave.setAccessibleName(_("Leave call"))
        self.leave.clicked.connect(self._leave)
        row.addWidget(self.leave)
        self.state: ev.AssistShown | None = None
        window.bridge.on(ev.AssistShown, self.show_state)
        window.board.itemSelectionChanged.connect(self.update_buttons)
        self.update_buttons()

    def focus_chain(self) -> list[QWidget]:
        return [*self.buttons.values(), self.leave]

    # -- what is selected -------------------------------------------------------------------
    def selected_counselor(self) -> str | None:
        board = self.window_.board
        rows = board.selectionModel().selectedRows() if board.selectionModel() else []
        if not rows:
            return None
        item = board.item(rows[0].row(), 0)
        return item.text().split(" ")[0] if item is not None else None

    def _row_on_call(self, counselor: str | None) -> bool:
        agent = self.window_.agent
        row = agent.board.counselors.get(counselor) if agent is not None and counselor else None
        return row is not None and row.status == ON_CALL and not row.practice

    @property
    def live(self) -> bool:
        return self.state is not None and self.state.state not in _OVER

    def update_buttons(self) -> None:
        phone = self.assist is not None and self.assist.available
        live = self.live
        target = self.selected_counselor()
        for mode, b in self.buttons.items():
            if live:
                b.setEnabled(self.state is not None and self.state.state in _LIVE)
                b.setChecked(self.state is not None and self.state.mode == mode)
            else:
                b.setEnabled(phone and self._row_on_call(target))
                b.setChecked(False)
        self.leave.setEnabled(live)
        if not live and self.state is None:
            if not phone:
                text = _(
                    "Live audio needs this laptop's phone line (sip.*). Whisper in text on any "
                    "alert."
                )
            elif target is None:
                text = _("Live assistance: select a counselor who is on a call.")
            elif not self._row_on_call(target):
                text = _("{who} is not on a call.").format(who=target)
            else:
                text = _("Live assistance for {who}: listen, coach or join.").format(who=target)
            self.status.setText(text)
            theme.set_role(self.status, "dim")

    # -- what the supervisor does -------------------------------------------------------------
    def _mode(self, mode: str) -> None:
        if self.assist is None:
            return
        if self.live:
            self.assist.set_mode(mode)
            self.update_buttons()  # checked follows the counselor's laptop, not the click
            return
        counselor = self.selected_counselor()
        if counselor is None:
            return
        try:
            self.assist.start(counselor, mode)
        except AssistRefused as exc:
            self.status.setText(_("Not joined: {why}").format(why=exc.text))
            theme.set_role(self.status, "warning")
            self.update_buttons()
        except ValueError:
            self.update_buttons()

    def _leave(self) -> None:
        if self.assist is not None:
            self.assist.stop()

    def show_state(self, e: ev.AssistShown) -> None:
        if e.side != "supervisor":
            return
        self.state = e
        text, role = supervisor_status(e)
        self.status.setText(text)
        self.status.setAccessibleName(text)
        theme.set_role(self.status, role)
        if e.state in _OVER:
            self.state = None
        self.update_buttons()
        if e.state in _OVER:  # keep the words of the end until the selection changes
            self.status.setText(text)
            theme.set_role(self.status, role)


def attach_banner(window: MainWindow) -> AssistBanner | None:
    if window.session.service("escalation") is None:
        return None
    banner = AssistBanner(window)
    layout = window.console_page.layout()
    if layout is not None:
        layout.insertWidget(1, banner)  # type: ignore[attr-defined]
    return banner
