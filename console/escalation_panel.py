"""The escalation panel of the counselor's window.

Shows the live lifecycle of the newest escalation — raised → sent → delivered →
acknowledged (by whom) → resolved — lets the counselor pick a level and escalate (through the
call machine, like the shortcut and the button box), holds the whisper thread with the
acknowledging supervisor, and shows the organisation's fallback number once T2 passes
without acknowledgement. Built from the session; events arrive through the window's one
:class:`console.bridge.EventBridge`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.session import Session
from calls.events import CallStateChanged
from calls.model import Action, Command, Source
from console.bridge import EventBridge
from core.i18n import N_, _
from escalation import events as ev
from escalation.levels import LEVELS, level_label

#: marked for extraction here, translated where shown (_(STEP_TEXT[state]))
STEP_TEXT = {
    ev.RAISED: N_("Raised"),
    ev.SENT: N_("Sent"),
    ev.DELIVERED: N_("Delivered"),
    ev.ACKNOWLEDGED: N_("Acknowledged"),
    ev.RESOLVED: N_("Resolved"),
}


class EscalationPanel(QGroupBox):
    def __init__(
        self, session: Session, bridge: EventBridge, parent: QWidget | None = None
    ) -> None:
        super().__init__(_("Supervisor"), parent)
        self.setObjectName("escalationPanel")
        self.session = session
        self.service = session.service("escalation")
        self.current: str | None = None
        self._by: str | None = None
        self.bridge = bridge  # keep it alive as long as the panel
        bridge.event.connect(self._on_event)
        layout = QVBoxLayout(self)

        row = QHBoxLayout()
        self.level = QComboBox()
        self.level.setObjectName("escalationLevel")
        self.level.setAccessibleName(_("Escalation level"))
        for code in LEVELS:
            self.level.addItem(level_label(code), code)
        self.escalate = QPushButton(_("Escalate"))
        self.escalate.setObjectName("btn_escalate_level")
        self.escalate.clicked.connect(self._escalate)
        row.addWidget(self.level, 1)
        row.addWidget(self.escalate)
        layout.addLayout(row)

        self.proposal = QPushButton()
        self.proposal.setObjectName("escalationProposal")
        self.proposal.setStyleSheet(
            "background: #b00020; color: white; font-weight: bold;padding: 8px; text-align: left;"
        )
        self.proposal.setVisible(False)
        self.proposal.clicked.connect(self._accept_proposal)
        self._proposed: ev.EscalationProposed | None = None
        layout.addWidget(self.proposal)

        self.steps: dict[str, QLabel] = {}
        steps = QGridLayout()  # three a row: the column stays narrow on a small screen
        steps.setHorizontalSpacing(4)
        for i, state in enumerate(ev.STATES):
            lab = QLabel(_(STEP_TEXT[state]))
            lab.setObjectName(f"step_{state}")
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.steps[state] = lab
            steps.addWidget(lab, i // 3, i % 3)
        layout.addLayout(steps)
        self.summary = QLabel(_("No escalation"))
        self.summary.setObjectName("escalationSummary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.fallback = QLabel()
        self.fallback.setObjectName("fallbackNumber")
        self.fallback.setWordWrap(True)
        self.fallback.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fallback.setStyleSheet(
            "background: #b00020; color: white; font-weight: bold;padding: 6px;"
        )
        self.fallback.setVisible(False)
        layout.addWidget(self.fallback)

        self.whisper_thread = QListWidget()
        self.whisper_thread.setObjectName("whisperThread")
        self.whisper_thread.setAccessibleName(_("Whispers with the supervisor"))
        layout.addWidget(self.whisper_thread, 1)
        wrow = QHBoxLayout()
        self.whisper_edit = QLineEdit()
        self.whisper_edit.setObjectName("whisperEdit")
        self.whisper_edit.setPlaceholderText(_("Whisper to the supervisor…"))
        self.whisper_edit.returnPressed.connect(self._whisper)
        self.whisper_send = QPushButton(_("Send"))
        self.whisper_send.clicked.connect(self._whisper)
        self.resolve_button = QPushButton(_("Resolved"))
        self.resolve_button.setObjectName("btn_resolve_escalation")
        self.resolve_button.clicked.connect(self._resolve)
        wrow.addWidget(self.whisper_edit, 1)
        wrow.addWidget(self.whisper_send)
        wrow.addWidget(self.resolve_button)
        layout.addLayout(wrow)
        self._render(None)

    # -- actions ------------------------------------------------------------------------
    def _escalate(self) -> None:
        self.session.calls.handle(
            Command(Action.ESCALATE, Source.UI, level=self.level.currentData())
        )

    def _accept_proposal(self) -> None:
        proposed, self._proposed = self._proposed, None
        self.proposal.setVisible(False)
        call = self.session.calls.call
        if proposed is None or call is None or call.id != proposed.call_id:
            return
        self.session.calls.handle(Command(Action.ESCALATE, Source.UI, level=proposed.level))

    def _whisper(self) -> None:
        text = self.whisper_edit.text().strip()
        if not text or self.current is None or self.service is None:
            return
        try:
            self.service.counselor.whisper(self.current, text)
        except (ValueError, KeyError):
            return
        self.whisper_edit.clear()

    def _resolve(self) -> None:
        if self.current and self.service is not None:
            self.service.counselor.resolve(self.current)

    # -- events -------------------------------------------------------------------------
    def _on_event(self, event: object) -> None:
        if isinstance(event, ev.EscalationProposed):
            self._proposed = event
            self.proposal.setText(
                _(
                    "The risk assessment shows IMMINENT RISK. "
                    "Press to escalate to a supervisor now ({level})."
                ).format(level=level_label(event.level))
            )
            self.proposal.setVisible(True)
            return
        if isinstance(event, CallStateChanged) and event.call is None:
            self._proposed = None  # the call is over: the proposal no longer applies
            self.proposal.setVisible(False)
            return
        if (
            isinstance(event, ev.EscalationStateChanged)
            and event.state == ev.RAISED
            and self._proposed is not None
            and event.call_id == self._proposed.call_id
            and event.level == self._proposed.level
        ):
            self._proposed = None  # escalated another way (key, box): the proposal is met
            self.proposal.setVisible(False)
        if isinstance(event, ev.EscalationStateChanged):
            if event.state == ev.RAISED and event.escalation_id != self.current:
                self.current, self._by = event.escalation_id, None
                self.whisper_thread.clear()
                self.fallback.setVisible(False)
            if event.escalation_id != self.current:
                return
            if event.state == ev.ACKNOWLEDGED:
                self._by = event.by
            self._render(event.state, event.level)
        elif isinstance(event, ev.FallbackNumberDue) and event.escalation_id == self.current:
            number = event.number or _("(no fallback number configured)")
            self.fallback.setText(
                _(
                    "No supervisor has acknowledged yet. Call the supervisor "
                    "line: {number} — Faro keeps trying."
                ).format(number=number)
            )
            self.fallback.setVisible(True)
        elif isinstance(event, ev.EscalationRealerted) and event.escalation_id == self.current:
            self.summary.setText(
                _(
                    "Not acknowledged yet: every supervisor and the backup group "
                    "have been alerted again."
                )
            )
        elif isinstance(event, ev.WhisperReceived) and event.escalation_id == self.current:
            who = _("You") if event.direction == "out" else event.by
            self.whisper_thread.addItem(f"{event.at.astimezone():%H:%M}  {who}: {event.text}")
            self.whisper_thread.scrollToBottom()

    def _render(self, state: str | None, level: str | None = None) -> None:
        reached = ev.STATES.index(state) if state else -1
        for i, s in enumerate(ev.STATES):
            on = i <= reached
            text = _(STEP_TEXT[s])
            if s == ev.ACKNOWLEDGED and self._by and on:
                text = _("Acknowledged by {who}").format(who=self._by)
            self.steps[s].setText(text)
            self.steps[s].setStyleSheet(
                "color: white; background: #1f5fae; padding: 3px; border-radius: 3px;"
                if on
                else "color: #777; padding: 3px;"
            )
        if state is None:
            self.summary.setText(_("No escalation"))
        elif state == ev.RESOLVED:
            self.summary.setText(_("Escalation resolved."))
            self.fallback.setVisible(False)
        elif state == ev.ACKNOWLEDGED:
            self.summary.setText(_("{who} is with you.").format(who=self._by))
            self.fallback.setVisible(False)
        else:
            self.summary.setText(
                _("{level}: waiting for a supervisor…").format(level=level_label(level or ""))
            )
        open_ = state is not None and state != ev.RESOLVED
        self.whisper_edit.setEnabled(state == ev.ACKNOWLEDGED)
        self.whisper_send.setEnabled(state == ev.ACKNOWLEDGED)
        self.resolve_button.setEnabled(open_)

    def step_text(self, state: str) -> str:
        return self.steps[state].text()
