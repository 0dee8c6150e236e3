"""Engines, resampling, the Faro pipeline and ``faro vad analyze`` on synthetic speech."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest

from audio import synth
from audio.analyze import analyze
from audio.frames import FRAME, RATE, Framer
from audio.resample import StreamResampler, resample
from audio.segments import runs, trim_hangover
from audio.vad import ENGINE_NAMES, FaroParams, FaroVad, make_engine, silero_available
from console.cli import main as faro
from tests.support.audio_speech import known_recording, match_segments


def test_resampler_filters_instead_of_folding_back():
    rate = 48000
    t = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 11000 * t).astype(np.float32)  # above 8 kHz: must vanish at 16 kHz
    out = resample(tone, rate, RATE)
    assert np.sqrt(np.mean(out[1000:-1000] ** 2)) < 1e-3
    strided = tone[::3]  # what striding would give: a 5 kHz alias
    assert np.sqrt(np.mean(strided**2)) > 0.5


def test_stream_resampler_in_blocks_equals_whole():
    x = np.random.default_rng(1).standard_normal(48000).astype(np.float32) * 0.1
    rs = StreamResampler(48000)
    parts = [rs.process(x[i : i + 777]) for i in range(0, x.size, 777)] + [
        rs.process(np.zeros(0, np.float32), last=True)
    ]
    streamed = np.concatenate(parts)
    whole = resample(x, 48000, RATE)
    n = min(streamed.size, whole.size)
    assert abs(streamed.size - whole.size) <= 2
    assert np.max(np.abs(streamed[200 : n - 200] - whole[200 : n - 200])) < 1e-3


def test_framer_keeps_the_remainder():
    f = Framer()
    a = f.push(np.zeros(250, np.int16))
    b = f.push(np.zeros(70, np.int16))
    assert a.shape == (1, FRAME) and b.shape == (1, FRAME)


@pytest.mark.parametrize("name", [n for n in ENGINE_NAMES if n != "silero" or silero_available()])
def test_every_engine_finds_the_known_utterances(name):
    audio, truth = known_recording()
    result = analyze({"near": audio}, RATE, name)
    found = result["channels"]["near"]["segments"]
    # raw engines have no hang-over and split words; only check coverage of the truth for them
    mask = np.zeros(int(result["duration_s"] * 100) + 1, bool)
    for a, b in found:
        mask[int(a * 100) : int(b * 100)] = True
    for a, b in truth:
        assert mask[int(a * 100) + 5 : int(b * 100) - 5].mean() > 0.8, (name, found)
    if name == "faro":
        assert not match_segments(found, truth, 0.15), found


def test_faro_pipeline_ignores_steady_noise_and_quiet_background():
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(RATE * 6) * 0.01).astype(np.float32)  # -40 dBFS hiss
    synth.place(x, 2.0, synth.utterance(1.5, seed=2, level_db=-15.0))  # the wearer
    res = FaroVad(FaroParams(use_silero=False)).process(Framer().push(x))
    speech = trim_hangover(res.region, res.evidence, 2)
    ((a, b),) = runs(speech)
    assert abs(a - 200) <= 15 and abs(b - 350) <= 15
    # a talker 34 dB below the wearer (a TV in the next room) is not the wearer, though it
    # stands 20 dB above the floor and webrtcvad calls it speech
    v = FaroVad(FaroParams(use_silero=False))
    y = (rng.standard_normal(RATE * 8) * 0.001).astype(np.float32)
    synth.place(y, 1.0, synth.utterance(2.0, seed=3, level_db=-12.0))
    synth.place(y, 4.5, synth.utterance(2.0, seed=4, level_db=-46.0))
    r2 = v.process(Framer().push(y))
    assert r2.speech[100:300].mean() > 0.8
    assert r2.speech[470:650].mean() < 0.05


def test_faro_without_the_extra_does_not_need_onnxruntime(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("onnxruntime", "silero_vad") else real(name, *a),
    )
    v = FaroVad()
    assert not v.has_silero
    from audio.vad import EngineUnavailable

    with pytest.raises(EngineUnavailable):
        make_engine("silero")


def _write_wav(path, data: np.ndarray, rate: int) -> None:
    pcm = (np.clip(data, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def test_cli_analyze_json_shape_for_a_stereo_file(tmp_path, capsys):
    near, truth = known_recording(rate=44100)
    far = np.zeros_like(near)
    tone = synth.utterance(2.0, seed=9, f0=210, rate=44100)
    far[int(3.0 * 44100) : int(3.0 * 44100) + tone.size] += tone  # the caller talks over 3.6 s
    path = tmp_path / "call.wav"
    _write_wav(path, np.stack([near, far], axis=1), 44100)
    assert faro(["vad", "analyze", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"engine", "sample_rate", "duration_s", "channels", "metrics"}
    assert out["engine"] == "faro" and out["sample_rate"] == 44100
    assert out["duration_s"] == pytest.approx(near.size / 44100, abs=0.01)
    assert set(out["channels"]) == {"near", "far"}
    for ch in out["channels"].values():
        assert set(ch) == {"segments", "talk_s"}
        assert all(len(s) == 2 and s[0] < s[1] for s in ch["segments"])
    assert not match_segments(out["channels"]["near"]["segments"], truth, 0.15)
    # one utterance: its segments may break only for a moment (the synthetic voice holds a
    # syllable ~12 dB under its peaks for over 300 ms, and a region continues on frames that
    # soft only for the hang-over after the last frame near the speaker's level)
    segs = out["channels"]["far"]["segments"]
    assert all(b[0] - a[1] < 0.1 for a, b in zip(segs, segs[1:], strict=False)), segs
    fa, fb = segs[0][0], segs[-1][1]
    assert abs(fa - 3.0) < 0.15 and abs(fb - 5.0) < 0.15
    m = out["metrics"]
    assert m["caller_talk_s"] > 1.5 and m["counselor_talk_s"] > 4
    assert m["interruptions_by_counselor"] == 1  # the counselor started over the caller at 3.6 s
    assert any(p["event"] == "Interruption" and p["who"] == "counselor" for p in m["prompts"])


def test_cli_analyze_mono_text_and_errors(tmp_path, capsys):
    audio, _ = known_recording()
    path = tmp_path / "mono.wav"
    _write_wav(path, audio, RATE)
    assert faro(["vad", "analyze", str(path), "--engine", "webrtc3"]) == 0
    text = capsys.readouterr().out
    assert "near (counselor)" in text and "far" not in text.split("metrics")[0]
    assert faro(["vad", "analyze", str(tmp_path / "missing.wav")]) == 66
    (tmp_path / "bad.wav").write_bytes(b"not a wav at all")
    assert faro(["vad", "analyze", str(tmp_path / "bad.wav")]) == 66
    assert faro(["vad", "analyze", str(path), "--engine", "nope"]) == 64
    err = capsys.readouterr().err
    assert err.count("faro: ") == 3 and "Traceback" not in err


def test_the_quiet_background_talker_is_speech_to_raw_webrtcvad():
    """The gate above does real work: the raw engine does hear that background talker."""
    rng = np.random.default_rng(5)
    y = (rng.standard_normal(RATE * 8) * 0.001).astype(np.float32)
    synth.place(y, 4.5, synth.utterance(2.0, seed=4, level_db=-46.0))
    s = make_engine("webrtc2").scores(Framer().push(y))
    assert s[470:650].mean() > 0.5
