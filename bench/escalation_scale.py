"""Scale: 5,000 simulated counselors and 20 supervisor consoles on one Mosquitto.

One run, one real Mosquitto (TLS, client certificates, Faro's ACL, persistence with
``autosave_interval 1``, the packaged log levels), one machine, several processes:

* **crowd** processes (default 2) connect the simulated counselors, each with its own
  certificate and the link a counselor console opens (MQTT 5, clean start off, a 7-day
  session, the retained Last Will, keepalive 10 s, its inbox and own alerts subscribed with
  no-local). They multiplex their clients on one epoll loop each and publish what consoles
  publish: retained presence on every change (ringing, on a call, a call-health code coming
  and going, wrap-up, available, a break), missed and abandoned rings, and a few alerts a
  minute (retained, then resolved by the counselor, which clears them);
* **supervisor** processes run real :class:`~escalation.supervisor.SupervisorAgent`\\ s (each
  with its own certificate and :class:`~escalation.board.Board`), and each console's 500 ms
  UI tick as ``agent.snapshot()``; this process runs one more supervisor in a real
  :class:`~console.supervisor_window.SupervisorWindow` (offscreen Qt), whose ``refresh`` is
  timed with every counselor on its board; it acknowledges every alert it is shown;
* a **raw** process runs as many plain paho-mqtt clients as a supervisor process has
  agents, subscribed to the same topics with the same QoS: the reference for latency and
  for CPU and memory per subscriber.

Board update latency = a crowd's ``publish`` → the ``Board`` holding the message (presence
or alert), on every supervisor, for every message sent in the measurement window; raw =
the same publish → the raw client's ``on_message``. Both clocks are CLOCK_MONOTONIC, which
is one clock for every process of the machine. CPU is utime+stime from /proc/PID/stat over
the window; memory is VmRSS at its end and VmHWM (the peak).

Run: ``python -m bench.escalation_scale [--counselors 5000] [--supervisors 20]
[--duration 90]``; writes bench/results/escalation_scale.md.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import random
import re
import resource
import selectors
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: every topic a supervisor console subscribes to (escalation/supervisor.py), QoS 1
_ID = re.compile(rb'"id":"([^"]+)"')
TICKS = os.sysconf("SC_CLK_TCK")


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _now_ns() -> int:
    return time.monotonic_ns()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _mem_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MiB."""
    got = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, value = line.split(":", 1)
            got[key] = int(value.split()[0]) / 1024
    return got.get("VmRSS", 0.0), got.get("VmHWM", 0.0)


def _supervisor_topics() -> list[str]:
    from escalation import topics

    return [
        topics.ALL_COUNSELOR_TRANSFERS,
        topics.ALL_ALERTS,
        topics.ALL_REALERTS,
        topics.ALL_COUNSELOR_EVENTS,
        topics.ALL_REPLIES,
        topics.ALL_PRESENCE,
        topics.ALL_RINGS,
    ]


def _wait_line(stream: Any, want: str, what: str) -> str:
    line = stream.readline()
    if not line.startswith(want):
        raise RuntimeError(f"{what} said {line!r} instead of {want}")
    return line.strip()


# -- the crowd (child process) -------------------------------------------------------------------
#: a counselor's presence goes round these (status, health codes) steps
CYCLE = (
    ("available", ()),
    ("ringing", ()),
    ("on_call", ()),
    ("on_call", ("caller_silent",)),
    ("on_call", ()),
    ("wrap_up", ()),
)


