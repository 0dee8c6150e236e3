"""Live assistance in the media pump: who hears whom in each mode is decided by Faro alone
(calls/sip/pump.py's table), and a supervisor's voice never reaches voice activity as the
caller's. Fake engine audio with a distinct level per party; the real pump thread."""

from __future__ import annotations

import threading
import time
import types

import numpy as np
import pytest

from calls.media import CallMedia
from calls.sip.pump import ASSIST, MediaPump
from tests.support.toolkit import wait_until

CALLER, SUPERVISOR, COUNSELOR = 1000, 100, 10


class _Audio:
    """An engine call's audio: ``read`` gives a constant level, ``write`` keeps what went out."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.out: list[np.ndarray] = []
        self.lock = threading.Lock()

    def read(self, n: int) -> bytes:
        return np.full(480, self.level, dtype=np.int16).tobytes()

    def write(self, data: bytes) -> None:
        with self.lock:
            self.out.append(np.frombuffer(data, dtype=np.int16).copy())

    def sent(self) -> set[int]:
        with self.lock:
            blocks, self.out = self.out, []
        return {int(v) for b in blocks for v in np.unique(b)}

    def info(self):
        return types.SimpleNamespace(tx_buffered=0)

    def flush_tx(self) -> None:
        pass


class _Rig:
    def __init__(self) -> None:
        self.media = CallMedia()
        self.far: list[int] = []
        self.heard: list[int] = []
        self.media.on_far(lambda b: self.far.extend(np.unique(b).tolist()))
        self.media.on_heard(lambda b: self.heard.extend(np.unique(b).tolist()))
        self.pump = MediaPump(self.media, rx_format=lambda: (48000, 1))
        self.caller = _Audio(CALLER)
        self.sup = _Audio(SUPERVISOR)
        self.pump.add("caller", self.caller)
        self.pump.add("sup", self.sup, role=ASSIST)
        self._stop = threading.Event()
        self._mic = threading.Thread(target=self._speak, daemon=True)
        self._mic.start()

    def _speak(self) -> None:
        while not self._stop.is_set():
            self.media.send_near(np.full(480, COUNSELOR, dtype=np.int16))
            time.sleep(0.01)

    def settle(self) -> None:
        time.sleep(0.4)
        self.caller.sent(), self.sup.sent()
        self.far.clear(), self.heard.clear()
        time.sleep(0.6)

    def close(self) -> None:
        self._stop.set()
        self._mic.join()
        self.pump.stop()


@pytest.fixture
def rig():
    r = _Rig()
    yield r
    r.close()


def test_listen_the_supervisor_hears_both_and_nobody_hears_the_supervisor(rig):
    rig.pump.set_assist_mode("listen")
    rig.settle()
    assert CALLER + COUNSELOR in rig.sup.sent()
    to_caller = rig.caller.sent()
    assert COUNSELOR in to_caller and max(to_caller) == COUNSELOR
    assert set(rig.far) == {CALLER} and set(rig.heard) == {CALLER}


def test_coach_only_the_counselor_hears_the_supervisor(rig):
    rig.pump.set_assist_mode("coach")
    rig.settle()
    assert CALLER + COUNSELOR in rig.sup.sent()
    assert max(rig.caller.sent()) == COUNSELOR
    assert set(rig.far) == {CALLER}, "the coach's voice is not the caller's for the VAD"
    assert CALLER + SUPERVISOR in rig.heard


def test_barge_everyone_hears_everyone(rig):
    rig.pump.set_assist_mode("barge")
    rig.settle()
    assert CALLER + COUNSELOR in rig.sup.sent()
    assert SUPERVISOR + COUNSELOR in rig.caller.sent()
    assert set(rig.far) == {CALLER}
    assert CALLER + SUPERVISOR in rig.heard


def test_a_muted_counselor_still_speaks_to_the_coach_not_to_the_caller(rig):
    rig.pump.set_assist_mode("coach")
    rig.pump.set_muted(True)
    rig.settle()
    assert rig.caller.sent() == {0}
    assert CALLER + COUNSELOR in rig.sup.sent()


def test_the_caller_on_hold_hears_nothing_while_counselor_and_coach_talk(rig):
    rig.pump.set_assist_mode("barge")
    rig.pump.set_talking("caller", False)
    rig.settle()
    assert rig.caller.sent() <= {0}  # only the keepalive's silence, if anything
    assert COUNSELOR in {v - CALLER if v >= CALLER else v for v in rig.sup.sent()}


def test_the_assistance_leg_ending_leaves_the_call_as_it_was(rig):
    rig.pump.set_assist_mode("barge")
    rig.pump.remove("sup")
    rig.settle()
    assert max(rig.caller.sent()) == COUNSELOR
    assert set(rig.heard) == {CALLER}
    wait_until(lambda: rig.pump.has("caller"), 1, "the caller's leg stays")


def test_an_unknown_mode_is_refused(rig):
    with pytest.raises(ValueError):
        rig.pump.set_assist_mode("record")


class _EveryOther(_Audio):
    """A leg whose 20 ms packets land on every other 10 ms tick (as real engines' do)."""

    def __init__(self, level: int, phase: int) -> None:
        super().__init__(level)
        self.n = phase

    def read(self, n: int) -> bytes:
        self.n += 1
        if self.n % 2:
            return b""
        return np.full(960, self.level, dtype=np.int16).tobytes()


@pytest.mark.parametrize("mode", ["coach", "barge"])
def test_legs_in_different_ticks_are_mixed_in_real_time_not_played_one_after_the_other(mode):
    media = CallMedia()
    far: list[int] = []
    heard: list[np.ndarray] = []
    media.on_far(lambda b: far.append(len(b)))
    media.on_heard(heard.append)
    pump = MediaPump(media, rx_format=lambda: (48000, 1))
    pump.set_assist_mode(mode)
    pump.add("caller", _EveryOther(CALLER, 0))
    pump.add("sup", _EveryOther(SUPERVISOR, 1), role=ASSIST)
    try:
        time.sleep(0.5)
        far.clear(), heard.clear()
        t0 = time.monotonic()
        time.sleep(2.0)
        span = time.monotonic() - t0
        got_far = sum(far) / 48000 / span
        got_heard = sum(len(b) for b in heard) / 48000 / span
        # the stall watch needs no gap either: both flow
        assert 0.8 < got_far < 1.2, f"far side at {got_far:.2f}x real time"
        assert 0.8 < got_heard < 1.2, f"headset at {got_heard:.2f}x real time"
        levels = {int(v) for b in heard for v in np.unique(b)}
        assert CALLER + SUPERVISOR in levels  # mixed, not one after the other
    finally:
        pump.stop()


def test_a_coach_is_heard_while_the_caller_sends_nothing():
    media = CallMedia()
    far: list[np.ndarray] = []
    heard: list[np.ndarray] = []
    media.on_far(far.append)
    media.on_heard(heard.append)
    pump = MediaPump(media, rx_format=lambda: (48000, 1))
    pump.set_assist_mode("coach")
    caller = _Audio(CALLER)
    caller.read = lambda n: b""  # the caller holds us: nothing arrives
    pump.add("caller", caller)
    pump.add("sup", _Audio(SUPERVISOR), role=ASSIST)
    try:
        time.sleep(1.0)
        assert heard and {int(v) for b in heard for v in np.unique(b)} == {SUPERVISOR}
        assert not far, "the coach's voice alone is not the caller's"
        rate = sum(len(b) for b in heard) / 48000
        assert 0.6 < rate < 1.2
    finally:
        pump.stop()
