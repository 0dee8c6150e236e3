"""The labelled set: espeak-ng voices (Spanish, English) and real recorded speech
(asterisk-core-sounds-es/en-wav), placed at known times in two-channel 16 kHz
conversations, then mixed with noise per condition.

Debian packages are installed by :func:`ensure_tools` when missing (apt-get, as root).
Everything generated lives in a temporary folder (bench/ may write wavs; product code never does).
"""

from __future__ import annotations

import dataclasses
import glob
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from audio.frames import FRAME, RATE, frame_levels_db
from audio.resample import resample
from audio.wavread import read_wav

APT = ("espeak-ng", "sox", "asterisk-core-sounds-es-wav", "asterisk-core-sounds-en-wav")
ASTERISK = "/usr/share/asterisk/sounds"

SENTENCES = {
    "es": [
        "Hola, gracias por llamar. Estoy aquí para escucharte.",
        "¿Puedes contarme qué está pasando ahora mismo?",
        "Entiendo que esto es muy difícil para ti.",
        "No estás solo, vamos a buscar juntos una salida.",
        "¿Hay alguien cerca de ti que pueda acompañarte esta noche?",
        "Tómate tu tiempo, no hay prisa.",
        "Me dijiste que no has dormido en dos días.",
        "¿Qué te ha ayudado otras veces cuando te sentías así?",
    ],
    "en": [
        "Thank you for calling, I am here to listen.",
        "Can you tell me what is happening right now?",
        "That sounds really hard, and I am glad you reached out.",
        "Is there someone near you who could stay with you tonight?",
        "Take your time, there is no rush at all.",
        "You said you have not slept for two days.",
        "What has helped you before when you felt this way?",
        "Let us make a plan together for the next few hours.",
    ],
}
VOICES = [
    ("es", "es+m3", 150),
    ("es-419", "es-419+f2", 165),
    ("es", "es+f4", 140),
    ("en-us", "en-us+m1", 160),
    ("en", "en+f3", 150),
    ("en-us", "en-us+m4", 170),
]


def ensure_tools() -> list[str]:
    """Install what is missing; return notes about anything that could not be had."""
    missing = [
        p for p in APT if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0
    ]
    notes = []
    if missing:
        r = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", *missing],
            capture_output=True,
            text=True,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
        if r.returncode != 0:
            notes.append(f"apt-get install {' '.join(missing)} failed: {r.stderr.strip()[-200:]}")
    if not shutil.which("espeak-ng"):
        notes.append("espeak-ng missing: no synthetic voices")
    return notes


def _espeak(tmp: Path) -> list[np.ndarray]:
    out = []
    if not shutil.which("espeak-ng"):
        return out
    for vi, (lang, voice, speed) in enumerate(VOICES):
        sentences = SENTENCES["es" if lang.startswith("es") else "en"]
        for si in range(vi % 2, len(sentences), 2):
            wav = tmp / f"e{vi}_{si}.wav"
            subprocess.run(
                ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), sentences[si]],
                check=True,
                capture_output=True,
            )
            data, rate = read_wav(wav)
            out.append(_trim(resample(data[:, 0], rate, RATE)))
    return out


