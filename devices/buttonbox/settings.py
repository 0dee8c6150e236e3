"""``DriverSettings``: how the driver finds, greets and watches a box (from the options:
:func:`devices.service.settings_from_config`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DriverSettings:
    port: str = ""
    usb_ids: tuple[tuple[int, int], ...] = ((0x2E8A, 0x0005),)
    heartbeat_s: float = 0.5
    heartbeat_timeout_s: float = 2.0
    hello_timeout_s: float = 1.0
    reconnect_min_s: float = 0.05
    reconnect_max_s: float = 1.0
    long_press_ms: int = 800
    #: the hold (by default Help's urgent escalation), judged by the box's clock (holds.py)
    hold_ms: int = 2500
    led_retry_s: float = 0.25
    #: handshake rounds before the console hears "does not answer" (silence: tried again for
    #: ever) or a device whose bytes never make a frame is set aside
    silent_attempts: int = 3
    reprobe_s: float = 30.0  # a device set aside is probed again after this long
    baudrate: int = 115200
    bad_frames_every_s: float = 0.5