def crowd(args: argparse.Namespace) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    from paho.mqtt.subscribeoptions import SubscribeOptions

    from core.clock import SystemClock
    from escalation import messages as m
    from escalation import topics
    from escalation.transport import tls_context

    _raise_fd_limit()
    pki, port = Path(args.pki), args.port
    names = [f"c{i:05d}" for i in range(args.first, args.first + args.count)]
    clock = SystemClock()
    rnd = random.Random(args.first)
    sel = selectors.DefaultSelector()
    clients: dict[str, Any] = {}
    connected: set[str] = set()
    got = {"inbox": 0}

    def on_connect(c, userdata, flags, reason, props):  # noqa: ANN001
        connected.add(userdata)
        c.subscribe(
            [
                (topics.counselor_inbox(userdata), SubscribeOptions(qos=1)),
                (topics.own_alerts(userdata), SubscribeOptions(qos=1, noLocal=True)),
                (topics.own_realerts(userdata), SubscribeOptions(qos=1, noLocal=True)),
            ]
        )

    def on_message(c, userdata, msg):  # noqa: ANN001
        got["inbox"] += 1

    def offline(cn: str) -> bytes:
        return m.encode(m.Presence(cn, "offline", clock.now(), unexpected=True, id=m.new_id()))

    def pump(timeout: float) -> None:
        for key, _mask in sel.select(timeout):
            c = key.data
            c.loop_read(100)
            sock = c.socket()
            while sock is not None and getattr(sock, "pending", lambda: 0)():
                c.loop_read(100)
            if c.want_write():
                c.loop_write()

    def misc() -> None:
        for c in clients.values():
            c.loop_misc()
            if c.want_write():
                c.loop_write()

    for cn in names:
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=cn, protocol=mqtt.MQTTv5, userdata=cn
        )
        c.tls_set_context(
            tls_context(str(pki / "ca.crt"), str(pki / f"{cn}.crt"), str(pki / f"{cn}.key"))
        )
        c.will_set(topics.presence(cn), offline(cn), qos=1, retain=True)
        c.on_connect, c.on_message = on_connect, on_message
        c.max_inflight_messages_set(100)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 7 * 86400
        c.connect("127.0.0.1", port, keepalive=10, clean_start=False, properties=props)
        clients[cn] = c
        sel.register(c.socket(), selectors.EVENT_READ, c)
        if len(clients) % 100 == 0:  # the first ones must not reach their keepalive
            pump(0)
            misc()

    end = time.monotonic() + 120
    while len(connected) < len(clients) and time.monotonic() < end:
        pump(0.05)
        misc()
    if len(connected) < len(clients):
        raise SystemExit(f"only {len(connected)} of {len(clients)} connected")

    state = {cn: rnd.randrange(len(CYCLE)) for cn in names}
    call_started: dict[str, float] = {}
    sent: dict[str, list] = {"presence": [], "alert": []}
    recording = [False]

    def presence(cn: str) -> None:
        status, health = CYCLE[state[cn]]
        now = time.monotonic()
        if status == "ringing":
            call_started.pop(cn, None)
        if status == "on_call":
            call_started.setdefault(cn, now)
        call_s = now - call_started[cn] if status == "on_call" else None
        msg = m.Presence(cn, status, clock.now(), call_s, id=m.new_id(), health=health)
        t = _now_ns()
        clients[cn].publish(topics.presence(cn), m.encode(msg), qos=1, retain=True)
        if recording[0]:
            sent["presence"].append((msg.id, t))

    for cn in names:  # as a console does at every connection
        presence(cn)
    for _ in range(20):
        pump(0.01)
    print("CROWD-READY", flush=True)
    line = sys.stdin.readline().split()
    assert line and line[0] == "GO", line
    duration = float(line[1])

    recording[0] = True
    t0 = time.monotonic()
    due = [(t0 + rnd.expovariate(1 / args.presence_every), cn) for cn in names]
    heapq.heapify(due)
    next_ring = t0 + rnd.expovariate(args.rings_per_min / 60) if args.rings_per_min else 1e18
    next_alert = t0 + rnd.expovariate(args.alerts_per_min / 60) if args.alerts_per_min else 1e18
    to_resolve: list[tuple[float, str, str]] = []
    last_misc = t0
    while (now := time.monotonic()) < t0 + duration:
        while due[0][0] <= now:
            _t, cn = heapq.heappop(due)
            state[cn] = (state[cn] + 1) % len(CYCLE)
            if state[cn] == 0 and rnd.random() < 0.1:  # a break instead of available
                msg = m.Presence(cn, "break", clock.now(), id=m.new_id())
                t = _now_ns()
                clients[cn].publish(topics.presence(cn), m.encode(msg), qos=1, retain=True)
                sent["presence"].append((msg.id, t))
            else:
                presence(cn)
            heapq.heappush(due, (now + rnd.expovariate(1 / args.presence_every), cn))
        if now >= next_ring:
            cn = rnd.choice(names)
            ring = m.Ring(
                m.new_id(), cn, rnd.choice(("unanswered", "abandoned")), 20.0, clock.now()
            )
            clients[cn].publish(topics.ring(cn), m.encode(ring), qos=1)
            next_ring = now + rnd.expovariate(args.rings_per_min / 60)
        if now >= next_alert:
            cn = rnd.choice(names)
            esc = m.new_id()
            alert = m.Alert(
                esc, esc, cn, f"call-{esc[:8]}", "urgent", "imminent_risk", 240.0, "unknown",
                clock.now(),
            )  # fmt: skip
            t = _now_ns()
            clients[cn].publish(topics.alert(cn, esc), m.encode(alert), qos=1, retain=True)
            sent["alert"].append((esc, t))
            to_resolve.append((now + args.alert_open_s, cn, esc))
            next_alert = now + rnd.expovariate(args.alerts_per_min / 60)
        while to_resolve and to_resolve[0][0] <= now:
            _t, cn, esc = to_resolve.pop(0)
            res = m.Resolve(m.new_id(), esc, cn, "resolved", clock.now())
            clients[cn].publish(topics.counselor_event(cn, esc), m.encode(res), qos=1)
            clients[cn].publish(topics.alert(cn, esc), b"", qos=1, retain=True)
        pump(0.005)
        if now - last_misc >= 1.0:
            misc()
            last_misc = now
    Path(args.dump).write_text(json.dumps({"sent": sent, "inbox": got["inbox"]}))
    print("CROWD-DONE", flush=True)
    sys.stdin.readline()  # wait to be told to go: the broker must not see Last Wills mid-run


