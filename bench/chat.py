"""Benchmark of the chat line: one real Prosody (Faro's shipped configuration), the router as
its own process (``faro chat router --config FILE``), one run.

    python -m bench.chat [--quick] [--json] [--rounds N] [--chats N] [--counselors N]
                         [--capacity N]

1. **Latency** person → counselor → person, round trip measured at the person's client (a
   slixmpp guest peer, tests/support/chat_peers.py), the counselor answering each message the
   moment it arrives, interleaved round by round in the same run:
   - ``raw_direct``: two raw slixmpp clients on two accounts messaging each other through
     Prosody alone (no router): the floor of the server and the library;
   - ``raw_router``: the guest peer and a raw slixmpp counselor peer through the router;
   - ``faro``: the guest peer and Faro's own ``ChatService`` (chat/service.py: its thread, its
     loop, its events on the bus; the echo is a bus subscriber calling ``send``).
   Reported: median, p95 and max per path; Faro minus raw_router; raw_router minus raw_direct
   (what the router's hop costs).
2. **Scale**: N guests (default 1,000) connect and say hello; they wait in one queue; then M
   simulated counselors (default 50, capacity 20 each, accepting at once) sign in and the
   router offers the chats one counselor at a time until all are connected; then every person
   sends one message (spread over 5 s) and the counselor echoes it. Reported: how long each
   phase takes, the round trip under that load, the router's answer to a new person's hello
   (idle, with N waiting, while assigning), and the router process's CPU seconds per phase and
   its resident memory (psutil).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chat import events as cev  # noqa: E402
from chat.server import prosody_config  # noqa: E402
from chat.service import ChatService  # noqa: E402
from core import children  # noqa: E402
from core.config import Config  # noqa: E402
from core.events import EventBus  # noqa: E402
from tests.support.chat_peers import CounselorPeer, Got, GuestPeer, PeerLoop, _Peer  # noqa: E402
from tests.support.prosody import Prosody  # noqa: E402


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q / 100 * (len(values) - 1))))
    return values[k]


def summary(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2) if ms else float("nan"),
        "p95_ms": round(pct(ms, 95), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
    }


class RawPeer(_Peer):
    """A plain slixmpp account client: messages to another account, no Faro protocol."""

    def __init__(self, ploop: PeerLoop, server: Any, user: str, password: str) -> None:
        super().__init__(ploop, server)
        self.user, self.password = user, password
        self.echo_to: str | None = None

    def _make(self) -> Any:
        from slixmpp import ClientXMPP

        return ClientXMPP(f"{self.user}@{self.domain}/raw", self.password)

    def send_to(self, to: str, body: str, mid: str) -> None:
        def go() -> None:
            msg = self.xmpp.make_message(mto=to, mbody=body, mtype="chat")
            msg["id"] = mid
            msg.send()

        self.ploop.call(go)

    def _on_message(self, msg: Any) -> None:
        if msg["type"] == "error" or not msg["body"]:
            return
        if self.echo_to is not None:
            reply = self.xmpp.make_message(mto=msg["from"], mbody=msg["body"], mtype="chat")
            reply["id"] = msg["id"] + "-r"
            reply.send()
            return
        self._got(Got("msg", {"mid": msg["id"]}, msg["body"]))


def router_process(server: Prosody, workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    secret = workdir / "router.secret"
    secret.write_text(server.secret)
    secret.chmod(0o600)
    conf = workdir / "router.toml"
    conf.write_text(
        "[router]\n"
        f'domain = "{server.domain}"\n'
        'secret_file = "router.secret"\n'
        'host = "127.0.0.1"\n'
        f"port = {server.component_port}\n"
        "queue_limit = 5000\n"
        "offer_timeout_s = 30\n"
        "alert_after_s = 600\n"
        "position_every_s = 1.0\n"
        # the latency rounds send faster than a person types: no per-person rate limit here
        "rate_per_min = 1000000\n"
        "burst = 100000\n"
    )
    log = open(workdir / "router.log", "ab")  # noqa: SIM115
    proc = children.spawn(
        [sys.executable, "-c", "import sys; from console.cli import main; sys.exit(main())"]
        + ["chat", "router", "--config", str(conf)],
        stdout=log,
        stderr=log,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return proc, workdir / "router.log"


def wait_router(logfile: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if logfile.exists() and "router connected" in logfile.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise TimeoutError("the router did not connect: " + logfile.read_text(errors="replace")[-2000:])


class Sample:
    """The router process's CPU seconds and resident memory."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.p = psutil.Process(proc.pid)
        self.peak_rss = 0

    def cpu(self) -> float:
        t = self.p.cpu_times()
        self.rss()
        return float(t.user + t.system)

    def rss(self) -> int:
        r = int(self.p.memory_info().rss)
        self.peak_rss = max(self.peak_rss, r)
        return r


