"""The labelled set: real recorded voices from Debian packages, split by *speaker*.

Each :class:`Voice` is one human speaker (two packages by the same person are one voice: the
en and es core sounds are both Allison Smith). Voices are assigned to ``tune`` or ``report``
in :data:`VOICES`; ``--split tune`` never loads a report voice, so the numbers reported come
only from voices the pipeline was never tuned on. espeak-ng voices are an extra synthetic
source used for tuning only.

A conversation is two 16 kHz channels (counselor ``near``, caller ``far``) of utterances of two
different voices of one split, placed at known times; the other voices of the same split are
the background talkers of its conditions (bench/vad/conditions.py).

Debian packages are installed by :func:`ensure_tools` when missing (apt-get, as root).
Decoded utterances are cached in a temporary folder; nothing is written to the repository.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from audio.frames import FRAME, RATE, frame_levels_db
from audio.resample import resample
from audio.wavread import AudioFileError, read_wav

APT = (
    "espeak-ng",
    "sox",
    "asterisk-core-sounds-en-wav",
    "asterisk-core-sounds-es-wav",
    "asterisk-core-sounds-fr-wav",
    "asterisk-core-sounds-it-wav",
    "asterisk-core-sounds-ru-wav",
    "asterisk-prompt-es-co",
    "asterisk-prompt-fr-armelle",
    "asterisk-prompt-it-menardi-wav",
    "asterisk-moh-opsound-wav",
    "pocketsphinx-testdata",
)
SOUNDS = "/usr/share/asterisk/sounds"
PS = "/usr/share/pocketsphinx/test/data"
MUSIC = "/usr/share/asterisk/moh/*.wav"  # asterisk-moh-opsound-wav: the TV's music

#: Every utterance is scaled to this active speech level (RMS over its speech frames) before a
#: conversation varies it by +-4 dB: a headset or phone line at a normal level.
SPEECH_DBFS = -26.0
#: Utterances per voice at most (evenly spread over the voice's sorted files), and their length.
MAX_UTTERANCES = 120
MIN_S, MAX_S = 0.8, 8.0


@dataclasses.dataclass(frozen=True)
class Voice:
    id: str
    language: str
    sex: str  # as the package names it, or "m?" from pitch (~100-130 Hz) when it does not
    source: str  # Debian package(s)
    speaker: str  # who, from the package's copyright/README
    split: str  # "tune" or "report"
    globs: tuple[str, ...]


VOICES: tuple[Voice, ...] = (
    Voice(
        "allison",
        "en-US, es-MX",
        "f",
        "asterisk-core-sounds-en-wav, -es-wav",
        "Allison Smith",
        "tune",  # the voice the pipeline was first tuned on
        (f"{SOUNDS}/en_US_f_Allison/*.wav", f"{SOUNDS}/es_MX_f_Allison/*.wav"),
    ),
    Voice(
        "menardi",
        "it",
        "f",
        "asterisk-prompt-it-menardi-wav",
        "Paola Dal Zot",
        "tune",
        (f"{SOUNDS}/it_IT_f_Menardi/*.wav",),
    ),
    Voice(
        "cmu",
        "en-US",
        "m?",
        "pocketsphinx-testdata (cards, tidigits, goforward...)",
        "CMU test recordings (maybe several men; kept as one voice so none can leak)",
        "tune",
        (f"{PS}/cards/*.wav", f"{PS}/*.raw", f"{PS}/tidigits/*.raw"),
    ),
    Voice(
        "june",
        "fr-CA",
        "f",
        "asterisk-core-sounds-fr-wav",
        "June Wallack",
        "report",
        (f"{SOUNDS}/fr_CA_f_June/*.wav",),
    ),
    Voice(
        "carlo",
        "it",
        "m",
        "asterisk-core-sounds-it-wav",
        "Carlo Flora",
        "report",
        (f"{SOUNDS}/it_IT_m_Carlo/*.wav",),
    ),
    Voice(
        "ivrvoice-ru",
        "ru",
        "f",
        "asterisk-core-sounds-ru-wav",
        "ivrvoice.ru speaker",
        "report",
        (f"{SOUNDS}/ru_RU_f_IvrvoiceRU/*.wav",),
    ),
    Voice(
        "armelle",
        "fr",
        "f",
        "asterisk-prompt-fr-armelle",
        "Armelle Desjardins",
        "report",
        (f"{SOUNDS}/fr/*.gsm",),
    ),
    Voice(
        "july",
        "es-CO",
        "f",
        "asterisk-prompt-es-co",
        "July E. Jiménez",
        "report",
        (f"{SOUNDS}/es/*.gsm",),
    ),
    Voice(
        "librivox",
        "en",
        "m?",
        "pocketsphinx-testdata (librivox)",
        "LibriVox reader, Sense and Sensibility ch. 1",
        "report",
        (f"{PS}/librivox/*.wav",),
    ),
)

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
#: synthetic voices (espeak-ng): tuning only, never reported
ESPEAK = [
    ("es", "es+m3", 150),
    ("es-419", "es-419+f2", 165),
    ("en-us", "en-us+m1", 160),
    ("en", "en+f3", 150),
]

#: conversations per split, and their length. 18 report conversations = each of the 6 report
#: voices 3 times as counselor and 3 times as caller, each time with a different partner.
SPLITS = {
    "report": {"conversations": 18, "quick": 6, "seed": 1, "noise_offset": 0},
    "tune": {"conversations": 12, "quick": 4, "seed": 11, "noise_offset": 5000},
    "loo": {"conversations": 18, "quick": 6, "seed": 1, "noise_offset": 0},  # report voices
}
LENGTH_S = 60.0


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
    return notes


def _frames(x: np.ndarray) -> np.ndarray:
    return (
        (np.clip(np.pad(x, (0, -x.size % FRAME)), -1, 1) * 32767)
        .astype(np.int16)
        .reshape(-1, FRAME)
    )


def _trim(x: np.ndarray) -> np.ndarray:
    """Cut leading/trailing silence (keeping 50 ms)."""
    lv = frame_levels_db(_frames(x))
    on = np.flatnonzero(lv > lv.max() - 40)
    a, b = max(0, (on[0] - 5) * FRAME), min(x.size, (on[-1] + 6) * FRAME)
    return x[a:b].astype(np.float32)


def truth_mask(x: np.ndarray, bridge_frames: int = 30) -> np.ndarray:
    """Speech frames of a clean utterance: within 35 dB of its loudest frame, gaps < 300 ms bridged."""
    lv = frame_levels_db(_frames(x))
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


def normalise(x: np.ndarray, dbfs: float = SPEECH_DBFS) -> np.ndarray:
    """Scale so the RMS over the utterance's speech frames is ``dbfs``."""
    m = truth_mask(x)
    fr = np.pad(x, (0, -x.size % FRAME)).reshape(-1, FRAME)[m[: x.size // FRAME + 1]]
    rms = float(np.sqrt(np.mean(fr.astype(np.float64) ** 2))) if fr.size else 1.0
    return (x * (10 ** (dbfs / 20) / max(rms, 1e-9))).astype(np.float32)


def _decode(path: str, tmp: Path) -> np.ndarray:
    if path.endswith(".raw"):  # pocketsphinx test data: 16 kHz 16-bit little-endian mono
        return np.fromfile(path, "<i2").astype(np.float32) / 32768
    if path.endswith(".gsm"):  # GSM 06.10 at 8 kHz: sox decodes it
        wav = tmp / "gsm.wav"
        subprocess.run(
            ["sox", path, "-r", "8000", "-b", "16", str(wav)], check=True, capture_output=True
        )
        path = str(wav)
    data, rate = read_wav(Path(path))
    return resample(data[:, 0], rate, RATE)


def _cache_dir() -> Path:
    d = Path(tempfile.gettempdir()) / f"faro-bench-vad-{os.getuid()}"
    d.mkdir(mode=0o700, exist_ok=True)
    return d


def load_voice(voice: Voice, cache: Path | None = None) -> list[np.ndarray]:
    """The voice's utterances, trimmed and normalised (decoded once, then cached)."""
    cache = cache or _cache_dir()
    npz = cache / f"{voice.id}-v2.npz"
    if npz.exists():
        with np.load(npz) as z:
            return [z[f"arr_{i}"] for i in range(len(z.files))]
    files = sorted(f for g in voice.globs for f in glob.glob(g))
    out: list[np.ndarray] = []
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        for f in files:
            try:
                x = _trim(_decode(f, Path(tmp)))
            except (AudioFileError, subprocess.CalledProcessError, IndexError, ValueError):
                continue  # an empty or broken prompt file
            if MIN_S <= x.size / RATE <= MAX_S and truth_mask(x).sum() >= 30:
                out.append(normalise(x))
    if len(out) > MAX_UTTERANCES:
        keep = np.linspace(0, len(out) - 1, MAX_UTTERANCES).round().astype(int)
        out = [out[i] for i in keep]
    if out:
        np.savez(npz, *out)
    return out


def load_espeak(cache: Path | None = None) -> dict[str, list[np.ndarray]]:
    if not shutil.which("espeak-ng"):
        return {}
    out: dict[str, list[np.ndarray]] = {}
    with tempfile.TemporaryDirectory(dir=cache or _cache_dir()) as tmp:
        for lang, voice, speed in ESPEAK:
            utts = []
            for si, sentence in enumerate(SENTENCES["es" if lang.startswith("es") else "en"]):
                wav = Path(tmp) / f"{voice}_{si}.wav"
                subprocess.run(
                    ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), sentence],
                    check=True,
                    capture_output=True,
                )
                data, rate = read_wav(wav)
                utts.append(normalise(_trim(resample(data[:, 0], rate, RATE))))
            out[f"espeak:{voice}"] = utts
    return out


