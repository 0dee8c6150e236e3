"""Benchmark of live assistance (a supervisor's SIP leg mixed on the counselor's laptop by
Faro's media pump) against the raw engine, one run.

    python -m bench.assist [--quick] [--json]

The real rig on this machine's loopback: Kamailio over TLS on 127.0.0.1, SRTP, Opus; the
caller and the supervisor are separate raw engine processes (:mod:`tests.support.sip_peer`,
the supervisor dialling the counselor's own address with the grant's ``X-Faro-Assist``
header); Faro's ``SipBackend`` runs in this process under a real call machine
(:func:`tests.calls.sip_rig.phone`), with no audio service: the benchmark is the
counselor's microphone (20 ms blocks to ``media.send_near``, in real time) and headset
(a listener on ``media.on_heard``). Measured in the same run:

1. **Latency of each path through the mix**, in coach and in barge mode, 200 ms tone bursts:
   supervisor peer -> counselor (``on_heard``, first block above -40 dBFS), caller peer ->
   supervisor peer (through Faro's mix: decoded, mixed into the supervisor's leg, encoded
   again; the supervisor peer's first 20 ms frame above -40 dBFS), counselor mic
   (``send_near``) -> supervisor peer. The raw baseline: raw peer -> raw peer, a direct call
   of the same kind (TLS, SRTP, Opus, through Kamailio) in the same run. Reported: Faro
   minus the raw median, per burst, median and p95.
2. **CPU** per call-second of the Faro process (``getrusage``, the whole process: engine,
   pump, the benchmark's mic thread) over the same window with audio flowing both ways,
   with the caller only and with the caller and a supervisor's leg in each mode; the extra
   of the leg against one raw engine process carrying one call (``psutil``, same window).
   And the mixing alone: the pump thread's CPU (its own thread clock) plus ``send_near``'s
   per 10 ms tick, on fake engine audio (as tests/calls/test_sip_assist_mix.py), one leg vs
   two, against the bare numpy work (int32 sum + clip of the same blocks).
3. **Loss** during every CPU window: audio each leg took from / gave to the engine, what the
   counselor heard and what each peer received, against the window's length; the transmit
   buffer flushes (``pump.tx_drift_flushes``).
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
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.telephony import db, faro_call, faro_hang_up, onset, pct, registered  # noqa: E402
from calls.media import CallMedia  # noqa: E402
from calls.sip.pump import ASSIST, MediaPump  # noqa: E402
from calls.sip.settings import ASSIST_HEADER  # noqa: E402
from tests.calls.sip_rig import phone, rig  # noqa: E402
from tests.support.toolkit import wait_until  # noqa: E402

RATE = 48000
FRAME_S = 0.02
BLOCK = int(RATE * FRAME_S)
TONE = (0.3 * np.sin(2 * np.pi * 440 * np.arange(BLOCK) / RATE) * 32767).astype(np.int16)
SILENCE = np.zeros(BLOCK, dtype=np.int16)
ONSET_DB = -40.0  # a tone burst's onset (the tones are at -13.5 dBFS, silence is digital)
BURST_S, GAP_S = 0.2, 0.7
TICK = 480  # the pump's 10 ms at 48 kHz
MODES = ("coach", "barge")
CPU_MODES = ("listen", "coach", "barge")


# -- the counselor's side, in this process -------------------------------------------------------
class Mic:
    """The counselor's microphone: a 20 ms block to ``media.send_near`` every 20 ms, silence
    or a tone; ``burst()`` says when the first tone block really went in."""

    def __init__(self, media) -> None:
        self.media = media
        self.tone = threading.Event()
        self.started: float | None = None
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True, name="bench-mic").start()

    def burst(self, secs: float) -> float | None:
        self.started = None
        self.tone.set()
        time.sleep(secs)
        self.tone.clear()
        return self.started

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        nxt = time.monotonic()
        while not self._stop.is_set():
            if self.tone.is_set():
                if self.started is None:
                    self.started = time.monotonic()
                self.media.send_near(TONE)
            else:
                self.media.send_near(SILENCE)
            nxt += FRAME_S
            time.sleep(max(0.0, nxt - time.monotonic()))


class Headset:
    """What the counselor hears (``media.on_heard``): every block's arrival and level while
    metering, and always the sample count."""

    def __init__(self, media) -> None:
        self.frames: list[list[float]] = []
        self.samples = 0
        self.far_samples = 0  # what voice activity gets as the caller
        self.metering = True
        media.on_heard(self._on)
        media.on_far(self._on_far)

    def _on_far(self, block: np.ndarray) -> None:
        self.far_samples += len(block)

    def _on(self, block: np.ndarray) -> None:
        self.samples += len(block)
        if self.metering:
            self.frames.append([time.monotonic(), db(block)])


def tone_bursts(src, dst, n: int) -> list[float]:
    """``src`` (a raw peer) plays a 200 ms tone n times; the delay to ``dst``'s rx onset
    (``dst`` a raw peer) or, for a :class:`Headset`, to the first block Faro's counselor
    hears above -40 dBFS."""
    out = []
    for _ in range(n):
        if isinstance(dst, Headset):
            dst.frames.clear()
        src.send(op="play", signal="tone", freq=440, secs=BURST_S)
        t0 = src.wait("play_started")["t"]
        time.sleep(GAP_S)
        src.wait("play_done")
        if isinstance(dst, Headset):
            frames = list(dst.frames)
        else:
            dst.send(op="rx_report", since=t0 - 0.05)
            frames = dst.wait("rx")["frames"]
        t = onset(frames, t0, t0 + GAP_S - 0.1, ONSET_DB)
        if t is not None:
            out.append(t - t0)
    return out


def mic_bursts(mic: Mic, dst, n: int) -> list[float]:
    """The counselor's microphone -> ``dst``'s rx onset, from the first tone block sent."""
    out = []
    for _ in range(n):
        t0 = mic.burst(BURST_S)
        time.sleep(GAP_S - BURST_S)
        if t0 is None:
            continue
        dst.send(op="rx_report", since=t0 - 0.05)
        t = onset(dst.wait("rx")["frames"], t0, t0 + GAP_S - 0.1, ONSET_DB)
        if t is not None:
            out.append(t - t0)
    return out


def cpu_s(ru0, ru1) -> float:
    return ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime


def peer_got(peer, since: float, until: float) -> float:
    """The share of the 20 ms frames due in [since, until] that ``peer`` received, %."""
    peer.send(op="rx_report", since=since)
    got = sum(1 for t, _ in peer.wait("rx")["frames"] if since <= t < until)
    return round(100.0 * got / ((until - since) / FRAME_S), 1)


def faro_window(p, mic: Mic, headset: Headset, caller, sup, window: float) -> dict:
    """The Faro process's CPU per second over ``window`` with audio flowing both ways (the
    caller and the supervisor, if there is one, play a tone; the microphone sends one), and
    what was lost meanwhile."""
    pump = p.backend.pump
    players = [x for x in (caller, sup) if x is not None]
    for x in players:
        x.send(op="play", signal="tone", freq=300 if x is caller else 600, secs=window + 1.5)
        x.wait("play_started")
    mic.tone.set()
    time.sleep(0.5)
    headset.metering = False
    with pump._lock:
        legs = dict(pump._legs)
    assist = next((leg for leg in legs.values() if leg.role == ASSIST), None)
    backlog: list[int] = []  # the caller's voice queued for the supervisor, samples
    queued: dict[str, list[int]] = {ref: [] for ref in legs}  # engine tx buffer, bytes
    before = {ref: (leg.rx_samples, leg.tx_samples) for ref, leg in legs.items()}
    flushes, heard, far = pump.tx_drift_flushes, headset.samples, headset.far_samples
    t0 = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    while time.monotonic() - t0 < window:
        time.sleep(0.1)
        if assist is not None:
            backlog.append(assist.cross_len)
        for ref, leg in legs.items():
            try:
                queued[ref].append(leg.audio.info().tx_buffered)
            except Exception:
                pass
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    t1 = time.monotonic()
    wall = t1 - t0
    after = {ref: (leg.rx_samples, leg.tx_samples) for ref, leg in legs.items()}
    flushed = pump.tx_drift_flushes - flushes
    heard = headset.samples - heard
    far = headset.far_samples - far
    headset.metering = True
    mic.tone.clear()
    for x in players:
        x.wait("play_done", timeout=5)
    due = wall * RATE

    def share(x: int) -> float:
        return round(100.0 * x / due, 1)

    def ms(xs: list[int]) -> dict | None:
        return (
            {"median": round(statistics.median(xs) / 2 / RATE * 1000, 1),
             "max": round(max(xs) / 2 / RATE * 1000, 1)}
            if xs else None
        )  # fmt: skip

    per_leg = {
        ("supervisor" if leg.role == ASSIST else "caller"): {
            "from_engine_pct": share(after[ref][0] - before[ref][0]),
            "to_engine_pct": share(after[ref][1] - before[ref][1]),
            "engine_tx_buffer_ms": ms(queued[ref]),
        }
        for ref, leg in legs.items()
    }
    out = {
        "cpu_s_per_s": round(cpu_s(ru0, ru1) / wall, 4),
        "window_s": round(wall, 2),
        "legs": per_leg,
        "counselor_heard_pct": share(heard),
        "vad_far_side_pct": share(far),
        "caller_peer_rx_pct": peer_got(caller, t0, t1),
        "tx_drift_flushes": flushed,
    }
    if sup is not None:
        out["supervisor_peer_rx_pct"] = peer_got(sup, t0, t1)
    if backlog:
        out["caller_queued_for_supervisor_ms"] = {
            "median": round(statistics.median(backlog) / RATE * 1000, 1),
            "max": round(max(backlog) / RATE * 1000, 1),
        }
    return out


# -- the mix alone, on fake engine audio ---------------------------------------------------------
class FakeAudio:
    """An engine call's audio: ``read`` gives 10 ms of a constant level, ``write`` drops."""

    def __init__(self, level: int) -> None:
        self.block = np.full(TICK, level, dtype=np.int16).tobytes()
        self._info = types.SimpleNamespace(tx_buffered=0)

    def read(self, n: int) -> bytes:
        return self.block

    def write(self, data: bytes) -> None:
        pass

    def info(self):
        return self._info

    def flush_tx(self) -> None:
        pass