# -- supervisors and raw subscribers (child processes) ------------------------------------------
def _ticker(period: float, work: Any, stop: threading.Event) -> threading.Thread:
    def run() -> None:
        nxt = time.monotonic()
        while not stop.is_set():
            nxt += period
            work()
            stop.wait(max(0.0, nxt - time.monotonic()))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def instrument(board: Any, seen: dict[str, dict[str, int]]) -> None:
    """Stamp when ``board`` has each presence and alert (by message id): the board's own
    methods, wrapped on this instance only."""
    presence, alert = board.presence, board.alert

    def timed_presence(p, live=True):  # noqa: ANN001
        out = presence(p, live)
        seen["presence"][p.id] = _now_ns()
        return out

    def timed_alert(a, known=None):  # noqa: ANN001
        out = alert(a, known)
        seen["alert"].setdefault(a.id, _now_ns())
        return out

    board.presence, board.alert = timed_presence, timed_alert


def supervisors(args: argparse.Namespace) -> None:
    from core.clock import SystemClock
    from core.config import Config
    from core.events import EventBus
    from escalation.outbox import MemoryOutbox
    from escalation.supervisor import SupervisorAgent
    from escalation.transport import LinkSettings

    overrides = json.loads(Path(args.overrides).read_text())
    agents, seen = [], []
    for cn in args.names.split(","):
        cfg = Config.defaults().with_overrides(overrides[cn])
        clock = SystemClock()
        a = SupervisorAgent(
            cfg,
            clock,
            EventBus(),
            MemoryOutbox(),
            LinkSettings.from_config(cfg, "supervisor"),
        )
        stamps: dict[str, dict[str, int]] = {"presence": {}, "alert": {}}
        instrument(a.board, stamps)
        agents.append(a)
        seen.append(stamps)
        a.start()
    t0 = time.monotonic()
    while min(len(a.board.counselors) for a in agents) < args.counselors:
        if time.monotonic() - t0 > 120:
            raise SystemExit("the boards did not fill")
        time.sleep(0.05)
    print(f"SUP-READY {time.monotonic() - t0:.3f}", flush=True)
    snaps: list[float] = []
    stop = threading.Event()

    def tick() -> None:  # each console's 500 ms UI timer reads its agent's snapshot
        for a in agents:
            t = time.perf_counter()
            a.snapshot()
            snaps.append(time.perf_counter() - t)

    _ticker(0.5, tick, stop)
    sys.stdin.readline()
    stop.set()
    Path(args.dump).write_text(
        json.dumps(
            {
                "seen": seen,
                "rows": [len(a.board.counselors) for a in agents],
                "snapshot_s": snaps,
            }
        )
    )
    for a in agents:
        a.stop()
    print("SUP-DONE", flush=True)


