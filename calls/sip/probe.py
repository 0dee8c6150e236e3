"""``faro call test``: register, call an echo extension, and measure what a counselor hears.

The probe runs its own engine (one per process, so never inside a running console): it
registers over TLS (the server's certificate verified), calls ``sip.test_uri`` with SRTP
mandatory, sends short 1 kHz bursts and times their return to measure the round trip of
the whole audio path (encoder, network, the echo, jitter buffer, decoder), and reads the
engine's RTCP figures for loss and jitter. Nothing is recorded: the levels are computed on
the fly and dropped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from calls.media import RATE
from calls.sip.settings import SipCredentials, SipSettings

log = logging.getLogger(__name__)

BURST_S = 0.1
BURST_EVERY_S = 0.7
FRAME = int(RATE * 0.02)


@dataclasses.dataclass
class CallTestReport:
    registered: bool = False
    register_ms: float | None = None
    register_error: str = ""
    call_ok: bool = False
    call_error: str = ""
    setup_ms: float | None = None
    codec: str = ""
    srtp: str = ""
    tls: str = ""
    bursts_sent: int = 0
    bursts_heard: int = 0
    round_trip_ms: list[float] = dataclasses.field(default_factory=list)
    loss_pct: float | None = None
    jitter_ms: float | None = None
    mos: float | None = None

    @property
    def ok(self) -> bool:
        return self.registered and self.call_ok and self.bursts_heard > 0

    def median_round_trip_ms(self) -> float | None:
        if not self.round_trip_ms:
            return None
        return float(np.median(self.round_trip_ms))


class _Tap(logging.Handler):
    def __init__(self, report: CallTestReport) -> None:
        super().__init__(logging.INFO)
        self.report = report
        self.rx_format = (RATE, 2)

    def emit(self, record: logging.LogRecord) -> None:
        from calls.backends.sip import _CODEC, _SRTP_SUITE

        text = record.getMessage()
        if m := _SRTP_SUITE.search(text):
            self.report.srtp = m.group(1)
        if m := _CODEC.search(text):
            self.report.codec = f"{m.group(1)}/{m.group(2)}"
            self.rx_format = (int(m.group(2)), int(m.group(3)))


async def _probe(
    settings: SipSettings, credentials: SipCredentials, uri: str, bursts: int
) -> CallTestReport:
    from baresip import BaresipError, RegistrationError, Runtime, UserAgent

    report = CallTestReport(tls=settings.ca_description)
    native = logging.getLogger("baresip.native")
    tap = _Tap(report)
    native.addHandler(tap)
    if native.level == logging.NOTSET or native.level > logging.INFO:
        native.setLevel(logging.INFO)
    runtime = Runtime(native_log_level="info")
    await runtime.start(settings.engine_config(log_level="info"))
    try:
        ua = await UserAgent.create(
            runtime, settings.account(credentials), transfer_policy="reject"
        )
        t0 = time.monotonic()
        try:
            await ua.register(timeout=10)
        except RegistrationError as exc:
            report.register_error = f"{exc.status or ''} {exc.reason or exc}".strip()
            return report
        report.registered = True
        report.register_ms = round((time.monotonic() - t0) * 1000, 1)
        t0 = time.monotonic()
        try:
            call = await ua.dial(settings.uri(uri))
            await call.wait_established(timeout=20)
        except BaresipError as exc:
            report.call_error = str(exc)
            return report
        report.call_ok = True
        report.setup_ms = round((time.monotonic() - t0) * 1000, 1)
        await _bursts(call, report, bursts, lambda: tap.rx_format)
        stats = call.final_stats
        await call.hangup()
        await asyncio.sleep(0.3)
        stats = call.final_stats or stats
        if stats is not None:
            total = stats.rx_packets + stats.rx_lost
            report.loss_pct = round(100.0 * stats.rx_lost / total, 2) if total else 0.0
            report.jitter_ms = round(stats.rx_jitter_ms, 1)
            report.mos = stats.mos_estimate
        await ua.unregister(timeout=3)
    finally:
        await runtime.close()
        native.removeHandler(tap)
    return report


async def _bursts(
    call: Any, report: CallTestReport, count: int, rx_format: Callable[[], tuple[int, int]]
) -> None:
    """Send ``count`` tone bursts and time the return of each (onset of energy)."""
    from baresip import AudioNotActive, AudioRestarted

    from calls.sip.pump import _Leg

    leg = _Leg("probe", None)
    tone = 0.3 * np.sin(2 * math.pi * 1000 * np.arange(int(RATE * BURST_S)) / RATE) * 32767
    tone = tone.astype(np.int16)
    silence = np.zeros(FRAME, dtype=np.int16)
    await asyncio.sleep(0.5)  # let the media settle
    start = time.monotonic()
    sent_at: list[float] = []
    heard_at: list[float | None] = []
    next_burst = start
    end = start + count * BURST_EVERY_S + 1.0
    armed = False
    while time.monotonic() < end:
        now = time.monotonic()
        try:
            if len(sent_at) < count and now >= next_burst:
                call.audio.write(tone.tobytes())  # (flush_tx would drop it: it acts later)
                sent_at.append(now)
                heard_at.append(None)
                next_burst += BURST_EVERY_S
                armed = True
            elif call.audio.info().tx_buffered < FRAME * 2:
                call.audio.write(silence.tobytes())
            data = call.audio.read(RATE)
        except (AudioNotActive, AudioRestarted):
            data = b""
        if data:
            mono = leg.to_media(np.frombuffer(data, dtype=np.int16), rx_format())
            pcm = mono.astype(np.float32) / 32768
            win = FRAME // 4
            for j in range(0, max(1, len(pcm) - win + 1), win):
                rms = float(np.sqrt(np.mean(pcm[j : j + win] ** 2)))
                if armed and rms > 0.03 and heard_at and heard_at[-1] is None:
                    # the chunk ends now: its sample j arrived len(pcm)-j samples ago
                    heard_at[-1] = time.monotonic() - (len(pcm) - j) / RATE
                    armed = False
                    break
        await asyncio.sleep(0.005)
    report.bursts_sent = len(sent_at)
    for s, h in zip(sent_at, heard_at, strict=True):
        if h is not None and h > s:
            report.bursts_heard += 1
            report.round_trip_ms.append(round((h - s) * 1000, 1))


def run_call_test(
    settings: SipSettings, credentials: SipCredentials, uri: str, bursts: int = 5
) -> CallTestReport:
    return asyncio.run(_probe(settings, credentials, uri, bursts))
