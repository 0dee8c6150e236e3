"""Benchmark of Faro's own call path (SIP/TLS, SRTP, baresip) against the raw engine, one run.

    python -m bench.telephony [--quick] [--json]

Measures on the same machine, same run, Kamailio over TLS on 127.0.0.1:
1. latency: tone bursts played by a far party (a separate engine process) to
   - raw: a second raw engine process (its rx onset), and
   - Faro: backend -> pump -> CallMedia (first loud block) -> the audio service's VAD
     (``snapshot().health.far_speaking`` turning on, polled every 2 ms);
   and the mic direction: ``media.send_near`` 20 ms blocks -> wire -> the peer's rx onset,
   against raw peer -> raw peer. Reported: the *added* latency (Faro minus raw), median/p95.
2. CPU per call-second of the Faro process (engine + pump + audio service + VAD) during a call
   with audio both ways, against one raw engine process in the same kind of call.
Not measured yet: loss and jitter at 1 % and 5 % (bench/results/telephony.md says why); the
wire -> VAD figure uses tone bursts, which the VAD mostly does not take for speech.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from audio.service import AudioService  # noqa: E402
from calls.model import Action, CallState  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.config import Config  # noqa: E402
from tests.calls.sip_rig import phone, rig  # noqa: E402
from tests.support.toolkit import wait_until  # noqa: E402

RATE = 48000
BLOCK = int(RATE * 0.02)
TONE = (0.3 * np.sin(2 * np.pi * 440 * np.arange(BLOCK) / RATE) * 32767).astype(np.int16)
SILENCE = np.zeros(BLOCK, dtype=np.int16)
LOUD_DB = -30.0


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def onset(frames: list[list[float]], since: float, until: float) -> float | None:
    for t, db in frames:
        if since <= t <= until and db > LOUD_DB:
            return t
    return None


def peer_call(r, a_user: str, b_user: str, **b_kw):
    """Two raw engines: a dials b (b answers automatically)."""
    a = r.peer(a_user).start()
    b = r.peer(b_user, auto_answer=True, **b_kw).start()
    a.wait("registered")
    b.wait("registered")
    a.send(op="dial", uri=f"sip:{b_user}@{r.domain};transport=tls")
    a.wait("established", timeout=20)
    time.sleep(1.5)
    return a, b


def raw_bursts(a, b, n: int) -> list[float]:
    """a plays a 200 ms tone n times; the one-way delay to b's rx onset."""
    out = []
    for _ in range(n):
        a.send(op="play", signal="tone", freq=440, secs=0.2)
        t0 = a.wait("play_started")["t"]
        time.sleep(0.7)
        b.send(op="rx_report", since=t0 - 0.05)
        t = onset(b.wait("rx")["frames"], t0, t0 + 0.6)
        if t is not None:
            out.append(t - t0)
    return out


