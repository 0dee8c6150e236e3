"""Escalation latency: counselor's press → supervisor console's alert, with 1,000 counselors.

One run, one real Mosquitto (TLS, client certificates, Faro's ACL, persistence), one machine:

* a crowd process connects N simulated counselors (default 1,000), each with its own
  certificate, each publishing retained presence every few seconds (the supervisor receives
  all of it);
* **escalation**: ``CounselorAgent.raise_escalation`` (outbox, record, publish) → the
  ``SupervisorAgent``'s ``AlertShown`` event (decode, dedupe, board, receipt), both real
  agents in this process; measured three times: with the in-memory outbox, with the encrypted
  SQLCipher store outbox (commit before publish, as in the app), and with that store locked
  (the alert sealed in the spool and fsynced before publish, as on a console nobody has
  unlocked yet);
* **raw paho**: a paho client publishes a payload of the same size at QoS 1 → another paho
  client's ``on_message``, through the same broker, interleaved with the escalation samples.

Run: ``/tmp/venv/bin/python -m bench.escalation [--counselors 1000] [--samples 300]``;
writes bench/results/escalation.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- the crowd (child process) -------------------------------------------------------------------
def crowd(port: int, pki: Path, n: int, period: float) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from core.clock import SystemClock
    from escalation import messages as m
    from escalation import topics
    from escalation.transport import tls_context

    _raise_fd_limit()
    clock = SystemClock()
    clients = []
    for i in range(n):
        cn = f"crowd-{i:04d}"
        ctx = tls_context(str(pki / "ca.crt"), str(pki / f"{cn}.crt"), str(pki / f"{cn}.key"))
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"faro-c-{cn}", protocol=mqtt.MQTTv5)
        c.tls_set_context(ctx)
        c.connect("127.0.0.1", port, keepalive=120)
        clients.append((cn, c))
    for _cn, c in clients:  # finish the handshakes
        c.loop(timeout=0.01)
    print("CROWD-READY", flush=True)
    rnd = random.Random(1)
    statuses = ["available", "on_call", "wrap_up", "on_call", "available", "break"]
    due = {cn: time.monotonic() + rnd.uniform(0, period) for cn, _ in clients}
    sent = 0
    while True:
        now = time.monotonic()
        for cn, c in clients:
            if due[cn] <= now:
                msg = m.Presence(
                    cn, rnd.choice(statuses), clock.now(), rnd.uniform(0, 900), id=m.new_id()
                )
                c.publish(topics.presence(cn), m.encode(msg), qos=1, retain=True)
                due[cn] = now + period
                sent += 1
            c.loop(timeout=0)
        time.sleep(0.005)


# -- the measurement ----------------------------------------------------------------------------
def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--counselors", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--presence-period", type=float, default=5.0)
    ap.add_argument(
        "--paths",
        default="raw,esc,esc_store,esc_spool",
        help="which paths to sample (comma-separated; drop esc_spool to compare "
        "with results of the three-path version)",
    )
    ap.add_argument("--crowd", nargs=2, metavar=("PORT", "PKI"), help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "escalation.md"))
    args = ap.parse_args()
    if args.crowd:
        crowd(int(args.crowd[0]), Path(args.crowd[1]), args.counselors, args.presence_period)
        return 0
    _raise_fd_limit()

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from app.wiring import store_outbox
    from core.clock import SystemClock
    from core.config import Config
    from core.events import EventBus
    from escalation import events as ev
    from escalation import messages as m
    from escalation.counselor import CounselorAgent
    from escalation.outbox import MemoryOutbox, open_spool
    from escalation.supervisor import SupervisorAgent
    from escalation.transport import LinkSettings, tls_context
    from tests.support.escalation_broker import TlsBroker

    work = Path(tempfile.mkdtemp(prefix="faro-bench-esc-"))
    broker = TlsBroker(work / "tls", supervisors=("sup-bench", "sup-raw"))
    t = time.monotonic()
    for i in range(args.counselors):
        broker.issue(f"crowd-{i:04d}")
    certs_s = time.monotonic() - t
    broker.start()
    crowd_proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.escalation",
            "--counselors",
            str(args.counselors),
            "--presence-period",
            str(args.presence_period),
            "--crowd",
            str(broker.port),
            str(broker.pki),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    made = []
    stores: list = []
    try:
        t = time.monotonic()
        line = crowd_proc.stdout.readline()  # type: ignore[union-attr]
        assert line.strip() == "CROWD-READY", line
        connect_s = time.monotonic() - t

        shown: dict[str, float] = {}
        cond = threading.Condition()

        def on_event(e):  # noqa: ANN001
            if isinstance(e, ev.AlertShown):
                with cond:
                    shown[e.escalation_id] = time.perf_counter()
                    cond.notify_all()

        def agent(cls, cn, role, outbox=None):  # noqa: ANN001
            cfg = Config.defaults().with_overrides(
                broker.overrides(cn, role, **{"escalation.coverage_minimum": 0})
            )
            bus = EventBus()
            bus.subscribe(ev.AlertShown, on_event)
            a = cls(
                cfg,
                SystemClock(),
                bus,
                outbox or MemoryOutbox(),
                LinkSettings.from_config(cfg, role),
            )
            made.append(a)
            a.start()
            return a

        sup = agent(SupervisorAgent, "sup-bench", "supervisor")
        cou = agent(CounselorAgent, "c-bench", "counselor")
        # the encrypted-store variant
        from storage.service import StoreService
        from tests.support.storage_helpers import FAST, PASS

        store_bus = EventBus()
        store = StoreService(Config(dict(FAST)), SystemClock(), store_bus, work / "store")
        store.init(PASS)
        stores.append(store)
        cou_store = agent(
            CounselorAgent, "c-bench-store", "counselor", store_outbox(store, store_bus)
        )
        locked_bus = EventBus()
        locked = StoreService(Config(dict(FAST)), SystemClock(), locked_bus, work / "locked")
        locked.init(PASS)
        stores.append(locked)
        locked.lock()
        spool_key = broker.overrides("c-bench-spool", "counselor")["escalation.key_file"]
        cou_spool = agent(
            CounselorAgent,
            "c-bench-spool",
            "counselor",
            store_outbox(locked, locked_bus, open_spool(work / "locked", spool_key, "console")),
        )

        raw_got: dict[bytes, float] = {}
        raw_sub = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="raw-sub", protocol=mqtt.MQTTv5
        )
        raw_pub = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="raw-pub", protocol=mqtt.MQTTv5
        )
        for c, cn in ((raw_sub, "sup-raw"), (raw_pub, "c-raw")):
            cert, key = broker.issue(cn)
            c.tls_set_context(tls_context(str(broker.pki / "ca.crt"), str(cert), str(key)))

        def raw_msg(client, userdata, msg):  # noqa: ANN001
            with cond:
                raw_got[msg.payload[:32]] = time.perf_counter()
                cond.notify_all()

        raw_sub.on_message = raw_msg
        for c in (raw_sub, raw_pub):
            c.connect("127.0.0.1", broker.port, 60)
            c.loop_start()
        raw_sub.subscribe("faro/v1/c/c-raw/raw", qos=1)
        end = time.monotonic() + 20
        while not all(a.connected for a in made) and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(2.0)  # the supervisor has taken in the crowd's retained presence
        payload_len = len(m.encode(cou._alert(_sample_esc(cou))))

        def wait_for(d: dict, key, timeout: float = 10.0) -> float:  # noqa: ANN001
            end = time.monotonic() + timeout
            with cond:
                while key not in d:
                    left = end - time.monotonic()
                    if left <= 0:
                        raise RuntimeError("sample lost")
                    cond.wait(left)
                return d[key]

        kinds = [k for k in ("raw", "esc", "esc_store", "esc_spool") if k in args.paths.split(",")]
        assert "raw" in kinds, "the raw path is the reference"
        lat: dict[str, list[float]] = {k: [] for k in kinds}
        for i in range(args.samples):
            order = list(kinds)
            random.Random(i).shuffle(order)
            for kind in order:
                if kind == "raw":
                    key = f"{i:032d}".encode()
                    body = key + b"x" * (payload_len - len(key))
                    t0 = time.perf_counter()
                    raw_pub.publish("faro/v1/c/c-raw/raw", body, qos=1)
                    lat["raw"].append(wait_for(raw_got, key) - t0)
                else:
                    a = {"esc": cou, "esc_store": cou_store, "esc_spool": cou_spool}[kind]
                    t0 = time.perf_counter()
                    eid = a.raise_escalation("urgent", f"call-{i}", call_s=60.0)
                    lat[kind].append(wait_for(shown, eid) - t0)
                time.sleep(0.01)
        presence_seen = len(sup.board.counselors)
    finally:
        for a in made:
            a.stop()
        crowd_proc.kill()
        crowd_proc.wait(10)
        broker.stop()
        for st in stores:
            try:
                st.stop()
            except Exception:
                pass
        for c in (raw_sub, raw_pub):
            c.loop_stop()
            c.disconnect()
    ms = {k: [x * 1000 for x in v] for k, v in lat.items()}
    rows = []
    for k, name in (
        ("raw", "raw paho publish → on_message (QoS 1)"),
        ("esc", "escalation press → supervisor alert (memory outbox)"),
        ("esc_store", "escalation press → supervisor alert (encrypted store outbox)"),
        ("esc_spool", "escalation press → supervisor alert (store locked: sealed spool)"),
    ):
        if k not in ms:
            continue
        v = ms[k]
        rows.append(
            f"| {name} | {len(v)} | {pct(v, 50):.2f} | {pct(v, 99):.2f} | "
            f"{statistics.mean(v):.2f} | {max(v):.2f} |"
        )
    above = {
        k: f"{pct(ms[k], 99) - pct(ms['raw'], 99):+.2f} ms" if k in ms else "not sampled"
        for k in ("esc", "esc_store", "esc_spool")
    }
    text = f"""# Escalation latency (bench/escalation.py)

