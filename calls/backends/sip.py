"""Faro is the phone: SIP over TLS, SRTP mandatory, the audio through Faro (baresip engine).

Threads: the engine (baresip-python) runs its own SIP thread and reports on an asyncio loop
that this backend runs on its thread ``faro-sip``. Everything that touches the engine runs
there; the call machine's calls (made with its lock held) only schedule work and return.
PCM crosses in :class:`calls.sip.pump.MediaPump` (thread ``faro-sip-media``).

What the counselor sees comes back as :class:`calls.events.LineStatus` (registration),
:class:`~calls.events.CallQuality` (MOS, loss, jitter every RTCP report) and
:class:`~calls.events.CallRefused` (a call refused or dropped), published through the call
machine. Caller numbers are :class:`core.privacy.Personal` from the moment they are read.
See docs/telephony.md for the choice of engine and its risks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from calls import events as ev
from calls.backends.base import TelephonyBackend
from calls.media import CallMedia
from calls.model import EndedBy
from calls.sip.pump import ASSIST, ASSIST_MODES, CALL, MediaPump
from calls.sip.settings import ASSIST_HEADER, SipCredentials, SipSettings
from core.i18n import _
from core.privacy import Personal
from core.status import Level, StatusReport

if TYPE_CHECKING:
    from calls.machine import CallMachine
    from calls.model import Call

log = logging.getLogger(__name__)

#: close reasons of the engine that mean the network, not the caller, ended the call
#: (a BYE from the caller closes with "Connection reset by peer": that is not the network);
#: "408 Request Timeout" is an in-dialog request the far end never answered (it vanished
#: before the RTP timeout: seen on a loaded machine)
_NETWORK_REASONS = re.compile(
    r"rtp stream error|timed out|request timeout|unreachable|no route to host|network is down",
    re.IGNORECASE,
)
_SRTP_SUITE = re.compile(r"SRTP is Enabled \(cryptosuite=([A-Za-z0-9_]+)\)")
_CODEC = re.compile(r"Set audio decoder: (\S+) (\d+)Hz (\d+)ch")
#: a supervisor's grant to dial into a call is good for this long after the counselor's
#: laptop made it (the supervisor's laptop dials as soon as it hears "ready")
ASSIST_GRANT_S = 30.0


def caller_number(peer: str | None) -> Personal:
    """The caller id of a SIP URI (``sip:+5255...@host``), as personal data."""
    if not peer:
        return Personal("")
    text = peer.strip()
    if "<" in text:  # "Name" <sip:user@host>
        text = text.split("<", 1)[1]
    text = re.sub(r"^sips?:", "", text)
    user = re.split(r"[@;>]", text, maxsplit=1)[0]
    return Personal(urllib.parse.unquote(user).strip())


class _NativeLogTap(logging.Handler):
    """Reads the engine's own log for what its API does not report (SRTP suite, codec)."""

    def __init__(self, backend: SipBackend) -> None:
        super().__init__(logging.INFO)
        self.backend = backend

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:
            return
        m = _SRTP_SUITE.search(text)
        if m:
            self.backend.srtp_suite = m.group(1)
        m = _CODEC.search(text)
        if m:
            self.backend.codec = f"{m.group(1)}/{m.group(2)}"
            self.backend.rx_format = (int(m.group(2)), int(m.group(3)))


