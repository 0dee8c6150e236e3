"""The interface every telephony backend implements.

A backend carries (or follows) the audio path. It reports what the network does by calling
the machine's ``on_incoming`` and ``on_remote_hangup``, and does what the counselor asks
through ``answer``/``hangup``/``hold``/``mute``. Backends own their threads; the methods
below are called from the machine with its lock held, so they must not block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calls.machine import CallMachine
    from calls.model import Call


class TelephonyBackend:
    name = "base"
    #: True when calls start from the counselor's own presses (there is no ring signal).
    follows_counselor = False

    def start(self, line: CallMachine) -> None:
        self.line = line

    def stop(self) -> None:
        """Release everything; thread-safe and idempotent."""

    def counselor_available(self, available: bool) -> None:
        """Whether the counselor is taking calls now (the routing side may offer one)."""

    def answer(self, call: Call) -> None:
        pass

    def hangup(self, call: Call) -> None:
        pass

    def hold(self, call: Call, on: bool) -> None:
        pass

    def mute(self, on: bool) -> None:
        pass
