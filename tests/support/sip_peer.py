"""A second SIP engine in its own process: the caller (or the supervisor) of the test rig.

baresip allows one engine per process, so the far party runs as ``python -m
tests.support.sip_peer CONFIG_JSON`` and is driven by JSON lines on stdin; it answers with
JSON lines on stdout. It plays the known recording of :mod:`tests.support.audio_speech`
(or a tone) paced in real time and measures what it receives (the level of every 20 ms),
all in memory. :class:`SipPeer` is the test side.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from core import children

FRAME_S = 0.02
RATE = 48000


# --------------------------------------------------------------------------------------------
# the controller, in the test process
# --------------------------------------------------------------------------------------------
class SipPeer:
    def __init__(self, config: dict[str, Any], log_path: Path | None = None) -> None:
        self.config = config
        self.events: Queue[dict[str, Any]] = Queue()
        self.seen: list[dict[str, Any]] = []
        self.log_path = log_path
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> SipPeer:
        root = Path(__file__).resolve().parents[2]
        env = dict(os.environ, PYTHONPATH=str(root))
        stderr = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = children.spawn(
            [sys.executable, "-m", "tests.support.sip_peer", json.dumps(self.config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            cwd=root,
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                continue

    def send(self, **op: Any) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(op) + "\n")
        self.proc.stdin.flush()

    def wait(self, kind: str | tuple[str, ...], timeout: float = 15.0) -> dict[str, Any]:
        kinds = (kind,) if isinstance(kind, str) else kind
        for e in self.seen:
            if e["ev"] in kinds:
                self.seen.remove(e)
                return e
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the peer did not report {kinds}; saw {self.seen[-8:]}")
            try:
                e = self.events.get(timeout=left)
            except Empty:
                continue
            if e["ev"] in kinds:
                return e
            self.seen.append(e)

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self.send(op="quit")
            self.proc.wait(timeout=8)
        except Exception:
            pass
        children.stop(self.proc)
        self.proc = None

    def __enter__(self) -> SipPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# the peer process
# --------------------------------------------------------------------------------------------
def _say(**event: Any) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class _Peer:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.call: Any = None
        self.rx: list[tuple[float, float]] = []
        self.playing: Any = None
        self.stop = asyncio.Event()

    async def main(self) -> None:
        from baresip import Account, Config, Runtime, UserAgent

        c = self.config
        extra = [f"sip_cafile {c['ca']}", "sip_verify_server yes"]
        extra += [f"ausrc_srate {RATE}", "ausrc_channels 1", f"auplay_srate {RATE}"]
        extra += ["auplay_channels 1", "dns_getaddrinfo yes", *c.get("extra_config", ())]
        # the engine's decoder output format (codec rate, channels) comes only in its log
        import logging
        import types

        from calls.backends.sip import _NativeLogTap

        self.fmt = types.SimpleNamespace(rx_format=(RATE, 2), srtp_suite="", codec="")
        native = logging.getLogger("baresip.native")
        native.addHandler(_NativeLogTap(self.fmt))  # type: ignore[arg-type]
        native.setLevel(logging.INFO)
        rt = Runtime(native_log_level="info")
        await rt.start(
            Config(
                net_interface="127.0.0.1",
                native_log_level="info",
                sip_trace=bool(c.get("trace")),
                expose_headers=tuple(c.get("expose_headers", ())),
                extra_config_text="\n".join(extra) + "\n",
            )
        )
        media = () if c.get("plain") else ("mediaenc=srtp-mand",)
        acc = Account(
            user=c["user"],
            domain=c["domain"],
            password=c["password"],
            transport=c.get("transport", "tls"),
            reg_interval=600,
            audio_codecs=tuple(c.get("codecs", ("opus/48000/2", "g722/16000/1", "pcmu"))),
            extra_params=media,
        )
        ua = await UserAgent.create(rt, acc, transfer_policy=c.get("transfer_policy", "auto"))
        ua.on_incoming(self._incoming)
        ua.on_transfer_call(self._adopt)
        try:
            await ua.register(timeout=10)
            _say(ev="registered")
        except Exception as exc:
            _say(ev="register_failed", status=getattr(exc, "status", None), text=str(exc))
        loop = asyncio.get_running_loop()
        loop.create_task(self._rx_loop())
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while not self.stop.is_set():
            line = await reader.readline()
            if not line:
                break
            try:
                await self.op(ua, json.loads(line))
            except Exception as exc:
                _say(ev="error", text=f"{type(exc).__name__}: {exc}")
        if self.call is not None:
            try:
                await self.call.hangup()
            except Exception:
                pass
        await asyncio.sleep(0.2)
        await rt.close()

    def _watch(self, call: Any) -> None:
        from baresip import Event

        def listener(event: Any) -> None:
            if event.event is Event.CALL_ESTABLISHED:
                _say(ev="established", t=time.monotonic())
            elif event.event is Event.CALL_CLOSED:
                _say(ev="closed", reason=event.text or "")
                if self.call is call:
                    self.call = None
            elif event.event is Event.CALL_HOLD:
                _say(ev="held")
            elif event.event is Event.CALL_RESUME:
                _say(ev="resumed")

        call.on(listener)
        call.on_dtmf(lambda d: _say(ev="dtmf", digit=d.digit))

    def _incoming(self, call: Any) -> None:
        self.call = call
        self._watch(call)
        _say(ev="incoming", peer=call.peer, headers=dict(call.headers or {}))
        if self.config.get("auto_answer"):
            asyncio.get_running_loop().create_task(call.answer())

    def _adopt(self, call: Any) -> None:
        self.call = call
        self._watch(call)
        _say(ev="transfer_call", peer=call.peer)

    async def op(self, ua: Any, op: dict[str, Any]) -> None:
        name = op["op"]
        if name == "dial":
            self.call = await ua.dial(op["uri"], headers=op.get("headers"))
            self._watch(self.call)
            _say(ev="dialing")
        elif name == "answer":
            await self.call.answer()
        elif name == "hangup":
            if self.call is not None:
                await self.call.hangup()
        elif name == "play":
            if self.playing is not None:
                self.playing.cancel()
            self.playing = asyncio.get_running_loop().create_task(self._play(op))
        elif name == "dtmf":
            await self.call.send_dtmf(op["digits"])
        elif name == "rx_report":
            since = float(op.get("since", 0.0))
            _say(ev="rx", frames=[f for f in self.rx if f[0] >= since])
        elif name == "quit":
            self.stop.set()

    async def _play(self, op: dict[str, Any]) -> None:
        import numpy as np

        if op.get("signal") == "tone":
            n = int(float(op.get("secs", 1.0)) * RATE)
            t = np.arange(n) / RATE
            track = 0.3 * np.sin(2 * math.pi * float(op.get("freq", 440)) * t)
            truth: list[tuple[float, float]] = [(0.0, n / RATE)]
        elif op.get("signal") == "recorded":
            from tests.support.audio_speech import recorded_speech

            track, truth = recorded_speech(RATE, seed=int(op.get("seed", 3)))
        else:
            from tests.support.audio_speech import known_recording

            track, truth = known_recording(RATE, seed=int(op.get("seed", 7)))
        pcm = (np.clip(track, -1, 1) * 32767).astype(np.int16)
        frame = int(RATE * FRAME_S)
        call = self.call
        start = time.monotonic()
        _say(ev="play_started", t=start, truth=truth)
        for i in range(0, len(pcm), frame):
            try:
                call.audio.write(pcm[i : i + frame].tobytes())
            except Exception:
                pass
            target = start + (i // frame + 1) * FRAME_S
            await asyncio.sleep(max(0.0, target - time.monotonic()))
        _say(ev="play_done", t=time.monotonic())

    async def _rx_loop(self) -> None:
        import numpy as np

        from calls.sip.pump import _Leg

        self.leg = _Leg("peer", None)
        buf = np.zeros(0, dtype=np.int16)
        frame = int(RATE * FRAME_S)
        while not self.stop.is_set():
            await asyncio.sleep(0.005 if self.config.get("echo") else FRAME_S / 2)
            call = self.call
            if call is None:
                continue
            try:
                data = call.audio.read(RATE)
            except Exception:
                continue
            if not data:
                continue
            now = time.monotonic()
            pcm = self.leg.to_media(np.frombuffer(data, dtype=np.int16), self.fmt.rx_format)
            if self.config.get("echo"):
                try:
                    call.audio.write(pcm.tobytes())
                except Exception:
                    pass
            buf = np.concatenate((buf, pcm))
            k = len(buf) // frame
            for j in range(k):
                x = buf[j * frame : (j + 1) * frame].astype(np.float64) / 32768
                rms = float(np.sqrt(np.mean(x * x)) + 1e-9)
                t = now - (k - j - 1) * FRAME_S
                self.rx.append((round(t, 4), round(20 * math.log10(rms), 1)))
            buf = buf[k * frame :]


if __name__ == "__main__":
    import logging

    _cfg = json.loads(sys.argv[1])
    logging.basicConfig(
        level=logging.INFO if _cfg.get("log_level") in ("info", "debug") else logging.WARNING,
        stream=sys.stderr,
    )
    asyncio.run(_Peer(json.loads(sys.argv[1])).main())