def pump_tick_cost(mode: str | None, seconds: float) -> dict:
    """The real pump thread on fake audio for ``seconds``, the microphone every 10 ms from
    this thread: CPU µs per 10 ms tick of the pump thread (its own clock) and of the
    ``send_near`` calls; ``mode`` None: the caller only."""
    media = CallMedia()
    media.on_heard(lambda b: None)
    media.on_far(lambda b: None)
    pump = MediaPump(media, rx_format=lambda: (RATE, 1))
    pump.add("caller", FakeAudio(1000))
    if mode is not None:
        pump.add("sup", FakeAudio(100), role=ASSIST)
        pump.set_assist_mode(mode)
    try:
        time.sleep(0.3)
        thread = pump._thread
        assert thread is not None and thread.ident is not None
        clock = time.pthread_getcpuclockid(thread.ident)
        mic = np.full(TICK, 10, dtype=np.int16)
        c0 = time.clock_gettime(clock)
        t0 = nxt = time.monotonic()
        near = 0.0
        ticks = 0
        while time.monotonic() - t0 < seconds:
            a = time.thread_time()
            media.send_near(mic)
            near += time.thread_time() - a
            ticks += 1
            nxt += 0.01
            time.sleep(max(0.0, nxt - time.monotonic()))
        pump_cpu = time.clock_gettime(clock) - c0
        wall = time.monotonic() - t0
    finally:
        pump.stop()
    return {
        "pump_thread_us_per_tick": round(pump_cpu / (wall / 0.01) * 1e6, 1),
        "send_near_us_per_tick": round(near / ticks * 1e6, 1),
    }


