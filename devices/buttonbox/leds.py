"""What the box's LEDs show: console state → LED patterns, from the option devices.buttonbox.leds.

A mapping value is ``"led=mode[:colour], ..."``: ``"answer=blink_fast:green"``. The shown
state is built in layers, later layers winning for the same LED: the call state (or
``offline``), then ``muted`` while muted in a call, then the escalation state
(``escalation_pending`` / ``escalation_acknowledged``), then the gesture of a button with a
hold binding while it is held (``gesture_long`` past the long-press time: released now it is
a long press; ``gesture_hold`` once the hold is reached), so the counselor sees which one
they will get. LEDs no layer names are off. :class:`LedController` follows the call
machine's events and hands each new state to a sink (the driver's ``set_leds``); the
escalation work calls :meth:`LedController.set_escalation`, the button-box service
:meth:`LedController.set_gesture`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from calls.events import CallStateChanged, MuteChanged
from calls.model import CallState
from core.events import EventBus
from devices.buttonbox.protocol import LedMode

log = logging.getLogger(__name__)

STATES = (
    "available",
    "ringing",
    "on_call",
    "on_hold",
    "wrap_up",
    "break",
    "muted",
    "escalation_pending",
    "escalation_acknowledged",
    "offline",
    "gesture_long",
    "gesture_hold",
)
ESCALATION_STATES = ("pending", "acknowledged")
GESTURE_STATES = ("long", "hold")
COLOURS = {
    "white": (255, 255, 255),
    "red": (255, 0, 0),
    "green": (0, 200, 0),
    "blue": (0, 80, 255),
    "amber": (255, 160, 0),
    "yellow": (255, 230, 0),
    "purple": (160, 0, 255),
}
MODES = {m.name.lower(): m for m in LedMode}


@dataclass(frozen=True, slots=True)
class LedPattern:
    mode: LedMode
    rgb: tuple[int, int, int] = COLOURS["white"]

    @property
    def colour(self) -> str:
        r, g, b = self.rgb
        return f"#{r:02x}{g:02x}{b:02x}"


LedFrame = dict[str, LedPattern]  # LED name → pattern (absent: off)


def parse_spec(spec: str) -> LedFrame:
    """``"answer=blink:green, mute=on"`` → {name: pattern}; ValueError says what is wrong."""
    out: LedFrame = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, sep, rest = item.partition("=")
        mode_name, _, colour = rest.partition(":")
        name, mode_name, colour = name.strip(), mode_name.strip().lower(), colour.strip().lower()
        if not sep or not name or mode_name not in MODES:
            raise ValueError(f"'{item}': use led=mode[:colour], mode one of {', '.join(MODES)}")
        rgb = COLOURS["white"]
        if colour:
            if colour in COLOURS:
                rgb = COLOURS[colour]
            elif len(colour) == 7 and colour.startswith("#"):
                try:
                    rgb = (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))
                except ValueError:
                    raise ValueError(f"'{item}': bad colour {colour}") from None
            else:
                raise ValueError(f"'{item}': colour is a name ({', '.join(COLOURS)}) or #rrggbb")
        out[name] = LedPattern(MODES[mode_name], rgb)
    return out


def parse_mapping(mapping: Mapping[str, str]) -> tuple[dict[str, LedFrame], list[str]]:
    """The usable layers and a description of every bad entry (left out)."""
    layers: dict[str, LedFrame] = {}
    problems: list[str] = []
    for state, spec in mapping.items():
        if state not in STATES:
            problems.append(f"unknown LED state '{state}' (one of {', '.join(STATES)})")
            continue
        try:
            layers[state] = parse_spec(str(spec))
        except ValueError as exc:
            problems.append(f"{state}: {exc}")
    return layers, problems


def compose(
    layers: Mapping[str, LedFrame],
    call_state: CallState,
    muted: bool,
    escalation: str | None,
    offline: bool,
    gesture: str | None = None,
) -> LedFrame:
    """The LED frame for a console state (pure)."""
    frame: LedFrame = {}
    frame.update(layers.get("offline" if offline else call_state.value, {}))
    if muted and call_state.in_call and not offline:
        frame.update(layers.get("muted", {}))
    if escalation and not offline:
        frame.update(layers.get(f"escalation_{escalation}", {}))
    if gesture and not offline:
        frame.update(layers.get(f"gesture_{gesture}", {}))
    return {k: v for k, v in frame.items() if v.mode is not LedMode.OFF}


class LedController:
    """Follows the console state and pushes the LED frame to ``sink`` on every change."""

    def __init__(
        self,
        bus: EventBus,
        mapping: Mapping[str, str],
        sink: Callable[[LedFrame], None],
        *,
        state: CallState = CallState.AVAILABLE,
        muted: bool = False,
    ) -> None:
        self.layers, problems = parse_mapping(mapping)
        for p in problems:
            log.warning("option devices.buttonbox.leds: %s (ignored)", p)
        self.problems = problems
        self._sink = sink
        self._lock = threading.Lock()
        self._state = state
        self._muted = muted
        self._escalation: str | None = None
        self._offline = False
        self._gesture: str | None = None
        self._last: LedFrame | None = None
        bus.subscribe(CallStateChanged, self._on_state)
        bus.subscribe(MuteChanged, self._on_mute)

    @property
    def frame(self) -> LedFrame:
        with self._lock:
            return self._compose()

    def _compose(self) -> LedFrame:
        """The frame of the layers now (the caller holds the lock)."""
        return compose(
            self.layers, self._state, self._muted, self._escalation, self._offline, self._gesture
        )

    def push(self, force: bool = False) -> None:
        with self._lock:
            frame = self._compose()
            if frame == self._last and not force:
                return
            self._last = frame
            self._sink(frame)  # under the lock: frames reach the sink in order

    def set_escalation(self, state: str | None) -> None:
        """Escalation LED layer: "pending", "acknowledged", or None to clear it."""
        if state is not None and state not in ESCALATION_STATES:
            raise ValueError(f"escalation LED state must be one of {ESCALATION_STATES} or None")
        with self._lock:
            self._escalation = state
        self.push()

    def set_gesture(self, gesture: str | None) -> None:
        """Gesture LED layer while a button with a hold binding is held: "long" (past the
        long-press time), "hold" (the hold reached), or None (released)."""
        if gesture is not None and gesture not in GESTURE_STATES:
            raise ValueError(f"gesture LED state must be one of {GESTURE_STATES} or None")
        with self._lock:
            self._gesture = gesture
        self.push()

    def set_offline(self, offline: bool) -> None:
        """Show ``offline`` (the console is not taking calls: shutting down, no telephony)."""
        with self._lock:
            self._offline = offline
        self.push()

    def _on_state(self, event: CallStateChanged) -> None:
        with self._lock:
            self._state = event.state
            self._muted = event.muted
        self.push()

    def _on_mute(self, event: MuteChanged) -> None:
        with self._lock:
            self._muted = event.muted
        self.push()
