"""The real capture path: PulseAudio null sink → its monitor → sounddevice → the service."""

from __future__ import annotations

import time

import numpy as np
import pytest
import sounddevice as sd

from audio import events as ev
from audio.segments import to_segments, trim_hangover
from audio.service import DEVICE_LOST, LISTENING, AudioService
from core.clock import SystemClock
from core.config import Config
from tests.support.audio_speech import known_recording, match_segments
from tests.support.toolkit import wait_until


class Tap:
    """Keeps every frame result of the near side the worker hands to the metrics."""

    def __init__(self, svc: AudioService) -> None:
        self.parts: list = []
        self._orig = svc.health.on_frames
        svc.health.on_frames = self._on_frames  # type: ignore[method-assign]  # a tap, on purpose

    def _on_frames(self, near, far) -> None:
        if near is not None:
            self.parts.append(near)
        self._orig(near, far)

    def frames(self) -> int:
        return sum(len(p.speech) for p in self.parts)


def _service(bus, **over) -> AudioService:
    cfg = Config(
        {"audio.near_device": "pulse", "audio.far_device": "none", "audio.retry_s": 0.3, **over}
    )
    return AudioService(cfg, SystemClock(), bus)


@pytest.mark.slow  # plays a recording in real time (~13 s)
def test_played_recording_is_segmented_within_150_ms(pulse_server, bus):
    svc = _service(bus)
    tap = Tap(svc)
    svc.start()
    try:
        wait_until(lambda: svc.status == LISTENING and tap.frames() > 50, 15, "capture running")
        rate = 48000
        audio, truth = known_recording(rate)
        start_frame = tap.frames()
        t_play = time.monotonic()
        sd.play(audio, rate, device="pulse", blocking=True)
        # as long again as the stream's latency allows: 0.8 s of frames after the end
        tail = start_frame + int(audio.shape[0] / rate * 100) + 80
        wait_until(lambda: tap.frames() >= tail, 10, "the recording's tail captured")
        # align: the frame count at play time is our zero; allow for the stream latency
        parts = list(tap.parts)
    finally:
        svc.stop()
    speech = np.concatenate([p.region for p in parts])
    evidence = np.concatenate([p.evidence for p in parts])
    mask = trim_hangover(speech, evidence, 2)[start_frame:]
    found = to_segments(mask)
    assert found, "nothing was heard"
    # the recording's own first sample is at the offset where the quiet lead-in starts:
    # estimate the path latency from the first onset, then check every edge against truth
    latency = found[0][0] - truth[0][0]
    assert -0.05 < latency < 1.0, (latency, found)
    shifted = [[a - latency, b - latency] for a, b in found]
    assert not match_segments(shifted, truth, 0.15), (shifted, truth, time.monotonic() - t_play)
    assert svc.snapshot().dropped_blocks == 0


def test_unplugged_sink_raises_an_event_and_capture_resumes(pulse_server, bus, recorder):
    svc = _service(bus)
    tap = Tap(svc)
    svc.start()
    try:
        wait_until(lambda: svc.status == LISTENING and tap.frames() > 30, 15, "capture running")
        tries: list[int] = []
        reopen = svc._open_missing
        svc._open_missing = lambda want_far: (tries.append(1), reopen(want_far))[1]  # type: ignore[method-assign]  # counts the retries
        t0 = time.monotonic()
        pulse_server.remove_sink()
        t_lost, lost = recorder.wait_event(ev.AudioDeviceLost, timeout=5)
        assert t_lost - t0 < 1.0, f"AudioDeviceLost after {t_lost - t0:.2f} s"
        assert lost.side == "near"
        assert svc.status == DEVICE_LOST
        # several failed reopen attempts while it is away: no crash
        wait_until(lambda: len(tries) >= 3, 10, "three reopen attempts")
        frames_while_away = tap.frames()
        pulse_server.add_sink()
        recorder.wait_event(ev.AudioDeviceRestored, timeout=10)
        wait_until(lambda: tap.frames() > frames_while_away + 50, 10, "capture resumed")
        assert svc.status == LISTENING
    finally:
        svc.stop()
    assert all(
        t.name != "faro-audio-worker" or not t.is_alive()
        for t in __import__("threading").enumerate()
    )