def numpy_mix_cost(mode: str | None, reps: int) -> float:
    """µs per 10 ms tick of the bare mixing the mode needs: one int32 sum + clip per party
    who hears two voices (the supervisor: caller + counselor; in coach and barge the
    counselor: caller + supervisor; in barge the caller: counselor + supervisor)."""
    caller = np.full(TICK, 1000, dtype=np.int16)
    sup = np.full(TICK, 100, dtype=np.int16)
    mic = np.full(TICK, 10, dtype=np.int16)
    pairs = {
        None: [],
        "listen": [(mic, caller)],
        "coach": [(mic, caller), (caller, sup)],
        "barge": [(mic, caller), (caller, sup), (mic, sup)],
    }[mode]
    a = time.thread_time()
    for _ in range(reps):
        for x, y in pairs:
            np.clip(x.astype(np.int32) + y, -32768, 32767).astype(np.int16)
    return round((time.thread_time() - a) / reps * 1e6, 2)


def mix_costs(seconds: float, reps: int) -> dict:
    out: dict = {}
    for mode in (None, *CPU_MODES):
        key = mode or "caller_only"
        out[key] = {"numpy_us_per_tick": numpy_mix_cost(mode, reps)}
        out[key].update(pump_tick_cost(mode, seconds))
    return out


