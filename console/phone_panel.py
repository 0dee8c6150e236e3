"""The phone-line panel, for a session whose backend carries the calls itself (SIP).

It shows the line (registered, secure), the quality of the call in progress in plain words,
what went wrong with the last call, and the call control the line offers: tones, blind
transfer, a call to the supervisor with the caller on hold, then a three-way call, a hand-over
or the way back to the caller.

Everything it shows comes from events the window's :class:`console.bridge.EventBridge` hands
it (:class:`calls.events.LineStatus`, :class:`~calls.events.CallQuality`,
:class:`~calls.events.CallRefused`, :class:`~calls.events.CallStateChanged`). What it does goes
to the backend, whose methods only schedule work on the engine's thread and return; failures
come back as ``CallRefused``. There is no event for "the supervisor answered": the panel shows
the consultation buttons from the counselor's own press and hides them when the backend says
the consultation failed or ended, or when the call ends.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QFontMetrics, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from calls import events as cev
from calls.model import CallState
from console import theme
from console.bridge import EventBridge, Handlers, feed
from core.events import Event
from core.i18n import N_, _
from core.status import Level

log = logging.getLogger(__name__)

#: MOS thresholds of the plain-words rating
GOOD_MOS = 4.0
FAIR_MOS = 3.6

#: tones a counselor may send (the line also knows A-D, which no helpline menu uses)
DTMF = re.compile(r"[0-9*#]+")

#: the line's states, marked for extraction here and translated where shown
LINE_MARK = {
    "registered": N_("Secure"),
    "connecting": N_("Connecting"),
    "waiting_credentials": N_("Waiting"),
    "failed": N_("No line"),
    "stopped": N_("Off"),
}
#: the line's mark (white text on it) and the call-quality word (on the window), by status
#: level: the theme gives the colour of each level (console/theme.py)
LINE_LEVELS = {
    "registered": Level.OK,
    "connecting": Level.INFO,
    "waiting_credentials": Level.WARNING,
    "failed": Level.ERROR,
    "stopped": Level.OFF,
}
RATING_LEVELS = {"good": Level.OK, "fair": Level.WARNING, "poor": Level.ERROR}
LINE_MARK_BG = {
    Level.OK: "state_bg:available",
    Level.INFO: "state_bg:on_call",
    Level.WARNING: "state_bg:ringing",
    Level.ERROR: "danger_bg",
    Level.OFF: "state_bg:break",
}
PADLOCK = "\U0001f512"


def _mark_colour(level: Level) -> str:
    """A background white bold text reads on (AA), in the current theme."""
    name = LINE_MARK_BG[level]
    if name.startswith("state_bg:"):
        return theme.state_colours(CallState(name.split(":", 1)[1]))[0]
    return theme.colour(name)


#: problems the panel keeps out of the problem box (they say what the counselor just did)
_OWN_DOING = {"consult_ended"}


def rating(mos: float) -> str:
    """``good``, ``fair`` or ``poor`` by MOS (≥ 4.0, ≥ 3.6, below)."""
    if mos >= GOOD_MOS:
        return "good"
    if mos >= FAIR_MOS:
        return "fair"
    return "poor"


def rating_text(code: str) -> str:
    return {
        "good": _("Good"),
        "fair": _("Fair"),
        "poor": _("Poor — the caller may hear you badly"),
    }[code]


def quality_figures(q: cev.CallQuality) -> str:
    """The figures, small, for whoever wants them (and for IT on the phone)."""
    parts = [
        _("MOS {mos:.1f}").format(mos=q.mos),
        _("loss {loss:.1f}%").format(loss=q.loss_pct),
        _("jitter {jitter:.0f} ms").format(jitter=q.jitter_ms),
        _("round trip {rtt:.0f} ms").format(rtt=q.rtt_ms),
    ]
    media = [x for x in (q.codec, q.srtp and _("SRTP {suite}").format(suite=q.srtp)) if x]
    return " · ".join(parts) + ("\n" + " · ".join(media) if media else "")


def _button(text: str, name: str, slot: Any, tip: str = "") -> QPushButton:
    b = QPushButton(text)
    b.setObjectName(name)
    b.setAccessibleName(text)
    if tip:
        b.setToolTip(tip)
        b.setAccessibleDescription(tip)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay in the notes, as in the call panel
    b.clicked.connect(slot)
    return b


def _wrapping(name: str, accessible: str) -> QLabel:
    lab = QLabel()
    lab.setObjectName(name)
    lab.setAccessibleName(accessible)
    lab.setWordWrap(True)
    lab.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return lab


class PhonePanel(QGroupBox):
    """The "Phone line" side panel. ``session`` needs ``calls`` (the call machine) whose
    ``backend`` is the SIP backend (``send_dtmf``, ``transfer``, ``consult``, ``conference``,
    ``complete_transfer``, ``drop_consult``, ``settings.transfer_targets``)."""

    def __init__(
        self, session: Any, bridge: EventBridge | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(_("Phone line"), parent)
        self.setObjectName("phonePanel")
        self.calls = session.calls
        self.backend = self.calls.backend
        self.bridge = bridge  # keep it alive as long as the panel
        #: the call as last rendered (from CallStateChanged): its id, and whether it is live
        self._call_id: str | None = None
        self._stalled = False  # the caller's audio stopped arriving (a network cut)
        self._in_call = False
        #: the consultation as the counselor started it: None, "up" or "joined"
        self._consult: str | None = None
        layout = QVBoxLayout(self)
        layout.setSpacing(6)

        # -- the line ---------------------------------------------------------------------
        line_row = QHBoxLayout()
        self.line_mark = QLabel()
        self.line_mark.setObjectName("lineMark")
        self.line_mark.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.line_state = _wrapping("lineState", _("Phone line state"))
        self.line_state.setStyleSheet("font-weight: bold;")
        line_row.addWidget(self.line_mark, 0, Qt.AlignmentFlag.AlignTop)
        line_row.addWidget(self.line_state, 1)
        layout.addLayout(line_row)
        self.line_secure = _wrapping("lineSecure", _("Phone line security"))
        theme.set_role(self.line_secure, "dim")
        layout.addWidget(self.line_secure)

        # -- call quality -----------------------------------------------------------------
        self.quality = _wrapping("callQuality", _("Call quality"))
        self.quality_figures = _wrapping("callQualityFigures", _("Call quality figures"))
        theme.set_role(self.quality_figures, "dim")
        layout.addWidget(self.quality)
        layout.addWidget(self.quality_figures)

        # -- problems ---------------------------------------------------------------------
        self.problem = _wrapping("phoneProblem", _("Phone line problem"))
        theme.set_role(self.problem, "danger")
        self.problem.setVisible(False)
        layout.addWidget(self.problem)

        rule = QFrame()
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(rule)

        # -- call control: tones ----------------------------------------------------------
        self.control_hint = _wrapping("callControlHint", _("Call control"))
        theme.set_role(self.control_hint, "dim")
        layout.addWidget(self.control_hint)
        tones = QHBoxLayout()
        self.keypad = QLineEdit()
        self.keypad.setObjectName("dtmfEntry")
        self.keypad.setAccessibleName(_("Tones to send"))
        self.keypad.setPlaceholderText(_("Tones: 0–9 * #"))
        self.keypad.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"[0-9*#]{0,32}"), self.keypad)
        )
        self.keypad.returnPressed.connect(self._send_tones)
        self.keypad.textEdited.connect(lambda _text: self._set_note(""))
        self.send_tones = _button(
            _("Send tones"),
            "btn_send_dtmf",
            self._send_tones,
            _("Sends the keys typed on the left to the line (for a menu or an extension)."),
        )
        tones.addWidget(self.keypad, 1)
        tones.addWidget(self.send_tones)
        layout.addLayout(tones)

        # -- call control: transfer and supervisor ----------------------------------------
        target_row = QHBoxLayout()
        to = QLabel(_("To:"))
        self.target = QComboBox()
        self.target.setObjectName("transferTarget")
        self.target.setAccessibleName(_("Transfer or call to"))
        self.target.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.target.setMinimumContentsLength(10)
        to.setBuddy(self.target)
        targets = tuple(getattr(getattr(self.backend, "settings", None), "transfer_targets", ()))
        for label, _uri in targets:
            self.target.addItem(label, label)
        if not targets:
            self.target.addItem(_("No one set up (ask IT)"), None)
        self.target.currentIndexChanged.connect(lambda _i: self._render_controls())
        target_row.addWidget(to)
        target_row.addWidget(self.target, 1)
        layout.addLayout(target_row)

        self.consult_button = _button(
            _("Call supervisor"),
            "btn_consult",
            self._call_supervisor,
            _("Calls the person chosen above; the caller waits on hold meanwhile."),
        )
        self.transfer_button = _button(
            _("Transfer"),
            "btn_transfer",
            self._transfer,
            _("Hands the caller straight to the person chosen above; you leave the call."),
        )
        layout.addWidget(self.consult_button)
        layout.addWidget(self.transfer_button)

        # -- while a consultation is up ---------------------------------------------------
        self.consult_box = QFrame()
        self.consult_box.setObjectName("consultBox")
        self.consult_box.setStyleSheet(
            f"#consultBox {{ background: {theme.colour('alt_base')};"
            f"border: 1px solid {theme.colour('highlight')}; border-radius: 3px; }}"
        )
        cb = QVBoxLayout(self.consult_box)
        cb.setContentsMargins(6, 6, 6, 6)
        self.consult_state = _wrapping("consultState", _("Supervisor call"))
        # inside a frame that appears later, heightForWidth is not asked: size it by policy
        self.consult_state.setSizePolicy(
            QSizePolicy.Policy.Preferred, QSizePolicy.Policy.MinimumExpanding
        )
        self.consult_state.setMinimumWidth(1)
        bold = self.consult_state.font()
        bold.setBold(True)  # as a font, not a style sheet: the wrapped height is measured right
        self.consult_state.setFont(bold)
        cb.addWidget(self.consult_state)
        self.join_button = _button(
            _("Join all three"),
            "btn_conference",
            self._join,
            _("The caller, the supervisor and you talk together."),
        )
        self.hand_over_button = _button(
            _("Hand over the call"),
            "btn_complete_transfer",
            self._hand_over,
            _("The supervisor takes the caller; you leave the call."),
        )
        self.back_button = _button(
            _("Back to caller"),
            "btn_drop_consult",
            self._back_to_caller,
            _("Ends the supervisor's line; you are with the caller again."),
        )
        for b in (self.join_button, self.hand_over_button, self.back_button):
            cb.addWidget(b)
        self.consult_box.setVisible(False)
        layout.addWidget(self.consult_box)

        self.note = _wrapping("phoneNote", _("Phone panel note"))
        self.note.setStyleSheet(f"color: {theme.level_colour(Level.WARNING)};")
        self.note.setVisible(False)
        layout.addWidget(self.note)
        layout.addStretch(1)

        if bridge is not None:
            bridge.register(self._handlers())
        self._render_line(None)
        self._on_state(self.calls.state_event())

    # -- events -----------------------------------------------------------------------------
    def _handlers(self) -> Handlers:
        return {
            cev.CallStateChanged: self._on_state,
            cev.LineStatus: self._render_line,
            cev.CallQuality: self._on_quality,
            cev.CallRefused: self._on_refused,
            cev.CallAudioFlow: self._on_audio_flow,
        }

    def on_event(self, event: Event) -> None:
        """One event by hand, as the bridge would hand it (for a panel built without one)."""
        feed(self._handlers(), event)

    def _on_state(self, event: cev.CallStateChanged) -> None:
        call_id = event.call.id if event.call is not None else None
        if call_id is not None and call_id != self._call_id:
            self._stalled = False
            self._set_problem("")  # a new call: the last call's problem is history
            self._set_note("")
        self._call_id = call_id
        was_in_call, self._in_call = self._in_call, event.state.in_call
        if not self._in_call:
            self._consult = None
            self.keypad.clear()
            if self._stalled:  # the call ended during a cut: the cut is no longer news
                self._stalled = False
                self._set_problem("")
        if self._in_call and not was_in_call:
            self.quality.setText(_("Call quality: measuring…"))
            self.quality.setStyleSheet("")
            self.quality_figures.setText("")
        elif not self._in_call:
            self._clear_quality()
        self._render_controls()

    def _clear_quality(self) -> None:
        self.quality.setText(_("Call quality: — (no call)"))
        self.quality.setStyleSheet(f"color: {theme.colour('dim')};")
        self.quality_figures.setText("")

    def _on_quality(self, event: cev.CallQuality) -> None:
        if not self._in_call or event.call_id != self._call_id:
            return  # a late report of a call that is over: stale figures must not show
        code = rating(event.mos)
        self.quality.setText(_("Call quality: {rating}").format(rating=rating_text(code)))
        colour = theme.level_colour(RATING_LEVELS[code])
        self.quality.setStyleSheet(f"font-weight: bold; color: {colour};")
        self.quality_figures.setText(quality_figures(event))

    def _on_audio_flow(self, event: cev.CallAudioFlow) -> None:
        if not self._in_call or event.call_id != self._call_id:
            return
        if not event.flowing:
            self._stalled = True
            self._set_problem(
                _(
                    "No sound is reaching you from the caller: the connection is cut. "
                    "Stay on the line, it usually comes back. If it drops, the caller's "
                    "number is kept with the call."
                )
            )
        elif self._stalled:
            self._stalled = False
            self._set_problem("")
            self._set_note(
                _("The caller's sound is back after a gap of {seconds:.0f} s.").format(
                    seconds=max(1.0, event.gap_s)
                )
            )

    def _on_refused(self, event: cev.CallRefused) -> None:
        log.info("phone line reported %s", event.reason)  # a code, never caller data
        self._stalled = False  # what is reported now replaces the cut's message
        if event.reason in ("consult_failed", "consult_ended"):
            self._consult = None
        if event.reason in _OWN_DOING and not self._in_call:
            pass  # the supervisor's line closed after the call was over: nothing to say
        elif event.reason == "consult_ended":
            self._set_note(event.text)
        else:
            self._set_problem(event.text)
        self._render_controls()

    def _render_line(self, event: cev.LineStatus | None) -> None:
        state = event.state if event is not None else "connecting"
        text = event.text if event is not None else _("Phone line: starting…")
        mark = _(LINE_MARK.get(state, state))
        if state == "registered" and self._has_padlock():
            mark = f"{PADLOCK} {mark}"
        colour = _mark_colour(LINE_LEVELS.get(state, Level.OFF))
        self.line_mark.setText(mark)
        self.line_mark.setAccessibleName(mark)
        self.line_mark.setStyleSheet(
            f"color: white; background: {colour}; font-weight: bold;"
            "padding: 2px 6px; border-radius: 3px;"
        )
        self.line_state.setText(text)
        secure = event.secure if event is not None and state == "registered" else ""
        self.line_secure.setText(secure)
        self.line_secure.setVisible(bool(secure))
        tip = "\n".join(x for x in (text, secure, event.detail if event else "") if x)
        for w in (self.line_mark, self.line_state, self.line_secure):
            w.setToolTip(tip)
        self.line_state.setAccessibleDescription(tip)

    def _has_padlock(self) -> bool:
        return QFontMetrics(self.line_mark.font()).inFontUcs4(ord(PADLOCK))

    # -- rendering --------------------------------------------------------------------------
    def _set_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    def _set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _target(self) -> str | None:
        data = self.target.currentData()
        return data if isinstance(data, str) else None

    def _render_controls(self) -> None:
        live = self._in_call
        has_target = self._target() is not None
        consult = self._consult
        if not live:
            hint = _("Tones, transfer and the supervisor's line work during a call.")
        elif consult is not None:
            hint = _("You are on the supervisor's line.")
        else:
            hint = _("During this call:")
        self.control_hint.setText(hint)
        self.keypad.setEnabled(live)
        self.send_tones.setEnabled(live)
        self.target.setEnabled(live and has_target and consult is None)
        self.transfer_button.setEnabled(live and has_target and consult is None)
        self.consult_button.setEnabled(live and has_target and consult is None)
        label = self._target()
        first = self.target.currentIndex() == 0
        text = _("Call supervisor") if first or label is None else _("Call {who}").format(who=label)
        self.consult_button.setText(text)
        self.consult_button.setAccessibleName(text)
        self.consult_box.setVisible(live and consult is not None)
        if consult == "joined":
            self.consult_state.setText(_("All three of you are on the line."))
        elif consult is not None:
            self.consult_state.setText(
                _("Calling the supervisor… The caller is on hold and cannot hear you.")
            )
        self.join_button.setEnabled(consult == "up")

    # -- actions (each schedules work on the line and returns) -------------------------------
    def _live(self) -> bool:
        return self._in_call and self._call_id is not None

    def _refused_now(self) -> None:
        self._set_note(_("That did not work: there is no call in progress on the line."))

    def _send_tones(self) -> None:
        digits = self.keypad.text().strip()
        if not self._live() or not digits:
            return
        if not DTMF.fullmatch(digits):
            self._set_note(_("Tones can only be 0–9, * and #."))
            return
        if self.backend.send_dtmf(digits):
            self._set_note(_("Tones sent: {digits}").format(digits=digits))
            self.keypad.clear()
        else:
            self._refused_now()

    def _transfer(self) -> None:
        label = self._target()
        call_id = self._call_id
        if not self._live() or label is None:
            return
        if not self.confirm_transfer(label):
            return
        if not self._live() or self._call_id != call_id:
            return  # the call ended while the question was open
        if self.backend.transfer(label):
            self._set_note(_("Transferring the caller to {who}…").format(who=label))
        else:
            self._refused_now()

    def confirm_transfer(self, label: str) -> bool:
        """Ask before a blind transfer; No is the default."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            _("Transfer the caller?"),
            _(
                "Transfer the caller to {who} now? You leave the call and cannot take it "
                "back. To talk to them first, choose No, then Call supervisor."
            ).format(who=label),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAccessibleName(_("Transfer the caller?"))
        return box.exec() == QMessageBox.StandardButton.Yes

    def _call_supervisor(self) -> None:
        label = self._target()
        if not self._live() or label is None or self._consult is not None:
            return
        if self.backend.consult(label):
            self._consult = "up"
            self._set_note("")
        else:
            self._refused_now()
        self._render_controls()

    def _join(self) -> None:
        if self._consult is None:
            return
        if self.backend.conference():
            self._consult = "joined"
        else:
            self._refused_now()
        self._render_controls()

    def _hand_over(self) -> None:
        if self._consult is None:
            return
        if self.backend.complete_transfer():
            self._set_note(_("Handing the caller over to the supervisor…"))
        else:
            self._refused_now()

    def _back_to_caller(self) -> None:
        if self._consult is None:
            return
        if self.backend.drop_consult():
            self._consult = None
            self._set_note(_("Back with the caller."))
        else:
            self._refused_now()
        self._render_controls()
