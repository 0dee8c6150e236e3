"""A panel that shows the simulated button box for the demo: its buttons and its LEDs.

Pressing a button here holds the simulated button down until you release it (``pressed`` /
``released`` of the push button drive the simulator's down / up, over the real protocol), so
a click is a press, holding past the long-press time is a long press and holding on to the
hold time is a hold (Help: an urgent escalation), exactly as on the real box; the Help lamp
changes at each threshold.
The LEDs are drawn from what the driver last set on the box (pulled by a 50 ms UI timer,
blinking as the firmware would drive them). Given the window's event bridge, the panel also
says what the last press did — the action it took, or why it did nothing (the call machine
refused it, or nothing is bound to that gesture) — so a press is never without feedback.
"""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

from calls.events import CommandRejected
from calls.model import Source
from console.bridge import EventBridge, Handlers
from console.device_panel import DevicePanel
from console.texts import action_label
from core.i18n import N_, _
from devices.buttonbox.simulator import ButtonBoxSimulator
from devices.events import ButtonPressed, PressIgnored
from escalation.levels import level_label

#: marked with N_ (defined at import time), translated with _() where shown
LABELS = {
    "answer": N_("Answer"),
    "hangup": N_("Hang up"),
    # two short lines each: two buttons a row fit the side column of a 1024 px laptop
    "mute": N_("Mute\n(long: hold)"),
    "help": N_("Help (long)\nhold: URGENT"),
}


#: a button's name on one line, for what a press did
NAMES = {"answer": N_("Answer"), "hangup": N_("Hang up"), "mute": N_("Mute"), "help": N_("Help")}


class ButtonBoxPanel(DevicePanel):
    SOURCE = Source.BUTTON_BOX

    def __init__(
        self,
        simulator: ButtonBoxSimulator,
        bridge: EventBridge | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("buttonBoxPanel", parent)
        self.simulator = simulator
        self.setWindowTitle(_("Simulated button box"))
        grid = QGridLayout()
        self.layout_.addLayout(grid)
        self.buttons: dict[str, QPushButton] = {}
        self.lamps: dict[str, QLabel] = {}
        led_names = [name for name, _caps in simulator.box.led_info]
        for i, name in enumerate(simulator.box.buttons):
            row, col = 2 * (i // 2), i % 2  # two a row: the side column stays narrow
            lamp = QLabel()
            lamp.setFixedSize(22, 22)
            lamp.setObjectName(f"led_{name}")
            grid.addWidget(lamp, row, col)
            if name in led_names:
                self.lamps[name] = lamp
            button = QPushButton(_(LABELS.get(name, name)))
            button.setObjectName(f"button_{name}")
            button.pressed.connect(lambda n=name: simulator.button_down(n))
            button.released.connect(lambda n=name: simulator.button_up(n))
            grid.addWidget(button, row + 1, col)
            self.buttons[name] = button
        self._start(bridge, "buttonBoxFeedback", 50)

    def refresh(self) -> None:
        sim = self.simulator
        self.status.setText(
            _("Connected to Faro") if sim.connected else _("Not connected (LEDs show offline)")
        )
        leds = {name: (mode, colour) for name, mode, colour in sim.leds}
        for i, (name, _caps) in enumerate(sim.box.led_info):
            lamp = self.lamps.get(name)
            if lamp is None:
                continue
            mode, colour = leds.get(name, ("off", "#000000"))
            level = sim.led_level(i)
            if not sim.connected and i == 0:
                colour = "#ff0000"
            lamp.setProperty("mode", mode if sim.connected else ("pulse" if i == 0 else "off"))
            lamp.setProperty("level", level)
            fill = colour if level > 96 else "#303030"
            lamp.setStyleSheet(f"background:{fill}; border-radius:11px; border:1px solid #111;")
            lamp.setToolTip(f"{name}: {mode}")

    def _handlers(self) -> Handlers:
        """What the last press did, from the bridge's events. A refused command comes first
        (the machine publishes it inside ``handle``), then the press."""
        return {
            ButtonPressed: self._on_pressed,
            CommandRejected: self._on_rejected,
            PressIgnored: self._on_ignored,
        }

    def _on_pressed(self, event: ButtonPressed) -> None:
        if event.action is None or self._said_refused(event.action):
            return
        button = _(NAMES.get(event.button, event.button))
        if event.level:
            text = _("{button}: {action} ({level})").format(
                button=button, action=action_label(event.action), level=level_label(event.level)
            )
        else:
            text = _("{button}: {action}").format(button=button, action=action_label(event.action))
        self._show(text, "done")

    def _on_ignored(self, event: PressIgnored) -> None:
        self._show(event.message, event.reason)