def raw(args: argparse.Namespace) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from escalation.transport import tls_context

    pki = Path(args.pki)
    seen: list[dict[str, dict[str, int]]] = []
    clients = []
    for cn in args.names.split(","):
        stamps: dict[str, dict[str, int]] = {"presence": {}, "alert": {}}
        topics_seen: set[str] = set()

        def on_message(c, userdata, msg, stamps=stamps, topics_seen=topics_seen):  # noqa: ANN001
            found = _ID.search(msg.payload)
            if found:
                kind = "alert" if msg.topic.endswith("/alert") else "presence"
                stamps[kind].setdefault(found.group(1).decode(), _now_ns())
            if msg.topic.endswith("/presence"):
                topics_seen.add(msg.topic)

        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cn, protocol=mqtt.MQTTv5)
        c.tls_set_context(
            tls_context(str(pki / "ca.crt"), str(pki / f"{cn}.crt"), str(pki / f"{cn}.key"))
        )
        c.on_message = on_message
        c.on_connect = lambda c, *a: c.subscribe([(t, 1) for t in _supervisor_topics()])
        c.connect("127.0.0.1", args.port, keepalive=10)
        c.loop_start()
        clients.append((c, topics_seen))
        seen.append(stamps)
    t0 = time.monotonic()
    while min(len(s) for _c, s in clients) < args.counselors:
        if time.monotonic() - t0 > 120:
            raise SystemExit("the raw subscribers did not get every presence")
        time.sleep(0.05)
    print(f"RAW-READY {time.monotonic() - t0:.3f}", flush=True)
    sys.stdin.readline()
    Path(args.dump).write_text(json.dumps({"seen": seen}))
    for c, _s in clients:
        c.disconnect()
        c.loop_stop()
    print("RAW-DONE", flush=True)


# -- the measurement ----------------------------------------------------------------------------
def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def _child(args: argparse.Namespace, role: str, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "bench.escalation_scale", "--role", role, *extra]
    for k in ("counselors", "presence_every", "rings_per_min", "alerts_per_min", "alert_open_s"):
        cmd += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
    return subprocess.Popen(
        cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )


