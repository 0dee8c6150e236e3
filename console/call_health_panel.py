"""The call-health panel: prompts (speaking while muted, check in, headset…), the
talk/listen balance, how long the caller has been silent, device status and level meters.

Meters and timers are *pulled*: a QTimer (80 ms) reads the audio service's latest values
(:meth:`audio.service.AudioService.snapshot`, thread-safe), as Mumble does; nothing is
pushed per frame. Transition events that have no lasting state (an interruption, unmuting)
arrive through the window's event bridge, on which the panel registers its handlers.

Calm by design (docs/audio.md, "Call-health panel"):

* each figure is shown once, under a label that says what it is; the only silence shown is
  the caller's (the check-in prompt is about it), and prompts quote no figures;
* a prompt stays at least :data:`PROMPT_HOLD_S` after its condition ends (by the session's
  clock), and the prompt area keeps its height whether it shows prompts or not, so nothing
  below it moves;
* a prompt keeps its slot while it is shown; speaking while muted always takes the top one.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from audio import events as aev
from audio.metrics import HealthSnapshot
from calls import events as cev
from console.bridge import EventBridge, Handlers, feed
from console.theme import set_role
from core.events import Event
from core.i18n import N_, _

TICK_MS = 80
NOTE_S = 4.0  # how long a one-off note (an interruption) stays
PROMPT_HOLD_S = 5.0  # a prompt stays at least this long after its condition ends
# Speaking while muted: the metrics clear it after 2 s of silence (audio.muted_clear_s);
# the panel holds it this much longer while still muted (about 5 s after the last word),
# and drops it at once on unmute.
MUTED_HOLD_S = 3.0
PROMPT_SLOTS = 2  # prompts shown at once; the area keeps room for this many

MUTED_SPEAKING = "muted_speaking"
#: the prompts in priority order (a free slot goes to the first waiting one)
PROMPTS: dict[str, str] = {
    MUTED_SPEAKING: N_("You are speaking while muted: unmute so the caller can hear you."),
    "dead_mic": N_("No sound from your microphone. Check the headset."),
    "one_way_audio": N_("No sound from the caller's side. Check the audio device."),
    "caller_silence": N_("The caller has been silent for a while. Check in?"),
    "clipping_near": N_("Your microphone is too loud (clipping)."),
    "talking_more": N_("You are talking more than listening."),
}

#: a meter's level in words (its accessible description), loudest first: (from dBFS, words)
LEVEL_WORDS: tuple[tuple[float, str], ...] = (
    # Translators: a sound level (the counselor's microphone, the caller's side), said by
    # a screen reader
    (-3.0, N_("Level: too loud")),
    (-12.0, N_("Level: loud")),
    (-40.0, N_("Level: good")),
    (-59.0, N_("Level: quiet")),
)
NO_SOUND = N_("Level: no sound")


def fmt_seconds(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60:d}:{s % 60:02d}"


def level_words(level_db: float | None) -> str:
    """A level in words ("Level: good"…), translated; None is no source at all."""
    if level_db is not None:
        for threshold, words in LEVEL_WORDS:
            if level_db >= threshold:
                return _(words)
    return _(NO_SOUND)


def _named(widget: QWidget, name: str) -> None:
    widget.setAccessibleName(name)


def _describe(widget: QWidget, text: str) -> None:
    """The widget's current value for a screen reader (set on change only)."""
    if widget.accessibleDescription() != text:
        widget.setAccessibleDescription(text)


def _meter(name: str) -> QProgressBar:
    bar = QProgressBar()
    bar.setRange(0, 60)  # -60..0 dBFS
    bar.setTextVisible(False)
    bar.setMaximumHeight(8)
    bar.setAccessibleName(name)
    return bar


def _row_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setAccessibleName(text)
    set_role(label, "dim")
    return label


