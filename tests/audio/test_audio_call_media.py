"""Faro's own call audio (calls.media.CallMedia) through a real PulseAudio server.

The fake engine is the real contract: a ``CallMedia`` plus a sink that collects the
microphone blocks. The caller is played into the null sink ``faro_test`` (recorded from its
monitor with ``parec``); the microphone is the monitor of a second null sink, ``faro_mic``,
that ``pacat`` plays a tone into. Nothing is written to disk.
"""

from __future__ import annotations

import subprocess
import threading
import time

import numpy as np
import pytest

from audio import devices as adev
from audio import events as ev
from audio.service import OUT, AudioService
from calls.media import RATE, CallMedia
from core.clock import SystemClock
from core.config import Config
from tests.support.audio_speech import known_recording
from tests.support.pulse import refresh_portaudio
from tests.support.toolkit import Recorder, wait_until

MIC = "faro_mic"


class FakeEngine:
    """What a SIP engine does with the media: collect the mic, deliver the caller."""

    def __init__(self) -> None:
        self.media = CallMedia()
        self.near: list[tuple[float, np.ndarray]] = []
        self._lock = threading.Lock()

    def _sink(self, block: np.ndarray) -> None:
        with self._lock:
            self.near.append((time.monotonic(), block))

    def answer(self) -> None:
        self.media.attach_sink(self._sink)

    def hang_up(self) -> None:
        self.media.attach_sink(None)

    def near_blocks(self) -> list[tuple[float, np.ndarray]]:
        with self._lock:
            return list(self.near)

    def play_far(self, samples: np.ndarray, block: int = 960) -> float:
        """Deliver float samples as 20 ms int16 blocks, paced in real time; start time."""
        pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16)
        t0 = time.monotonic()
        for i, start in enumerate(range(0, pcm.size, block)):
            self.media.deliver_far(pcm[start : start + block])
            delay = t0 + (i + 1) * block / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return t0


def tone(freq: float, seconds: float, level: float = 0.3, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int = RATE) -> float:
    x = x.astype(np.float64)
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spec) * rate / x.size)