def run(quick: bool) -> dict:
    n = 8 if quick else 20
    call_s = 10.0 if quick else 25.0
    res: dict = {"bursts": n, "call_s": call_s}
    with tempfile.TemporaryDirectory(prefix="faro-bench-tel-") as tmp, rig(Path(tmp)) as r:
        # -- raw engine <-> raw engine -----------------------------------------------------
        a, b = peer_call(r, "caller", "echo")
        try:
            res["raw_ms"] = [x * 1000 for x in raw_bursts(a, b, n)]
            res["raw_back_ms"] = [x * 1000 for x in raw_bursts(b, a, n)]
            # CPU of the raw callee (a raw engine) during a call with audio both ways
            import psutil

            proc = psutil.Process(b.proc.pid)
            c0 = sum(proc.cpu_times()[:2])
            t0 = time.monotonic()
            a.send(op="play", signal="tone", freq=300, secs=call_s)
            b.send(op="play", signal="tone", freq=500, secs=call_s)
            time.sleep(call_s)
            res["raw_cpu_per_s"] = (sum(proc.cpu_times()[:2]) - c0) / (time.monotonic() - t0)
        finally:
            a.stop()
            b.stop()
        # -- Faro --------------------------------------------------------------------------
        with phone(r.settings()) as p:
            cfg = Config({"audio.near_device": "none", "audio.retry_s": 60.0})
            svc = AudioService(cfg, SystemClock(), p.bus, backend=p.backend)
            svc.start()
            loud_at: list[float] = []

            def far(block: np.ndarray) -> None:
                x = block.astype(np.float64) / 32768
                if 20 * np.log10(np.sqrt(np.mean(x * x)) + 1e-9) > LOUD_DB:
                    loud_at.append(time.monotonic())

            p.backend.media.on_far(far)
            p.wait_line("registered")
            caller = r.peer("caller").start()
            try:
                caller.wait("registered")
                caller.send(op="dial", uri=r.counselor_uri())
                p.wait_state(CallState.RINGING)
                p.machine.do(Action.ANSWER)
                caller.wait("established")
                wait_until(lambda: p.backend.pump.has(p.machine.call.backend_ref), 5, "media")
                stop_mic = threading.Event()
                mic_tone = threading.Event()

                def mic() -> None:  # the counselor's microphone: 20 ms blocks in real time
                    nxt = time.monotonic()
                    while not stop_mic.is_set():
                        p.backend.media.send_near(TONE if mic_tone.is_set() else SILENCE)
                        nxt += 0.02
                        time.sleep(max(0.0, nxt - time.monotonic()))

                threading.Thread(target=mic, daemon=True).start()
                time.sleep(1.5)
                media_ms, vad_ms, mic_ms = [], [], []
                for _ in range(n):
                    loud_at.clear()
                    caller.send(op="play", signal="tone", freq=440, secs=0.2)
                    t0 = caller.wait("play_started")["t"]
                    t_vad = None
                    while time.monotonic() < t0 + 0.8:
                        if t_vad is None and svc.snapshot().health.far_speaking:
                            t_vad = time.monotonic()
                        time.sleep(0.002)
                    if loud_at:
                        media_ms.append((loud_at[0] - t0) * 1000)
                    if t_vad is not None:
                        vad_ms.append((t_vad - t0) * 1000)
                    # mic -> wire
                    t1 = time.monotonic()
                    mic_tone.set()
                    time.sleep(0.2)
                    mic_tone.clear()
                    time.sleep(0.6)
                    caller.send(op="rx_report", since=t1 - 0.05)
                    t = onset(caller.wait("rx")["frames"], t1, t1 + 0.7)
                    if t is not None:
                        mic_ms.append((t - t1) * 1000)
                res["faro_media_ms"], res["faro_vad_ms"], res["faro_mic_ms"] = (
                    media_ms,
                    vad_ms,
                    mic_ms,
                )
                # CPU of the Faro process over a call with audio both ways
                ru0 = resource.getrusage(resource.RUSAGE_SELF)
                t0 = time.monotonic()
                mic_tone.set()
                caller.send(op="play", signal="tone", freq=300, secs=call_s)
                time.sleep(call_s)
                mic_tone.clear()
                ru1 = resource.getrusage(resource.RUSAGE_SELF)
                wall = time.monotonic() - t0
                res["faro_cpu_per_s"] = (
                    ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime
                ) / wall
                stop_mic.set()
                q = p.backend.last_quality
                res["quality"] = (
                    None
                    if q is None
                    else dict(
                        mos=q.mos, loss_pct=q.loss_pct, jitter_ms=q.jitter_ms, rtt_ms=q.rtt_ms
                    )
                    if hasattr(q, "mos")
                    else repr(q)
                )
                res["underruns"] = svc.snapshot().playback_underruns
            finally:
                caller.stop()
                svc.stop()
    return res


def summary(res: dict) -> dict:
    def s(xs):
        return (
            {
                "n": len(xs),
                "median": round(statistics.median(xs), 1),
                "p95": round(pct(xs, 0.95), 1),
            }
            if xs
            else None
        )

    raw = statistics.median(res["raw_ms"]) if res["raw_ms"] else float("nan")
    raw_back = statistics.median(res["raw_back_ms"]) if res["raw_back_ms"] else float("nan")
    out = {
        "raw_engine_to_engine_ms": s(res["raw_ms"]),
        "raw_engine_back_ms": s(res["raw_back_ms"]),
        "faro_wire_to_callmedia_ms": s(res["faro_media_ms"]),
        "faro_wire_to_vad_ms": s(res["faro_vad_ms"]),
        "faro_mic_to_wire_ms": s(res["faro_mic_ms"]),
        "added_wire_to_callmedia_ms": s([x - raw for x in res["faro_media_ms"]]),
        "added_wire_to_vad_ms": s([x - raw for x in res["faro_vad_ms"]]),
        "added_mic_to_wire_ms": s([x - raw_back for x in res["faro_mic_ms"]]),
        "raw_cpu_s_per_call_s": round(res["raw_cpu_per_s"], 4),
        "faro_cpu_s_per_call_s": round(res["faro_cpu_per_s"], 4),
        "cpu_ratio": round(res["faro_cpu_per_s"] / res["raw_cpu_per_s"], 2),
        "quality": res.get("quality"),
        "playback_underruns": res.get("underruns"),
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = summary(run(args.quick))
    if args.json:
        print(json.dumps(out))
        return
    for k, v in out.items():
        print(f"{k:32} {v}")


if __name__ == "__main__":
    main()
