"""The ``buttonbox`` service: the driver, the LEDs that follow the console, presses → commands.

:func:`attach` is cheap and never touches the port: the driver's owner thread starts with the
session and searches for the box in the background, so a session starts (showing
"disconnected") whether or not a box is plugged in.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Callable, Sequence

from calls.model import Action, Command, Source
from core.config import Config
from core.events import Event
from devices import events as ev
from devices import options as opt
from devices.buttonbox.driver import ButtonBoxDriver, DriverSettings
from devices.buttonbox.keymap import GestureRecognizer, parse_bindings
from devices.buttonbox.leds import LedController
from devices.buttonbox.protocol import ButtonKind
from devices.ports import parse_usb_ids

if TYPE_CHECKING:
    from core.session import Session

log = logging.getLogger(__name__)


def settings_from_config(config: Config, port: str | None = None) -> DriverSettings:
    try:
        usb_ids = tuple(parse_usb_ids(config.get(opt.BUTTONBOX_USB_IDS)))
    except ValueError as exc:
        log.warning("option devices.buttonbox.usb_ids: %s; using the default", exc)
        usb_ids = tuple(parse_usb_ids(opt.BUTTONBOX_USB_IDS.default))
    hb = config.get(opt.BUTTONBOX_HEARTBEAT_S)
    return DriverSettings(
        port=config.get(opt.BUTTONBOX_PORT) if port is None else port,
        usb_ids=usb_ids, heartbeat_s=hb,
        heartbeat_timeout_s=max(config.get(opt.BUTTONBOX_HEARTBEAT_TIMEOUT_S), 2 * hb),
        reconnect_max_s=config.get(opt.BUTTONBOX_RECONNECT_MAX_S),
        long_press_ms=config.get(opt.BUTTONBOX_LONG_PRESS_MS))


class ButtonBoxService:
    """Presses become call commands; LEDs follow the console; events go on the bus."""

    def __init__(self, session: "Session", settings: DriverSettings | None = None,
                 comports: Callable[[], Sequence[object]] | None = None) -> None:
        self.session = session
        config = session.config
        bindings, problems = parse_bindings(config.get(opt.BUTTONBOX_ACTIONS))
        for p in problems:
            log.warning("option devices.buttonbox.actions: %s (ignored)", p)
        self.problems = list(problems)
        self.gestures = GestureRecognizer(bindings)
        # commands are immutable: built once, not on every press
        self._commands = {key: Command(action, Source.BUTTON_BOX)
                          for key, action in bindings.items()}
        self.driver = ButtonBoxDriver(settings or settings_from_config(config), session.clock,
                                      self._emit, self._on_button, comports)
        self.leds = LedController(session.bus, config.get(opt.BUTTONBOX_LEDS), self.driver.set_leds,
                                  state=session.calls.state, muted=session.calls.muted)
        self.problems += self.leds.problems
        self._stop_lock = threading.Lock()
        self._stopped = False

    # -- the face the UI and the escalation work use ---------------------------------
    @property
    def status(self) -> str:
        """stopped, searching, connecting, connected, disconnected or rejected."""
        return self.driver.status

    @property
    def message(self) -> str:
        return self.driver.message

    @property
    def identity(self):
        return self.driver.identity

    def set_escalation(self, state: str | None) -> None:
        self.leds.set_escalation(state)

    def start(self) -> None:
        self.leds.push(force=True)
        self.driver.start()

    def stop(self) -> None:
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        offline = dict(self.leds.layers.get("offline", {}))
        self.driver.stop(final_leds=offline)

    # -- on the driver's owner thread -----------------------------------------------
    def _emit(self, event: Event) -> None:
        if isinstance(event, (ev.ButtonBoxConnected, ev.ButtonBoxDisconnected)):
            self.gestures.reset()
        self.session.bus.publish(event)

    def _on_button(self, button: str, kind: ButtonKind) -> None:
        gesture = self.gestures.feed(button, kind)
        if gesture is None:
            return
        command = self._commands.get((button, gesture))
        action: Action | None = None
        if command is not None:
            action = command.action
            self.session.calls.handle(command)
        self.session.bus.publish(ev.ButtonPressed(button, gesture, action))


def attach(session: "Session") -> None:
    if not session.config.get(opt.BUTTONBOX_ENABLED):
        return
    session.add_service("buttonbox", ButtonBoxService(session))
