"""Button-box latency: a byte written to the pty → the call command's event on the bus.

Two paths, measured in one run, in one process, interleaved press by press (the order of
each pair alternates), so both see the same machine at the same moment:

- **raw**: a thread blocked exactly like the driver's owner thread — ``select()`` on the
  tty fd and a wake-up pipe, then ``os.read(fd, 65536)`` — stamps the time once the whole
  frame is in. This is what the raw OS/library costs and cannot be beaten.
- **driver**: the real ``ButtonBoxService`` on a real session: owner thread wakes → read →
  COBS/CRC → message → gesture → ``session.calls.handle(Command(MUTE_TOGGLE, BUTTON_BOX))``
  → CallMachine → ``EventBus.publish(MuteChanged)`` → the stamp is taken by a bus
  subscriber when the event reaches it ("the call command on the bus"; see docs/devices.md).

Both sides are driven by the same code: ``t0 = perf_counter_ns(); os.write(master, frame)``
on the bench's main thread, which then blocks on a ``threading.Event``. The box at the far
end of the driver's pty (handshake, heartbeats, ACKs of LED_STATE) runs the reference
firmware logic in a *separate process*, as a real box is outside Faro's process; so no
simulator thread competes for the interpreter lock. Nothing is pinned, the GC and the
switch interval are left as the product runs them.

    /tmp/venv/bin/python -m bench.buttonbox [--n 2000] [--warmup 100] [--stages]

Writes bench/results/buttonbox.md (not with --stages, which wraps functions with probes and
prints where the time goes, inflating the total by the probes' own cost).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "buttonbox.md"
UI_FRAME_MS = 1000 / 60
TARGET_P99_MS = 1.0  # and under one UI frame
READ_SIZE = 65536  # as devices.buttonbox.link
GAP_S = 0.004  # quiet time before each sample (the previous press settles)
ns = time.perf_counter_ns


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def raw_pty() -> tuple[int, int]:
    master, slave = pty.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    return master, slave


# -- the box, in its own process -----------------------------------------------------------
def run_box(fd: int) -> None:
    """The reference firmware logic on the master side of the pty, until stdin closes."""
    from devices.buttonbox.simulator import DEFAULT_BUTTONS, DEFAULT_LEDS
    from devices.firmware.pico.boxlogic import BoxLogic

    t0 = time.monotonic()

    def now() -> int:
        return int((time.monotonic() - t0) * 1000)

    box = BoxLogic(
        model="Faro Box 4 (bench)",
        serial="BENCH-1",
        buttons=DEFAULT_BUTTONS,
        leds=DEFAULT_LEDS,
        now=now(),
    )
    stdin = sys.stdin.fileno()
    while True:
        ready, _w, _x = select.select([fd, stdin], [], [], 0.01)
        if stdin in ready and not os.read(stdin, 64):
            return
        if fd in ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            box.feed(data, now())
        box.tick(now())
        for f in box.take_frames():
            os.write(fd, f)


# -- the two paths ----------------------------------------------------------------------------
class RawPath:
    """A thread blocked in select()+read() like the driver's owner thread."""

    name = "raw select+read of the frame"

    def __init__(self, size: int) -> None:
        self.master, self.slave = raw_pty()
        self.wake_r, self.wake_w = os.pipe()
        self.size = size
        self.done = threading.Event()
        self.stamp = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="bench-raw-reader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        fd, wake = self.slave, self.wake_r
        got = 0
        while not self.stopping:
            ready, _w, _x = select.select([fd, wake], [], [], 0.1)
            if wake in ready:
                os.read(wake, 4096)
            if fd in ready:
                got += len(os.read(fd, READ_SIZE))
                if got >= self.size:
                    self.stamp = ns()
                    got = 0
                    self.done.set()

    def sample(self, data: bytes) -> float:
        self.done.clear()
        t0 = ns()
        os.write(self.master, data)
        if not self.done.wait(2):
            raise SystemExit("the raw reader did not get the frame")
        return (self.stamp - t0) / 1e6

    def close(self) -> None:
        self.stopping = True
        os.write(self.wake_w, b"x")
        self.thread.join(2)
        for fd in (self.master, self.slave, self.wake_r, self.wake_w):
            os.close(fd)


