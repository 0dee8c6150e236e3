"""Faro as the phone, end to end with real parts on 127.0.0.1: Kamailio (TLS registrar and
proxy), Faro's ``sip`` backend (baresip) under a real call machine, and callers that are
separate engine processes playing audio. No mocks: what is asserted crossed the wire."""

from __future__ import annotations

import time

import numpy as np
import pytest

from calls import events as ev
from calls.model import Action, CallState, EndedBy, MissReason
from tests.calls.sip_rig import levels, phone, rig
from tests.support.toolkit import Recorder, wait_until

pytestmark = pytest.mark.timeout(120)

TONE = (0.25 * np.sin(2 * np.pi * 300 * np.arange(2400) / 48000) * 32767).astype(np.int16)


def got(rec: Recorder, kind: type, match=lambda e: True, timeout: float = 10.0):
    return rec.wait_event(kind, match, timeout)[1]


def _speak(backend, seconds: float) -> None:
    """The counselor's microphone: 50 ms blocks of a 300 Hz tone, in real time."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        backend.media.send_near(TONE)
        time.sleep(0.05)


def _ring_and_answer(p, caller, rig_) -> None:
    caller.wait("registered")
    caller.send(op="dial", uri=rig_.counselor_uri())
    p.wait_state(CallState.RINGING)
    p.machine.do(Action.ANSWER)
    caller.wait("established")
    wait_until(lambda: p.backend.pump.has(p.machine.call.backend_ref), 5, "media up")


def test_a_call_over_tls_with_srtp_both_directions_and_caller_hangup(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        rec = Recorder(p.bus, ev.LineStatus, ev.CallQuality, ev.IncomingCall, ev.CallEnded)
        p.wait_line("registered")
        status = got(rec, ev.LineStatus, lambda e: e.state == "registered")
        assert "TLS" in status.secure and "SRTP" in status.secure
        far: list[np.ndarray] = []
        p.backend.media.on_far(far.append)
        with r.peer() as caller:
            _ring_and_answer(p, caller, r)
            incoming = got(rec, ev.IncomingCall)
            assert incoming.call.caller_id.reveal() == "caller"
            assert "caller" not in str(incoming.call.caller_id)  # personal data stays wrapped
            caller.send(op="play", signal="tone", freq=440, secs=2.0)
            t0 = time.monotonic()
            _speak(p.backend, 2.5)
            caller.send(op="rx_report", since=t0)
            heard = levels(caller.wait("rx")["frames"], t0 + 0.3, t0 + 2.0)
            assert heard and np.median(heard) > -30, "the caller hears the counselor"
            audio = np.concatenate(far).astype(np.float32) / 32768
            spectrum = np.abs(np.fft.rfft(audio - audio.mean()))
            peak_hz = np.argmax(spectrum[1:]) + 1
            assert abs(peak_hz * 48000 / len(audio) - 440) < 5, "Faro hears the caller"
            assert p.backend.srtp_suite.startswith("AES"), p.backend.srtp_suite
            assert p.backend.codec.startswith("opus")
            caller.send(op="hangup")
            p.wait_state(CallState.WRAP_UP)
        ended = got(rec, ev.CallEnded)
        assert ended.ended_by is EndedBy.CALLER


def test_counselor_hangs_up_and_mute_sends_silence(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        p.wait_line("registered")
        with r.peer() as caller:
            _ring_and_answer(p, caller, r)
            t0 = time.monotonic()
            _speak(p.backend, 1.5)
            p.machine.do(Action.MUTE)
            t1 = time.monotonic()
            _speak(p.backend, 1.5)
            p.machine.do(Action.UNMUTE)
            t2 = time.monotonic()
            _speak(p.backend, 1.5)
            caller.send(op="rx_report", since=t0)
            frames = caller.wait("rx")["frames"]
            before = levels(frames, t0 + 0.4, t1)
            muted = levels(frames, t1 + 0.3, t2)
            after = levels(frames, t2 + 0.4, t2 + 1.5)
            assert np.median(before) > -30 and np.median(after) > -30
            assert max(muted) < -60, f"muted, the caller heard {max(muted)} dBFS"
            p.machine.do(Action.HANG_UP)
            closed = caller.wait("closed")
            assert closed["reason"] is not None
            p.wait_state(CallState.WRAP_UP)
            assert p.machine.call.ended_by is EndedBy.COUNSELOR


def test_hold_resume_and_dtmf(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        p.wait_line("registered")
        with r.peer() as caller:
            _ring_and_answer(p, caller, r)
            p.machine.do(Action.HOLD)
            caller.wait("held")
            time.sleep(1.0)
            p.machine.do(Action.RESUME)
            caller.wait("resumed")
            time.sleep(1.5)  # the resume may wait for the hold re-INVITE to complete
            assert p.backend.send_dtmf("12#")
            assert [caller.wait("dtmf")["digit"] for _ in range(3)] == ["1", "2", "#"]
            assert not p.backend.send_dtmf("1; rm")


def test_a_second_call_while_on_a_call_gets_busy_and_is_recorded(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        rec = Recorder(p.bus, ev.MissedCall)
        p.wait_line("registered")
        with r.peer() as caller, r.peer("caller2") as second:
            _ring_and_answer(p, caller, r)
            second.wait("registered")
            second.send(op="dial", uri=r.counselor_uri())
            closed = second.wait("closed")
            assert "486" in closed["reason"] or "busy" in closed["reason"].lower()
            missed = got(rec, ev.MissedCall)
            assert missed.reason is MissReason.BUSY
            assert p.machine.state is CallState.ON_CALL  # the first call is untouched


def test_a_call_nobody_answers_is_missed_and_the_caller_is_released(tmp_path):
    from core.config import Config

    config = Config.defaults().with_overrides({"calls.ring_timeout_s": 5.0})
    with rig(tmp_path) as r, phone(r.settings(), config=config) as p:
        rec = Recorder(p.bus, ev.MissedCall)
        p.wait_line("registered")
        with r.peer() as caller:
            caller.wait("registered")
            caller.send(op="dial", uri=r.counselor_uri())
            p.wait_state(CallState.RINGING)
            missed = got(rec, ev.MissedCall, timeout=10)
            assert missed.reason is MissReason.UNANSWERED
            caller.wait("closed", timeout=10)
            assert p.machine.state is CallState.AVAILABLE


def test_an_offer_without_srtp_is_refused_never_downgraded(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        rec = Recorder(p.bus, ev.IncomingCall, ev.CallRefused)
        p.wait_line("registered")
        with r.peer(plain=True) as caller:
            caller.wait("registered")
            caller.send(op="dial", uri=r.counselor_uri())
            closed = caller.wait("closed")
            assert "488" in closed["reason"] or "not acceptable" in closed["reason"].lower()
        time.sleep(0.5)
        assert not rec.of(ev.IncomingCall), "an unencrypted call must never ring"
        assert p.machine.state is CallState.AVAILABLE


def test_wrong_password_gets_a_clear_message_and_no_crash(tmp_path):
    with rig(tmp_path) as r, phone(r.settings(), password="wrong") as p:
        rec = Recorder(p.bus, ev.LineStatus)
        p.wait_line("failed")
        failed = got(rec, ev.LineStatus, lambda e: e.state == "failed")
        assert "password" in failed.text
        assert "wrong" not in failed.text + failed.detail
        assert p.machine.state is CallState.AVAILABLE


def test_a_registrar_that_refuses(tmp_path):
    with rig(tmp_path, refuse_register=True) as r, phone(r.settings()) as p:
        rec = Recorder(p.bus, ev.LineStatus)
        p.wait_line("failed")
        failed = got(rec, ev.LineStatus, lambda e: e.state == "failed")
        assert "403" in failed.detail


def test_a_server_certificate_that_does_not_verify(tmp_path):
    from tests.support.sip_certs import make_other_certs

    other = make_other_certs(tmp_path / "other")
    with rig(tmp_path) as r, phone(r.settings(ca_file=str(other.ca))) as p:
        rec = Recorder(p.bus, ev.LineStatus)
        p.wait_line("failed", timeout=20)
        failed = got(rec, ev.LineStatus, lambda e: e.state == "failed")
        assert p.backend.line_state != "registered"
        assert failed.text
        # and it never connects later on its own
        time.sleep(2.5)
        assert p.backend.line_state != "registered"


def test_a_fast_headset_clock_does_not_build_up_delay(tmp_path):
    """The headset's clock 3 % fast for 15 s would queue 450 ms of audio: the pump keeps the
    engine's transmit buffer short, so a marker sent at the end arrives as fast as at the
    start."""
    with rig(tmp_path) as r, phone(r.settings()) as p:
        p.wait_line("registered")
        with r.peer() as caller:
            _ring_and_answer(p, caller, r)
            silence = np.zeros_like(TONE)

            def marker_delay() -> float:
                for _ in range(6):
                    p.backend.media.send_near(silence)
                    time.sleep(0.05)
                t_sent = time.monotonic()
                for _ in range(4):
                    p.backend.media.send_near(TONE)
                    time.sleep(0.05)
                time.sleep(0.6)
                caller.send(op="rx_report", since=t_sent - 0.1)
                frames = caller.wait("rx")["frames"]
                onset = next(t for t, db in frames if t >= t_sent and db > -30)
                return onset - t_sent

            first = marker_delay()
            end = time.monotonic() + 15
            while time.monotonic() < end:  # 50 ms blocks every 48.5 ms: 3 % fast
                p.backend.media.send_near(TONE)
                time.sleep(0.0485)
            last = marker_delay()
            assert p.backend.pump.tx_drift_flushes >= 1
            assert last < first + 0.15, (first, last)