def _split(n: int, parts: int) -> list[int]:
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def redraw(args: argparse.Namespace) -> int:
    """The window alone, no broker: ``refresh`` with ``--counselors`` rows, half of them on a
    call (their durations tick), 500 ms of clock between ticks, tuned (only changed cells)
    against the plain full redraw (every item made anew) of the same rows, interleaved."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.session import Session
    from console.supervisor_window import SupervisorWindow
    from core.clock import FakeClock
    from core.config import Config
    from core.paths import Paths
    from escalation import messages as m
    from escalation.service import attach

    app = QApplication.instance() or QApplication([])
    clock = FakeClock()
    cfg = Config.defaults().with_overrides(
        {"escalation.role": "supervisor", "escalation.alert_sound": False}
    )
    session = Session(cfg, paths=Paths.under(Path(tempfile.mkdtemp())), clock=clock, attach=False)
    attach(session)
    window = SupervisorWindow(session)
    window.resize(1024, 600)
    window.show()
    window._timer.stop()
    board = session.service("escalation").supervisor.board
    rnd = random.Random(3)
    for i in range(args.counselors):
        status = "on_call" if i % 2 else rnd.choice(("available", "wrap_up", "break"))
        board.presence(
            m.Presence(f"c{i:05d}", status, clock.now(), 30.0 if i % 2 else None, id=m.new_id())
        )
    window.refresh()
    took: dict[str, list[float]] = {"tuned": [], "plain": []}
    for k in range(40):
        clock.advance(0.5)
        kind = ("tuned", "plain")[k % 2]
        if kind == "plain":
            window._board_drawn.clear()
            window.board.setRowCount(0)
        t = time.perf_counter()
        window.refresh()
        app.processEvents()  # and paint
        took[kind].append((time.perf_counter() - t) * 1000)
        if kind == "plain":  # the tuned tick after it starts from a full table again
            window._board_drawn.clear()
            window.board.setRowCount(0)
            window.refresh()
    window.close()
    tuned, plain = took["tuned"], took["plain"]
    print(
        f"| refresh, {args.counselors} rows, half on a call | tuned {pct(tuned, 50):.1f} / "
        f"{pct(tuned, 99):.1f} ms | full redraw {pct(plain, 50):.1f} / {pct(plain, 99):.1f} ms "
        f"| p50 ratio {pct(plain, 50) / pct(tuned, 50):.1f}× |"
    )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--counselors", type=int, default=5000)
    ap.add_argument("--supervisors", type=int, default=20, help="one of them in the window")
    ap.add_argument("--sup-procs", type=int, default=2)
    ap.add_argument("--crowd-procs", type=int, default=2)
    ap.add_argument("--duration", type=float, default=90.0, help="the measurement window, s")
    ap.add_argument(
        "--presence-every", type=float, default=60.0, help="mean s between a counselor's changes"
    )
    ap.add_argument("--rings-per-min", type=float, default=20.0)
    ap.add_argument("--alerts-per-min", type=float, default=6.0)
    ap.add_argument("--alert-open-s", type=float, default=20.0)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "escalation_scale.md"))
    ap.add_argument("--redraw-only", action="store_true", help="the window's refresh alone")
    ap.add_argument("--role", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--pki", help=argparse.SUPPRESS)
    ap.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--names", help=argparse.SUPPRESS)
    ap.add_argument("--overrides", help=argparse.SUPPRESS)
    ap.add_argument("--dump", help=argparse.SUPPRESS)
    args = ap.parse_args()
    role = {"crowd": crowd, "sup": supervisors, "raw": raw}.get(args.role or "")
    if role is not None:
        role(args)
        return 0
    if args.redraw_only:
        return redraw(args)
    if args.supervisors < 2 or args.sup_procs < 1 or args.supervisors - 1 < args.sup_procs:
        ap.error("at least one supervisor in the window and one in each supervisor process")
    return orchestrate(args)


def orchestrate(args: argparse.Namespace) -> int:
    _raise_fd_limit()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from tests.support.escalation_broker import TlsBroker

    work = Path(tempfile.mkdtemp(prefix="faro-bench-scale-"))
    sup_names = [f"sup-{i:02d}" for i in range(args.supervisors)]
    per_proc = _split(args.supervisors - 1, args.sup_procs)
    raw_names = [f"raw-{i:02d}" for i in range(max(per_proc))]
    broker = TlsBroker(work / "tls", supervisors=(*sup_names, *raw_names), it=())
    mosq = broker.mosquitto
    write_config = mosq.write_config

    def packaged_logging() -> None:  # the test helper logs everything; production does not
        write_config()
        text = mosq.conf.read_text().replace(
            "log_type all", "log_type error\nlog_type warning\nlog_type notice"
        )
        mosq.conf.write_text(text)

    mosq.write_config = packaged_logging  # type: ignore[method-assign]
    t = time.monotonic()
    for i in range(args.counselors):
        broker.issue(f"c{i:05d}")
    for name in raw_names:
        broker.issue(name)
    overrides = {
        cn: broker.overrides(cn, "supervisor", **{"escalation.alert_sound": False})
        for cn in sup_names
    }
    certs_s = time.monotonic() - t
    broker.start()
    for o in overrides.values():
        o["escalation.broker_port"] = broker.port
    ov_file = work / "overrides.json"
    ov_file.write_text(json.dumps(overrides))

    procs: dict[str, subprocess.Popen[str]] = {}
    dumps: dict[str, Path] = {}
    session = window = app = None
    try:
        t = time.monotonic()
        first = 0
        for i, n in enumerate(_split(args.counselors, args.crowd_procs)):
            dumps[f"crowd{i}"] = work / f"crowd{i}.json"
            procs[f"crowd{i}"] = _child(
                args,
                "crowd",
                "--port", str(broker.port), "--pki", str(broker.pki),
                "--first", str(first), "--count", str(n), "--dump", str(dumps[f"crowd{i}"]),
            )  # fmt: skip
            first += n
        for k in [k for k in procs if k.startswith("crowd")]:
            _wait_line(procs[k].stdout, "CROWD-READY", k)
        connect_s = time.monotonic() - t

        ready: dict[str, float] = {}
        at = 1
        for i, n in enumerate(per_proc):
            names = ",".join(sup_names[at : at + n])
            at += n
            dumps[f"sup{i}"] = work / f"sup{i}.json"
            procs[f"sup{i}"] = _child(
                args, "sup", "--names", names, "--overrides", str(ov_file),
                "--dump", str(dumps[f"sup{i}"]),
            )  # fmt: skip
        dumps["raw"] = work / "raw.json"
        procs["raw"] = _child(
            args, "raw", "--names", ",".join(raw_names), "--port", str(broker.port),
            "--pki", str(broker.pki), "--dump", str(dumps["raw"]),
        )  # fmt: skip

        # the supervisor in a window, in this process
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        from app.session import Session
        from console.supervisor_window import SupervisorWindow
        from core.config import Config
        from core.paths import Paths
        from escalation import events as ev
        from escalation.service import attach

        app = QApplication.instance() or QApplication([])
        config = Config.defaults().with_overrides(overrides[sup_names[0]])
        session = Session(config, paths=Paths.under(work / "window").ensure(), attach=False)
        attach(session)
        window = SupervisorWindow(session)
        window.resize(1024, 600)
        window.show()
        agent = session.service("escalation").supervisor
        window_seen: dict[str, dict[str, int]] = {"presence": {}, "alert": {}}
        instrument(agent.board, window_seen)
        to_ack: list[str] = []
        session.bus.subscribe(
            ev.AlertShown, lambda e: to_ack.append(e.escalation_id) if e.kind == "escalation" else 0
        )
        t_win = time.monotonic()
        session.start()
        while len(agent.board.counselors) < args.counselors:
            app.processEvents()
            if time.monotonic() - t_win > 120:
                raise RuntimeError("the window's board did not fill")
            time.sleep(0.02)
        ready["window"] = time.monotonic() - t_win
        for k in [k for k in procs if k.startswith(("sup", "raw"))]:
            ready[k] = float(_wait_line(procs[k].stdout, k.upper()[:3] + "-READY", k).split()[1])

        # refresh: the real method, on its real 500 ms timer, each call timed
        refresh_s: list[float] = []
        plain = window.refresh

        def timed_refresh() -> None:
            t = time.perf_counter()
            plain()
            refresh_s.append(time.perf_counter() - t)

        window._timer.timeout.disconnect()
        window.refresh = timed_refresh  # type: ignore[method-assign]  # events call it too
        window._timer.timeout.connect(timed_refresh)
        window._board_drawn.clear()  # a full draw of every row into an empty table
        window.board.setRowCount(0)
        first_draw = time.perf_counter()
        plain()
        first_draw = time.perf_counter() - first_draw

        def ack_shown() -> None:  # this supervisor acknowledges what it is shown
            while to_ack:
                try:
                    agent.acknowledge(to_ack.pop(0))
                except KeyError:
                    pass

        acker = QTimer()
        acker.timeout.connect(ack_shown)
        acker.start(1000)

        pids = {"broker": mosq.pid, "window": os.getpid()} | {k: p.pid for k, p in procs.items()}
        cpu0 = {k: _cpu_s(pid) for k, pid in pids.items()}
        t0 = time.monotonic()
        for k in [k for k in procs if k.startswith("crowd")]:
            procs[k].stdin.write(f"GO {args.duration}\n")  # type: ignore[union-attr]
        QTimer.singleShot(int(args.duration * 1000), app.quit)
        app.exec()
        for k in [k for k in procs if k.startswith("crowd")]:
            _wait_line(procs[k].stdout, "CROWD-DONE", k)
        QTimer.singleShot(2000, app.quit)  # what was sent last reaches the boards
        app.exec()
        wall = time.monotonic() - t0
        cpu = {k: (_cpu_s(pid) - cpu0[k]) / wall * 100 for k, pid in pids.items()}
        mem = {k: _mem_mb(pid) for k, pid in pids.items()}
        window._timer.stop()
        acker.stop()
        snapshot_window = []
        for _ in range(20):
            t = time.perf_counter()
            agent.snapshot()
            snapshot_window.append(time.perf_counter() - t)
        for k in [k for k in procs if not k.startswith("crowd")]:
            procs[k].stdin.write("STOP\n")  # type: ignore[union-attr]
            _wait_line(procs[k].stdout, k.upper()[:3] + "-DONE", k)
        window_rows = len(agent.board.counselors)
    finally:
        if window is not None:
            window.close()
        if session is not None:
            session.stop()
        for p in procs.values():
            if p.poll() is None and p.stdin is not None:
                try:
                    p.stdin.write("BYE\n")
                    p.stdin.flush()
                except OSError:
                    pass
        for p in procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        broker.stop()

    data = {k: json.loads(path.read_text()) for k, path in dumps.items()}
    sent = {"presence": {}, "alert": {}}
    inbox = 0
    for k, d in data.items():
        if k.startswith("crowd"):
            for kind in sent:
                sent[kind].update(dict(d["sent"][kind]))
            inbox += d["inbox"]
    boards = [s for k, d in data.items() if k.startswith("sup") for s in d["seen"]]
    boards.append(window_seen)
    raws = data["raw"]["seen"]

    def latencies(subs: list[dict[str, dict[str, int]]], kind: str) -> tuple[list[float], int]:
        out, lost = [], 0
        for s in subs:
            got = s[kind]
            for mid, t in sent[kind].items():
                if mid in got:
                    out.append((got[mid] - t) / 1e6)
                else:
                    lost += 1
        return out, lost

    lat = {
        (who, kind): latencies(subs, kind)
        for who, subs in (("faro", boards), ("raw", raws), ("window", [window_seen]))
        for kind in ("presence", "alert")
    }
    snaps = [x * 1000 for k, d in data.items() if k.startswith("sup") for x in d["snapshot_s"]]
    rows_ok = all(r == args.counselors for k, d in data.items() if k.startswith("sup")
                  for r in d["rows"]) and window_rows == args.counselors  # fmt: skip
    refresh_ms = [x * 1000 for x in refresh_s]

    def row(name: str, key: tuple[str, str]) -> str:
        v, lost = lat[key]
        if not v:
            return f"| {name} | 0 | — | — | — | — | {lost} |"
        return (
            f"| {name} | {len(v)} | {pct(v, 50):.1f} | {pct(v, 99):.1f} | "
            f"{statistics.mean(v):.1f} | {max(v):.1f} | {lost} |"
        )

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}×" if b > 0 else "—"

    n_sup_proc = per_proc[0]
    sup_cpu = [cpu[k] for k in cpu if k.startswith("sup")]
    sup_rss = [mem[k][0] for k in mem if k.startswith("sup")]
    crowd_cpu = sum(cpu[k] for k in cpu if k.startswith("crowd"))
    msgs = len(sent["presence"]) + len(sent["alert"])
    p99 = {k: pct(lat[k][0], 99) for k in lat}
    text = f"""# Scale: 5,000 counselors, 20 supervisors (bench/escalation_scale.py)

