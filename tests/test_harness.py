"""Each fixture of the harness does something real; these tests fail if one silently does nothing."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest


def test_pty_pair_carries_bytes_both_ways(pty_pair):
    import serial

    port = serial.Serial(pty_pair.device_path, 115200, timeout=1)
    try:
        pty_pair.write(b"\x00\x01hello\xff")
        assert port.read(8) == b"\x00\x01hello\xff"
        port.write(b"world")
        port.flush()
        assert pty_pair.read(5) == b"world"
    finally:
        port.close()


def test_pty_close_looks_like_an_unplug(pty_pair):
    import serial

    port = serial.Serial(pty_pair.device_path, 115200, timeout=0.5)
    pty_pair.close()
    with pytest.raises(serial.SerialException):
        for _ in range(3):
            port.read(1)
    port.close()


def test_mosquitto_is_a_real_broker(mosquitto):
    import paho.mqtt.client as mqtt

    got: list[bytes] = []
    ready = threading.Event()
    done = threading.Event()

    def on_connect(client, userdata, flags, reason, props):
        client.subscribe("faro/test", qos=1)

    def on_subscribe(client, userdata, mid, reasons, props):
        ready.set()

    def on_message(client, userdata, msg):
        got.append(msg.payload)
        done.set()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sub")
    sub.on_connect, sub.on_subscribe, sub.on_message = on_connect, on_subscribe, on_message
    sub.connect("127.0.0.1", mosquitto.port)
    sub.loop_start()
    try:
        assert ready.wait(5)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pub")
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        pub.publish("faro/test", b"ping", qos=1).wait_for_publish(5)
        assert done.wait(5)
        assert got == [b"ping"]
        pub.loop_stop()
        pub.disconnect()
    finally:
        sub.loop_stop()
        sub.disconnect()
    pid = mosquitto.pid
    mosquitto.stop()
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x.astype(np.float64)))))


def test_pulse_null_sink_records_what_is_played(pulse_server):
    import sounddevice as sd

    rate = 48000
    names = [d["name"] for d in sd.query_devices()]
    assert "pulse" in names, names
    t = np.arange(int(rate * 1.5)) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)

    silent = sd.rec(int(rate * 0.4), samplerate=rate, channels=1, dtype="float32", device="pulse")
    sd.wait()
    assert _rms(silent) < 1e-3, "the monitor should be silent before anything plays"

    recorded: list[np.ndarray] = []

    def callback(indata, frames, time_info, status):
        recorded.append(indata.copy())

    with sd.InputStream(
        samplerate=rate, channels=1, dtype="float32", device="pulse", callback=callback
    ):
        sd.play(tone, rate, device="pulse")
        sd.wait()
        time.sleep(0.2)
    audio = np.concatenate(recorded)[:, 0]
    assert _rms(audio) > 0.1, "the tone played into the sink must come back on its monitor"
    # and it is the tone we played: the strongest frequency is 440 Hz
    spectrum = np.abs(np.fft.rfft(audio))
    peak = np.fft.rfftfreq(len(audio), 1 / rate)[int(np.argmax(spectrum))]
    assert abs(peak - 440) < 5
