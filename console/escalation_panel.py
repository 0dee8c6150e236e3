"""The escalation panel of the counselor's window.

Shows the live lifecycle of the newest escalation — raised → sent → delivered →
acknowledged (by whom) → resolved — lets the counselor pick a level and escalate (through the
call machine, like the shortcut and the button box), holds the whisper thread with the
acknowledging supervisor, and shows the organisation's fallback number once T2 passes
without acknowledgement. Built from the session; events arrive through the window's one
:class:`console.bridge.EventBridge`.

The panel shows the escalation of the contact in progress only: when that contact ends (the
wrap-up is finished, or another call rings) the escalation and its whispers leave the screen
(the store and the log keep them), and every line says only what is still true ("waiting
for a supervisor" gives way to the acknowledgement, the fallback number goes once someone
acknowledges).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
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
from calls.events import CallStateChanged, WrapUpFinished
from calls.model import Action, Command, Source
from console.bridge import EventBridge
from console.theme import set_role
from core.i18n import N_, _, format_time
from escalation import events as ev
from escalation.levels import GESTURE_LEVELS, level_label

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
        #: the escalation on screen, the call it belongs to, its last state, who acknowledged
        self.current: str | None = None
        self._call_id: str | None = None
        self._state: str | None = None
        self._by: str | None = None
        #: escalations taken off the screen when their contact ended: late news is not shown
        self._cleared: set[str] = set()
        layout = QVBoxLayout(self)

        row = QHBoxLayout()
        self.level = QComboBox()
        self.level.setObjectName("escalationLevel")
        self.level.setAccessibleName(_("Escalation level"))
        for code in GESTURE_LEVELS:
            self.level.addItem(level_label(code), code)
        self.escalate = QPushButton(_("Escalate"))
        self.escalate.setObjectName("btn_escalate_level")
        self.escalate.setAccessibleName(_("Escalate at the chosen level"))
        self.escalate.clicked.connect(self._escalate)
        row.addWidget(self.level, 1)
        row.addWidget(self.escalate)
        layout.addLayout(row)

        self.proposal = QPushButton()
        self.proposal.setObjectName("escalationProposal")
        self.proposal.setAccessibleName(_("Urgent escalation proposed by the risk assessment"))
        set_role(self.proposal, "danger_button")
        self.proposal.setVisible(False)
        self.proposal.clicked.connect(self._accept_proposal)
        self._proposed: ev.EscalationProposed | None = None
        layout.addWidget(self.proposal)

        self.steps: dict[str, QLabel] = {}
        self._step_text: dict[str, str] = {}  # each step's words, without the tick
        steps = QGridLayout()  # three a row: the column stays narrow on a small screen
        steps.setHorizontalSpacing(4)
        for i, state in enumerate(ev.STATES):
            lab = QLabel(_(STEP_TEXT[state]))
            lab.setObjectName(f"step_{state}")
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setWordWrap(True)  # "Acknowledged by …" with a long name
            self.steps[state] = lab
            steps.addWidget(lab, i // 3, i % 3)
        layout.addLayout(steps)
        self.summary = QLabel(_("No escalation"))
        self.summary.setObjectName("escalationSummary")
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName(_("Escalation status"))
        layout.addWidget(self.summary)
        self.fallback = QLabel()
        self.fallback.setObjectName("fallbackNumber")
        self.fallback.setWordWrap(True)
        self.fallback.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fallback.setAccessibleName(_("Supervisor line"))
        set_role(self.fallback, "danger")
        self.fallback.setVisible(False)
        layout.addWidget(self.fallback)

        self.whisper_thread = QListWidget()
        self.whisper_thread.setObjectName("whisperThread")
        self.whisper_thread.setAccessibleName(_("Whispers with the supervisor"))
        self.whisper_thread.setWordWrap(True)
        self.whisper_thread.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.whisper_thread.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        layout.addWidget(self.whisper_thread, 1)
        wrow = QHBoxLayout()
        self.whisper_edit = QLineEdit()
        self.whisper_edit.setObjectName("whisperEdit")
        self.whisper_edit.setPlaceholderText(_("Whisper to the supervisor…"))
        self.whisper_edit.setAccessibleName(_("Whisper to the supervisor…"))
        self.whisper_edit.returnPressed.connect(self._whisper)
        self.whisper_send = QPushButton(_("Send"))
        self.whisper_send.setAccessibleName(_("Send the whisper"))
        self.whisper_send.clicked.connect(self._whisper)
        self.resolve_button = QPushButton(_("Resolved"))
        self.resolve_button.setObjectName("btn_resolve_escalation")
        self.resolve_button.setAccessibleName(_("Mark the escalation resolved"))
        self.resolve_button.clicked.connect(self._resolve)
        wrow.addWidget(self.whisper_edit, 1)
        wrow.addWidget(self.whisper_send)
        wrow.addWidget(self.resolve_button)
        layout.addLayout(wrow)
        # tab order: choose and escalate, the proposal, then the thread and what answers it
        chain = (
            self.level,
            self.escalate,
            self.proposal,
            self.whisper_thread,
            self.whisper_edit,
            self.whisper_send,
            self.resolve_button,
        )
        for first, second in zip(chain, chain[1:], strict=False):
            self.setTabOrder(first, second)
        self.bridge = bridge  # keep it alive as long as the panel
        bridge.on(CallStateChanged, self._on_call_state)
        bridge.on(WrapUpFinished, self._on_wrap_up_finished)
        bridge.on(ev.EscalationProposed, self._on_proposed)
        bridge.on(
            (
                ev.EscalationStateChanged,
                ev.FallbackNumberDue,
                ev.EscalationRealerted,
                ev.WhisperReceived,
            ),
            self._on_event,
        )
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
        if proposed is None:
            return
        if call is None or call.id != proposed.call_id:  # a chat's (app/chat_flow.py)
            from storage.transcripts import chat_of

            flow = getattr(getattr(self.session, "wiring", None), "chat", None)
            chat = chat_of(proposed.call_id)
            if flow is not None and chat is not None:
                flow.escalate(chat, proposed.level)
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

    def clear(self) -> None:
        """The contact is over: its escalation and whispers leave the screen (the store and
        the log keep them); news about that escalation arriving later is not shown."""
        if self.current is not None:
            self._cleared.add(self.current)
        self.current = self._call_id = self._state = self._by = None
        self.whisper_thread.clear()
        self.whisper_edit.clear()
        self.fallback.clear()
        self.fallback.setVisible(False)
        self._render(None)

    # -- events -------------------------------------------------------------------------
    def _on_call_state(self, event: CallStateChanged) -> None:
        call_id = event.call.id if event.call is not None else None
        if self._proposed is not None and self._proposed.call_id != call_id:
            self._proposed = None  # the call is over: the proposal no longer applies
            self.proposal.setVisible(False)
        if self.current is not None and self._call_id != call_id:
            self.clear()  # back to available, or another call rings: that contact is over

    def _on_wrap_up_finished(self, event: WrapUpFinished) -> None:
        if self.current is not None and self._call_id == event.call.id:
            self.clear()

    def _on_proposed(self, event: ev.EscalationProposed) -> None:
        self._proposed = event
        # two short lines: a push button does not wrap, and the column is narrow
        self.proposal.setText(_("Assessment: IMMINENT RISK\nPress for an urgent alert now"))
        self.proposal.setVisible(True)

    def _on_event(self, event: object) -> None:
        if isinstance(event, ev.EscalationStateChanged):
            self._on_state(event)
            return
        if getattr(event, "escalation_id", None) != self.current or self.current is None:
            return
        waiting = self._state not in (ev.ACKNOWLEDGED, ev.RESOLVED)
        if isinstance(event, ev.FallbackNumberDue) and waiting:
            number = event.number or _("(no fallback number configured)")
            self.fallback.setText(
                _(
                    "No supervisor has acknowledged yet. Call the supervisor "
                    "line: {number} — Faro keeps trying."
                ).format(number=number)
            )
            self.fallback.setVisible(True)
        elif isinstance(event, ev.EscalationRealerted) and waiting:
            self.summary.setText(
                _(
                    "Not acknowledged yet: every supervisor and the backup group "
                    "have been alerted again."
                )
            )
            set_role(self.summary, "warning")
        elif isinstance(event, ev.WhisperReceived):
            who = _("You") if event.direction == "out" else event.by
            self.whisper_thread.addItem(f"{format_time(event.at)}  {who}: {event.text}")
            self.whisper_thread.scrollToBottom()

    def _on_state(self, event: ev.EscalationStateChanged) -> None:
        if (
            event.state == ev.RAISED
            and self._proposed is not None
            and event.call_id == self._proposed.call_id
            and event.level == self._proposed.level
        ):
            self._proposed = None  # escalated another way (key, box): the proposal is met
            self.proposal.setVisible(False)
        if event.escalation_id in self._cleared:
            return  # its contact is over
        if event.state == ev.RAISED and event.escalation_id != self.current:
            self.current, self._call_id, self._by = event.escalation_id, event.call_id, None
            self.whisper_thread.clear()
            self.fallback.setVisible(False)
        if event.escalation_id != self.current:
            return
        if event.state == ev.ACKNOWLEDGED:
            self._by = event.by
        self._state = event.state
        self._render(event.state, event.level)

    def _render(self, state: str | None, level: str | None = None) -> None:
        reached = ev.STATES.index(state) if state else -1
        for i, s in enumerate(ev.STATES):
            on = i <= reached
            text = _(STEP_TEXT[s])
            if s == ev.ACKNOWLEDGED and self._by and on:
                text = _("Acknowledged by {who}").format(who=self._by)
            self._step_text[s] = text
            step = self.steps[s]
            step.setText(f"✓ {text}" if on else text)  # not by colour alone
            set_role(step, "ok" if on else "dim")
            step.setAccessibleName(
                (_("{step}: done") if on else _("{step}: not yet")).format(step=text)
            )
        if state is None:
            self.summary.setText(_("No escalation"))
            set_role(self.summary, "dim")
        elif state == ev.RESOLVED:
            self.summary.setText(_("Escalation resolved."))
            set_role(self.summary, "dim")
            self.fallback.setVisible(False)
        elif state == ev.ACKNOWLEDGED:
            self.summary.setText(_("{who} is with you.").format(who=self._by))
            set_role(self.summary, "ok")
            self.fallback.setVisible(False)
        else:
            self.summary.setText(
                _("{level}: waiting for a supervisor…").format(level=level_label(level or ""))
            )
            set_role(self.summary, "warning")
        open_ = state is not None and state != ev.RESOLVED
        self.whisper_edit.setEnabled(state == ev.ACKNOWLEDGED)
        self.whisper_send.setEnabled(state == ev.ACKNOWLEDGED)
        self.resolve_button.setEnabled(open_)

    def step_text(self, state: str) -> str:
        """A step's words as shown (without the tick a reached step carries)."""
        return self._step_text[state]