# -- the run --------------------------------------------------------------------------------------
def run(n: int, window: float, mix_s: float, reps: int) -> dict:
    res: dict = {"bursts": n, "window_s": window}
    res["mix"] = mix_costs(mix_s, reps)
    with tempfile.TemporaryDirectory(prefix="faro-bench-assist-") as tmp, rig(Path(tmp)) as r:
        # -- raw engine -> raw engine, a direct call of the same kind ------------------------
        a = registered(r, "caller")
        b = registered(r, "sup", auto_answer=True)
        try:
            a.send(op="dial", uri=f"sip:sup@{r.domain};transport=tls")
            a.wait("established", timeout=20)
            time.sleep(1.5)
            res["raw_ms"] = [x * 1000 for x in tone_bursts(a, b, n)]
            import psutil

            proc = psutil.Process(b.proc.pid)
            a.send(op="play", signal="tone", freq=300, secs=window + 1.5)
            b.send(op="play", signal="tone", freq=600, secs=window + 1.5)
            time.sleep(0.5)
            c0, t0 = sum(proc.cpu_times()[:2]), time.monotonic()
            time.sleep(window)
            res["raw_cpu_s_per_s"] = round(
                (sum(proc.cpu_times()[:2]) - c0) / (time.monotonic() - t0), 4
            )
            time.sleep(1.2)
        finally:
            a.stop()
            b.stop()
        # -- Faro: the counselor's call, then a supervisor's leg ------------------------------
        with phone(r.settings()) as p:
            headset = Headset(p.backend.media)
            mic = Mic(p.backend.media)
            p.wait_line("registered")
            caller = sup = None
            try:
                caller = faro_call(r, p)
                sup = registered(r, "sup")
                time.sleep(1.5)
                # Faro without assistance, the same ends: what the mix adds on top
                res["faro_plain_ms"] = {
                    "caller_to_counselor_ms": [x * 1000 for x in tone_bursts(caller, headset, n)],
                    "mic_to_caller_ms": [x * 1000 for x in mic_bursts(mic, caller, n)],
                }
                cpu: dict = {"caller_only": faro_window(p, mic, headset, caller, None, window)}
                assert p.backend.expect_assist("bench", "bench-token", "listen") is None
                sup.send(op="dial", uri=p.backend.own_uri, headers={ASSIST_HEADER: "bench-token"})
                sup.wait("established", timeout=20)
                wait_until(lambda: p.backend.assisted and len(p.backend.pump._legs) == 2, 10, "leg")
                time.sleep(1.5)
                lat: dict = {}
                for mode in CPU_MODES:
                    assert p.backend.set_assist_mode(mode)
                    time.sleep(0.5)
                    if mode in MODES:
                        lat[mode] = {
                            "supervisor_to_counselor_ms": [
                                x * 1000 for x in tone_bursts(sup, headset, n)
                            ],
                            "caller_to_supervisor_ms": [
                                x * 1000 for x in tone_bursts(caller, sup, n)
                            ],
                            "mic_to_supervisor_ms": [x * 1000 for x in mic_bursts(mic, sup, n)],
                        }
                    cpu[mode] = faro_window(p, mic, headset, caller, sup, window)
                res["faro_ms"], res["cpu"] = lat, cpu
                res["tx_drift_flushes_total"] = p.backend.pump.tx_drift_flushes
                res["codec"] = p.backend.codec
                assert p.backend.end_assist()
                sup.wait("closed", timeout=15)
                faro_hang_up(p, caller)
                caller = None
            finally:
                mic.stop()
                if sup is not None:
                    sup.stop()
                if caller is not None:
                    caller.stop()
    return res