class MonitorRecorder:
    """``parec`` on a sink's monitor, each chunk stamped with its arrival time."""

    def __init__(self, pulse, source: str) -> None:
        self.chunks: list[tuple[float, np.ndarray]] = []
        self.proc = subprocess.Popen(
            [
                "parec",
                f"--server={pulse.server}",
                f"--device={source}",
                "--format=s16le",
                "--rate=48000",
                "--channels=1",
                "--latency-msec=10",
                "--raw",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            data = self.proc.stdout.read1(960)  # type: ignore[attr-defined]
            if not data:
                return
            self.chunks.append(
                (time.monotonic(), np.frombuffer(data[: len(data) // 2 * 2], dtype=np.int16))
            )

    def audio(self) -> np.ndarray:
        parts = [c for _t, c in list(self.chunks)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def onset(self, after: float, threshold: int = 3000) -> float | None:
        """Arrival time of the first chunk after ``after`` holding the tone."""
        for t, c in list(self.chunks):
            if t >= after and c.size and np.abs(c).max() > threshold:
                return t
        return None

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


@pytest.fixture
def mic(pulse_server, monkeypatch):
    """A second null sink whose monitor is the microphone; returns its module id."""
    module = pulse_server.pactl(
        "load-module", "module-null-sink", f"sink_name={MIC}", "rate=48000", "channels=1"
    ).strip()
    pulse_server.pactl("set-default-sink", pulse_server.sink)
    monkeypatch.setenv("PULSE_SOURCE", f"{MIC}.monitor")
    refresh_portaudio()
    yield module


@pytest.fixture
def silent_mic(pulse_server, monkeypatch):
    """A microphone that is a null source (silence, steadily clocked): no second sink that
    PulseAudio (14+) would move the playback to when ``faro_test`` goes away."""
    module = pulse_server.pactl(
        "load-module", "module-null-source", f"source_name={MIC}", "rate=48000"
    ).strip()
    monkeypatch.setenv("PULSE_SOURCE", MIC)
    refresh_portaudio()
    yield module


def _start(bus, engine: FakeEngine) -> AudioService:
    cfg = Config({"audio.near_device": "pulse", "audio.retry_s": 0.3})
    svc = AudioService(cfg, SystemClock(), bus, backend=engine)
    assert svc.media is engine.media
    svc.start()
    wait_until(
        lambda: svc.snapshot().out_device is not None and svc._playback.blocks > 20,  # type: ignore[union-attr]
        15,
        "playback running",
    )
    return svc


def _play_into_mic(pulse, samples: np.ndarray) -> subprocess.Popen[bytes]:
    pcm = np.clip(samples * 32767, -32768, 32767).astype(np.int16).tobytes()
    proc = subprocess.Popen(
        [
            "pacat",
            "--playback",
            f"--server={pulse.server}",
            f"--device={MIC}",
            "--format=s16le",
            "--rate=48000",
            "--channels=1",
            "--latency-msec=20",
            "--raw",
        ],
        stdin=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    threading.Thread(
        target=lambda: (proc.stdin.write(pcm), proc.stdin.close()), daemon=True
    ).start()  # type: ignore[union-attr]
    return proc


def test_output_devices_are_listed_and_chosen_like_inputs():
    raw = [
        {"name": "HDA Intel PCH: ALC3246 Analog (hw:0,0)", "max_input_channels": 2,
         "max_output_channels": 2, "default_samplerate": 44100.0},
        {"name": "HDA Intel PCH: HDMI 0 (hw:0,3)", "max_input_channels": 0,
         "max_output_channels": 8, "default_samplerate": 44100.0},
        {"name": "Jabra EVOLVE 20 MS: USB Audio (hw:2,0)", "max_input_channels": 1,
         "max_output_channels": 2, "default_samplerate": 48000.0},
        {"name": "pulse", "max_input_channels": 32, "max_output_channels": 32,
         "default_samplerate": 44100.0},
        {"name": "default", "max_input_channels": 32, "max_output_channels": 32,
         "default_samplerate": 44100.0},
    ]  # fmt: skip
    ids = {2: "0b0e:0300"}
    outs = adev.list_outputs(raw, default_index=4, usb_ids=ids)
    ins = adev.list_inputs(raw, default_index=4, usb_ids=ids)
    assert [d.index for d in outs] == [0, 1, 2, 3, 4]
    jabra_in = next(d for d in ins if "Jabra" in d.name)
    laptop_in = ins[0]
    pulse_in = next(d for d in ins if d.name == "pulse")
    assert "Jabra" in adev.choose_out("", outs, jabra_in).name  # the mic's card
    assert adev.choose_out("", outs, laptop_in).index == 0
    assert adev.choose_out("", outs, pulse_in).name == "pulse"
    assert "Jabra" in adev.choose_out("", outs).name  # no mic: a USB headset
    assert "Jabra" in adev.choose_out("usb:0b0e:0300", outs).name
    unplugged = [d for d in outs if "Jabra" not in d.name]
    assert adev.choose_out("usb:0b0e:0300", unplugged) is None  # waited for
    assert adev.choose_out("Jabra", unplugged) is None
    assert adev.choose_out("Jabra", unplugged, fallback_to_laptop=True).name == "default"
    assert adev.choose_out("", [d for d in outs if d.index != 2]).name == "default"


def test_far_audio_is_heard_on_the_headset_with_its_frequency(pulse_server, mic, bus):
    engine = FakeEngine()
    svc = _start(bus, engine)
    rec = MonitorRecorder(pulse_server, pulse_server.monitor)
    try:
        engine.answer()
        engine.play_far(np.zeros(RATE // 2, np.float32))  # the call's first silence
        t0 = engine.play_far(tone(440, 1.5))
        wait_until(lambda: rec.onset(t0) is not None, 5, "the tone on the sink's monitor")
        onset = rec.onset(t0)
        assert onset is not None
        wait_until(
            lambda: int((np.abs(rec.audio()) > 3000).sum()) > RATE,
            5,
            f"a second of the tone heard ({svc.snapshot()})",
        )
        heard = rec.audio().astype(np.float32)
        seg = heard[np.flatnonzero(np.abs(heard) > 3000)[0] :][:RATE]
        assert abs(peak_hz(seg) - 440) < 3, peak_hz(seg)
        latency = onset - t0
        print(f"deliver_far -> sink monitor (parec, 10 ms): {latency * 1000:.0f} ms")
        assert latency < 0.3, latency
        snap = svc.snapshot()
        assert snap.out_device == "pulse"
        assert snap.playback_overflows == 0
    finally:
        engine.hang_up()
        rec.stop()
        svc.stop()


def test_the_mic_reaches_the_engine_as_48k_int16(pulse_server, mic, bus):
    engine = FakeEngine()
    svc = _start(bus, engine)
    try:
        assert engine.near_blocks() == []  # no call: nothing is sent
        engine.answer()
        wait_until(lambda: len(engine.near_blocks()) > 10, 5, "mic blocks sent")
        t_play = time.monotonic()
        player = _play_into_mic(pulse_server, tone(1000, 1.5))

        def heard() -> float | None:
            for t, b in engine.near_blocks():
                if t >= t_play and np.abs(b).max() > 3000:
                    return t
            return None

        wait_until(lambda: heard() is not None, 5, "the tone at the engine")
        onset = heard()
        assert onset is not None
        player.wait(10)
        time.sleep(0.2)
        blocks = [b for _t, b in engine.near_blocks()]
        assert all(b.dtype == np.int16 and b.ndim == 1 for b in blocks)
        pcm = np.concatenate(blocks).astype(np.float32)
        first = np.flatnonzero(np.abs(pcm) > 3000)[0]
        seg = pcm[first + RATE // 10 : first + RATE // 10 + RATE]
        assert seg.size == RATE
        assert abs(peak_hz(seg) - 1000) < 3, peak_hz(seg)
        print(f"pacat into the mic -> send_near: {(onset - t_play) * 1000:.0f} ms")
        # 48 kHz: about as many samples as real time
        first_t, last_t = engine.near_blocks()[0][0], engine.near_blocks()[-1][0]
        rate = (pcm.size - blocks[0].size) / (last_t - first_t)
        assert 44000 < rate < 52000, rate
        engine.hang_up()
        n = len(engine.near_blocks())
        time.sleep(0.3)
        assert len(engine.near_blocks()) == n  # the call ended: nothing more is sent
    finally:
        svc.stop()


def test_unplugged_output_is_lost_within_a_second_and_restored(pulse_server, silent_mic, bus):
    engine = FakeEngine()
    recorder = Recorder(bus, ev.AudioDeviceLost, ev.AudioDeviceRestored)
    svc = _start(bus, engine)
    try:
        engine.answer()
        wait_until(lambda: len(engine.near_blocks()) > 10, 5, "mic blocks sent")
        t0 = time.monotonic()
        pulse_server.remove_sink()
        t_lost, lost = recorder.wait_event(ev.AudioDeviceLost, timeout=5)
        assert t_lost - t0 < 1.0, f"AudioDeviceLost after {t_lost - t0:.2f} s"
        assert (lost.side, lost.device) == (OUT, "pulse")
        snap = svc.snapshot()
        assert "disconnected" in snap.status_text.lower()
        # the microphone keeps going to the call
        n = len(engine.near_blocks())
        wait_until(lambda: len(engine.near_blocks()) > n + 20, 5, "mic blocks while out is lost")
        assert engine.media.active  # the call is never touched
        time.sleep(1.0)  # a few failed reopen attempts
        pulse_server.add_sink()
        _t, restored = recorder.wait_event(ev.AudioDeviceRestored, timeout=10)
        assert restored.side == OUT
        assert [e.side for e in recorder.of(ev.AudioDeviceLost)] == [OUT]
        # the playback now open (a reopened stream that stalls in its first seconds on a
        # loaded machine is replaced again: follow the current one, not the first)
        wait_until(
            lambda: svc._playback is not None and svc._playback.blocks > 50,
            15,
            "playback running again",
        )
        rec = MonitorRecorder(pulse_server, pulse_server.monitor)
        try:
            t1 = engine.play_far(tone(440, 1.0))
            wait_until(lambda: rec.onset(t1) is not None, 5, "the caller heard again")
        finally:
            rec.stop()
        assert svc.status == "listening"
        assert svc.snapshot().out_device == "pulse"
    finally:
        engine.hang_up()
        svc.stop()


def test_far_speech_from_the_media_reaches_the_vad(pulse_server, mic, bus):
    engine = FakeEngine()
    svc = _start(bus, engine)
    try:
        svc.health.start_call("m")
        engine.answer()
        speech, truth = known_recording(RATE)
        engine.play_far(speech[: int(3.0 * RATE)])  # the first utterance, 1.0-2.6 s
        wait_until(
            lambda: svc.snapshot().health.far_talk_s > 1.0, 5, "the caller's speech is heard"
        )
        assert svc.snapshot().health.far_talk_s < 2.5
    finally:
        engine.hang_up()
        svc.stop()


def test_the_call_summary_has_the_playback_figures(pulse_server, mic, bus):
    from types import SimpleNamespace

    engine = FakeEngine()
    recorder = Recorder(bus, ev.CallHealthSummary)
    svc = _start(bus, engine)
    try:
        svc._on_answered(SimpleNamespace(call=SimpleNamespace(id="c1")))
        engine.answer()
        engine.play_far(tone(300, 0.5))
        engine.hang_up()
        time.sleep(0.3)
        svc._on_ended(None)
        _t, summary = recorder.wait_event(ev.CallHealthSummary, timeout=5)
        fig = summary.figures
        assert fig["out_device_losses"] == 0
        assert fig["playback_overflows"] == 0
        assert fig["playback_underruns"] >= 1  # the caller's audio ran out at the end
    finally:
        svc.stop()
