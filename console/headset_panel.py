"""A panel that shows the demo's simulated USB headset: its call buttons and its lights.

The buttons drive the simulator (:class:`devices.headset.simulator.HeadsetSimulator`), which
sends raw HID reports on its fake hidraw node, so a click here goes the same way as a press
on a real headset: report bytes → the headset driver → a call command. The lights are what
the headset shows from the host's LED reports (Ring, Off-Hook, Mute), read on a 100 ms UI
timer. The panel also says what the last press did, or why it did nothing, so a press is
never without feedback.
"""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

from calls.events import CommandRejected
from calls.model import Source
from console import theme
from console.bridge import EventBridge, Handlers
from console.device_panel import DevicePanel
from console.texts import action_label
from core.i18n import N_, _
from devices.events import HeadsetButton, HeadsetPressIgnored
from devices.headset.simulator import HeadsetSimulator

#: the headset's lights, as the host drives them; marked with N_, shown with _()
LIGHTS = (("ring", N_("Ring")), ("off_hook", N_("Off-hook")), ("mute", N_("Muted")))
#: the theme's role of a light that is on (off: ``dim``); the dot says it without colour
ROLES = {"ring": "ok", "off_hook": "ok", "mute": "danger"}


class HeadsetPanel(DevicePanel):
    SOURCE = Source.HEADSET

    def __init__(
        self,
        simulator: HeadsetSimulator,
        bridge: EventBridge | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("headsetPanel", parent)
        self.simulator = simulator
        self.setWindowTitle(_("Simulated headset"))
        self.layout_.setContentsMargins(0, 0, 0, 0)
        grid = QGridLayout()
        self.layout_.addLayout(grid)
        self.lamps: dict[str, QLabel] = {}
        for col, (name, label) in enumerate(LIGHTS):
            lamp = QLabel(_(label))
            lamp.setObjectName(f"headset_led_{name}")
            lamp.setAccessibleName(_("Headset light: {name}").format(name=_(label)))
            grid.addWidget(lamp, 0, col)
            self.lamps[name] = lamp
        self.buttons: dict[str, QPushButton] = {}
        for col, (name, label, press) in enumerate(
            (
                ("hook", _("Call"), simulator.press_hook),
                ("mute", _("Mute"), simulator.press_mute),
                ("flash", _("Flash"), simulator.press_flash),
            )
        ):
            button = QPushButton(label)
            button.setObjectName(f"headset_{name}")
            button.setToolTip(
                {
                    "hook": _("The headset's call button: answers, or hangs up"),
                    "mute": _("The headset's mute button"),
                    "flash": _("The headset's flash button: holds, or takes back"),
                }[name]
            )
            button.clicked.connect(press)
            grid.addWidget(button, 1, col)
            self.buttons[name] = button
        self._start(bridge, "headsetFeedback", 100)

    def refresh(self) -> None:
        sim = self.simulator
        self.status.setText(
            _("Headset {name}: connected").format(name=sim.name)
            if sim.connected
            else _("Headset {name}: not connected").format(name=sim.name)
        )
        leds = sim.leds if sim.connected else {}  # unplugged: nothing lights
        for name, lamp in self.lamps.items():
            also = {"mute": "microphone", "ring": "ringer"}.get(name, "")
            on = bool(leds.get(name)) or bool(also and leds.get(also))
            if lamp.property("on") == on:
                continue
            lamp.setProperty("on", on)
            lamp.setText(("● " if on else "○ ") + _(dict(LIGHTS)[name]))
            theme.set_role(lamp, ROLES[name] if on else "dim")
            lamp.setAccessibleDescription(_("on") if on else _("off"))

    def _handlers(self) -> Handlers:
        return {
            HeadsetButton: self._on_button,
            HeadsetPressIgnored: self._on_ignored,
            CommandRejected: self._on_rejected,
        }

    def _on_button(self, event: HeadsetButton) -> None:
        if event.action is None or self._said_refused(event.action):
            return
        self._show(_("Headset: {action}").format(action=action_label(event.action)), "done")

    def _on_ignored(self, event: HeadsetPressIgnored) -> None:
        self._show(event.message, event.reason)