def faro_service(server: Prosody, user: str, password: str) -> tuple[ChatService, EventBus]:
    config = Config.defaults().with_overrides(
        {
            "chat.enabled": True,
            "chat.domain": server.domain,
            "chat.host": "127.0.0.1",
            "chat.port": server.c2s_port,
            "chat.ca_file": str(server.ca),
            "chat.max_chats": 20,
            "identity.counselor_id": user,
        }
    )
    bus = EventBus()
    host = types.SimpleNamespace(config=config, bus=bus, add_service=lambda n, s: None)
    svc = ChatService(host)  # type: ignore[arg-type]
    svc.set_password(password)
    svc.start()
    return svc, bus


def hello_latency(ploop: PeerLoop, server: Prosody) -> float:
    """A fresh person's hello → the router's first state (connection not counted)."""
    g = GuestPeer(ploop, server).connect()
    t0 = time.monotonic()
    g.hello()
    got = g.expect("state", timeout=60)
    g.bye()
    g.close()
    return got.at - t0


def latency(args: argparse.Namespace, server: Prosody, ploop: PeerLoop) -> dict[str, Any]:
    # raw direct: raw-a → raw-b (echoes) → raw-a, Prosody only
    a = RawPeer(ploop, server, "raw-a", "pw").connect()
    b = RawPeer(ploop, server, "raw-b", "pw").connect()
    b.echo_to = "raw-a"
    b_jid = f"raw-b@{server.domain}/raw"
    # raw router: guest ↔ raw counselor peer that echoes
    echo = CounselorPeer(ploop, server, "c-echo", "pw").connect()
    echo.auto_accept = True
    echo.on_msg = lambda peer, got: peer.say_now(got["chat"], got.body or "")
    echo.ready(capacity=1)
    g_raw = GuestPeer(ploop, server).connect().hello()
    g_raw.expect("state", state="connected", timeout=30)
    # faro: guest ↔ ChatService that echoes from a bus subscriber
    svc, bus = faro_service(server, "c-faro", "pw")

    def on_event(e: Any) -> None:
        if isinstance(e, cev.ChatOffered):
            svc.accept(e.chat)
        elif isinstance(e, cev.ChatMessage) and e.direction == "in":
            svc.send(e.chat, e.text.reveal())

    bus.subscribe(cev.ChatOffered, on_event)
    bus.subscribe(cev.ChatMessage, on_event)
    deadline = time.monotonic() + 30
    while svc._client is None or not svc._client.online:
        if time.monotonic() > deadline:
            raise TimeoutError("the ChatService did not connect")
        time.sleep(0.05)
    echo.ready(capacity=0)  # the next chat goes to Faro's service
    g_faro = GuestPeer(ploop, server).connect().hello()
    g_faro.expect("state", state="connected", timeout=30)
    times: dict[str, list[float]] = {"raw_direct": [], "raw_router": [], "faro": []}
    text = "¿Estás a salvo para seguir escribiendo? " * 2
    for i in range(args.warmup + args.rounds):
        keep = i >= args.warmup
        t0 = time.monotonic()
        a.send_to(b_jid, text, f"raw{i}")
        got = a.expect("msg", timeout=10)
        if keep:
            times["raw_direct"].append(got.at - t0)
        t0 = time.monotonic()
        g_raw.say(text)
        got = g_raw.expect("msg", timeout=10)
        if keep:
            times["raw_router"].append(got.at - t0)
        t0 = time.monotonic()
        g_faro.say(text)
        got = g_faro.expect("msg", timeout=10)
        if keep:
            times["faro"].append(got.at - t0)
        g_raw.taken("receipt")
        g_faro.taken("receipt")
        time.sleep(0.02)
    out = {k: summary(v) for k, v in times.items()}
    out["faro_minus_raw_router_median_ms"] = round(
        out["faro"]["median_ms"] - out["raw_router"]["median_ms"], 2
    )
    out["router_hop_median_ms"] = round(
        out["raw_router"]["median_ms"] - out["raw_direct"]["median_ms"], 2
    )
    for peer in (a, b, echo, g_raw, g_faro):
        peer.close()
    svc.stop()
    return out


