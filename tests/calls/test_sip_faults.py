"""Faults on a real SIP call: the wire seen by tcpdump, the proxy frozen for 5 s, a far end
whose media stops for longer than the media timeout, malformed SIP thrown at the engine, and
a caller who gives up while it rings."""

from __future__ import annotations

import os
import random
import signal
import socket
import time

import numpy as np
import pytest

from calls import events as ev
from calls.model import Action, CallState, EndedBy, MissReason
from tests.calls.sip_rig import levels, phone, rig
from tests.calls.test_sip_calls import _ring_and_answer, _speak
from tests.support.ports import free_port
from tests.support.toolkit import Recorder, wait_until
from tests.support.wire import Capture, longest_run

pytestmark = pytest.mark.timeout(120)


def test_nothing_crosses_the_wire_in_clear(tmp_path):
    """PCMU both ways with digital silence: plain RTP would carry runs of 0xFF (µ-law zero)
    in every packet; SIP in clear would show its start lines."""
    with rig(tmp_path) as r:
        with Capture(tmp_path / "call.pcap") as cap:
            with phone(r.settings(codecs=("pcmu",))) as p:
                p.wait_line("registered")
                with r.peer(codecs=["pcmu"]) as caller:
                    _ring_and_answer(p, caller, r)
                    time.sleep(2.0)  # both sides send silence (Faro's pump keeps media going)
                    p.machine.do(Action.HANG_UP)
                    caller.wait("closed")
        packets = cap.packets
    assert len(packets) > 100, "the capture saw the call"
    udp = [pk for pk in packets if pk.proto == "udp" and pk.payload]
    rtp = [pk for pk in udp if r.proxy.udp_port not in (pk.sport, pk.dport)]
    assert len(rtp) > 100, f"media packets captured: {len(rtp)}"
    for pk in packets:
        for marker in (b"SIP/2.0", b"INVITE sip:", b"REGISTER sip:", b"m=audio"):
            assert marker not in pk.payload, (pk.proto, pk.sport, pk.dport, marker)
    worst = max(longest_run(pk.payload, 0xFF) for pk in rtp)
    assert worst < 40, f"a run of {worst} µ-law silence bytes: plain RTP"
    tcp_ports = {pk.sport for pk in packets if pk.proto == "tcp" and pk.payload}
    tcp_ports |= {pk.dport for pk in packets if pk.proto == "tcp" and pk.payload}
    assert r.proxy.tls_port in tcp_ports


def test_the_proxy_frozen_for_5_s_mid_call_the_call_survives(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        p.wait_line("registered")
        with r.peer() as caller:
            _ring_and_answer(p, caller, r)
            pgid = os.getpgid(r.proxy.pid)
            os.killpg(pgid, signal.SIGSTOP)
            try:
                t0 = time.monotonic()
                _speak(p.backend, 5.0)  # media is end to end: it keeps flowing
            finally:
                os.killpg(pgid, signal.SIGCONT)
            caller.send(op="rx_report", since=t0)
            heard = levels(caller.wait("rx")["frames"], t0 + 0.5, t0 + 4.5)
            assert np.median(heard) > -30
            assert p.machine.state is CallState.ON_CALL
            p.machine.do(Action.HANG_UP)  # the BYE goes through the proxy again
            caller.wait("closed", timeout=15)


def test_media_gone_longer_than_the_timeout_ends_the_call_as_network(tmp_path):
    with rig(tmp_path) as r, phone(r.settings(media_timeout_s=5)) as p:
        rec = Recorder(p.bus, ev.CallRefused, ev.CallEnded)
        p.wait_line("registered")
        with r.peer() as caller:
            _ring_and_answer(p, caller, r)
            caller_id = p.machine.call.caller_id.reveal()
            assert caller.proc is not None
            os.kill(caller.proc.pid, signal.SIGSTOP)  # the far end vanishes: no media, no BYE
            try:
                p.wait_state(CallState.WRAP_UP, timeout=20)
            finally:
                os.kill(caller.proc.pid, signal.SIGCONT)
            refused = rec.wait_event(ev.CallRefused, lambda e: e.reason == "network", 5)[1]
            assert "number" in refused.text  # told, and the number stays with the call record
            ended = rec.wait_event(ev.CallEnded, timeout=5)[1]
            assert ended.ended_by is EndedBy.NETWORK
            assert ended.call.caller_id.reveal() == caller_id  # the callback number is kept
        assert p.backend.line_state == "registered"


def _garbage() -> list[bytes]:
    rnd = random.Random(7)
    invite = (
        b"INVITE sip:counselor@localhost SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
        b"From: <sip:\xff\xfe@x>;tag=1\r\nTo: <sip:counselor@localhost>\r\nCall-ID: junk\r\n"
        b"CSeq: 1 INVITE\r\nContent-Length: 9999\r\n\r\nv=0\r\n"
    )
    return [
        bytes(rnd.randrange(256) for _ in range(600)),
        invite[:70],
        invite,
        invite.replace(b"Call-ID: junk", b"X-Huge: " + b"A" * 60000),
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9\r\nContent-Length: 0\r\n\r\n",
        b"\r\n\r\n" * 100,
    ]


def test_malformed_sip_changes_nothing(tmp_path):
    port = free_port()
    with rig(tmp_path) as r, phone(r.settings(local_port=port)) as p:
        rec = Recorder(p.bus, ev.IncomingCall)
        p.wait_line("registered")
        for blob in _garbage():
            for target in (port, r.proxy.udp_port):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(blob[:65000], ("127.0.0.1", target))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as t:
                    t.sendall(blob)
            except OSError:
                pass
        time.sleep(1.0)
        assert not rec.of(ev.IncomingCall) and p.machine.state is CallState.AVAILABLE
        assert p.backend.line_state == "registered"
        with r.peer() as caller:  # and a real call still works
            _ring_and_answer(p, caller, r)
            caller.send(op="play", signal="tone", freq=440, secs=1.0)
            far: list[np.ndarray] = []
            p.backend.media.on_far(far.append)
            wait_until(lambda: any(np.abs(b).max() > 3000 for b in far), 5, "audio")


def test_a_caller_who_gives_up_while_it_rings_is_a_missed_call(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        rec = Recorder(p.bus, ev.MissedCall)
        p.wait_line("registered")
        with r.peer() as caller:
            caller.wait("registered")
            caller.send(op="dial", uri=r.counselor_uri())
            p.wait_state(CallState.RINGING)
            caller.send(op="hangup")  # a CANCEL
            missed = rec.wait_event(ev.MissedCall, timeout=10)[1]
            assert missed.reason is MissReason.ABANDONED
            assert p.machine.state is CallState.AVAILABLE