class SipBackend(TelephonyBackend):
    name = "sip"
    follows_counselor = False

    def __init__(
        self,
        settings: SipSettings,
        *,
        credentials: SipCredentials | None = None,
        media: CallMedia | None = None,
        trace: bool = False,
    ) -> None:
        self.settings = settings
        self.media = media or CallMedia()
        #: the decoder's output format (rate, channels), read from the engine's log
        self.rx_format: tuple[int, int] = (48000, 2)
        self.pump = MediaPump(
            self.media, rx_format=lambda: self.rx_format, on_flow=self._audio_flow
        )
        self._credentials = credentials
        self._trace = trace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping = False
        self._runtime: Any = None
        self._ua: Any = None
        self._calls: dict[str, Any] = {}  # backend ref -> engine call
        self._faro_ids: dict[str, str] = {}  # backend ref -> Faro call id
        self._local_end: set[str] = set()  # refs we hung up or transferred ourselves
        self._transferred: set[str] = set()
        self._consult: str | None = None  # ref of a second leg (supervisor), if any
        #: live assistance (docs/telephony.md): on a counselor's laptop, the one-time grants
        #: the escalation link handed over (token -> assist id, mode, expiry) and the ref of
        #: the supervisor's leg mixed into the call; on a supervisor's laptop, the ref of the
        #: leg it dialled. ``assist_only``: a supervisor's laptop takes no calls of its own.
        self._grant_lock = threading.Lock()
        self._grants: dict[str, tuple[str, str, float]] = {}
        self._assist: str | None = None
        self._assist_ids: dict[str, str] = {}  # ref -> assist id (either side)
        self._assist_out: str | None = None
        self.assist_only = False
        self._registered = False
        self._available = False
        self._register_task: asyncio.Task[None] | None = None
        self.line_state = "stopped"
        self.srtp_suite = ""
        self.codec = ""
        self.last_quality: ev.CallQuality | None = None
        self._tap = _NativeLogTap(self)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, line: CallMachine) -> None:
        self.line = line
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run_loop, name="faro-sip", daemon=True)
        self._thread.start()
        self._ready.wait(5)
        self._submit(self._boot())

    def set_credentials(self, credentials: SipCredentials | None) -> None:
        """The SIP password arrived (the store was unlocked) or changed."""
        self._credentials = credentials
        if self._loop is not None:
            self._submit(self._boot())

    def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        loop = self._loop
        if loop is not None and loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                fut.result(timeout=8)
            except Exception:
                log.warning("the SIP engine did not stop cleanly", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.pump.stop()
        logging.getLogger("baresip.native").removeHandler(self._tap)

    def _run_loop(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        assert self._loop is not None
        fut = asyncio.run_coroutine_threadsafe(self._guard(coro), self._loop)
        return fut

    async def _guard(self, coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("SIP action failed: %s: %s", type(exc).__name__, exc)
            return None

    def call_soon(self, fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Run an engine coroutine on the engine's loop and wait for its result (for the
        CLI and tests; the console never blocks on the engine)."""
        return self._submit(fn()).result(timeout=30)

    # -- status ---------------------------------------------------------------------------
    def _line(self, state: str, text: str, detail: str = "") -> None:
        self.line_state = state
        secure = ""
        if state == "registered":
            secure = _("TLS, server certificate {how}; calls need SRTP").format(
                how=self.settings.ca_description
            )
        self.line.report(ev.LineStatus(state, text, detail, secure))
        level = {
            "registered": Level.OK,
            "connecting": Level.INFO,
            "waiting_credentials": Level.WARNING,
            "failed": Level.ERROR,
            "stopped": Level.OFF,
        }[state]
        self.line.report(StatusReport("phone", level, text))

    # -- boot and registration (engine loop) ----------------------------------------------------
    async def _boot(self) -> None:
        if self._stopping:
            return
        problems = self.settings.problems()
        if problems:
            self._line("failed", _("The phone line is not configured."), " ".join(problems))
            return
        if self._credentials is None:
            self._line(
                "waiting_credentials",
                _("Phone line: unlock the case store to connect."),
            )
            return
        if self._runtime is None:
            from baresip import Runtime

            native = logging.getLogger("baresip.native")
            if self._tap not in native.handlers:
                native.addHandler(self._tap)
            if native.level == logging.NOTSET or native.level > logging.INFO:
                native.setLevel(logging.INFO)
            self._runtime = Runtime(native_log_level="info")
            self._runtime.on_dead = self._engine_died
            await self._runtime.start(
                self.settings.engine_config(trace=self._trace, log_level="info")
            )
        if self._ua is None:
            from baresip import UserAgent

            self._ua = await UserAgent.create(
                self._runtime, self.settings.account(self._credentials), transfer_policy="reject"
            )
            self._ua.on_incoming(self._incoming)
            self._ua.on(self._ua_event)
        if self._register_task is None or self._register_task.done():
            self._register_task = asyncio.get_running_loop().create_task(self._register_loop())

    async def _register_loop(self) -> None:
        from baresip import RegistrationError

        while not self._stopping and not self._registered:
            self._line("connecting", _("Phone line: connecting…"))
            try:
                await self._ua.register(timeout=10)
            except RegistrationError as exc:
                self._registration_failed(exc.status, exc.reason or str(exc))
                await asyncio.sleep(self.settings.retry_s)
                continue
            self._registered = True
            self._line("registered", _("Phone line ready"))

    def _registration_failed(self, status: int | None, reason: str) -> None:
        self._registered = False
        if status in (401, 403, 407):
            text = _("The phone line refused the password. Ask IT to check the SIP account.")
        elif status is not None:
            text = _("The phone line refused to connect (SIP {code}).").format(code=status)
        elif re.search(r"certificate|verify|tls|ssl|handshake", reason, re.IGNORECASE):
            text = _("The phone server's certificate could not be verified; not connecting.")
        else:
            text = _("The phone server cannot be reached; retrying.")
        self._line("failed", text, f"{status or ''} {reason}".strip())

    def _ua_event(self, event: Any) -> None:
        from baresip import Event

        if event.event is Event.REGISTER_FAIL and self._registered and not self._stopping:
            # the refresh failed (network change, registrar restarted): register again
            self._registered = False
            self._registration_failed(None, event.text or "")
            if self._register_task is None or self._register_task.done():
                loop = asyncio.get_running_loop()
                self._register_task = loop.create_task(self._retry_later())
        elif event.event is Event.REGISTER_OK and not self._registered:
            self._registered = True
            self._line("registered", _("Phone line ready"))

    async def _retry_later(self) -> None:
        await asyncio.sleep(self.settings.retry_s)
        await self._register_loop()

    def _engine_died(self) -> None:
        self._registered = False
        self._line(
            "failed", _("The phone engine stopped. Restart Faro to take calls again."), "engine"
        )
        for ref in list(self._faro_ids):
            self._closed(ref, "engine stopped")

    async def _shutdown(self) -> None:
        if self._register_task is not None:
            self._register_task.cancel()
        for call in list(self._calls.values()):
            try:
                await call.hangup()
            except Exception:
                pass
        if self._ua is not None and self._registered:
            try:
                await self._ua.unregister(timeout=3)
            except Exception:
                pass
        if self._runtime is not None:
            try:
                await self._runtime.close()
            except Exception:
                log.warning("closing the SIP engine failed", exc_info=True)
        self._line("stopped", _("Phone line off"))

    # -- incoming calls (engine loop) ------------------------------------------------------------
    def _incoming(self, call: Any) -> None:
        ref = f"sip-{call.handle:x}"
        headers = {k.lower(): v for k, v in (call.headers or {}).items()}
        token = headers.get(ASSIST_HEADER.lower())
        if token is not None or self.assist_only:
            self._incoming_assist(ref, call, token)
            return
        self._calls[ref] = call
        call.on(lambda event, ref=ref: self._call_event(ref, event))
        faro_id = self.line.on_incoming(caller_number(call.peer), "phone", backend_ref=ref)
        current = self.line.call
        if current is None or current.id != faro_id or self._consult is not None:
            self._refuse(ref, call)  # busy, on a break, in wrap-up: 486 and a missed call
            return
        self._faro_ids[ref] = faro_id

    def _incoming_assist(self, ref: str, call: Any, token: str | None) -> None:
        """A supervisor's leg into the call in progress: answered only with a grant the
        escalation link handed over for this call, never offered as a call."""
        from calls.model import CallState

        grant = self._take_grant(token) if token else None
        current = self._current_ref()
        if (
            grant is None
            or current is None
            or self.line.state not in (CallState.ON_CALL, CallState.ON_HOLD)
            or self._consult is not None
            or self._assist is not None
        ):
            log.info("refused a live-assistance leg (no grant for this call)")
            asyncio.get_running_loop().create_task(call.reject())
            return
        assist_id, mode = grant
        self._calls[ref] = call
        self._assist = ref
        self._assist_ids[ref] = assist_id
        self.pump.set_assist_mode(mode)
        call.on(lambda event, ref=ref: self._call_event(ref, event))
        asyncio.get_running_loop().create_task(self._guard(call.answer()))

    def _take_grant(self, token: str) -> tuple[str, str] | None:
        now = time.monotonic()
        with self._grant_lock:
            for t, (_assist, _mode, until) in list(self._grants.items()):
                if until < now:
                    del self._grants[t]
            found = self._grants.pop(token, None)
        return None if found is None else (found[0], found[1])

    def _refuse(self, ref: str, call: Any) -> None:
        self._local_end.add(ref)
        asyncio.get_running_loop().create_task(call.reject())

    def _call_event(self, ref: str, event: Any) -> None:
        from baresip import Event

        kind = event.event
        log.debug("engine event %s on %s", kind.name, ref)
        if kind in (Event.CALL_ESTABLISHED, Event.CALL_RTPESTAB):
            call = self._calls.get(ref)
            if call is not None and not self.pump.has(ref):
                self.pump.add(ref, call.audio, ASSIST if ref == self._assist else CALL)
                if ref == self._assist:
                    self._assist_report(ref, "live", self.pump.assist_mode)
        elif kind is Event.CALL_RTCP and event.stats:
            self._quality(ref, event.stats)
        elif kind in (Event.CALL_HOLD, Event.CALL_RESUME):  # the far end holds us, or resumes
            self.pump.set_expect_rx(ref, kind is Event.CALL_RESUME)
        elif kind is Event.CALL_CLOSED:
            self._closed(ref, event.text or "")

    def _back_to_caller(self) -> None:
        """The supervisor's leg ended: the caller comes off the consultation's hold (unless
        the counselor put the call on hold themselves)."""
        from calls.model import CallState

        ref = self._current_ref()
        if ref is None or self.line.state is not CallState.ON_CALL:
            return
        self.pump.set_talking(ref, True)
        asyncio.get_running_loop().create_task(self._guard(self._hold(self._calls[ref], False)))

    def _quality(self, ref: str, stats: dict[str, Any]) -> None:
        from baresip import CallStats

        faro_id = self._faro_ids.get(ref)
        if faro_id is None:
            return
        s = CallStats._from_payload(stats)
        total = s.rx_packets + s.rx_lost
        q = ev.CallQuality(
            faro_id,
            s.mos_estimate,
            round(100.0 * s.rx_lost / total, 2) if total else 0.0,
            round(s.rx_jitter_ms, 1),
            round(s.rtt_ms, 1),
            self.codec,
            self.srtp_suite,
        )
        self.last_quality = q
        self.line.report(q)

    def _audio_flow(self, ref: str, flowing: bool, gap_s: float) -> None:
        """On the pump's thread: the caller's audio stopped arriving, or came back."""
        faro_id = self._faro_ids.get(ref)
        if faro_id is not None and not self._stopping:
            self.line.report(ev.CallAudioFlow(faro_id, flowing, gap_s))

    def _closed(self, ref: str, reason: str) -> None:
        self._calls.pop(ref, None)
        self.pump.remove(ref)
        if ref in (self._assist, self._assist_out):
            out = ref == self._assist_out
            if out:
                self._assist_out = None
            else:
                self._assist = None
            if not self._stopping:
                self._assist_report(ref, "ended", reason=_assist_reason(reason), out=out)
            self._assist_ids.pop(ref, None)
            return
        if self._assist is not None and ref == self._ref_of_current_call():
            self._end_assist_leg()  # the call ended: the supervisor's leg goes with it
        if ref == self._consult:
            self._consult = None
            self.pump.set_conference(False)
            self._back_to_caller()
            self.line.report(ev.CallRefused("consult_ended", _("The supervisor's line ended.")))
            return
        faro_id = self._faro_ids.pop(ref, None)
        local = ref in self._local_end
        self._local_end.discard(ref)
        if faro_id is None or self._stopping:
            return
        if ref in self._transferred:
            self._transferred.discard(ref)
            self.line.on_remote_hangup(faro_id, EndedBy.TRANSFERRED)
            return
        if local:
            return
        if _NETWORK_REASONS.search(reason):
            self.line.report(
                ev.CallRefused(
                    "network",
                    _(
                        "The line dropped and could not be recovered. The caller's number is "
                        "kept with the call."
                    ),
                    faro_id,
                )
            )
            self.line.on_remote_hangup(faro_id, EndedBy.NETWORK)
        else:
            self.line.on_remote_hangup(faro_id)

    # -- what the call machine asks (its lock is held: schedule, never wait) ----------------------
    def counselor_available(self, available: bool) -> None:
        self._available = available

    def _ref_of(self, call: Call) -> str | None:
        ref = call.backend_ref
        return ref if ref in self._calls else None

    def answer(self, call: Call) -> None:
        ref = self._ref_of(call)
        if ref is None:
            return
        self._submit(self._calls[ref].answer())

    def hangup(self, call: Call) -> None:
        ref = self._ref_of(call)
        if ref is None:
            return
        self._local_end.add(ref)
        engine_call = self._calls[ref]
        self._submit(engine_call.hangup())
        if self._assist is not None:
            self._end_assist_leg()
        if self._consult is not None:
            consult = self._calls.get(self._consult)
            if consult is not None:
                self._submit(consult.hangup())

    def hold(self, call: Call, on: bool) -> None:
        ref = self._ref_of(call)
        if ref is None:
            return
        self.pump.set_talking(ref, not on)
        self._submit(self._hold(self._calls[ref], on))

    async def _hold(self, call: Any, on: bool) -> None:
        """Hold or resume; a re-INVITE still in flight (a quick hold-resume) is retried."""
        from baresip import BaresipError

        for _attempt in range(20):
            try:
                await (call.hold() if on else call.resume())
                return
            except BaresipError as exc:
                if "retry" not in str(exc):
                    raise
                await asyncio.sleep(0.2)
        log.warning("the call could not be %s", "held" if on else "resumed")

    def mute(self, on: bool) -> None:
        self.pump.set_muted(on)

    # -- more call control (console and CLI; results come back as events) -------------------------
    def _current_ref(self) -> str | None:
        current = self.line.call
        if current is None:
            return None
        return self._ref_of(current)

    def send_dtmf(self, digits: str) -> bool:
        ref = self._current_ref()
        if ref is None or not re.fullmatch(r"[0-9*#A-Da-d]+", digits):
            return False
        self._submit(self._calls[ref].send_dtmf(digits))
        return True

    def target_uri(self, target: str) -> str:
        for label, uri in self.settings.transfer_targets:
            if target == label:
                return self.settings.uri(uri)
        return self.settings.uri(target)

    def transfer(self, target: str) -> bool:
        """Blind transfer of the call in progress (REFER)."""
        ref = self._current_ref()
        if ref is None:
            return False
        self._submit(self._blind(ref, self.target_uri(target)))
        return True

    async def _blind(self, ref: str, uri: str) -> None:
        from baresip import TransferFailed

        call = self._calls[ref]
        self._transferred.add(ref)
        try:
            await call.transfer(uri)
        except TransferFailed as exc:
            self._transferred.discard(ref)
            self.line.report(
                ev.CallRefused(
                    "transfer_failed",
                    _(
                        "The transfer did not go through (SIP {code}); you are still on the call."
                    ).format(code=exc.status or "?"),
                    self._faro_ids.get(ref),
                )
            )

    def consult(self, target: str) -> bool:
        """Call a supervisor on a second leg, the caller on hold (attended transfer or a
        three-way conference follow)."""
        ref = self._current_ref()
        if ref is None or self._consult is not None or self._assist is not None:
            return False
        self._submit(self._dial_consult(ref, self.target_uri(target)))
        return True

    async def _dial_consult(self, ref: str, uri: str) -> None:
        from baresip import CallFailed

        caller = self._calls[ref]
        self.pump.set_talking(ref, False)
        await self._hold(caller, True)
        leg = await self._ua.dial(uri)
        cref = f"sip-{leg.handle:x}"
        self._calls[cref] = leg
        self._consult = cref
        leg.on(lambda event, cref=cref: self._call_event(cref, event))
        try:
            await leg.wait_established(timeout=30)
        except CallFailed as exc:
            self._consult = None
            self._calls.pop(cref, None)
            await self._hold(caller, False)
            self.pump.set_talking(ref, True)
            self.line.report(
                ev.CallRefused(
                    "consult_failed",
                    _(
                        "The supervisor could not be reached (SIP {code}); back with the caller."
                    ).format(code=exc.status or "?"),
                    self._faro_ids.get(ref),
                )
            )

    def complete_transfer(self) -> bool:
        """Attended transfer: hand the caller to the consulted supervisor."""
        ref = self._current_ref()
        cref = self._consult
        if ref is None or cref is None:
            return False
        self._transferred.add(ref)
        self._submit(self._attended(ref, cref))
        return True

    async def _attended(self, ref: str, cref: str) -> None:
        from baresip import TransferFailed

        try:
            await self._calls[ref].attended_transfer(self._calls[cref])
        except TransferFailed:
            self._transferred.discard(ref)
            self.line.report(
                ev.CallRefused(
                    "transfer_failed",
                    _("The transfer did not go through; both calls are on hold."),
                    self._faro_ids.get(ref),
                )
            )

    def conference(self) -> bool:
        """Join the caller and the consulted supervisor with the counselor (three-way; Faro
        mixes the audio, so it works with any registrar)."""
        ref = self._current_ref()
        cref = self._consult
        if ref is None or cref is None:
            return False
        self._submit(self._join(ref))
        return True

    async def _join(self, ref: str) -> None:
        await self._hold(self._calls[ref], False)
        self.pump.set_talking(ref, True)
        self.pump.set_conference(True)

    def drop_consult(self) -> bool:
        """End the supervisor's leg and go back to the caller."""
        ref = self._current_ref()
        cref = self._consult
        if cref is None:
            return False
        self._local_end.add(cref)
        self._submit(self._drop(ref, cref))
        return True

    async def _drop(self, ref: str | None, cref: str) -> None:
        leg = self._calls.get(cref)
        if leg is not None:
            await leg.hangup()
        if ref is not None and ref in self._calls:
            await self._hold(self._calls[ref], False)
            self.pump.set_talking(ref, True)

    # -- live assistance (docs/telephony.md) ------------------------------------------------------
    # The counselor's laptop mixes: the supervisor's laptop dials the counselor's own address
    # with a one-time grant the escalation link carried (app/wiring.py), and the pump decides
    # who hears whom (calls/sip/pump.py). Neither side's registrar needs a conference bridge.
    def _ref_of_current_call(self) -> str | None:
        current = self.line.call
        return current.backend_ref if current is not None else None

    def assist_refusal(self) -> str | None:
        """Why a supervisor cannot join the call now (a code), or None: it can."""
        from calls.model import CallState

        if not self._registered:
            return "line_down"
        if self._current_ref() is None or self.line.state not in (
            CallState.ON_CALL,
            CallState.ON_HOLD,
        ):
            return "not_on_call"
        if self._consult is not None or self._assist is not None:
            return "busy"
        return None

    def expect_assist(self, assist_id: str, token: str, mode: str) -> str | None:
        """Accept one leg that names ``token`` within :data:`ASSIST_GRANT_S`, in ``mode``.
        Returns a refusal code (see :meth:`assist_refusal`) or None."""
        if mode not in ASSIST_MODES:
            raise ValueError(f"unknown assistance mode {mode!r}")
        refusal = self.assist_refusal()
        if refusal is not None:
            return refusal
        with self._grant_lock:
            self._grants[token] = (assist_id, mode, time.monotonic() + ASSIST_GRANT_S)
        return None

    def revoke_assist(self, assist_id: str) -> None:
        """The session ended before its leg came (the supervisor left, a timeout, the call
        ended): its grant opens nothing any more."""
        with self._grant_lock:
            for token, (aid, _mode, _until) in list(self._grants.items()):
                if aid == assist_id:
                    del self._grants[token]

    @property
    def own_uri(self) -> str:
        """The address a supervisor's laptop dials to join this counselor's calls."""
        return self.settings.aor_uri

    @property
    def assisted(self) -> bool:
        return self._assist is not None

    def set_assist_mode(self, mode: str) -> bool:
        """Listen, coach or barge, on the leg mixed in now. False: there is none."""
        ref = self._assist
        if ref is None:
            return False
        self.pump.set_assist_mode(mode)
        self._assist_report(ref, "mode", mode)
        return True

    def end_assist(self) -> bool:
        """End the supervisor's leg (either laptop's side). False: there is none."""
        if self._assist is None and self._assist_out is None:
            return False
        self._end_assist_leg()
        return True

    def _end_assist_leg(self) -> None:
        for ref in (self._assist, self._assist_out):
            leg = self._calls.get(ref) if ref else None
            if leg is not None:
                self._submit(leg.hangup())

    def assist_dial(self, assist_id: str, uri: str, token: str) -> bool:
        """The supervisor's laptop: dial into a counselor's call with its grant. The result
        comes back as :class:`calls.events.AssistLeg` (``live`` or ``failed``)."""
        if self._assist_out is not None or self._ua is None or not self._registered:
            return False
        self._submit(self._dial_assist(assist_id, uri, token))
        return True

    async def _dial_assist(self, assist_id: str, uri: str, token: str) -> None:
        from baresip import CallFailed

        leg = await self._ua.dial(uri, headers={ASSIST_HEADER: token})
        ref = f"sip-{leg.handle:x}"
        self._calls[ref] = leg
        self._assist_out = ref
        self._assist_ids[ref] = assist_id
        leg.on(lambda event, ref=ref: self._call_event(ref, event))
        try:
            await leg.wait_established(timeout=20)
        except CallFailed as exc:
            self._calls.pop(ref, None)
            if self._assist_out == ref:
                self._assist_out = None
            self._assist_ids.pop(ref, None)
            self.line.report(
                ev.AssistLeg(
                    "supervisor",
                    assist_id,
                    "failed",
                    reason="rejected" if exc.status else "network",
                )
            )
            return
        self._assist_report(ref, "live")

    def _assist_report(
        self, ref: str, state: str, mode: str = "", reason: str = "", out: bool | None = None
    ) -> None:
        assist_id = self._assist_ids.get(ref)
        if assist_id is None:
            return
        if ref == self._assist_out if out is None else out:
            self.line.report(ev.AssistLeg("supervisor", assist_id, state, mode, reason))
            return
        current = self.line.call
        call_id = current.id if current is not None else ""
        self.line.report(ev.AssistLeg("counselor", assist_id, state, mode, reason, call_id))


def _assist_reason(engine_reason: str) -> str:
    """A short code for why an assistance leg closed (never the engine's free text)."""
    if _NETWORK_REASONS.search(engine_reason):
        return "network"
    return "rejected" if re.match(r"[4-6]\d\d\b", engine_reason.strip()) else "hangup"