class DriverPath:
    """The button-box service on a real session; the box runs in another process."""

    name = "driver → call command → event on bus"

    def __init__(self) -> None:
        from app.session import Session
        from calls.events import MuteChanged
        from calls.model import Action
        from core.clock import SystemClock
        from core.config import Config
        from core.paths import Paths
        from devices import events as ev
        from devices.buttonbox.driver import DriverSettings
        from devices.service import ButtonBoxService

        self.master, self.slave = raw_pty()
        self.box = subprocess.Popen(
            [sys.executable, "-m", "bench.buttonbox", "--box-fd", str(self.master)],
            pass_fds=(self.master,),
            stdin=subprocess.PIPE,
            cwd=Path(__file__).resolve().parent.parent,
        )
        home = Path(tempfile.mkdtemp(prefix="faro-bench-"))
        # mute bound to a press only, so the press is taken on "down" (no wait for "up")
        config = Config({"devices.buttonbox.actions": {"mute:press": "mute_toggle"}})
        self.session = Session(config, paths=Paths.under(home), clock=SystemClock(), attach=False)
        self.done = threading.Event()
        self.stamp = 0
        connected = threading.Event()
        bench = self

        class Probe:
            def on_mute(self, event: MuteChanged) -> None:
                bench.stamp = ns()
                bench.done.set()

            def on_connected(self, event: ev.ButtonBoxConnected) -> None:
                connected.set()

        self._probe = Probe()
        self.session.bus.subscribe(MuteChanged, self._probe.on_mute)
        self.session.bus.subscribe(ev.ButtonBoxConnected, self._probe.on_connected)
        self.svc = ButtonBoxService(self.session, DriverSettings(port=os.ttyname(self.slave)))
        self.session.add_service("buttonbox", self.svc)
        self.session.start()
        if not connected.wait(10):
            raise SystemExit("the bench box did not connect")
        self.session.calls.do(Action.ANSWER)  # a call in progress: mute toggles
        self.seq = 100
        self.t0 = 0

    def frames(self) -> tuple[bytes, bytes]:
        from devices.buttonbox import protocol as p
        from devices.buttonbox.codec import encode_frame

        self.seq = (self.seq + 2) & 0xFF
        down = encode_frame(p.encode_body(p.Button(2, p.ButtonKind.DOWN, 0), self.seq))
        up = encode_frame(p.encode_body(p.Button(2, p.ButtonKind.UP, 0), self.seq + 1))
        return down, up

    def sample(self, data: bytes) -> float:
        down, up = self.frames()
        self.done.clear()
        self.t0 = t0 = ns()
        os.write(self.master, down)
        if not self.done.wait(2):
            raise SystemExit("a press did not reach the bus")
        ms = (self.stamp - t0) / 1e6
        os.write(self.master, up)
        return ms

    def close(self) -> None:
        self.session.stop()
        assert self.box.stdin is not None
        self.box.stdin.close()
        self.box.wait(5)
        os.close(self.master)
        os.close(self.slave)


# -- probes (--stages) ------------------------------------------------------------------------
def install_stage_probes() -> tuple[dict[str, int], list[str]]:
    """Wrap the functions on the path with perf_counter_ns probes (first call per press)."""
    import calls.machine as cm
    import core.events as ce
    from calls.events import MuteChanged
    from devices import service
    from devices.buttonbox import box_session, codec

    marks: dict[str, int] = {}

    def wrap(
        owner: object,
        attr: str,
        mark: str,
        before: bool = True,
        when: Callable[..., bool] = lambda *a: True,
    ) -> None:
        orig = getattr(owner, attr)

        def probe(*a, **kw):
            if before and when(*a):
                marks.setdefault(mark, ns())
            r = orig(*a, **kw)
            if not before and when(*a):
                marks.setdefault(mark, ns())
            return r

        setattr(owner, attr, probe)

    class Select:
        @staticmethod
        def select(*a):
            r = select.select(*a)
            marks.setdefault("woken", ns())
            return r

    box_session.select = Select  # type: ignore[assignment]
    wrap(codec.FrameDecoder, "feed", "read")
    wrap(codec.FrameDecoder, "feed", "framed", before=False)
    wrap(service.ButtonBoxService, "_on_button", "parsed")
    wrap(cm.CallMachine, "handle", "handle")
    wrap(ce.EventBus, "publish", "publish", when=lambda bus, e: isinstance(e, MuteChanged))
    return marks, ["woken", "read", "framed", "parsed", "handle", "publish"]


def stage_report(rows: list[dict[str, int]], order: list[str]) -> list[str]:
    labels = {
        "woken": "write → owner thread back from select",
        "read": "→ os.read done, decoder entered",
        "framed": "→ COBS + CRC (FrameDecoder.feed)",
        "parsed": "→ message decoded, seq checked (→ _on_button)",
        "handle": "→ gesture, Command (→ CallMachine.handle)",
        "publish": "→ machine accepted, MuteChanged built (→ publish)",
        "bus": "→ delivered to the subscriber",
    }
    out = ["| stage | median µs | p95 µs |", "|---|---|---|"]
    prev = "t0"
    for k in order + ["bus"]:
        d = [(r[k] - r[prev]) / 1000 for r in rows if k in r and prev in r]
        out.append(f"| {labels[k]} | {statistics.median(d):.1f} | {pct(d, 0.95):.1f} |")
        prev = k
    return out


