"""What the demo's simulated-device panels share (the button box's, the headset's): a status
line, a feedback line that says what the last press did, a UI timer that redraws the device's
lights, and matching a refusal with the press it was about (the call machine publishes the
refusal inside ``handle``, before the device's own press event), so a press is never
without feedback and never said twice."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from calls.events import CommandRejected
from calls.model import Action, Source
from console.bridge import EventBridge, Handlers, feed
from core.events import Event


class DevicePanel(QWidget):
    #: the command source of this device's presses (refusals of other sources are not ours)
    SOURCE: Source

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.layout_ = QVBoxLayout(self)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.layout_.addWidget(self.status)
        self._refused: Action | None = None  # the action of a refusal not yet matched
        self.feedback = QLabel()
        self.feedback.setWordWrap(True)
        self.timer = QTimer(self)

    def _start(self, bridge: EventBridge | None, feedback_name: str, interval_ms: int) -> None:
        """Once the device's own widgets are laid out: the feedback line under them, the
        redraw timer, the bridge's events."""
        self.feedback.setObjectName(feedback_name)
        self.layout_.addWidget(self.feedback)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        if bridge is not None:
            bridge.register(self._handlers())
        self.refresh()

    def refresh(self) -> None:  # the device's lights, on the UI timer
        raise NotImplementedError

    def _handlers(self) -> Handlers:
        raise NotImplementedError

    def on_event(self, event: Event) -> None:
        """One event by hand, as the bridge would hand it (for a panel built without one)."""
        feed(self._handlers(), event)

    def _said_refused(self, action: Action | None) -> bool:
        """True when this press's refusal was already shown (and forget it)."""
        if action is not None and action is self._refused:
            self._refused = None
            return True
        return False

    def _show(self, text: str, outcome: Any) -> None:
        self.feedback.setText(text)
        self.feedback.setProperty("outcome", outcome)

    def _on_rejected(self, event: CommandRejected) -> None:
        if event.source is self.SOURCE:
            self._refused = event.action
            self._show(event.reason, "refused")

    def closeEvent(self, event) -> None:
        self.timer.stop()
        super().closeEvent(event)