Press (``raise_escalation``) → the supervisor console's ``AlertShown``, against raw paho
publish → ``on_message`` through the same Mosquitto in the same run, samples interleaved in
random order. Mosquitto 2.0 with TLS 1.2+, client certificates, Faro's ACL and persistence.

- simulated counselors connected: **{args.counselors}** (own certificate each; retained
  presence every {args.presence_period:g} s each, ≈{args.counselors / args.presence_period:.0f} msg/s,
  all delivered to the supervisor: it saw {presence_seen} counselors on its board)
- certificates issued in {certs_s:.1f} s; crowd connected (TLS) in {connect_s:.1f} s
- payload of the raw sample: {payload_len} bytes (the size of an alert)

| path | n | p50 ms | p99 ms | mean ms | max ms |
|---|---|---|---|---|---|
{chr(10).join(rows)}

**p99 above raw**: memory outbox {above["esc"]}; encrypted store outbox {above["esc_store"]};
store locked, sealed spool {above["esc_spool"]} (target: ≤ +10 ms).

The escalation path does more than the raw one on purpose: the counselor records the
escalation and queues it in the outbox before publishing (the store variant commits it to
SQLCipher first; with the store locked it seals and fsyncs it in the spool), the supervisor
decodes and validates it, checks its id, updates the board and sends a receipt.

Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},
{platform.platform()}; shared with other jobs while it ran, so read the ratios rather than
the absolute figures. Date: {time.strftime("%Y-%m-%d")}.
"""
    Path(args.out).write_text(text)
    print(text)
    return 0


def _sample_esc(agent):  # noqa: ANN001
    from core.clock import SystemClock
    from escalation.lifecycle import Escalation

    return Escalation(
        "0" * 32,
        agent.identity,
        "0" * 32,
        "urgent",
        "imminent_risk",
        "unknown",
        60.0,
        SystemClock().now(),
    )


if __name__ == "__main__":
    sys.exit(main())
