"""Training mode on the trainee's console (docs/training.md): the real console, plus

- a banner that is always there, above every page (the console and the lock screen):
  "PRACTICE — not a real call", and the window title says so too;
- the practice panel in the side column: the scenario (its kind and difficulty, the brief),
  the caller's words as captions while they are said, and the watching supervisor's
  feedback as it arrives;
- the debrief sheet, shown when a practice call's wrap-up ends (app/training.py
  :class:`DebriefReady`): what the scenario expected against what the trainee did, the
  times, and the call-health figures, with the model counselor's lines.

:func:`attach_training` is the whole hook in console/main_window.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.training import Check, Debrief, DebriefReady
from calls import events as cev
from calls.model import CallState
from calls.training import PracticeLineStarted, TrainingScenario
from console.texts import fmt_duration
from console.theme import set_role
from core.i18n import N_, _, format_number, format_time
from escalation.health import health_label
from escalation.levels import level_label as escalation_level_label
from escalation.training import PracticeNoteReceived
from storage.records import rescue_step_label
from storage.risk import level_label as risk_level_label

if TYPE_CHECKING:
    from console.main_window import MainWindow

TICK_MS = 250
CAPTION_STAYS_S = 1.5  # a caption stays this long after the words
MAX_FEEDBACK = 50

KIND_WORDS = {
    "third_party": N_("a third-party caller"),
    "attempt_in_progress": N_("an attempt in progress"),
    "silent_caller": N_("a silent caller"),
    "abusive_caller": N_("an abusive caller"),
}
DIFFICULTY_WORDS = {
    1: N_("difficulty 1 of 3"),
    2: N_("difficulty 2 of 3"),
    3: N_("difficulty 3 of 3"),
}
CHECK_WORDS = {
    "answer": N_("Answered in time"),
    "assessment": N_("Risk assessment saved"),
    "risk": N_("Risk level"),
    "escalate": N_("Escalation"),
    "escalate_time": N_("Escalated in time"),
    "rescue": N_("Rescue steps"),
    "flag": N_("Caller flagged"),
    "end": N_("You ended the call"),
}


def banner_text() -> str:
    return _("PRACTICE — not a real call")


def kind_text(scenario: TrainingScenario) -> str:
    return _("{kind}, {difficulty}").format(
        kind=_(KIND_WORDS.get(scenario.kind, scenario.kind)),
        difficulty=_(DIFFICULTY_WORDS.get(scenario.difficulty, str(scenario.difficulty))),
    )


class PracticeBanner(QLabel):
    """Above the console and the lock screen alike (the window's menu-widget slot)."""

    def __init__(self) -> None:
        super().__init__(banner_text())
        self.setObjectName("practiceBanner")
        self.setAccessibleName(banner_text())
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        set_role(self, "danger")


class TrainingPanel(QGroupBox):
    """The scenario, the caller's captions and the supervisor's feedback (side column)."""

    def __init__(self, window: MainWindow, scenario: TrainingScenario) -> None:
        super().__init__(_("Practice call"))
        self.setObjectName("trainingPanel")
        self.setAccessibleName(_("Practice call"))
        self.owner = window
        self.scenario = scenario
        self.clock = window.session.clock
        layout = QVBoxLayout(self)
        self.heading = QLabel(scenario.title)
        self.heading.setObjectName("trainingTitle")
        self.heading.setAccessibleName(_("Scenario"))
        self.heading.setWordWrap(True)
        set_role(self.heading, "title")
        self.kind = QLabel(kind_text(scenario))
        self.kind.setObjectName("trainingKind")
        self.kind.setAccessibleName(_("Kind of practice call"))
        self.kind.setWordWrap(True)
        set_role(self.kind, "dim")
        self.brief = QLabel(scenario.brief)
        self.brief.setObjectName("trainingBrief")
        self.brief.setAccessibleName(_("What to practise"))
        self.brief.setWordWrap(True)
        self.caption = QLabel()
        self.caption.setObjectName("trainingCaption")
        self.caption.setAccessibleName(_("What the caller says"))
        self.caption.setWordWrap(True)
        set_role(self.caption, "info")
        self.caption.setVisible(False)
        feedback_title = QLabel(_("Feedback from your supervisor"))
        feedback_title.setAccessibleName(_("Feedback from your supervisor"))
        feedback_title.setWordWrap(True)
        set_role(feedback_title, "dim")
        self.feedback = QListWidget()
        self.feedback.setObjectName("trainingFeedback")
        self.feedback.setAccessibleName(_("Feedback from your supervisor"))
        self.feedback.setWordWrap(True)
        self.feedback.setMaximumHeight(110)
        self.debrief_button = QPushButton(_("Debrief"))
        self.debrief_button.setObjectName("btn_debrief_sheet")
        self.debrief_button.setAccessibleName(_("Open the debrief of the last practice call"))
        self.debrief_button.setEnabled(False)
        for w in (self.heading, self.kind, self.brief, self.caption, feedback_title):
            layout.addWidget(w)
        layout.addWidget(self.feedback)
        layout.addWidget(self.debrief_button)
        self._answered_mono: float | None = None
        self._call_id: str | None = None
        self._said: PracticeLineStarted | None = None  # the caller's latest line
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(TICK_MS)
        window.bridge.on(cev.CallStateChanged, self._on_state)
        window.bridge.on(PracticeNoteReceived, self._on_note)
        window.bridge.on(PracticeLineStarted, self._on_line)

    def _on_state(self, event: cev.CallStateChanged) -> None:
        on_call = event.state in (CallState.ON_CALL, CallState.ON_HOLD) and event.call is not None
        self._answered_mono = event.call.answered_mono if on_call and event.call else None
        self._call_id = event.call.id if on_call and event.call else None
        if event.state is CallState.RINGING:
            self.feedback.clear()  # a new practice call
        if not on_call:
            self._said = None
        self._tick()

    def _on_line(self, event: PracticeLineStarted) -> None:
        if event.call_id == self._call_id and 0 <= event.index < len(self.scenario.caller):
            self._said = event
            self._tick()

    def _tick(self) -> None:
        """The caption of the caller's line being said now: from the latest
        :class:`PracticeLineStarted` (when it started, for how long), the answer time and
        the clock; a caption stays a moment after the words. Nothing read back."""
        line, said = None, self._said
        if said is not None and self._answered_mono is not None:
            talk_s = self.clock.monotonic() - self._answered_mono
            if talk_s < said.at_s + said.dur_s + CAPTION_STAYS_S:
                line = self.scenario.caller[said.index]
        if line is None:
            if self.caption.isVisible():
                self.caption.setVisible(False)
            return
        text = (
            _("(silence: {note})").format(note=line.text) if line.silence and line.text
            else _("(silence)") if line.silence
            else _("Caller: “{words}”").format(words=line.text)
        )  # fmt: skip
        if self.caption.text() != text:
            self.caption.setText(text)
            self.caption.setAccessibleDescription(text)
        self.caption.setVisible(True)

    def _on_note(self, event: PracticeNoteReceived) -> None:
        who = _("You") if event.direction == "out" else event.by
        self.feedback.addItem(
            _("{time} {who}: {text}").format(time=format_time(event.at), who=who, text=event.text)
        )
        while self.feedback.count() > MAX_FEEDBACK:
            self.feedback.takeItem(0)
        self.feedback.scrollToBottom()
        if event.direction == "in":
            self.owner.say(_("Feedback from {who}: see Practice call.").format(who=event.by))


# -- the debrief ------------------------------------------------------------------------------
def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def _seconds(value: float | None) -> str:
    return _("not measured") if value is None else fmt_duration(value)


def check_words(c: Check) -> tuple[str, str, str]:
    """(what, expected, done) of one check, in words."""
    what = _(CHECK_WORDS.get(c.code, c.code))
    if c.code == "answer":
        expected = _("within {time}").format(time=fmt_duration(float(c.expected)))
        done = _("not answered") if c.done is None else _("after {time}").format(
            time=fmt_duration(float(c.done)))  # fmt: skip
    elif c.code == "escalate_time":
        expected = _("within {time} of the answer").format(time=fmt_duration(float(c.expected)))
        done = _seconds(c.done)
    elif c.code in ("assessment", "end"):
        expected, done = _yes_no(bool(c.expected)), _yes_no(bool(c.done))
    elif c.code == "risk":
        expected = risk_level_label(str(c.expected))
        done = risk_level_label(str(c.done)) if c.done else _("none saved")
    elif c.code == "escalate":
        expected = escalation_level_label(str(c.expected)) if c.expected else _("none needed")
        done = escalation_level_label(str(c.done)) if c.done else _("none raised")
    elif c.code == "rescue":
        expected = ", ".join(rescue_step_label(s) for s in c.expected)
        done = ", ".join(rescue_step_label(s) for s in c.done) or _("none")
    elif c.code == "flag":
        expected, done = (
            _("abusive") if c.expected == "abusive" else str(c.expected),
            (_("abusive") if c.done == "abusive" else str(c.done) or _("none")),
        )
    else:
        expected, done = str(c.expected), str(c.done)
    return what, expected, done


def timeline_talk(figures: dict[str, Any]) -> tuple[float, float] | None:
    """(the counselor's, the caller's) seconds of talk, summed over the call-health
    timeline's buckets (None without a timeline)."""
    timeline = figures.get("timeline")
    if not isinstance(timeline, dict):
        return None
    try:
        near = sum(float(x) for x in timeline["counselor_s"])
        far = sum(float(x) for x in timeline["caller_s"])
    except (KeyError, TypeError, ValueError):
        return None
    return near, far


def health_lines(figures: dict[str, Any], near: str = "microphone") -> list[str]:
    """The call-health figures of the practice call, in words. ``near`` is whose voice the
    near side was (app.training.Debrief.near): the trainee's microphone, or the model
    counselor's lines when there was no microphone (then the figures are the model's)."""
    if not figures:
        return [_("No call-health figures for this call.")]
    out = []
    if near != "microphone":
        out.append(
            _(
                "No microphone: your side was the model counselor's lines, so these figures are not yours."
            )
        )
    talk = timeline_talk(figures)
    if talk is not None:
        out.append(
            _("Talk: you {you}, the caller {caller}.").format(
                you=fmt_duration(talk[0]), caller=fmt_duration(talk[1])
            )
        )
    ratio = figures.get("talk_ratio")
    if isinstance(ratio, (int, float)):
        out.append(_("You spoke {share} % of the talk.").format(share=format_number(ratio * 100)))
    out.append(
        _("Interruptions: {you} by you, {caller} by the caller.").format(
            you=figures.get("interruptions_by_counselor", 0),
            caller=figures.get("interruptions_by_caller", 0),
        )
    )
    longest = figures.get("longest_mutual_silence_s")
    if isinstance(longest, (int, float)):
        out.append(_("Longest silence on both sides: {time}.").format(time=fmt_duration(longest)))
    prompts = (
        ("caller_silence_prompts", "caller_silent"),
        ("talk_balance_prompts", "talking_more"),
        ("muted_speech_warnings", "muted_while_speaking"),
        ("dead_mic_prompts", "dead_mic"),
        ("one_way_audio_prompts", "one_way_audio"),
    )
    shown = [
        f"{health_label(code)} ×{figures[key]}"
        for key, code in prompts
        if isinstance(figures.get(key), int) and figures[key] > 0
    ]
    out.append(
        _("Call-health prompts: {list}.").format(list=", ".join(shown)) if shown
        else _("Call-health prompts: none.")
    )  # fmt: skip
    return out


class DebriefSheet(QDialog):
    """After the practice call: expected against done, times, call health, model lines."""

    def __init__(self, debrief: Debrief, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.debrief = debrief
        self.setObjectName("debriefSheet")
        self.setWindowTitle(_("Practice debrief"))
        self.setAccessibleName(_("Practice debrief"))
        outer = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        met, total = debrief.score
        heading = QLabel(
            _("{title}: {met} of {total} expectations met").format(
                title=debrief.scenario.title, met=met, total=total
            )
        )
        heading.setObjectName("debriefScore")
        heading.setAccessibleName(_("Score"))
        heading.setWordWrap(True)
        set_role(heading, "title")
        layout.addWidget(heading)
        banner = QLabel(banner_text())
        banner.setAccessibleName(banner_text())
        set_role(banner, "warning")
        layout.addWidget(banner)
        self.table = QTableWidget(len(debrief.checks), 4)
        self.table.setObjectName("debriefChecks")
        self.table.setAccessibleName(_("Expected and done"))
        self.table.setHorizontalHeaderLabels([_("What"), _("Expected"), _("You did"), _("Met")])
        self.table.verticalHeader().setVisible(False)
        for i, c in enumerate(debrief.checks):
            what, expected, done = check_words(c)
            mark = "✓ " + _("yes") if c.met else "✗ " + _("no")  # words, not only a sign
            for j, text in enumerate((what, expected, done, mark)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(i, j, item)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        for j, mode in enumerate(
            (QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Stretch,
             QHeaderView.ResizeMode.Stretch, QHeaderView.ResizeMode.ResizeToContents)
        ):  # fmt: skip
            header.setSectionResizeMode(j, mode)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.resizeRowsToContents()
        rows_h = sum(self.table.rowHeight(i) for i in range(self.table.rowCount()))
        self.table.setMinimumHeight(min(320, rows_h + header.height() + 4))
        layout.addWidget(self.table)
        times = [
            _("Time to answer: {time}").format(time=_seconds(debrief.answer_s)),
            _("Time to your first words: {time}").format(time=_seconds(debrief.first_response_s)),
        ]
        if debrief.escalated:
            times.append(
                _("Escalated ({level}) {time} after the answer; acknowledged by {who}.").format(
                    level=escalation_level_label(debrief.escalated),
                    time=_seconds(debrief.escalation_s),
                    who=debrief.acknowledged_by or _("nobody yet"),
                )
            )
        self.figures = QLabel("\n".join(times + health_lines(debrief.health, debrief.near)))
        self.figures.setObjectName("debriefFigures")
        self.figures.setAccessibleName(_("Times and call health"))
        self.figures.setWordWrap(True)
        layout.addWidget(self.figures)
        if debrief.scenario.counselor:
            model_title = QLabel(_("A model counselor might have said:"))
            model_title.setAccessibleName(_("Model answers"))
            set_role(model_title, "dim")
            layout.addWidget(model_title)
            self.model = QLabel("\n".join(f"• {x.text}" for x in debrief.scenario.counselor))
            self.model.setObjectName("debriefModel")
            self.model.setAccessibleName(_("Model answers"))
            self.model.setWordWrap(True)
            layout.addWidget(self.model)
        layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName(_("Close the debrief"))
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
        self.resize(720, 520)

    def rows(self) -> list[tuple[str, ...]]:
        """The table's texts (for tests and the screen reader's check)."""
        out = []
        for i in range(self.table.rowCount()):
            items = [self.table.item(i, j) for j in range(4)]
            out.append(tuple(item.text() if item is not None else "" for item in items))
        return out


class TrainingConsole:
    """What training mode adds to one counselor window."""

    def __init__(self, window: MainWindow, scenario: TrainingScenario | None) -> None:
        self.window = window
        self.banner = PracticeBanner()
        window.setMenuWidget(self.banner)  # above the console and the lock screen alike
        window.setWindowTitle(_("{practice} — {title}").format(
            practice=banner_text(), title=window.windowTitle()))  # fmt: skip
        self.panel: TrainingPanel | None = None
        if scenario is not None:
            self.panel = TrainingPanel(window, scenario)
            window.add_side_panel(self.panel, first=True)  # the captions in sight
            self.panel.debrief_button.clicked.connect(self.show_debrief)
        self.sheet: DebriefSheet | None = None
        self.last: Debrief | None = None
        window.bridge.on(DebriefReady, self._on_debrief)

    def _on_debrief(self, event: DebriefReady) -> None:
        self.last = event.debrief
        if self.panel is not None:
            self.panel.debrief_button.setEnabled(True)
        self.show_debrief()

    def show_debrief(self) -> None:
        if self.last is None:
            return
        if self.sheet is not None:
            self.sheet.close()
        self.sheet = DebriefSheet(self.last, self.window)
        self.sheet.show()


def attach_training(window: MainWindow) -> TrainingConsole | None:
    """Training mode's banner (always), and with a scenario (the session's
    :class:`app.training.TrainingRun`) the practice panel and the debrief, on ``window``;
    None outside training mode."""
    from calls.options import TRAINING

    if not window.session.config.get(TRAINING):
        return None
    run = getattr(getattr(window.session, "wiring", None), "training", None)
    return TrainingConsole(window, run.scenario if run is not None else None)
