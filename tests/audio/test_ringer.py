"""The ring: each sound's shape, heard on a real (PulseAudio null) sink while a call rings and
silent within a block when it stops; a missing sound card never matters to the call."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.session import Session
from audio.ringer import RATE, SOUNDS, Ringer, pattern
from calls.model import Action, CallState, Command, Source
from console.commands.demo import demo_overrides
from core.config import Config
from tests.audio.test_audio_call_media import MonitorRecorder
from tests.support.toolkit import wait_until


@pytest.mark.parametrize("sound", [s for s in SOUNDS if s != "none"])
def test_each_sound_rings_then_pauses_and_never_clips(sound):
    cycle = pattern(sound)
    assert 2.0 <= cycle.size / RATE <= 4.0  # a ring every 2-4 s
    assert 0.3 < np.abs(cycle).max() <= 1.0
    tail = cycle[-int(0.5 * RATE) :]
    assert np.abs(tail).max() == 0  # the pause
    assert pattern("none").size == 0
    with pytest.raises(ValueError):
        pattern("siren")


def _loud_until(rec: MonitorRecorder, after: float) -> float | None:
    """Arrival of the last loud chunk after ``after``."""
    last = None
    for t, c in list(rec.chunks):
        if t >= after and c.size and np.abs(c).max() > 1500:
            last = t
    return last


def test_rings_on_the_sink_and_stops_within_a_block(pulse_server):
    ringer = Ringer("classic", 0.8)
    ringer.start()
    rec = MonitorRecorder(pulse_server, pulse_server.monitor)
    try:
        time.sleep(0.3)
        t0 = time.monotonic()
        ringer.ring()
        wait_until(lambda: rec.onset(t0, threshold=1500) is not None, 3, "the ring heard")
        onset = rec.onset(t0, threshold=1500)
        # a null sink waking from idle takes ~1.5 s before it consumes (docs/audio.md); a
        # sound card starts at once
        assert onset is not None and onset - t0 < 2.0, onset - t0
        time.sleep(0.3)  # inside the classic ring's one second of tone
        t1 = time.monotonic()
        ringer.silence()
        wait_until(lambda: not ringer.ringing, 2, "the stream closed")
        time.sleep(0.6)
        last = _loud_until(rec, t1)
        assert last is None or last - t1 < 0.25, last - t1  # a block and the sink's latency
        assert ringer.rings == 1 and ringer.failures == 0
    finally:
        rec.stop()
        ringer.stop()


def test_no_sound_card_is_said_once_and_never_raises(caplog):
    def broken(_spec: str) -> object:
        raise RuntimeError("Error querying device -1")

    ringer = Ringer("chime", open_stream=broken)
    ringer.start()
    try:
        for _ in range(3):
            ringer.ring()
            wait_until(lambda: ringer.failures > 0, 2, "a failed try")
            ringer.silence()
        assert ringer.rings == 0
        assert sum("cannot play" in r.message for r in caplog.records) == 1
    finally:
        ringer.stop()


class _Stream:
    def __init__(self) -> None:
        self.samples = 0
        self.closed = False

    def write(self, data) -> None:
        self.samples += len(data)
        time.sleep(len(data) / RATE / 4)  # faster than real time, still paced

    def abort(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_the_session_rings_while_ringing_and_not_after(paths, fake_clock):
    """The flow: CallStateChanged → ring / silence (the stream is a stand-in here; the real
    stream is the test above)."""
    session = Session(Config(demo_overrides("demo")), paths=paths, clock=fake_clock)
    ringer = session.service("ringer")
    streams: list[_Stream] = []

    def opened(_spec: str) -> _Stream:
        streams.append(_Stream())
        return streams[-1]

    ringer._open_stream = opened
    session.start()
    try:
        wait_until(lambda: session.calls.state is CallState.AVAILABLE, 3, "available")
        fake_clock.advance(3.0)
        wait_until(lambda: session.calls.state is CallState.RINGING, 3, "ringing")
        wait_until(lambda: ringer.ringing, 2, "the ring playing")
        session.calls.handle(Command(Action.ANSWER, Source.KEYBOARD))
        wait_until(lambda: not ringer.ringing, 2, "silent once answered")
        assert len(streams) == 1 and streams[0].closed
    finally:
        session.stop()


def test_none_never_opens_a_device():
    opened = []
    ringer = Ringer("none", open_stream=lambda s: opened.append(s))
    ringer.start()
    try:
        ringer.ring()
        time.sleep(0.2)
        assert not opened and not ringer.ringing
    finally:
        ringer.stop()
