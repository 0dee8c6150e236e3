"""The media pump's watch on the caller's audio: a gap of a second or more on a call that is
not on hold is reported, and so is its end; a hold by either side is not a gap."""

from __future__ import annotations

import threading
import time
import types

import numpy as np

from calls.media import CallMedia
from calls.sip.pump import STALL_S, MediaPump
from tests.support.toolkit import wait_until


class _Audio:
    """What the engine's call audio does: ``read`` gives what arrived from the network."""

    def __init__(self) -> None:
        self.flowing = threading.Event()
        self.flowing.set()
        self.written = 0

    def read(self, n: int) -> bytes:
        return np.full(480, 1000, dtype=np.int16).tobytes() if self.flowing.is_set() else b""

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def info(self):
        return types.SimpleNamespace(tx_buffered=0)

    def flush_tx(self) -> None:
        pass


def _pump():
    told: list[tuple[str, bool, float]] = []
    pump = MediaPump(CallMedia(), rx_format=lambda: (48000, 1), on_flow=lambda *a: told.append(a))
    return pump, told


def test_a_gap_in_the_callers_audio_is_told_and_so_is_its_end():
    pump, told = _pump()
    audio = _Audio()
    pump.add("leg", audio)
    try:
        time.sleep(0.2)
        audio.flowing.clear()
        t0 = time.monotonic()
        wait_until(lambda: told, 3, "the gap reported")
        assert told[0][:2] == ("leg", False)
        assert STALL_S - 0.05 <= time.monotonic() - t0 <= STALL_S + 0.5
        time.sleep(0.5)
        audio.flowing.set()
        wait_until(lambda: len(told) == 2, 3, "the end of the gap reported")
        assert told[1][:2] == ("leg", True) and 1.3 <= told[1][2] <= 2.0
        assert len(told) == 2
    finally:
        pump.remove("leg")
        pump.stop()


def test_a_hold_by_either_side_is_not_a_gap():
    pump, told = _pump()
    audio = _Audio()
    pump.add("leg", audio)
    try:
        time.sleep(0.2)
        pump.set_talking("leg", False)  # the counselor holds the caller
        audio.flowing.clear()
        time.sleep(STALL_S + 0.5)
        audio.flowing.set()
        pump.set_talking("leg", True)
        time.sleep(0.2)
        pump.set_expect_rx("leg", False)  # the caller's phone holds the counselor
        audio.flowing.clear()
        time.sleep(STALL_S + 0.5)
        audio.flowing.set()
        pump.set_expect_rx("leg", True)
        time.sleep(0.3)
        assert told == []
    finally:
        pump.remove("leg")
        pump.stop()