def load_music() -> list[np.ndarray]:
    """Music-on-hold tracks at 16 kHz (the TV's music), first 60 s of each."""
    out = []
    for f in sorted(glob.glob(MUSIC)):
        data, rate = read_wav(Path(f))
        out.append(resample(data[: 60 * rate, 0], rate, RATE))
    return out


def split_voices(split: str) -> list[Voice]:
    """Human voices of a split (``loo`` runs over the report voices)."""
    want = "report" if split == "loo" else split
    return [v for v in VOICES if v.split == want]


@dataclasses.dataclass
class Conversation:
    name: str
    near_voice: str
    far_voice: str
    others: list[str]  # voices of the same split that speak in neither channel
    near: np.ndarray  # clean 16 kHz
    far: np.ndarray
    near_truth: np.ndarray  # bool per 10 ms frame
    far_truth: np.ndarray
    utterances: list[tuple[str, int, int]]  # (side, first frame, end frame) of each utterance


def place(
    track: np.ndarray, truth: np.ndarray, u: np.ndarray, t_s: float
) -> tuple[int, int] | None:
    """Add utterance ``u`` at ``t_s`` into ``track``/``truth``; its frame span, or None."""
    a = int(t_s * RATE)
    if a + u.size >= track.size:
        return None
    track[a : a + u.size] += u
    m = truth_mask(u)
    fa = a // FRAME
    m = m[: truth.size - fa]
    truth[fa : fa + m.size] |= m
    idx = np.flatnonzero(m)
    return (fa + int(idx[0]), fa + int(idx[-1]) + 1) if idx.size else None