# -- main -------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000, help="samples per path")
    ap.add_argument("--warmup", type=int, default=100, help="samples per path not counted")
    ap.add_argument("--stages", action="store_true", help="print where the time goes")
    ap.add_argument("--box-fd", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.box_fd is not None:
        run_box(args.box_fd)
        return

    marks, order = install_stage_probes() if args.stages else ({}, [])
    driver = DriverPath()
    down, _up = driver.frames()
    raw = RawPath(len(down))
    paths = (raw, driver)
    samples: dict[str, list[float]] = {p.name: [] for p in paths}
    stage_rows: list[dict[str, int]] = []
    started = time.monotonic()
    try:
        for i in range(args.warmup + args.n):
            for path in paths if i % 2 == 0 else paths[::-1]:
                time.sleep(GAP_S)
                marks.clear()
                ms = path.sample(down)
                if i >= args.warmup:
                    samples[path.name].append(ms)
                    if path is driver and marks:
                        stage_rows.append(dict(marks, t0=driver.t0, bus=driver.stamp))
    finally:
        raw.close()
        driver.close()
    took = time.monotonic() - started
    if args.stages:
        print("stage probes (absolute figures inflated by the probes)")
        print("\n".join(stage_report(stage_rows, order)))
        print(
            f"total median {statistics.median(samples[driver.name]) * 1000:.1f} µs, raw "
            f"{statistics.median(samples[raw.name]) * 1000:.1f} µs"
        )
        return
    write_results(samples, raw.name, driver.name, args, len(down), took)


def write_results(
    samples: dict[str, list[float]],
    raw_name: str,
    drv_name: str,
    args: argparse.Namespace,
    size: int,
    took: float,
) -> None:
    raw, drv = samples[raw_name], samples[drv_name]
    r50, d50 = statistics.median(raw), statistics.median(drv)
    r95, d95 = pct(raw, 0.95), pct(drv, 0.95)
    extra = [(d - r) * 1000 for r, d in zip(raw, drv, strict=True)]  # the two samples of one pair
    lines = [
        "# Button-box latency (bench/buttonbox.py)",
        "",
        f"A {size}-byte BUTTON frame written to a pty → the call command's event on the bus "
        "(`MuteChanged` reaching a bus subscriber), against a thread blocked in "
        "select()+read() on a pty exactly like the driver's owner thread, reading the same "
        f"frame. One run, one process, {args.n} samples per path after {args.warmup} warm-up "
        "samples each, the two paths interleaved (order alternating); the box answering the "
        "driver runs the reference firmware logic in a separate process. Nothing pinned.",
        "",
        "| path | median ms | p95 ms | p99 ms | max ms |",
        "|------|-----------|--------|--------|--------|",
    ]
    for name, xs in ((raw_name, raw), (drv_name, drv)):
        lines.append(
            f"| {name} | {statistics.median(xs):.3f} | {pct(xs, 0.95):.3f} | "
            f"{pct(xs, 0.99):.3f} | {max(xs):.3f} |"
        )
    d99 = pct(drv, 0.99)
    met = d99 < TARGET_P99_MS and d99 < UI_FRAME_MS
    lines += [
        "",
        f"- Target: driver p99 under {TARGET_P99_MS:.0f} ms and under one 60 Hz UI frame "
        f"({UI_FRAME_MS:.1f} ms). Driver p99 **{d99:.3f} ms**: "
        f"**{'met' if met else 'NOT met'}** ({d99 / UI_FRAME_MS * 100:.1f} % of a frame; "
        f"median {d50 / UI_FRAME_MS * 100:.2f} %).",
        *(
            [
                f"- Not met, but the raw read's own p99 in this run is {pct(raw, 0.99):.3f} ms: "
                "the tail is the host's scheduling (other jobs), not the driver; run again on a "
                "quiet host."
            ]
            if not met and pct(raw, 0.99) >= TARGET_P99_MS
            else []
        ),
        f"- Against the raw read (reported, not a target): ratio of the medians "
        f"**{d50 / r50:.2f}x**, of the p95s **{d95 / r95:.2f}x**.",
        f"- What the driver adds to the raw read, per pair of samples taken back to back: "
        f"median **{statistics.median(extra):.0f} µs**, p95 {pct(extra, 0.95):.0f} µs.",
        f'- Run time {took:.0f} s. What "on the bus" means exactly, how the two paths are '
        "made comparable, and where the time goes: docs/devices.md, section Latency.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}; shared with "
        f"other jobs while it ran. Date: {dt.date.today().isoformat()}.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