One Mosquitto 2.0 (TLS 1.2+, a client certificate each, Faro's ACL, persistence with
`autosave_interval 1`, the packaged log levels), **{args.counselors}** simulated counselors
in {args.crowd_procs} processes, each with the link a counselor console opens (MQTT 5, clean
start off, 7-day session, retained Last Will, keepalive 10 s, inbox and own alerts
subscribed), and **{args.supervisors}** supervisors: {args.supervisors - 1} real
`SupervisorAgent`s in {args.sup_procs} processes ({", ".join(map(str, per_proc))}), each
reading its snapshot on a 500 ms tick as the console does, and one in a real
`SupervisorWindow` (offscreen Qt) in the orchestrating process; against {len(raw_names)}
raw paho-mqtt clients in one process, subscribed to the same topics at the same QoS.

Traffic in the {args.duration:g} s window: each counselor changes presence every
{args.presence_every:g} s on average (ringing, on a call, a call-health code coming and
going, wrap-up, available, now and then a break; a busy centre's counselor changes about
every 150 s, so this is {150 / args.presence_every:.1f} times that), {args.rings_per_min:g} missed or abandoned
rings a minute, {args.alerts_per_min:g} urgent alerts a minute (retained; the window's
supervisor acknowledges each, the counselor resolves it {args.alert_open_s:g} s later and
clears it): **{len(sent["presence"])} presence messages and {len(sent["alert"])} alerts
sent** ({msgs / args.duration:.0f} msg/s into the broker, each delivered to
{args.supervisors + len(raw_names)} subscribers); counselors' inboxes got {inbox} receipts
and acknowledgements.