def _asterisk(count: int = 48) -> list[np.ndarray]:
    files = []
    for lang in ("es_MX_f_Allison", "en_US_f_Allison", "es", "en"):
        files += sorted(glob.glob(f"{ASTERISK}/{lang}/*.wav"))
    out = []
    for f in files[:: max(1, len(files) // (count * 2))]:
        data, rate = read_wav(Path(f))
        x = _trim(resample(data[:, 0], rate, RATE))
        if 1.0 <= x.size / RATE <= 6.0:
            out.append(x)
        if len(out) >= count:
            break
    return out


def _trim(x: np.ndarray) -> np.ndarray:
    """Cut leading/trailing silence (keeping 50 ms)."""
    frames = (
        (np.clip(np.pad(x, (0, -x.size % FRAME)), -1, 1) * 32767)
        .astype(np.int16)
        .reshape(-1, FRAME)
    )
    lv = frame_levels_db(frames)
    on = np.flatnonzero(lv > lv.max() - 40)
    a, b = max(0, (on[0] - 5) * FRAME), min(x.size, (on[-1] + 6) * FRAME)
    x = x[a:b]
    return x.astype(np.float32)


def truth_mask(x: np.ndarray, bridge_frames: int = 30) -> np.ndarray:
    """Speech frames of a clean utterance: within 35 dB of its loudest frame, gaps < 300 ms bridged."""
    frames = (
        (np.clip(np.pad(x, (0, -x.size % FRAME)), -1, 1) * 32767)
        .astype(np.int16)
        .reshape(-1, FRAME)
    )
    lv = frame_levels_db(frames)
    m = lv > lv.max() - 35
    idx = np.flatnonzero(m)
    out = np.zeros_like(m)
    if idx.size:
        prev = idx[0]
        out[idx[0]] = True
        for i in idx[1:]:
            if i - prev <= bridge_frames:
                out[prev : i + 1] = True
            else:
                out[i] = True
            prev = i
    return out


@dataclasses.dataclass
class Conversation:
    name: str
    near: np.ndarray  # clean 16 kHz
    far: np.ndarray
    near_truth: np.ndarray  # bool per 10 ms frame
    far_truth: np.ndarray


def build_conversation(
    name: str, pool: list[np.ndarray], seed: int, length_s: float = 120.0
) -> Conversation:
    rng = np.random.default_rng(seed)
    n = int(length_s * RATE)
    tracks = {"near": np.zeros(n, np.float32), "far": np.zeros(n, np.float32)}
    truth = {"near": np.zeros(n // FRAME, bool), "far": np.zeros(n // FRAME, bool)}
    t = 1.0
    side = "near"
    order = rng.permutation(len(pool))
    k = 0
    while True:
        u = pool[order[k % len(order)]] * np.float32(10 ** (rng.uniform(-4, 4) / 20))
        k += 1
        a = int(t * RATE)
        if a + u.size >= n - RATE:
            break
        tracks[side][a : a + u.size] += u
        m = truth_mask(u)
        fa = a // FRAME
        truth[side][fa : fa + m.size] |= m[: truth[side].size - fa]
        end = t + u.size / RATE
        r = rng.random()
        if r < 0.15:
            gap = -rng.uniform(0.4, 0.9)  # the other side starts over this one
        elif r < 0.25:
            gap = rng.uniform(3.5, 6.0)  # dead air
        else:
            gap = rng.uniform(0.3, 1.5)
        t = max(t + 0.5, end + gap)
        side = "far" if side == "near" else "near"
    return Conversation(name, tracks["near"], tracks["far"], truth["near"], truth["far"])


#: the labelled set is split in two halves with deterministic seeds: parameters are chosen on
#: ``tune`` (``python -m bench.vad --split tune``) and results are reported on ``report``, whose
#: utterances, conversation layouts and noise draws the tuning never saw.
SPLITS = {
    "report": {"parity": 0, "seeds": (1, 2), "noise_offset": 0},
    "tune": {"parity": 1, "seeds": (11, 12), "noise_offset": 5000},
}


def build_sets(
    tmp: Path | None = None, split: str = "report"
) -> tuple[dict[str, Conversation], list[np.ndarray], list[str]]:
    """Conversations of one half of the labelled set, its utterance pool (babble is drawn from
    the same half) and notes. Every other utterance of each source goes to each half."""
    cfg = SPLITS[split]
    notes = ensure_tools()
    tmp = Path(tmp or tempfile.mkdtemp(prefix="faro-bench-"))
    synthetic = _espeak(tmp)[cfg["parity"] :: 2]
    human = _asterisk()[cfg["parity"] :: 2]
    sets = {}
    if synthetic:
        sets["espeak"] = build_conversation("espeak", synthetic, cfg["seeds"][0])
    else:
        notes.append("no espeak-ng speech")
    if human:
        sets["human"] = build_conversation("human", human, cfg["seeds"][1])
    else:
        notes.append("no asterisk recordings")
    return sets, synthetic + human, notes
