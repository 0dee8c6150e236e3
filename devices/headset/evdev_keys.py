"""The fallback for headsets whose buttons come as keys, not HID telephony usages.

Some headsets (and the kernel's hid-input for some telephony usages) send KEY_PHONE,
KEY_MICMUTE, KEY_PICKUP_PHONE / KEY_HANGUP_PHONE through an input device
(/dev/input/eventN). :func:`key_press` maps one input event to the binding key of
``devices.headset.actions`` (``"KEY_PHONE:press"``), so the same option maps both kinds;
:class:`HeadsetLogic.key <devices.headset.machine.HeadsetLogic.key>` resolves it by the call
state (``answer_or_hang_up``). :class:`EvdevKeys` is the reader: python-evdev (pinned in
requirements.lock), one thread ("faro-headset-keys") that reads the devices having such
keys and never grabs them (the desktop still sees the volume keys). There is no
/dev/uinput on the CI machines, so the tests feed ``evdev.InputEvent`` objects to
:func:`key_press` and the logic; the reader's device search is tested on an empty
/dev/input.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Callable
from typing import Any

from devices.headset.machine import KEYS

log = logging.getLogger(__name__)

EV_KEY = 0x01
KEY_CODES = {
    "KEY_PHONE": 169,
    "KEY_MICMUTE": 248,
    "KEY_PICKUP_PHONE": 445,
    "KEY_HANGUP_PHONE": 446,
}
NAMES = {code: name for name, code in KEY_CODES.items()}
assert set(NAMES.values()) <= set(KEYS)


def key_press(ev_type: int, code: int, value: int) -> str | None:
    """The key name of a press (value 1) of a headset key; None for anything else (a
    release, an autorepeat, another key)."""
    if ev_type != EV_KEY or value != 1:
        return None
    return NAMES.get(code)


def find_key_devices(input_root: str = "/dev/input") -> list[Any]:
    """The evdev devices with a headset key (empty without python-evdev or /dev/input)."""
    try:
        import evdev
    except ImportError:
        return []
    found = []
    try:
        names = sorted(n for n in os.listdir(input_root) if n.startswith("event"))
    except OSError:
        return []
    for name in names:
        try:
            dev = evdev.InputDevice(os.path.join(input_root, name))
        except OSError:
            continue
        keys = set(dev.capabilities().get(EV_KEY, []))
        if keys & set(NAMES):
            found.append(dev)
        else:
            dev.close()
    return found


class EvdevKeys:
    """Reads headset keys on its own thread and hands each press to ``on_key``."""

    def __init__(self, on_key: Callable[[str], None], input_root: str = "/dev/input") -> None:
        self._on_key = on_key
        self._root = input_root
        self._stop_r, self._stop_w = os.pipe()
        self._thread: threading.Thread | None = None
        self.devices: list[Any] = []

    def start(self) -> bool:
        """Start if a device with a headset key is there (False: nothing to read)."""
        self.devices = find_key_devices(self._root)
        if not self.devices:
            return False
        self._thread = threading.Thread(target=self._run, name="faro-headset-keys", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        os.write(self._stop_w, b"x")
        if self._thread is not None:
            self._thread.join(5)
        for dev in self.devices:
            dev.close()
        for fd in (self._stop_r, self._stop_w):
            os.close(fd)

    def _run(self) -> None:
        by_fd = {dev.fd: dev for dev in self.devices}
        while by_fd:
            ready = select.select([self._stop_r, *by_fd], [], [])[0]
            if self._stop_r in ready:
                return
            for fd in ready:
                dev = by_fd[fd]
                try:
                    events = list(dev.read())
                except OSError:  # unplugged
                    log.info("headset key device %s went away", dev.path)
                    del by_fd[fd]
                    continue
                for event in events:
                    name = key_press(event.type, event.code, event.value)
                    if name is not None:
                        try:
                            self._on_key(name)
                        except Exception:
                            log.exception("headset key handler failed")
