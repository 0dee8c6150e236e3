"""Button-box latency: byte written to the pty → call command's event on the bus.

Against the raw library doing the same work: a thread blocked in select()+read() on a pty
reading the same frame bytes. One run, same machine, same moment. Run:

    /tmp/venv/bin/python -m bench.buttonbox [--n 500]

Writes bench/results/buttonbox.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import select
import statistics
import tempfile
import threading
import time
from pathlib import Path

from calls.events import MuteChanged
from calls.model import Action
from core.clock import SystemClock
from core.config import Config
from core.paths import Paths
from core.session import Session
from devices import events as ev
from devices.buttonbox import protocol as p
from devices.buttonbox.codec import encode_frame
from devices.buttonbox.driver import DriverSettings
from devices.buttonbox.simulator import ButtonBoxSimulator
from devices.service import ButtonBoxService

RESULTS = Path(__file__).resolve().parent / "results" / "buttonbox.md"
UI_FRAME_MS = 1000 / 60


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def frame(kind: p.ButtonKind, seq: int) -> bytes:
    return encode_frame(p.encode_body(p.Button(2, kind, 0), seq))   # button 2 = mute


def measure_driver(n: int) -> list[float]:
    home = Path(tempfile.mkdtemp(prefix="faro-bench-"))
    config = Config({"devices.buttonbox.actions": {"mute:press": "mute_toggle"}})
    session = Session(config, paths=Paths.under(home), clock=SystemClock(), attach=False)
    sim = ButtonBoxSimulator(home / "box").start()
    arrived = threading.Event()
    stamp = [0.0]

    class Probe:
        def on_mute(self, event: MuteChanged) -> None:
            stamp[0] = time.perf_counter()
            arrived.set()
    probe = Probe()
    session.bus.subscribe(MuteChanged, probe.on_mute)   # first: the moment it is on the bus
    svc = ButtonBoxService(session, DriverSettings(port=sim.path, heartbeat_s=0.5))
    session.add_service("buttonbox", svc)
    connected = threading.Event()

    class Conn:
        def on(self, event: ev.ButtonBoxConnected) -> None:
            connected.set()
    conn = Conn()
    session.bus.subscribe(ev.ButtonBoxConnected, conn.on)
    session.start()
    if not connected.wait(5):
        raise SystemExit("the simulated box did not connect")
    session.calls.do(Action.ANSWER)                 # a call in progress: mute toggles
    out: list[float] = []
    seq = 10
    for i in range(n + 20):
        arrived.clear()
        seq = (seq + 1) & 0xFF
        data = frame(p.ButtonKind.DOWN, seq)
        t0 = time.perf_counter()
        sim.write_raw(data)
        if not arrived.wait(2):
            raise SystemExit(f"press {i} did not reach the bus")
        if i >= 20:                                 # warm-up
            out.append((stamp[0] - t0) * 1000)
        seq = (seq + 1) & 0xFF
        sim.write_raw(frame(p.ButtonKind.UP, seq))
        time.sleep(0.003)
    session.stop()
    sim.stop()
    return out


def measure_raw(n: int) -> list[float]:
    import pty
    import tty
    master, slave = pty.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    data = frame(p.ButtonKind.DOWN, 1)
    got = threading.Event()
    stamp = [0.0]
    stop = False

    def reader() -> None:
        buf = b""
        while not stop:
            r, _, _ = select.select([slave], [], [], 0.1)
            if r:
                buf += os.read(slave, 65536)
                if len(buf) >= len(data):
                    stamp[0] = time.perf_counter()
                    buf = b""
                    got.set()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    out = []
    for i in range(n + 20):
        got.clear()
        t0 = time.perf_counter()
        os.write(master, data)
        got.wait(2)
        if i >= 20:
            out.append((stamp[0] - t0) * 1000)
        time.sleep(0.003)
    stop = True
    t.join()
    os.close(master)
    os.close(slave)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    args = ap.parse_args()
    raw = measure_raw(args.n)
    drv = measure_driver(args.n)
    r50, d50 = statistics.median(raw), statistics.median(drv)
    rows = [("raw select+read of the frame", raw), ("driver → call command → event on bus", drv)]
    lines = [
        "# Button-box latency",
        "",
        f"Byte written to the pty → the call command's event on the bus (MuteChanged), vs a "
        f"thread blocked in select()+read() on a pty receiving the same {len(frame(p.ButtonKind.DOWN, 1))}-byte "
        f"frame. {args.n} presses each, one run, after 20 warm-up presses.",
        "",
        "| path | median ms | p95 ms | p99 ms | max ms |",
        "|------|-----------|--------|--------|--------|",
    ]
    for name, xs in rows:
        lines.append(f"| {name} | {statistics.median(xs):.3f} | {pct(xs, .95):.3f} | "
                     f"{pct(xs, .99):.3f} | {max(xs):.3f} |")
    lines += [
        "",
        f"- Ratio driver / raw (medians): **{d50 / r50:.2f}x** (target: within 2x).",
        f"- Driver median vs one 60 Hz UI frame ({UI_FRAME_MS:.1f} ms): "
        f"**{d50 / UI_FRAME_MS * 100:.1f} %** of a frame (target: under one frame).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; shared with other jobs while it ran.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
