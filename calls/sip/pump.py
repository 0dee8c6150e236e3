"""The media pump: moves PCM between the engine's calls and :class:`calls.media.CallMedia`.

One thread (``faro-sip-media``) serves every call. Every 10 ms it takes what each call has
received and hands it to the audio service (mixed, when a supervisor is on a second leg).
The microphone goes the other way through :meth:`MediaPump.send_near`, called on the audio
service's thread: each talking leg gets the block (plus the other leg's voice in a
conference); a muted or held counselor sends silence of the same length, so what reaches
the wire is exactly what Faro decided.

Live assistance (docs/telephony.md): a supervisor's leg has the role ``assist`` and one of
three modes, and the pump alone decides who hears whom, whatever the supervisor's laptop
sends:

=========  ======================  ==========================  ===========================
mode       the supervisor hears    the counselor hears         the caller hears
=========  ======================  ==========================  ===========================
listen     caller + counselor      caller                      counselor
coach      caller + counselor      caller + supervisor         counselor
barge      caller + counselor      caller + supervisor         counselor + supervisor
=========  ======================  ==========================  ===========================

The supervisor hears the counselor's microphone even while the counselor is muted or holds
the caller (so a counselor can speak to a coach privately); the caller never hears a
listening or coaching supervisor. The supervisor's voice is never given to voice activity
as the caller's: :meth:`CallMedia.deliver_far` gets the callers' audio for the VAD and the
mix the counselor hears for the headset.

What the engine hands over from the network is its decoder's output, at the codec's rate
and channel count (8 kHz for G.711, 16 kHz for G.722, 48 kHz stereo for Opus): the pump
downmixes and resamples it (libsoxr, HQ, state kept per call) to mono 48 kHz. What goes to
the network is taken by the engine at 48 kHz mono and converted by the engine.

Clock drift between the headset and the network: the engine's transmit buffer is kept
short. When it holds more than :data:`MAX_TX_BUFFER_S` (the headset clock runs fast, or the
audio thread was late), what is queued is flushed and counted; when the headset is slow the
engine pads with silence (counted by the engine as starved frames).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from calls.media import RATE, CallMedia

log = logging.getLogger(__name__)

TICK_S = 0.01
MAX_TX_BUFFER_S = 0.12
#: no microphone block for this long (headset unplugged, audio thread stalled): send silence,
#: so the far end keeps receiving media (and DTMF, hold and RTP timeouts keep working)
KEEPALIVE_S = 0.06
#: the other leg's voice waiting for our next mic block, at most this long
MAX_CROSS_S = 0.2
#: a supervisor's (or consulted party's) voice is mixed into the caller's audio as it arrives;
#: when this much of it waits with nothing from the caller (held, stalled), it is played alone
ALONE_S = 0.06
#: no audio at all from the network for this long on a call that is not on hold: the caller's
#: audio has stopped (a network cut); the counselor is told, and told again when it returns
STALL_S = 1.0
_READ_BYTES = int(RATE * 0.2) * 2
#: a leg that carries the call (the caller, a consulted supervisor) or a supervisor's live
#: assistance leg
CALL, ASSIST = "call", "assist"
ASSIST_MODES = ("listen", "coach", "barge")


class _Leg:
    def __init__(self, ref: str, audio: Any, role: str = CALL) -> None:
        self.ref = ref
        self.audio = audio
        self.role = role
        self.talking = True  # receives the microphone (not on hold)
        self.cross: deque[np.ndarray] = deque()  # the other leg's voice, for a conference
        self.cross_len = 0
        #: this leg's voice waiting to be mixed into what the counselor hears (every leg but
        #: the caller's, whose arrival paces the counselor's ear)
        self.mix: deque[np.ndarray] = deque()
        self.mix_len = 0
        self.rx_samples = 0
        self.tx_samples = 0
        self.tx_flushes = 0
        self.first_rx_at: float | None = None
        self.last_rx_at = 0.0
        self.expect_rx = True  # False while the far end holds us: it sends nothing
        self.stalled = False
        self.last_tx_at = 0.0
        self.rx_format: tuple[int, int] | None = None
        self.resampler: Any = None

    def to_media(self, pcm: np.ndarray, fmt: tuple[int, int]) -> np.ndarray:
        """The decoder's output (its codec's rate and channels) as mono int16 at RATE."""
        rate, channels = fmt
        if channels > 1:
            usable = len(pcm) - len(pcm) % channels
            pcm = pcm[:usable].reshape(-1, channels).mean(axis=1).astype(np.int16)
        if rate == RATE:
            return pcm
        if fmt != self.rx_format or self.resampler is None:
            import soxr

            self.resampler = soxr.ResampleStream(rate, RATE, 1, dtype="int16", quality="HQ")
        self.rx_format = fmt
        return np.asarray(self.resampler.resample_chunk(pcm), dtype=np.int16)

    def push_cross(self, block: np.ndarray) -> None:
        self.cross.append(block)
        self.cross_len += len(block)
        while self.cross_len > MAX_CROSS_S * RATE and self.cross:
            self.cross_len -= len(self.cross.popleft())

    def take_cross(self, n: int) -> np.ndarray | None:
        if not self.cross_len:
            return None
        out, self.cross_len = _take(self.cross, self.cross_len, n)
        return out

    def push_mix(self, block: np.ndarray) -> None:
        self.mix.append(block)
        self.mix_len += len(block)
        while self.mix_len > MAX_CROSS_S * RATE and self.mix:
            self.mix_len -= len(self.mix.popleft())

    def take_mix(self, n: int) -> np.ndarray | None:
        if not self.mix_len:
            return None
        out, self.mix_len = _take(self.mix, self.mix_len, n)
        return out


def _take(queue: deque[np.ndarray], length: int, n: int) -> tuple[np.ndarray, int]:
    """Up to ``n`` samples from the head of ``queue`` as int32 (padded with silence), and
    the samples left."""
    out = np.zeros(n, dtype=np.int32)
    i = 0
    while i < n and queue:
        head = queue[0]
        k = min(n - i, len(head))
        out[i : i + k] = head[:k]
        if k == len(head):
            queue.popleft()
        else:
            queue[0] = head[k:]
        length -= k
        i += k
    return out, length


class MediaPump:
    def __init__(
        self,
        media: CallMedia,
        now: Callable[[], float] = time.monotonic,
        rx_format: Callable[[], tuple[int, int]] = lambda: (RATE, 1),
        on_flow: Callable[[str, bool, float], None] | None = None,
    ) -> None:
        self.media = media
        self._on_flow = on_flow
        self._rx_format = rx_format
        self._now = now
        self._lock = threading.Lock()
        self._legs: dict[str, _Leg] = {}
        self._conference = False
        self._assist_mode = "listen"
        self._muted = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.tx_drift_flushes = 0

    # -- legs -----------------------------------------------------------------------------
    def add(self, ref: str, audio: Any, role: str = CALL) -> None:
        with self._lock:
            self._legs[ref] = _Leg(ref, audio, role)
            first = len(self._legs) == 1
        if first:
            self.media.attach_sink(self.send_near)
        self._ensure_thread()

    def remove(self, ref: str) -> dict[str, int]:
        with self._lock:
            leg = self._legs.pop(ref, None)
            empty = not self._legs
            if self._call_legs() < 2:
                self._conference = False
        if empty:
            self.media.attach_sink(None)
        if leg is None:
            return {}
        return {"tx_drift_flushes": leg.tx_flushes}

    def has(self, ref: str) -> bool:
        with self._lock:
            return ref in self._legs

    def set_talking(self, ref: str, talking: bool) -> None:
        with self._lock:
            leg = self._legs.get(ref)
            if leg is not None:
                if talking and not leg.talking:
                    leg.last_rx_at = time.monotonic()  # the far end starts sending again now
                leg.talking = talking

    def set_expect_rx(self, ref: str, expect: bool) -> None:
        """The far end put us on hold (False) or took us off it (True)."""
        with self._lock:
            leg = self._legs.get(ref)
            if leg is not None:
                if expect and not leg.expect_rx:
                    leg.last_rx_at = time.monotonic()
                leg.expect_rx = expect

    def set_muted(self, muted: bool) -> None:
        self._muted = muted

    def set_conference(self, on: bool) -> None:
        with self._lock:
            self._conference = on and self._call_legs() == 2
            self._clear_cross()

    def set_assist_mode(self, mode: str) -> None:
        """Who hears a supervisor's assistance leg (the table above)."""
        if mode not in ASSIST_MODES:
            raise ValueError(f"unknown assistance mode {mode!r}")
        with self._lock:
            self._assist_mode = mode
            self._clear_cross()

    @property
    def assist_mode(self) -> str:
        return self._assist_mode

    def _call_legs(self) -> int:
        return sum(1 for leg in self._legs.values() if leg.role == CALL)

    def _clear_cross(self) -> None:
        for leg in self._legs.values():
            leg.cross.clear()
            leg.cross_len = 0
            leg.mix.clear()
            leg.mix_len = 0

    @staticmethod
    def _hears(dst: _Leg, src: _Leg, conference: bool, mode: str) -> bool:
        """Whether the party on ``dst`` hears the party on ``src`` (besides the counselor)."""
        if dst is src:
            return False
        if dst.role == ASSIST:
            return True  # a supervisor who assists hears the whole call
        if src.role == ASSIST:
            return mode == "barge"
        return conference

    def first_rx_at(self, ref: str) -> float | None:
        with self._lock:
            leg = self._legs.get(ref)
            return leg.first_rx_at if leg else None

    # -- microphone -> wire (audio service's thread) ------------------------------------------
    def send_near(self, block: np.ndarray) -> None:
        with self._lock:
            legs = [leg for leg in self._legs.values() if leg.talking]
        if not legs:
            return
        raw = block.astype(np.int16)
        silent = np.zeros(len(block), dtype=np.int16) if self._muted else raw
        for leg in legs:
            # an assisting supervisor hears the counselor even when the caller does not
            pcm: np.ndarray = raw if leg.role == ASSIST else silent
            other = leg.take_cross(len(pcm))  # filled only with voices this leg hears
            if other is not None:
                pcm = np.clip(pcm.astype(np.int32) + other, -32768, 32767).astype(np.int16)
            self._write(leg, pcm)

    def _write(self, leg: _Leg, pcm: np.ndarray) -> None:
        from baresip import AudioNotActive, AudioRestarted

        try:
            info = leg.audio.info()
            if info.tx_buffered > MAX_TX_BUFFER_S * RATE * 2:
                leg.audio.flush_tx()
                leg.tx_flushes += 1
                self.tx_drift_flushes += 1
            leg.audio.write(pcm.tobytes())
            leg.tx_samples += len(pcm)
            leg.last_tx_at = time.monotonic()
        except (AudioNotActive, AudioRestarted):
            pass  # media not up yet, or renegotiated: the next block binds again

    # -- wire -> audio service (the pump thread) ----------------------------------------------
    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="faro-sip-media", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=2)
        self.media.attach_sink(None)

    def _check_stall(self, leg: _Leg) -> None:
        if leg.first_rx_at is None or leg.stalled or not (leg.talking and leg.expect_rx):
            return
        gap = time.monotonic() - leg.last_rx_at
        if gap >= STALL_S:
            leg.stalled = True
            log.info("no audio from the network for %.1f s on %s", gap, leg.ref)
            self._tell(leg.ref, False, gap)

    def _flowing(self, leg: _Leg) -> None:
        now = time.monotonic()
        if leg.stalled:
            leg.stalled = False
            gap = now - leg.last_rx_at
            log.info("audio from the network is back on %s after %.1f s", leg.ref, gap)
            self._tell(leg.ref, True, gap)
        leg.last_rx_at = now

    def _tell(self, ref: str, flowing: bool, gap: float) -> None:
        if self._on_flow is not None:
            try:
                self._on_flow(ref, flowing, round(gap, 1))
            except Exception:
                log.exception("reporting the audio flow failed")

    def _deliver(self, legs: list[_Leg], pacer: _Leg | None, paced: np.ndarray | None) -> None:
        """Hand the counselor's side what arrived: the caller's block with the other legs'
        voices mixed in (the VAD's far side: call legs only; the headset: everyone heard)."""
        others = [leg for leg in legs if leg is not pacer and leg.mix_len]
        if paced is None:
            # nothing from the caller this tick: the others wait, unless the caller is silent
            # on the wire (held, stalled) and they have waited long enough to be played alone
            if not others or max(leg.mix_len for leg in others) < ALONE_S * RATE:
                return
            n = max(leg.mix_len for leg in others)
            base = np.zeros(n, dtype=np.int32)
        else:
            n = len(paced)
            base = paced.astype(np.int32)
        far = base.copy()  # the call's parties: the VAD's far side
        coach: np.ndarray | None = None  # an assisting supervisor the counselor hears
        callers = paced is not None
        for leg in others:
            voice = leg.take_mix(n)
            if voice is None:
                continue
            if leg.role == CALL:
                far += voice
                callers = True
            else:
                coach = voice if coach is None else coach + voice
        far16 = np.clip(far, -32768, 32767).astype(np.int16)
        if coach is None:
            self.media.deliver_far(far16)
            return
        heard16 = np.clip(far + coach, -32768, 32767).astype(np.int16)
        if callers:
            self.media.deliver_far(far16, heard16)
        else:
            self.media.deliver_heard(heard16)  # only the supervisor spoke: not the caller

    def _run(self) -> None:
        from baresip import AudioNotActive, AudioRestarted

        next_at = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                legs = list(self._legs.values())
                conference = self._conference
                mode = self._assist_mode
            if not legs:
                return
            # the first call leg (the caller) paces what the counselor hears; every other
            # leg's voice waits in its ``mix`` queue and is added to the caller's blocks, so two
            # legs whose packets land in different ticks are mixed, never played one after
            # the other (which would give the headset and the VAD twice real time)
            pacer = next((leg for leg in legs if leg.role == CALL), None)
            paced: np.ndarray | None = None
            for leg in legs:
                try:
                    data = leg.audio.read(_READ_BYTES)
                except (AudioNotActive, AudioRestarted):
                    continue
                except Exception:
                    log.exception("reading the call's audio failed")
                    continue
                if not data:
                    self._check_stall(leg)
                    continue
                pcm = leg.to_media(np.frombuffer(data, dtype=np.int16), self._rx_format())
                if not len(pcm):
                    self._check_stall(leg)
                    continue
                self._flowing(leg)
                if leg.first_rx_at is None:
                    leg.first_rx_at = self._now()
                leg.rx_samples += len(pcm)
                if leg is pacer:
                    paced = pcm if paced is None else np.concatenate((paced, pcm))
                elif leg.role == CALL or mode != "listen":
                    leg.push_mix(pcm)  # a listening supervisor is heard by nobody
                for other in legs:
                    if self._hears(other, leg, conference, mode):
                        other.push_cross(pcm)
            now = time.monotonic()
            for leg in legs:
                if now - leg.last_tx_at > KEEPALIVE_S:
                    gap = np.zeros(int(RATE * KEEPALIVE_S), dtype=np.int16)
                    if leg.talking:
                        voice = leg.take_cross(len(gap))
                        if voice is not None:
                            gap = np.clip(voice, -32768, 32767).astype(np.int16)
                    self._write(leg, gap)
            self._deliver(legs, pacer, paced)
            next_at += TICK_S
            delay = next_at - time.monotonic()
            if delay < -0.1:
                next_at = time.monotonic()
            elif delay > 0:
                self._stop.wait(delay)