- certificates issued in {certs_s:.1f} s; {args.counselors} counselors connected (TLS) and
  published their presence in {connect_s:.1f} s
- a supervisor starting with every counselor online has them all on its board in
  {min(ready[k] for k in ready if k.startswith(("sup", "window"))):.1f}–{max(ready[k] for k in ready if k.startswith(("sup", "window"))):.1f} s
  (retained presence; the window's agent: {ready["window"]:.1f} s; raw clients:
  {ready["raw"]:.1f} s); every board ended with all {args.counselors} rows: {"yes" if rows_ok else "**no**"}

## Board update: counselor's publish → the supervisor's `Board` has it

| path | n | p50 ms | p99 ms | mean ms | max ms | lost |
|---|---|---|---|---|---|---|
{row("presence → Board (all " + str(args.supervisors) + " supervisors)", ("faro", "presence"))}
{row("presence → raw paho on_message (" + str(len(raw_names)) + " clients)", ("raw", "presence"))}
{row("presence → the window's Board", ("window", "presence"))}
{row("alert → Board (all supervisors)", ("faro", "alert"))}
{row("alert → raw paho on_message", ("raw", "alert"))}

**p99 presence: Faro / raw = {ratio(p99[("faro", "presence")], p99[("raw", "presence")])}**
({p99[("faro", "presence")]:.1f} vs {p99[("raw", "presence")]:.1f} ms); alerts:
{ratio(p99[("faro", "alert")], p99[("raw", "alert")])}. What the supervisor *sees* follows
at the window's next 500 ms tick, plus one refresh.

