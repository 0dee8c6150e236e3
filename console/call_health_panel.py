"""The call-health panel: talk/listen balance, silence timer, muted-while-speaking banner,
device status and level meters.

Meters and timers are *pulled*: a QTimer (80 ms) reads the audio service's latest values
(:meth:`audio.service.AudioService.snapshot`, thread-safe), as Mumble does; nothing is
pushed per frame. Transition events that have no lasting state (an interruption) arrive
through the window's event bridge, on which the panel registers its handlers.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from audio import events as aev
from console.bridge import EventBridge, Handlers, feed
from core.events import Event
from core.i18n import _

TICK_MS = 80
NOTE_S = 4.0  # how long a one-off note (an interruption) stays


def fmt_seconds(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60:d}:{s % 60:02d}"


def _meter(name: str) -> QProgressBar:
    bar = QProgressBar()
    bar.setRange(0, 60)  # -60..0 dBFS
    bar.setTextVisible(False)
    bar.setMaximumHeight(8)
    bar.setAccessibleName(name)
    return bar


class CallHealthPanel(QFrame):
    def __init__(
        self, session: Any, bridge: EventBridge | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("callHealthPanel")
        self.service = session.service("audio")
        self._clock = session.clock
        self._note_until = 0.0
        layout = QVBoxLayout(self)
        title = QLabel(_("Call health"))
        title.setObjectName("panelTitle")
        layout.addWidget(title)

        self.device = QLabel()
        self.device.setObjectName("audioDevice")
        self.device.setAccessibleName(_("Audio device"))
        layout.addWidget(self.device)

        self.muted_speaking = QLabel(_("You are muted: the caller cannot hear you."))
        self.muted_speaking.setObjectName("mutedSpeakingBanner")
        self.muted_speaking.setStyleSheet(
            "background:#b00020;color:white;padding:6px;font-weight:bold"
        )
        self.muted_speaking.setWordWrap(True)
        self.muted_speaking.setVisible(False)
        layout.addWidget(self.muted_speaking)

        self.prompt = QLabel()
        self.prompt.setObjectName("healthPrompt")
        self.prompt.setStyleSheet("background:#fff4ce;color:#3b2f00;padding:6px")
        self.prompt.setWordWrap(True)
        self.prompt.setVisible(False)
        layout.addWidget(self.prompt)

        grid = QGridLayout()
        self.balance = QProgressBar()
        self.balance.setObjectName("talkBalance")
        self.balance.setRange(0, 100)
        self.balance.setAccessibleName(_("Talk/listen balance"))
        self.balance_text = QLabel()
        grid.addWidget(QLabel(_("Talk / listen")), 0, 0)
        grid.addWidget(self.balance, 0, 1)
        grid.addWidget(self.balance_text, 1, 1)
        self.silence = QLabel()
        self.silence.setObjectName("silenceTimer")
        grid.addWidget(QLabel(_("Silence")), 2, 0)
        grid.addWidget(self.silence, 2, 1)
        self.near_meter = _meter(_("Your microphone level"))
        self.far_meter = _meter(_("Caller level"))
        grid.addWidget(QLabel(_("You")), 3, 0)
        grid.addWidget(self.near_meter, 3, 1)
        grid.addWidget(QLabel(_("Caller")), 4, 0)
        grid.addWidget(self.far_meter, 4, 1)
        layout.addLayout(grid)

        self.note = QLabel()
        self.note.setObjectName("healthNote")
        self.note.setWordWrap(True)
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

    def refresh(self) -> None:
        """Read the latest values (called by the timer; cheap)."""
        if self.service is None:
            self.device.setText(_("No audio service"))
            return
        snap = self.service.snapshot()
        h = snap.health
        self.device.setText(snap.status_text)
        self.muted_speaking.setVisible(h.muted_while_speaking)
        prompts = []
        if h.caller_silence_prompt:
            prompts.append(
                _("The caller has been silent for {time}. Check in?").format(
                    time=fmt_seconds(h.caller_silence_s)
                )
            )
        if h.dead_mic:
            prompts.append(_("No sound from your microphone. Check the headset."))
        if h.one_way_audio:
            prompts.append(_("No sound from the caller's side. Check the audio device."))
        if h.talking_more_than_listening:
            prompts.append(_("You are talking more than listening."))
        if h.clipping_near:
            prompts.append(_("Your microphone is too loud (clipping)."))
        self.prompt.setText("\n".join(prompts))
        self.prompt.setVisible(bool(prompts))
        if h.in_call and h.talk_ratio is not None:
            pct = int(round(h.talk_ratio * 100))
            self.balance.setValue(pct)
            self.balance_text.setText(
                _("You {you}% · Caller {caller}%").format(you=pct, caller=100 - pct)
            )
        else:
            self.balance.setValue(0)
            self.balance_text.setText("")
        self.silence.setText(fmt_seconds(h.mutual_silence_s) if h.in_call else "–")
        self.near_meter.setValue(max(0, int(h.near_level_db + 60)))
        self.far_meter.setValue(max(0, int(h.far_level_db + 60)) if h.far_present else 0)
        if self.note.text() and self._clock.monotonic() > self._note_until:
            self.note.setText("")

    def _handlers(self) -> Handlers:
        """The transition events the panel shows, and their handlers (GUI thread)."""
        return {
            aev.Interruption: self._on_interruption,
            aev.AudioDeviceLost: self._on_device,
            aev.AudioDeviceRestored: self._on_device,
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
        self._note_until = self._clock.monotonic() + NOTE_S

    def _on_device(self, event: aev.AudioDeviceLost | aev.AudioDeviceRestored) -> None:
        self.refresh()

    def closeEvent(self, event: Any) -> None:
        self._timer.stop()
        super().closeEvent(event)
