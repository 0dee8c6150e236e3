"""The ``headset`` service: the driver, the lights that follow the call, buttons → commands.

Same shape as the button box's service: :class:`HeadsetService` reads the options, builds
the driver (:mod:`devices.headset.driver`, its own owner thread on real time: the wire) and
the LED follower (:class:`~devices.headset.machine.HeadsetLeds`); ``start()`` / ``stop()``;
``status`` and ``message`` for people. A press becomes
``session.calls.handle(Command(action, Source.HEADSET))``, then ``HeadsetButton`` is
published; a press that did nothing is a ``HeadsetPressIgnored``; the LEDs are written again
in full after every press, so the headset shows what Faro does on the line, accepted or
refused. The session starts the same with no headset and no /sys/class/hidraw at all.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from calls.model import Command, Source
from core.config import Config
from core.events import Event
from devices import events as ev
from devices import options as opt
from devices.headset.discovery import DEV_ROOT, SYSFS_ROOT, Candidate
from devices.headset.driver import HeadsetDriver, HeadsetSettings
from devices.headset.evdev_keys import EvdevKeys
from devices.headset.machine import Decision, HeadsetLeds, HeadsetLogic, parse_actions

if TYPE_CHECKING:
    from calls.host import Host

log = logging.getLogger(__name__)

MODES = {"absolute", "toggle"}
MUTE_MODES = {"press", "state"}


def settings_from_config(
    config: Config, sysfs_root: str = SYSFS_ROOT, dev_root: str = DEV_ROOT
) -> HeadsetSettings:
    return HeadsetSettings(
        device=config.get(opt.HEADSET_DEVICE),
        sysfs_root=sysfs_root,
        dev_root=dev_root,
        poll_s=config.get(opt.HEADSET_POLL_S),
    )


def modes_from_config(config: Config) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """The per-USB-id hook and mute modes, and every bad entry (left out)."""
    problems: list[str] = []
    out: list[dict[str, str]] = []
    for option, allowed in ((opt.HEADSET_HOOK_MODE, MODES), (opt.HEADSET_MUTE_MODE, MUTE_MODES)):
        good: dict[str, str] = {}
        configured: dict[str, str] = config.get(option)
        for key, value in configured.items():
            vid, sep, pid = key.lower().partition(":")
            try:
                ok = bool(sep) and len(vid) == len(pid) == 4 and int(vid, 16) >= 0 <= int(pid, 16)
            except ValueError:
                ok = False
            if not ok or value not in allowed:
                problems.append(f"option {option.key}: '{key}' = '{value}' (ignored)")
            else:
                good[key.lower()] = value
        out.append(good)
    return out[0], out[1], problems


class HeadsetService:
    """Headset buttons become call commands; its lights follow the call."""

    def __init__(
        self,
        session: Host,
        settings: HeadsetSettings | None = None,
        *,
        sysfs_root: str = SYSFS_ROOT,
        dev_root: str = DEV_ROOT,
        input_root: str = "/dev/input",
    ) -> None:
        self.session = session
        config = session.config
        configured: dict[str, str] = config.get(opt.HEADSET_ACTIONS)
        self.bindings, problems = parse_actions(configured)
        self.hook_modes, self.mute_modes, more = modes_from_config(config)
        self.problems = problems + more
        for p in self.problems:
            log.warning("headset: %s", p)
        self.logic = HeadsetLogic(self.bindings, hook_toggle=False)
        self.driver = HeadsetDriver(
            settings or settings_from_config(config, sysfs_root, dev_root),
            self._emit,
            self._on_values,
            self._on_connect,
        )
        self.leds = HeadsetLeds(
            session.bus, self._set_leds, state=session.calls.state, muted=session.calls.muted
        )
        self.keys = EvdevKeys(self._on_key, input_root)
        self._stop_lock = threading.Lock()
        self._stopped = False

    # -- the face ------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """stopped, searching, connected, disconnected or rejected."""
        return self.driver.status

    @property
    def message(self) -> str:
        return self.driver.message

    @property
    def headset(self) -> Candidate | None:
        return self.driver.headset

    def start(self) -> None:
        self.leds.push(force=True)
        self.driver.start()
        if self.keys.start():
            log.info("headset keys: %d input device(s)", len(self.keys.devices))

    def stop(self) -> None:
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.driver.stop(final_leds={})  # all off: Faro no longer drives the headset
        self.keys.stop()

    def _set_leds(self, leds: dict[str, bool]) -> None:
        """The lights to show. An absolute hook switch follows the host's Off-Hook light
        (the call answered or ended on the screen or the box), often without a report: from
        now on that is the hook's state, so the counselor's next move of it is a change."""
        self.logic.follow_off_hook(bool(leds.get("off_hook")))
        self.driver.set_leds(leds)

    # -- on the driver's owner thread -----------------------------------------------------
    def _emit(self, event: Event) -> None:
        self.session.bus.publish(event)

    def _on_connect(self, cand: Candidate) -> None:
        tel = cand.tel
        assert tel is not None
        hook = self.hook_modes.get(cand.usb_id)
        toggle = tel.hook_relative() is True if hook is None else hook == "toggle"
        mute_state = self.mute_modes.get(cand.usb_id) == "state"
        self.logic.hook_toggle, self.logic.mute_state = toggle, mute_state
        self.logic.reset()
        # the resync about to be written lights Off-Hook during a call: the hook follows it
        self.logic.follow_off_hook(self.session.calls.state.in_call)
        log.info(
            "headset %s (%s): hook %s, mute %s",
            cand.node,
            cand.usb_id,
            "toggle" if toggle else "absolute",
            "state" if mute_state else "press",
        )

    def _on_values(self, values: dict[str, int]) -> bool:
        calls = self.session.calls
        decisions = self.logic.feed(values, calls.state, calls.muted)
        for d in decisions:
            self.act(d)
        return bool(decisions)

    def _on_key(self, key: str) -> None:
        """A headset key (the evdev fallback's thread)."""
        d = self.logic.key(key, self.session.calls.state)
        if d is not None:
            self.act(d)

    def act(self, d: Decision) -> None:
        """Carry out one decision (also the evdev fallback's, from its thread)."""
        if d.action is not None:
            self.session.calls.handle(Command(d.action, Source.HEADSET))  # refused: says why
        self.session.bus.publish(ev.HeadsetButton(d.usage, d.value, d.gesture, d.action))
        if d.ignored is not None:
            self.session.bus.publish(
                ev.HeadsetPressIgnored(d.usage, d.gesture, d.ignored, d.message)
            )