## The console's redraw with {args.counselors} rows

| what | n | p50 ms | p99 ms | max ms |
|---|---|---|---|---|
| `SupervisorWindow.refresh` on its 500 ms timer, traffic flowing | {len(refresh_ms)} | {pct(refresh_ms, 50):.1f} | {pct(refresh_ms, 99):.1f} | {max(refresh_ms, default=float("nan")):.1f} |
| `agent.snapshot()` on the supervisor processes' ticks | {len(snaps)} | {pct(snaps, 50):.1f} | {pct(snaps, 99):.1f} | {max(snaps, default=float("nan")):.1f} |
| `agent.snapshot()` of the window's agent, after the run | {len(snapshot_window)} | {pct([x * 1000 for x in snapshot_window], 50):.1f} | {pct([x * 1000 for x in snapshot_window], 99):.1f} | {max(x * 1000 for x in snapshot_window):.1f} |

Drawing all {args.counselors} rows into an empty table (what the first tick after the
board fills does) took {first_draw * 1000:.0f} ms.

## CPU (% of one core over the window) and memory (MiB)

| process | CPU % | RSS | peak RSS |
|---|---|---|---|
| Mosquitto ({args.counselors + args.supervisors + len(raw_names)} connections) | {cpu["broker"]:.1f} | {mem["broker"][0]:.0f} | {mem["broker"][1]:.0f} |
{chr(10).join(f"| supervisor process {k[3:]} ({per_proc[int(k[3:])]} agents, 500 ms snapshots) | {cpu[k]:.1f} | {mem[k][0]:.0f} | {mem[k][1]:.0f} |" for k in cpu if k.startswith("sup"))}
| raw paho process ({len(raw_names)} clients) | {cpu["raw"]:.1f} | {mem["raw"][0]:.0f} | {mem["raw"][1]:.0f} |
| the window's process (1 agent, Qt, the 500 ms redraw; and this script) | {cpu["window"]:.1f} | {mem["window"][0]:.0f} | {mem["window"][1]:.0f} |
| the crowd ({args.crowd_procs} processes, load generator) | {crowd_cpu:.1f} | {sum(mem[k][0] for k in mem if k.startswith("crowd")):.0f} | — |

**Per subscriber, Faro / raw**: CPU {ratio(statistics.mean(sup_cpu) / n_sup_proc, cpu["raw"] / len(raw_names))}
({statistics.mean(sup_cpu) / n_sup_proc:.2f} vs {cpu["raw"] / len(raw_names):.2f} % of a core per
supervisor); RSS {ratio(statistics.mean(sup_rss) / n_sup_proc, mem["raw"][0] / len(raw_names))}
(a process holding {n_sup_proc} agents against one holding {len(raw_names)} raw clients; the
interpreter's own ~15–20 MiB is shared by each process's clients).

Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other jobs while it ran
(everything above — broker, crowd, {args.supervisors} consoles, the raw clients — ran on
these {os.cpu_count()} cores at once), Python {platform.python_version()},
{platform.platform()}. Read the ratios rather than the absolute figures. Date:
{time.strftime("%Y-%m-%d")}.
"""
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
