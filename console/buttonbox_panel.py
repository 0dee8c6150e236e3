"""A panel that shows the simulated button box for the demo: its buttons and its LEDs.

Pressing a button here holds the simulated button down until you release it, so a click is
a press and holding past the long-press time is a long press, exactly as on the real box.
The LEDs are drawn from what the driver last set on the box (pulled by a 50 ms UI timer,
blinking as the firmware would drive them).
"""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core.i18n import _
from devices.buttonbox.simulator import ButtonBoxSimulator

LABELS = {"answer": "Answer", "hangup": "Hang up", "mute": "Mute / hold (long)",
          "help": "Help (long press)"}


class ButtonBoxPanel(QWidget):
    def __init__(self, simulator: ButtonBoxSimulator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.simulator = simulator
        self.setObjectName("buttonBoxPanel")
        self.setWindowTitle(_("Simulated button box"))
        layout = QVBoxLayout(self)
        self.status = QLabel()
        layout.addWidget(self.status)
        grid = QGridLayout()
        layout.addLayout(grid)
        self.buttons: dict[str, QPushButton] = {}
        self.lamps: dict[str, QLabel] = {}
        led_names = [name for name, _caps in simulator.box.led_info]
        for col, name in enumerate(simulator.box.buttons):
            lamp = QLabel()
            lamp.setFixedSize(22, 22)
            lamp.setObjectName(f"led_{name}")
            grid.addWidget(lamp, 0, col)
            if name in led_names:
                self.lamps[name] = lamp
            button = QPushButton(_(LABELS.get(name, name)))
            button.setObjectName(f"button_{name}")
            button.pressed.connect(lambda n=name: simulator.button_down(n))
            button.released.connect(lambda n=name: simulator.button_up(n))
            grid.addWidget(button, 1, col)
            self.buttons[name] = button
        self.timer = QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def refresh(self) -> None:
        sim = self.simulator
        self.status.setText(_("Connected to Faro") if sim.connected
                            else _("Not connected (LEDs show offline)"))
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

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.timer.stop()
        super().closeEvent(event)