def build_conversation(
    name: str,
    near_voice: str,
    far_voice: str,
    pools: dict[str, list[np.ndarray]],
    seed: int,
    length_s: float = LENGTH_S,
) -> Conversation:
    """Turns alternate; ~15 % start over the other side (interruptions), ~10 % leave 3.5-6 s
    of dead air, the rest 0.3-1.5 s gaps. Each utterance at the normal level +-4 dB."""
    rng = np.random.default_rng(seed)
    n = int(length_s * RATE)
    tracks = {"near": np.zeros(n, np.float32), "far": np.zeros(n, np.float32)}
    truth = {"near": np.zeros(n // FRAME, bool), "far": np.zeros(n // FRAME, bool)}
    order = {
        "near": list(rng.permutation(len(pools[near_voice]))),
        "far": list(rng.permutation(len(pools[far_voice]))),
    }
    utterances: list[tuple[str, int, int]] = []
    t, side, k = 1.0, "near", {"near": 0, "far": 0}
    while True:
        voice = near_voice if side == "near" else far_voice
        u = pools[voice][order[side][k[side] % len(order[side])]]
        u = u * np.float32(10 ** (rng.uniform(-4, 4) / 20))
        k[side] += 1
        span = place(tracks[side], truth[side], u, t)
        if span is None or t * RATE + u.size >= n - RATE:
            break
        utterances.append((side, *span))
        end = t + u.size / RATE
        r = rng.random()
        if r < 0.15:
            gap = -rng.uniform(0.4, 0.9)
        elif r < 0.25:
            gap = rng.uniform(3.5, 6.0)
        else:
            gap = rng.uniform(0.3, 1.5)
        t = max(t + 0.5, end + gap)
        side = "far" if side == "near" else "near"
    others = [v for v in pools if v not in (near_voice, far_voice)]
    return Conversation(
        name,
        near_voice,
        far_voice,
        others,
        tracks["near"],
        tracks["far"],
        truth["near"],
        truth["far"],
        utterances,
    )


def pairs(voices: list[str], count: int) -> list[tuple[str, str]]:
    """(counselor, caller) pairs: voice i with voice i+k for k = 1, 2, ..., so each voice is
    counselor and caller equally often, each time with a different partner."""
    out: list[tuple[str, str]] = []
    k = 1
    while len(out) < count and len(voices) > 1:
        for i in range(len(voices)):
            out.append((voices[i], voices[(i + k) % len(voices)]))
        k = k % (len(voices) - 1) + 1
    return out[:count]


@dataclasses.dataclass
class LabelledSet:
    split: str
    conversations: list[Conversation]
    pools: dict[str, list[np.ndarray]]  # every voice of the split (babble comes from here)
    music: list[np.ndarray]
    voices: list[Voice]
    counts: dict[str, int]  # utterances per voice
    notes: list[str]


def build_sets(split: str = "report", quick: bool = False) -> LabelledSet:
    """The conversations of one split. ``tune`` loads only tune voices (plus espeak-ng);
    ``report`` and ``loo`` load only report voices."""
    cfg = SPLITS[split]
    notes = ensure_tools()
    voices = split_voices(split)
    pools: dict[str, list[np.ndarray]] = {}
    for v in voices:
        utts = load_voice(v)
        if utts:
            pools[v.id] = utts
        else:
            notes.append(f"no utterances for voice {v.id} ({v.source})")
    speakers = list(pools)
    if split == "tune":
        synth = load_espeak()
        if not synth:
            notes.append("espeak-ng missing: no synthetic tuning voices")
        pools.update(synth)
        speakers = list(pools)
    count = cfg["quick"] if quick else cfg["conversations"]
    convs = [
        build_conversation(f"{split}{i:02d}", a, b, pools, cfg["seed"] + 7 * i)
        for i, (a, b) in enumerate(pairs(speakers, count))
    ]
    return LabelledSet(
        split,
        convs,
        pools,
        load_music(),
        voices,
        {k: len(v) for k, v in pools.items()},
        notes,
    )