def scale(
    args: argparse.Namespace, server: Prosody, sample: Sample, ploop: PeerLoop
) -> dict[str, Any]:
    res: dict[str, Any] = {"chats": args.chats, "counselors": args.counselors}
    res["hello_idle_ms"] = round(hello_latency(ploop, server) * 1000, 1)
    rss0 = sample.rss()
    # N people connect and say hello
    cpu0, t0 = sample.cpu(), time.monotonic()
    guests: list[GuestPeer] = []
    pool = concurrent.futures.ThreadPoolExecutor(16)
    guests = list(
        pool.map(lambda _i: GuestPeer(ploop, server).connect(timeout=120), range(args.chats))
    )
    t_connected = time.monotonic()
    for g in guests:
        g.hello()
    for g in guests:
        g.expect("state", state="waiting", timeout=120)
    t_waiting = time.monotonic()
    cpu1 = sample.cpu()
    res["guests_connect_s"] = round(t_connected - t0, 2)
    res["hellos_to_all_waiting_s"] = round(t_waiting - t_connected, 2)
    res["router_cpu_s_hellos"] = round(cpu1 - cpu0, 2)
    res["router_rss_mb_waiting"] = round(sample.rss() / 2**20, 1)
    res["router_rss_mb_before"] = round(rss0 / 2**20, 1)
    res["hello_with_all_waiting_ms"] = round(hello_latency(ploop, server) * 1000, 1)
    # M counselors, capacity C each, accepting at once
    counselors = [
        CounselorPeer(ploop, server, f"c-sim{i:03d}", "pw").connect(timeout=60)
        for i in range(args.counselors)
    ]
    for c in counselors:
        c.auto_accept = True
        c.on_msg = lambda peer, got: peer.say_now(got["chat"], got.body or "")
    probe: list[float] = []
    stop_probe = threading.Event()

    def probing() -> None:
        while not stop_probe.is_set():
            probe.append(hello_latency(ploop, server))
            time.sleep(0.2)

    prober = threading.Thread(target=probing, daemon=True)
    cpu2, t2 = sample.cpu(), time.monotonic()
    prober.start()
    for c in counselors:
        c.ready(capacity=args.capacity)
    for g in guests:
        g.expect("state", state="connected", timeout=300)
    t3 = time.monotonic()
    stop_probe.set()
    prober.join(30)
    cpu3 = sample.cpu()
    res["assign_all_s"] = round(t3 - t2, 2)
    res["router_cpu_s_assigning"] = round(cpu3 - cpu2, 2)
    res["hello_while_assigning"] = summary(probe)
    res["router_rss_mb_all_connected"] = round(sample.rss() / 2**20, 1)
    # every person sends one message, spread over 5 s; the counselor echoes
    rtts: list[float] = []
    spread = 5.0 / max(1, len(guests))
    starts: list[float] = []
    cpu4, t4 = sample.cpu(), time.monotonic()
    for g in guests:
        starts.append(time.monotonic())
        g.say("hola, ¿me lees?")
        time.sleep(spread)
    for g, t in zip(guests, starts, strict=True):
        got = g.expect("msg", timeout=120)
        rtts.append(got.at - t)
    cpu5 = sample.cpu()
    res["round_trip_under_load"] = summary(rtts)
    res["router_cpu_s_messages"] = round(cpu5 - cpu4, 2)
    res["messages_phase_s"] = round(time.monotonic() - t4, 2)
    res["router_rss_mb_peak"] = round(sample.peak_rss / 2**20, 1)
    for peer in [*guests, *counselors]:
        peer.close()
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.chat")
    ap.add_argument("--quick", action="store_true", help="20 rounds, 50 chats, 5 counselors")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--rounds", type=int, default=None, help="latency rounds (200; quick 20)")
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--chats", type=int, default=None, help="concurrent chats (1000; quick 50)")
    ap.add_argument("--counselors", type=int, default=None, help="(50; quick 5)")
    ap.add_argument("--capacity", type=int, default=20)
    args = ap.parse_args(argv)
    for key, full, quick in (
        ("rounds", 200, 20),
        ("warmup", 10, 3),
        ("chats", 1000, 50),
        ("counselors", 50, 5),
    ):
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    users = {"raw-a": "pw", "raw-b": "pw", "c-echo": "pw", "c-faro": "pw"}
    users.update({f"c-sim{i:03d}": "pw" for i in range(args.counselors)})
    with tempfile.TemporaryDirectory(prefix="faro-bench-chat-") as tmp:
        work = Path(tmp)
        server = Prosody(work / "prosody")
        (work / "prosody" / "data").mkdir(exist_ok=True)
        server.config.write_text(prosody_config(server.settings))
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda kv: server.register(*kv), users.items()))
        server.users = {}
        server.start()
        proc, logfile = router_process(server, work)
        try:
            wait_router(logfile)
            sample = Sample(proc)
            ploop = PeerLoop()
            result: dict[str, Any] = {
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                "latency": latency(args, server, ploop),
                "scale": scale(args, server, sample, ploop),
            }
            ploop.close()
        finally:
            children.stop(proc)
            server.stop()
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # slixmpp streams still referenced try to clean up on their (stopped) loops while the
    # interpreter shuts down; the results are out, skip that noise
    os._exit(code)
