"""The ``buttonbox`` service: the driver, the LEDs that follow the console, presses → commands.

:func:`attach` is cheap and never touches the port: the driver's owner thread starts with the
session and searches for the box in the background, so a session starts (showing
"disconnected") whether or not a box is plugged in.

The link runs on real time, not on the session's clock. The box keeps its own time (it goes
"offline" and drops presses when it has not heard the host for four heartbeats), so
heartbeats, retries and the silence that means "gone" belong to the wire. The session clock
drives the calls, and tests fake it and the soak speeds it up: when it also paced the link, a
session clock that did not follow real time left the box without heartbeats (presses then
vanished while the console said "connected") or declared a talking box gone (and a press in
flight was lost in the reconnect). A test that wants the link on a fake clock gives the
driver, or the service (``link_clock``), one of its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from calls.model import Action
from core.clock import Clock, SystemClock
from core.config import Config
from core.events import Event
from core.i18n import _
from devices import events as ev
from devices import options as opt
from devices.buttonbox.driver import ButtonBoxDriver, DriverSettings
from devices.buttonbox.holds import Kind
from devices.buttonbox.keymap import GestureRecognizer, parse_bindings
from devices.buttonbox.leds import LedController
from devices.ports import ComPort, parse_usb_ids

if TYPE_CHECKING:
    from calls.host import Host

log = logging.getLogger(__name__)

#: the hold comes at least this long after the long press: two thresholds a hand can tell apart
MIN_HOLD_AFTER_LONG_MS = 500
#: LED layers of the gestures, from the default when a configured mapping does not name them
#: (a configuration written before the hold keeps its LEDs and gains the feedback)
GESTURE_LAYERS = ("gesture_long", "gesture_hold")


def settings_from_config(config: Config, port: str | None = None) -> DriverSettings:
    try:
        ids: list[str] = config.get(opt.BUTTONBOX_USB_IDS)  # typed first: Option is invariant
        usb_ids = tuple(parse_usb_ids(ids))
    except ValueError as exc:
        log.warning("option devices.buttonbox.usb_ids: %s; using the default", exc)
        usb_ids = tuple(parse_usb_ids(opt.BUTTONBOX_USB_IDS.default))
    hb = config.get(opt.BUTTONBOX_HEARTBEAT_S)
    long_ms = config.get(opt.BUTTONBOX_LONG_PRESS_MS)
    hold_ms = config.get(opt.BUTTONBOX_URGENT_PRESS_MS)
    if hold_ms < long_ms + MIN_HOLD_AFTER_LONG_MS:
        log.warning(
            "option devices.buttonbox.urgent_press_ms (%d) is not %d ms longer than "
            "long_press_ms (%d); using %d",
            hold_ms,
            MIN_HOLD_AFTER_LONG_MS,
            long_ms,
            long_ms + MIN_HOLD_AFTER_LONG_MS,
        )
        hold_ms = long_ms + MIN_HOLD_AFTER_LONG_MS
    return DriverSettings(
        port=config.get(opt.BUTTONBOX_PORT) if port is None else port,
        usb_ids=usb_ids,
        heartbeat_s=hb,
        heartbeat_timeout_s=max(config.get(opt.BUTTONBOX_HEARTBEAT_TIMEOUT_S), 2 * hb),
        reconnect_max_s=config.get(opt.BUTTONBOX_RECONNECT_MAX_S),
        reprobe_s=config.get(opt.BUTTONBOX_REPROBE_S),
        long_press_ms=long_ms,
        hold_ms=hold_ms,
    )


class ButtonBoxService:
    """Presses become call commands; LEDs follow the console; events go on the bus."""

    def __init__(
        self,
        session: Host,
        settings: DriverSettings | None = None,
        comports: Callable[[], Sequence[ComPort]] | None = None,
        link_clock: Clock | None = None,
    ) -> None:
        self.session = session
        config = session.config
        actions: dict[str, str] = config.get(opt.BUTTONBOX_ACTIONS)
        bindings, problems = parse_bindings(actions)
        for p in problems:
            log.warning("option devices.buttonbox.actions: %s (ignored)", p)
        self.problems = list(problems)
        self.gestures = GestureRecognizer(bindings)
        # commands are immutable: built once, not on every press
        self._commands = {key: b.command() for key, b in bindings.items()}
        self._bound = set(bindings)
        self._timed = {b for (b, g) in bindings if g == "hold"}  # buttons with a hold
        self._feedback: str | None = None  # the gesture LED layer shown
        self.driver = ButtonBoxDriver(
            settings or settings_from_config(config),
            link_clock or SystemClock(),
            self._emit,
            self._on_button,
            comports,
        )
        configured: dict[str, str] = config.get(opt.BUTTONBOX_LEDS)  # typed first: invariant
        leds = dict(configured)
        for state in GESTURE_LAYERS:
            leds.setdefault(state, opt.BUTTONBOX_LEDS.default[state])
        self.leds = LedController(
            session.bus,
            leds,
            self.driver.set_leds,
            state=session.calls.state,
            muted=session.calls.muted,
        )
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
            self._show_gesture(None)
        self.session.bus.publish(event)

    def _show_gesture(self, feedback: str | None) -> None:
        if feedback != self._feedback:
            self._feedback = feedback
            self.leds.set_gesture(feedback)

    def _on_button(self, button: str, kind: Kind) -> None:
        gestures = self.gestures
        gesture = gestures.feed(button, kind)
        if button in self._timed:  # a button with a hold: the LED says what it will give
            self._show_gesture(gestures.feedback())  # before the command acts
        if gesture is None:
            return
        command = self._commands.get((button, gesture))
        action: Action | None = None
        if command is not None:
            action = command.action
            self.session.calls.handle(command)  # refused: the machine says why (CommandRejected)
        level = command.level if command is not None else None
        self.session.bus.publish(ev.ButtonPressed(button, gesture, action, level))
        if command is None:
            ignored = ignored_press(button, gesture, self._bound)
            if ignored is not None:
                self.session.bus.publish(ignored)


def ignored_press(
    button: str, gesture: str, bound: Collection[tuple[str, str]]
) -> ev.PressIgnored | None:
    """Why a gesture bound to nothing did nothing, for the console and ``faro devices
    monitor``. None for an unbound long press on a button without a hold binding (the
    button's tap acted, or was reported as ignored, when it went down), and for a hold (a
    hold is only given where one is bound)."""
    if gesture == "hold":
        return None
    if gesture == "long" and (button, "hold") not in bound:
        return None
    if gesture == "press" and (button, "long") in bound:
        return ev.PressIgnored(
            button,
            gesture,
            "needs_long_press",
            _("The {button} button acts on a long press: hold it.").format(button=button),
        )
    if (button, "hold") in bound:
        return ev.PressIgnored(
            button,
            gesture,
            "needs_hold",
            _(
                "The {button} button acts when held longer: keep holding it until its light "
                "changes."
            ).format(button=button),
        )
    return ev.PressIgnored(
        button,
        gesture,
        "unbound",
        _("Nothing is set for the {button} button.").format(button=button),
    )


def attach(session: Host) -> None:
    if session.config.get(opt.BUTTONBOX_ENABLED):
        session.add_service("buttonbox", ButtonBoxService(session))
    if session.config.get(opt.HEADSET_ENABLED):
        from devices.headset.service import HeadsetService

        session.add_service("headset", HeadsetService(session))
