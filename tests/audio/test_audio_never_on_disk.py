"""Audio never leaves the laptop and is never written to disk by product code.

Two checks: a static scan of every product package for anything that writes audio, and a
runtime audit (``sys.addaudithook``) of every file opened for writing while a simulated call
runs through the whole pipeline and a recording is analysed.
"""

from __future__ import annotations

import ast
import os
import sys
import threading
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("audio", "console", "calls", "devices", "core", "storage", "escalation")
AUDIO_WRITERS = {
    "soundfile",
    "scipy.io.wavfile",
    "pydub",
    "audioread",
    "wavio",
    "librosa.output",
    "torchaudio",
}
WRITE_ATTRS = {"writeframes", "writeframesraw", "tofile"}
NUMPY_SAVES = {"save", "savez", "savez_compressed", "savetxt"}


def _audio_writes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name in AUDIO_WRITERS]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module in AUDIO_WRITERS or any(
                f"{node.module}.{a.name}" in AUDIO_WRITERS for a in node.names
            ):
                found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            if attr in WRITE_ATTRS:
                found.append(f"line {node.lineno}: .{attr}()")
            if (
                attr in NUMPY_SAVES
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("np", "numpy")
            ):
                found.append(f"line {node.lineno}: numpy.{attr}()")
            if (
                attr == "open"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "wave"
            ):
                modes = [a for a in node.args[1:2]] + [
                    k.value for k in node.keywords if k.arg == "mode"
                ]
                for m in modes:
                    if not (isinstance(m, ast.Constant) and m.value in ("r", "rb")):
                        found.append(f"line {node.lineno}: wave.open for writing")
    return found


def test_the_scan_catches_audio_writers(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import soundfile\nimport wave\nw = wave.open('x.wav', 'wb')\nw.writeframes(b'')\n"
        "import numpy as np\nnp.zeros(3).tofile('a.raw')\nnp.save('a.npy', 1)\n"
        "from scipy.io import wavfile\nwave.open('y.wav', mode)\n"
    )
    found = _audio_writes(bad)
    assert len(found) == 7, found
    ok = tmp_path / "ok.py"
    ok.write_text("import wave\nw = wave.open('x.wav', 'rb')\n")
    assert _audio_writes(ok) == []


def test_no_product_module_writes_audio():
    offenders = {}
    for pkg in PRODUCT:
        for path in (ROOT / pkg).rglob("*.py"):
            found = _audio_writes(path)
            if found:
                offenders[str(path.relative_to(ROOT))] = found
    assert not offenders, offenders


class _WriteAudit:
    """Every file opened for writing by any thread while armed."""

    _installed: _WriteAudit | None = None

    def __init__(self) -> None:
        self.armed = False
        self.opened: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, event: str, args: tuple) -> None:
        if not self.armed or event != "open":
            return
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        )
        if writing:
            with self._lock:
                self.opened.append(str(path))

    @classmethod
    def get(cls) -> _WriteAudit:
        if cls._installed is None:
            cls._installed = cls()
            sys.addaudithook(cls._installed)  # hooks cannot be removed: it stays disarmed after
        return cls._installed


def test_a_whole_call_and_an_analysis_write_nothing(paths, fake_clock, tmp_path, capsys):
    import wave as wave_mod

    from app.session import Session
    from audio import events as ev
    from audio import service as audio_service
    from audio.analyze import analyze
    from audio.frames import RATE
    from audio.wavread import read_wav
    from core.config import Config
    from tests.support.audio_speech import known_recording
    from tests.support.toolkit import wait_until

    rec_path = tmp_path / "training.wav"  # the test itself writes the input (tests may)
    audio, _ = known_recording()
    with wave_mod.open(str(rec_path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((audio * 32767).astype("<i2").tobytes())

    audit = _WriteAudit.get()
    audit.armed = True  # the audit itself sees a write when there is one
    (tmp_path / "probe.bin").write_bytes(b"x")
    audit.armed = False
    assert audit.opened == [str(tmp_path / "probe.bin")]
    audit.opened.clear()
    session = Session(
        Config({"calls.backend": "simulated", "audio.source": "simulated"}),
        paths=paths,
        clock=fake_clock,
        attach=False,
    )
    audio_service.attach(session)
    svc = session.service("audio")
    svc.sim.start = lambda: None
    summaries = []
    keep = summaries.append
    session.bus.subscribe(ev.CallHealthSummary, keep)
    before = {p for p in Path(paths.data_dir).rglob("*")} | {
        p for p in Path(paths.state_dir).rglob("*")
    }
    audit.armed = True
    try:
        session.start()
        svc.health.start_call("c")
        svc.sim._script_name = lambda: "interruptions"
        svc.sim.start_call()
        for _ in range(100):  # 10 s of a call through the whole pipeline
            fake_clock.advance(0.1)
            svc.sim.pump()
        wait_until(lambda: svc.queue.unfinished_tasks == 0, 5, "the worker took every block")
        data, rate = read_wav(rec_path)
        result = analyze({"near": data[:, 0]}, rate)
        svc._on_ended(None)  # what CallEnded does: figures out, no audio
        session.stop()
    finally:
        audit.armed = False
    assert result["channels"]["near"]["segments"]
    assert summaries and summaries[0].figures["caller_talk_s"] > 0
    assert audit.opened == [], audit.opened
    after = {p for p in Path(paths.data_dir).rglob("*")} | {
        p for p in Path(paths.state_dir).rglob("*")
    }
    assert after == before
    assert np.isfinite(summaries[0].figures["counselor_talk_s"])
