"""bench/vad: the split is speaker-disjoint and each condition has the level relation it claims.

Fast: short synthetic "voices" (harmonic bursts), no Debian packages, no engines.
"""

from __future__ import annotations

import numpy as np
import pytest

from audio.frames import RATE
from bench.vad import conditions as cond
from bench.vad import dataset


def _voice(f0: float, seed: int, count: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        n = int(rng.uniform(0.8, 1.6) * RATE)
        t = np.arange(n) / RATE
        x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        env = np.sin(np.pi * t / t[-1]) ** 0.5
        out.append(dataset.normalise((x * env * 0.1).astype(np.float32)))
    return out


@pytest.fixture(scope="module")
def world() -> tuple[dataset.Conversation, cond.Context]:
    pools = {f"v{i}": _voice(110 + 30 * i, i) for i in range(6)}
    conv = dataset.build_conversation("t", "v0", "v1", pools, seed=3, length_s=20.0)
    music = [np.sin(2 * np.pi * 440 * np.arange(5 * RATE) / RATE).astype(np.float32) * 0.1]
    return conv, cond.Context(pools, music)


def _db(a: float, b: float) -> float:
    return 10 * np.log10(a / b)


def test_voice_table_is_speaker_disjoint() -> None:
    ids = [v.id for v in dataset.VOICES]
    assert len(ids) == len(set(ids)), "a voice id appears twice"
    tune = {v.id for v in dataset.VOICES if v.split == "tune"}
    report = {v.id for v in dataset.VOICES if v.split == "report"}
    assert tune and report and not tune & report
    assert {v.split for v in dataset.VOICES} == {"tune", "report"}
    # no source file belongs to two voices (one person's two packages are one voice)
    globs = [g for v in dataset.VOICES for g in v.globs]
    assert len(globs) == len(set(globs))
    assert {v.id for v in dataset.split_voices("loo")} == report


def test_tune_split_never_loads_a_report_voice(monkeypatch) -> None:
    loaded: list[str] = []

    def fake_load(voice: dataset.Voice, cache=None) -> list[np.ndarray]:
        loaded.append(voice.id)
        return _voice(120 + len(loaded) * 20, len(loaded))

    monkeypatch.setattr(dataset, "ensure_tools", lambda: [])
    monkeypatch.setattr(dataset, "load_voice", fake_load)
    monkeypatch.setattr(dataset, "load_espeak", lambda cache=None: {})
    monkeypatch.setattr(dataset, "load_music", lambda: [])
    data = dataset.build_sets("tune", quick=True)
    tune = {v.id for v in dataset.VOICES if v.split == "tune"}
    assert set(loaded) == tune
    for conv in data.conversations:
        assert conv.near_voice != conv.far_voice
        assert {conv.near_voice, conv.far_voice} <= tune
        assert set(conv.others) == tune - {conv.near_voice, conv.far_voice}


def test_quiet_far_side_is_20_and_30_db_down_line_noise_unchanged(world) -> None:
    conv, ctx = world
    for name, db in (("quiet20", 20), ("quiet30", 30)):
        s = cond.CONDITIONS[name](conv, ctx, np.random.default_rng(0))
        ratio = _db(
            cond.speech_power(s.far, conv.far_truth), cond.speech_power(conv.far, conv.far_truth)
        )
        assert ratio == pytest.approx(-db, abs=0.01)
        assert np.array_equal(s.near, conv.near)
        # about -46 / -56 dBFS: the utterances sit at -26 +- 4 dB
        level = 10 * np.log10(cond.speech_power(s.far, conv.far_truth))
        assert -26 - db - 5 < level < -26 - db + 5
    # the floor is added after the condition, the same on every condition
    quiet = cond.render("quiet20", conv, ctx, seed=5)
    clean = cond.render("clean", conv, ctx, seed=5)
    assert np.allclose(quiet.near, clean.near)
    noise_q = quiet.far - cond.quiet_far(conv, ctx, np.random.default_rng(5), 20.0).far
    assert _db(cond.power(noise_q), 1.0) == pytest.approx(cond.FLOOR_DBFS, abs=0.5)


@pytest.mark.parametrize("name,db", [("home10", 10), ("home15", 15), ("home25", 25), ("tv15", 15)])
def test_home_background_is_n_db_below_the_wearer(world, name: str, db: float) -> None:
    conv, ctx = world
    s = cond.CONDITIONS[name](conv, ctx, np.random.default_rng(1))
    background = s.near - conv.near
    wearer = cond.speech_power(conv.near, conv.near_truth)
    assert _db(cond.power(background), wearer) == pytest.approx(-db, abs=0.01)
    assert np.array_equal(s.near_truth, conv.near_truth)  # the truth is the wearer only
    assert np.array_equal(s.far, conv.far)


def test_home_talkers_are_several_other_people(world) -> None:
    conv, ctx = world
    for seed in range(5):
        chosen = cond.talkers(conv, ctx, np.random.default_rng(seed))
        assert 4 <= len(chosen) <= 6
        ids = {next(k for k, v in ctx.pools.items() if v is p) for p in chosen}
        assert conv.near_voice not in ids and conv.far_voice not in ids
        assert len(ids) == 4  # every other voice of the split (4 here), none shifted copies


def test_noise_is_at_the_stated_snr_on_both_channels(world) -> None:
    conv, ctx = world
    s = cond.CONDITIONS["pink5"](conv, ctx, np.random.default_rng(2))
    for x, clean, truth in (
        (s.near, conv.near, conv.near_truth),
        (s.far, conv.far, conv.far_truth),
    ):
        snr = _db(cond.speech_power(clean, truth), cond.power(x - clean))
        assert snr == pytest.approx(5, abs=0.01)


def test_echo_is_delayed_30_to_80_ms_and_20_to_30_db_down(world) -> None:
    conv, ctx = world
    s = cond.CONDITIONS["echo"](conv, ctx, np.random.default_rng(4))
    leak = s.near - conv.near
    assert -30.01 <= _db(cond.power(leak), cond.power(conv.far)) <= -19.99
    first = int(np.flatnonzero(conv.far)[0])
    delay_ms = (int(np.flatnonzero(leak)[0]) - first) / RATE * 1000
    assert 30 <= delay_ms <= 80
    assert np.array_equal(s.near_truth, conv.near_truth)


def test_second_speaker_is_caller_side_speech(world) -> None:
    conv, ctx = world
    s = cond.CONDITIONS["twospk"](conv, ctx, np.random.default_rng(6))
    assert s.far_truth.sum() > conv.far_truth.sum()
    assert np.all(s.far_truth[conv.far_truth])  # the caller is still truth
    assert len(s.utterances) > len(conv.utterances)
    assert np.array_equal(s.near, conv.near)


def test_a_rerun_keeps_the_hand_written_reading(tmp_path):
    from bench.vad.__main__ import READING, kept_reading

    out = tmp_path / "vad.md"
    assert kept_reading(out) == ""  # no earlier report
    out.write_text("# VAD benchmark\n\n| old | table |\n\n" + READING + "\n\n- what it means\n")
    assert kept_reading(out) == "\n" + READING + "\n\n- what it means\n"
    out.write_text("# VAD benchmark\n\nno reading\n")
    assert kept_reading(out) == ""