def stats(xs: list[float]) -> dict | None:
    if not xs:
        return None
    return {"n": len(xs), "median": round(statistics.median(xs), 1), "p95": round(pct(xs, 0.95), 1)}


def summary(res: dict) -> dict:
    raw = statistics.median(res["raw_ms"]) if res["raw_ms"] else float("nan")
    latency: dict = {"raw_peer_to_peer_ms": stats(res["raw_ms"])}
    plain = res["faro_plain_ms"]
    latency["faro_without_assistance"] = {path: stats(xs) for path, xs in plain.items()}
    same_ends = {  # a path through the mix, and Faro's own path to the same receiver
        "supervisor_to_counselor_ms": "caller_to_counselor_ms",
        "mic_to_supervisor_ms": "mic_to_caller_ms",
    }
    for mode, paths in res["faro_ms"].items():
        latency[mode] = {}
        for path, xs in paths.items():
            row = {"faro": stats(xs), "faro_minus_raw": stats([x - raw for x in xs])}
            if path in same_ends and plain[same_ends[path]]:
                base = statistics.median(plain[same_ends[path]])
                row["minus_faro_without_assistance"] = stats([x - base for x in xs])
            latency[mode][path] = row
    cpu = res["cpu"]
    base = cpu["caller_only"]["cpu_s_per_s"]
    raw_cpu = res["raw_cpu_s_per_s"]
    extra = {
        mode: {
            "extra_cpu_s_per_s": round(cpu[mode]["cpu_s_per_s"] - base, 4),
            "extra_vs_one_raw_engine_call": round((cpu[mode]["cpu_s_per_s"] - base) / raw_cpu, 2),
        }
        for mode in CPU_MODES
    }
    mix = res["mix"]
    mix_out: dict = {}
    for mode in CPU_MODES:
        pump_extra = (
            mix[mode]["pump_thread_us_per_tick"]
            + mix[mode]["send_near_us_per_tick"]
            - mix["caller_only"]["pump_thread_us_per_tick"]
            - mix["caller_only"]["send_near_us_per_tick"]
        )
        numpy_extra = mix[mode]["numpy_us_per_tick"] - mix["caller_only"]["numpy_us_per_tick"]
        mix_out[mode] = {
            **mix[mode],
            "pump_extra_us_per_tick": round(pump_extra, 1),
            "numpy_extra_us_per_tick": round(numpy_extra, 2),
            "pump_extra_vs_numpy": round(pump_extra / numpy_extra, 1) if numpy_extra else None,
        }
    mix_out["caller_only"] = mix["caller_only"]
    lost = {
        mode: {k: v for k, v in w.items() if k not in ("cpu_s_per_s", "window_s")}
        for mode, w in cpu.items()
    }
    return {
        "bursts": res["bursts"],
        "window_s": res["window_s"],
        "codec": res.get("codec"),
        "latency": latency,
        "cpu": {
            "raw_engine_one_call_cpu_s_per_s": raw_cpu,
            "faro_cpu_s_per_s": {mode: w["cpu_s_per_s"] for mode, w in cpu.items()},
            "assist_leg": extra,
        },
        "mix_per_10ms_tick": mix_out,
        "loss": lost,
        "tx_drift_flushes_total": res["tx_drift_flushes_total"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--bursts", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--window", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--mix-s", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    n = args.bursts or (8 if args.quick else 24)
    window = args.window or (8.0 if args.quick else 20.0)
    mix_s = args.mix_s or (2.0 if args.quick else 6.0)
    reps = 2000 if args.quick else 20000
    out = summary(run(n, window, mix_s, reps))
    if args.json:
        print(json.dumps(out))
        return
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