class PromptArea(QFrame):
    """:data:`PROMPT_SLOTS` labels of a fixed height: tall enough, at the current width and
    font, for the longest prompt, and kept (empty) when there is none, so the widgets below
    never move when a prompt comes or goes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("healthPrompts")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.slots: list[QLabel] = []
        self.keys: list[str | None] = [None] * PROMPT_SLOTS
        for i in range(PROMPT_SLOTS):
            label = QLabel()
            label.setObjectName(f"healthPrompt{i}")
            label.setWordWrap(True)
            label.setAccessibleName(_("Call-health prompt"))
            layout.addWidget(label)
            self.slots.append(label)
        self._probe = QLabel()  # measures the prompts; never shown
        self._probe.setWordWrap(True)
        self._fitted_width = -1
        self._fit()

    def show_keys(self, shown: list[str]) -> None:
        """Show the prompts ``shown`` (priority order): one keeps its slot while it stays,
        speaking-while-muted takes the top slot, the others take free slots in order."""
        keys = [k if k in shown else None for k in self.keys]
        if MUTED_SPEAKING in shown and keys[0] != MUTED_SPEAKING:
            if MUTED_SPEAKING in keys:
                keys[keys.index(MUTED_SPEAKING)] = None
            displaced = keys[0]
            keys[0] = MUTED_SPEAKING
            if displaced is not None and None in keys:
                keys[keys.index(None)] = displaced
        for key in shown:
            if key not in keys and None in keys:
                keys[keys.index(None)] = key
        self.keys = keys
        for label, slot_key in zip(self.slots, keys, strict=True):
            text = _(PROMPTS[slot_key]) if slot_key is not None else ""
            if label.text() != text:
                label.setText(text)
                _describe(label, text)
            if slot_key is None:
                set_role(label, None)
            else:
                set_role(label, "danger" if slot_key == MUTED_SPEAKING else "warning")

    def texts(self) -> list[str]:
        return [label.text() for label in self.slots if label.text()]

    def _fit(self) -> None:
        width = self.slots[0].width()
        self._probe.setFont(self.slots[0].font())
        height = 0
        for key, msgid in PROMPTS.items():
            set_role(self._probe, "danger" if key == MUTED_SPEAKING else "warning")
            self._probe.setText(_(msgid))
            self._probe.ensurePolished()
            height = max(height, self._probe.heightForWidth(width))
        for label in self.slots:
            label.setFixedHeight(height)
        self._fitted_width = width

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.slots[0].width() != self._fitted_width:
            self._fit()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit()


class CallHealthPanel(QFrame):
    def __init__(
        self, session: Any, bridge: EventBridge | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("callHealthPanel")
        self.service = session.service("audio")
        self._clock = session.clock
        self._note_until = 0.0
        self._call_id: str | None = None
        #: when a shown prompt's condition was first seen false (None: it still holds)
        self._off_since: dict[str, float | None] = {}
        layout = QVBoxLayout(self)
        title = QLabel(_("Call health"))
        title.setObjectName("panelTitle")
        _named(title, _("Call health"))
        set_role(title, "title")
        layout.addWidget(title)

        self.device = QLabel()
        self.device.setObjectName("audioDevice")
        self.device.setWordWrap(True)
        _named(self.device, _("Audio device"))
        layout.addWidget(self.device)

        self.prompts = PromptArea()
        layout.addWidget(self.prompts)

        grid = QGridLayout()
        self.balance = QProgressBar()
        self.balance.setObjectName("talkBalance")
        self.balance.setRange(0, 100)
        self.balance.setTextVisible(False)  # the figures have their own label
        self.balance.setMaximumHeight(10)
        _named(self.balance, _("Talk/listen balance"))
        self.balance_text = QLabel()
        self.balance_text.setObjectName("talkBalanceText")
        _named(self.balance_text, _("Share of talk time"))
        grid.addWidget(_row_label(_("Talk / listen")), 0, 0)
        grid.addWidget(self.balance, 0, 1)
        grid.addWidget(self.balance_text, 1, 1)
        self.silence = QLabel()
        self.silence.setObjectName("callerSilence")
        _named(self.silence, _("Caller silent"))
        grid.addWidget(_row_label(_("Caller silent")), 2, 0)
        grid.addWidget(self.silence, 2, 1)
        self.near_meter = _meter(_("Your microphone level"))
        self.far_meter = _meter(_("Caller level"))
        grid.addWidget(_row_label(_("You")), 3, 0)
        grid.addWidget(self.near_meter, 3, 1)
        grid.addWidget(_row_label(_("Caller")), 4, 0)
        grid.addWidget(self.far_meter, 4, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)

        self.note = QLabel()
        self.note.setObjectName("healthNote")
        self.note.setWordWrap(True)
        self.note.setMinimumHeight(self.note.fontMetrics().lineSpacing())
        _named(self.note, _("Last interruption"))
        set_role(self.note, "dim")
        layout.addWidget(self.note)
        layout.addStretch(1)

        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.refresh)
        if self.service is not None:
            self._timer.start()
        if bridge is not None:
            bridge.register(self._handlers())
        self.refresh()

    @property
    def available(self) -> bool:
        return self.service is not None

    def prompt_texts(self) -> list[str]:
        """The prompts shown, top first (for tests and the walk-through)."""
        return self.prompts.texts()

    def refresh(self) -> None:
        """Read the latest values (called by the timer; cheap)."""
        if self.service is None:
            self.device.setText(_("No audio service"))
            _describe(self.device, self.device.text())
            return
        snap = self.service.snapshot()
        h = snap.health
        now = self._clock.monotonic()
        if h.call_id != self._call_id or not h.in_call:
            self._off_since.clear()  # a prompt is never carried into another call
            self._call_id = h.call_id
        self.device.setText(snap.status_text)
        _describe(self.device, snap.status_text)
        self.prompts.show_keys(self._shown_prompts(h, now))
        if h.in_call and h.talk_ratio is not None:
            pct = int(round(h.talk_ratio * 100))
            self.balance.setValue(pct)
            figures = _("You {you}% · Caller {caller}%").format(you=pct, caller=100 - pct)
        else:
            self.balance.setValue(0)
            figures = ""
        self.balance_text.setText(figures)
        _describe(self.balance, figures)
        _describe(self.balance_text, figures)
        # the caller's silence, the figure the check-in prompt is about (docs/audio.md)
        heard = h.in_call and h.far_present and not h.on_hold
        self.silence.setText(fmt_seconds(h.caller_silence_s) if heard else "–")
        _describe(self.silence, self.silence.text())
        self.near_meter.setValue(max(0, int(h.near_level_db + 60)))
        self.far_meter.setValue(max(0, int(h.far_level_db + 60)) if h.far_present else 0)
        _describe(self.near_meter, level_words(h.near_level_db if h.near_present else None))
        _describe(self.far_meter, level_words(h.far_level_db if h.far_present else None))
        if self.note.text() and now > self._note_until:
            self.note.setText("")
            _describe(self.note, "")

    def _shown_prompts(self, h: HealthSnapshot, now: float) -> list[str]:
        """The prompts to show now, in priority order: those whose condition holds, and
        those whose condition ended less than their hold ago."""
        shown_before = set(self.prompts.keys)
        conditions = {
            # once shown, speech on the meter keeps it (the detector waits for 2 s of quiet)
            MUTED_SPEAKING: h.muted
            and (h.muted_while_speaking or (MUTED_SPEAKING in shown_before and h.near_speaking)),
            "dead_mic": h.dead_mic,
            "one_way_audio": h.one_way_audio,
            "caller_silence": h.caller_silence_prompt,
            "clipping_near": h.clipping_near,
            "talking_more": h.talking_more_than_listening,
        }
        if not h.muted:
            self._off_since.pop(MUTED_SPEAKING, None)  # unmuted: gone at once
        shown = []
        for key, active in conditions.items():
            if active:
                self._off_since[key] = None
            elif key in self._off_since:
                since = self._off_since[key]
                if since is None:
                    self._off_since[key] = since = now
                hold = MUTED_HOLD_S if key == MUTED_SPEAKING else PROMPT_HOLD_S
                if now - since >= hold:
                    del self._off_since[key]
                    continue
            else:
                continue
            shown.append(key)
        return shown

    def _handlers(self) -> Handlers:
        """The transition events the panel shows, and their handlers (GUI thread)."""
        return {
            aev.Interruption: self._on_interruption,
            aev.AudioDeviceLost: self._on_device,
            aev.AudioDeviceRestored: self._on_device,
            cev.MuteChanged: self._on_mute,
        }

    def on_event(self, event: Event) -> None:
        """One event by hand, as the bridge would hand it (for a panel built without one)."""
        feed(self._handlers(), event)

    def _on_interruption(self, event: aev.Interruption) -> None:
        self.note.setText(
            _("You spoke over the caller.")
            if event.who == aev.COUNSELOR
            else _("The caller spoke over you.")
        )
        _describe(self.note, self.note.text())
        self._note_until = self._clock.monotonic() + NOTE_S

    def _on_mute(self, event: cev.MuteChanged) -> None:
        if not event.muted:  # unmuted: the warning goes now, not at the next tick
            self._off_since.pop(MUTED_SPEAKING, None)
            self.prompts.show_keys([k for k in self.prompts.keys if k and k != MUTED_SPEAKING])

    def _on_device(self, event: aev.AudioDeviceLost | aev.AudioDeviceRestored) -> None:
        self.refresh()

    def closeEvent(self, event: Any) -> None:
        self._timer.stop()
        super().closeEvent(event)
