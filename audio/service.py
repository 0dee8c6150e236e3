"""The audio service: capture (or simulation) → resampling → VAD → call-health metrics.

Threads, each the single owner of what it touches:

* **PortAudio's callback thread** only copies each block and ``put_nowait``s it on one
  bounded queue (full: the block is dropped and counted).
* **faro-audio-devices** owns the sound devices: it picks them by their spec, opens them,
  notices a device that stops (within ~0.6 s), publishes :class:`AudioDeviceLost`, retries
  every ``audio.retry_s`` and publishes :class:`AudioDeviceRestored` when it is back. With
  no sound card at all the status is "no audio device" and it keeps retrying.
* **faro-audio-worker** owns the resamplers, the VAD engines and the call-health state
  machine: it turns queued blocks into 10 ms frames, pairs counselor and caller frames and
  feeds the metrics, which publish prompts only on transitions.
* **faro-audio-sim** (``audio.source = "simulated"``) paces scripted conversations.
* **faro-audio-caller** (training mode on a real microphone, :meth:`set_practice_caller`)
  paces the spoken practice caller (audio/practice_caller.py) in 20 ms blocks: each block
  goes to the VAD's far side (as :meth:`feed_far`) and to the headset's output, and the
  caller takes turns from the near side's voice activity. **faro-audio-voice** synthesises
  its lines with espeak-ng beforehand, in memory.
* **faro-audio-sender** (only when the backend has a :class:`calls.media.CallMedia`) takes
  the microphone's blocks from a second small queue the callback fills with the same copy,
  converts them to 48 kHz int16 and hands them to ``media.send_near`` while a call's media
  is up, so the outgoing audio never waits behind the VAD.

When Faro carries the call audio itself (the backend has ``media``), the caller's blocks
arrive through ``media.on_far``: they feed the far side of the VAD (as :meth:`feed_far`);
what the counselor hears (the same, or mixed with a coaching supervisor) arrives through
``media.on_heard`` for a :class:`audio.playback.DevicePlayback` on the headset's output, which the device
thread opens, watches and reopens like the microphone (side ``"out"``).

The far side (the caller) comes from a monitor/loopback input of the headset's playback, or
from a telephony backend through :meth:`AudioService.feed_far`. The service follows the
call machine's events: an answered call starts its metrics, an ended call publishes
:class:`CallHealthSummary`; mute and hold are followed too. Audio never leaves this
process and is never written anywhere.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from audio import events as ev
from audio import options as opt
from audio.capture import DeviceCapture
from audio.devices import (
    PORTAUDIO_LOCK,
    InputDevice,
    OutputDevice,
    choose_far,
    choose_near,
    choose_out,
    list_inputs,
    list_outputs,
    other_streams_open,
)
from audio.frames import Framer
from audio.metrics import CallHealth, HealthSettings, HealthSnapshot
from audio.playback import DevicePlayback
from audio.practice_caller import ESPEAK, CallerScript, PracticeCaller
from audio.resample import StreamResampler
from audio.simulated import SimulatedSource
from audio.vad import FrameResults, VadEngine, block_results, make_engine
from calls.media import RATE as MEDIA_RATE
from calls.media import CallMedia
from core.clock import Clock
from core.config import Config
from core.events import Event, EventBus
from core.i18n import _

if TYPE_CHECKING:
    from calls.host import Host

log = logging.getLogger(__name__)

MAX_LAG_FRAMES = 30  # a side this far ahead is fed alone (the other one stalled)
FAR_FEED_TIMEOUT_S = 1.0  # the telephony feed counts as present this long after a block
OUT = "out"  # the side of the headset's playback in AudioDeviceLost / Restored
NEAR_BLOCK_S = 0.02  # microphone blocks while Faro carries the call (the outgoing latency)
SEND_QUEUE_BLOCKS = 50  # 1 s of microphone blocks waiting for the sender
PRACTICE_BLOCK_S = 0.02  # the practice caller's blocks
PRACTICE_BLOCK = int(MEDIA_RATE * PRACTICE_BLOCK_S)
MAX_PRACTICE_CATCH_UP_S = 2.0  # never feed more than this at once (a paused process resumes)

# status codes (the text shown is translated separately)
STARTING, LISTENING, NO_DEVICE, DEVICE_LOST, SIMULATED, STOPPED = (
    "starting",
    "listening",
    "no_device",
    "device_lost",
    "simulated",
    "stopped",
)


@dataclasses.dataclass(frozen=True)
class AudioSnapshot:
    status: str
    status_text: str
    near_device: str | None
    far_device: str | None
    dropped_blocks: int
    health: HealthSnapshot
    out_device: str | None = None  # the headset output the caller is played on (SIP)
    playback_underruns: int = 0
    playback_overflows: int = 0


def _status_text(status: str, device: str | None) -> str:
    return {
        STARTING: _("Starting audio"),
        LISTENING: _("Listening on {device}").format(device=device or "?"),
        NO_DEVICE: _("No audio device; retrying"),
        DEVICE_LOST: _("Headset disconnected; reconnecting"),
        SIMULATED: _("Simulated audio"),
        STOPPED: _("Audio stopped"),
    }[status]


class _Channel:
    """The worker's per-side state."""

    def __init__(self, engine: VadEngine) -> None:
        self.engine = engine
        self.rate = 0
        self.resampler: StreamResampler | None = None
        self.framer = Framer()
        self.pending: FrameResults | None = None

    @property
    def count(self) -> int:
        return 0 if self.pending is None else len(self.pending.speech)

    def push(self, res: FrameResults) -> None:
        if self.pending is None or not self.count:
            self.pending = res
        else:
            self.pending = FrameResults(
                *(
                    np.concatenate((getattr(self.pending, f.name), getattr(res, f.name)))
                    for f in dataclasses.fields(FrameResults)
                )
            )

    def pop(self, k: int) -> FrameResults:
        assert self.pending is not None
        p = self.pending
        head = FrameResults(*(getattr(p, f.name)[:k] for f in dataclasses.fields(FrameResults)))
        self.pending = FrameResults(
            *(getattr(p, f.name)[k:] for f in dataclasses.fields(FrameResults))
        )
        return head


class AudioService:
    def __init__(self, config: Config, clock: Clock, bus: EventBus, *, backend: Any = None) -> None:
        self.config = config
        self.clock = clock
        self.bus = bus
        self.backend = backend
        self.source = config.get(opt.SOURCE)
        self.engine_name = config.get(opt.ENGINE)
        self.near_spec = config.get(opt.NEAR_DEVICE)
        self.far_spec = config.get(opt.FAR_DEVICE)
        self.out_spec = config.get(opt.OUT_DEVICE)
        self.fallback_to_laptop = config.get(opt.FALLBACK_TO_LAPTOP)
        media = getattr(backend, "media", None)
        self.media: CallMedia | None = media if isinstance(media, CallMedia) else None
        self._send_q: queue.Queue[tuple[int, np.ndarray]] = queue.Queue(SEND_QUEUE_BLOCKS)
        self.retry_s = config.get(opt.RETRY_S)
        self.queue: queue.Queue[tuple[str, int, np.ndarray]] = queue.Queue(
            config.get(opt.QUEUE_BLOCKS)
        )
        self.health = CallHealth(
            clock,
            self._publish,
            HealthSettings(
                caller_silence_s=config.get(opt.CALLER_SILENCE_S),
                muted_speech_s=config.get(opt.MUTED_SPEECH_S),
                dead_mic_s=config.get(opt.DEAD_MIC_S),
                one_way_s=config.get(opt.ONE_WAY_S),
                talk_ratio_limit=config.get(opt.TALK_RATIO_LIMIT),
            ),
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._caps: dict[str, DeviceCapture] = {}
        self._playback: DevicePlayback | None = None
        self._out_lost_dev: OutputDevice | None = None  # what a lost output is waited for as
        self._pb_retired = [0, 0]  # underruns, overflows of playbacks already closed
        self._pb_at_answer = (0, 0)
        self._out_losses = 0
        self._lost: dict[str, str] = {}  # side -> name of the device that went away
        self._status = STARTING
        self._dropped_fed = 0
        self._far_fed_at: float | None = None
        self._device_losses = 0
        self._started = False
        self._stopped = False
        self.sim: SimulatedSource | None = None
        if self.source == "simulated":
            self.sim = SimulatedSource(clock, self.queue, self._script_audio)
        self.practice: PracticeCaller | None = None
        self._practice_sent = 0.0  # the clock time the practice caller has been fed up to
        self._practice_call = ""
        self._practice_muted = False
        self._practice_hold = False

    def set_practice_caller(self, script: CallerScript) -> bool:
        """Training mode on a real microphone: the practice caller speaks ``script`` on the
        headset and as the far side (before :meth:`start`). False (nothing set) with the
        simulated source, which plays the scenario itself, or with the call's own media,
        where the caller is a person."""
        if self.sim is not None or self.media is not None or self._started:
            return False
        self.practice = PracticeCaller(script, MEDIA_RATE, self._on_practice_line)
        return True

    @property
    def _own_far(self) -> bool:
        """The caller's audio is Faro's to play on the headset (the call's media, or the
        practice caller), not a monitor input's."""
        return self.media is not None or self.practice is not None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._started or self._stopped:
                return
            self._started = True
        from calls import events as cev

        self.bus.subscribe(cev.CallAnswered, self._on_answered)
        self.bus.subscribe(cev.CallEnded, self._on_ended)
        self.bus.subscribe(cev.MuteChanged, self._on_mute)
        self.bus.subscribe(cev.CallStateChanged, self._on_state)
        self._spawn("faro-audio-worker", self._worker)
        if self.media is not None and self.sim is None:
            self.media.on_far(self._on_media_far)
            self.media.on_heard(self._on_media_heard)
            self._spawn("faro-audio-sender", self._sender)
        if self.sim is not None:
            self._set_status(SIMULATED)
            self.sim.start()
        else:
            self._spawn("faro-audio-devices", self._devices_loop)
        if self.practice is not None:
            self.practice.prepare(self._practice_voice_ready)
            self._spawn("faro-audio-caller", self._practice_loop)

    def _spawn(self, name: str, target: Any) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def stop(self) -> None:
        """Thread-safe and idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._stop.set()
        if self.sim is not None:
            self.sim.stop()
        for t in self._threads:
            if t is not threading.current_thread():
                # the devices thread may be inside PortAudio opening a stream (a sound
                # server under load takes seconds): wait it out, it closes what it opens
                # after the stop (_open, _open_out), so nothing stays open behind us
                t.join(timeout=10)
                if t.is_alive():
                    log.warning("the audio thread %s did not stop within 10 s", t.name)
        for cap in list(self._caps.values()):
            cap.close()
        self._caps.clear()
        pb, self._playback = self._playback, None
        if pb is not None:
            pb.close()
        with self._lock:
            self._status = STOPPED

    # -- input from a telephony backend ------------------------------------------------------
    def feed_far(self, samples: np.ndarray, rate: int) -> bool:
        """Hand over the caller's audio (any rate, mono or (n, channels)); never blocks.

        Returns False when the block was dropped because the worker is behind."""
        self._far_fed_at = self.clock.monotonic()
        try:
            self.queue.put_nowait(
                (ev.FAR, int(rate), np.array(samples, dtype=np.float32, copy=True))
            )
            return True
        except queue.Full:
            self._dropped_fed += 1
            return False

    # -- the call's own audio (backend.media), the engine's media thread -----------------------
    def _on_media_far(self, block: np.ndarray) -> None:
        """The caller, mono int16 at 48 kHz: to the VAD's far side."""
        if self._stopped:
            return
        samples = np.asarray(block, dtype=np.float32) * np.float32(1.0 / 32768.0)
        self.feed_far(samples, MEDIA_RATE)

    def _on_media_heard(self, block: np.ndarray) -> None:
        """What the counselor hears (the caller, with a coaching supervisor mixed in), mono
        int16 at 48 kHz: to the headset."""
        if self._stopped:
            return
        samples = np.asarray(block, dtype=np.float32) * np.float32(1.0 / 32768.0)
        pb = self._playback  # one read: the device thread may replace it
        if pb is not None:
            pb.write(samples)

    def _sender(self) -> None:
        """The microphone to the call: 48 kHz int16 blocks to ``media.send_near``."""
        media = self.media
        assert media is not None
        resampler: StreamResampler | None = None
        while not self._stop.is_set():
            try:
                rate, block = self._send_q.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                if not media.active:
                    continue
                if resampler is None or resampler.in_rate != rate:
                    resampler = StreamResampler(rate, MEDIA_RATE)
                mono = resampler.process(block)
                if mono.shape[0]:
                    pcm = np.clip(mono * 32768.0, -32768.0, 32767.0).astype(np.int16)
                    media.send_near(pcm)
            except Exception:
                log.exception("sending a microphone block failed; it goes on")

    # -- the practice caller (training mode on a real microphone) --------------------------
    def _practice_voice_ready(self) -> None:
        practice = self.practice
        if practice is None:
            return
        from core.status import Level, StatusReport

        if practice.voice.startswith(ESPEAK):
            report = StatusReport("practice_caller", Level.OK, _("Caller's voice: espeak-ng"))
        else:
            report = StatusReport(
                "practice_caller",
                Level.WARNING,
                _("Caller's voice: synthetic, no espeak-ng; read the captions"),
            )
        self._publish(report)

    def _on_practice_line(self, index: int, at_s: float, dur_s: float, voice: str) -> None:
        from calls.training import PracticeLineStarted

        self._publish(
            PracticeLineStarted(self._practice_call, index, round(at_s, 2), round(dur_s, 2))
        )

    def pump_practice(self) -> int:
        """Feed the practice caller's blocks due by the clock; how many were fed. Its
        thread calls it every 20 ms; tests call it after advancing a FakeClock."""
        practice = self.practice
        if practice is None:
            return 0
        now = self.clock.monotonic()
        if not practice.in_call:
            self._practice_sent = now
            return 0
        fed = 0
        if self._practice_hold:  # on hold the caller hears nothing and waits, where it was
            practice.hold(now - self._practice_sent)
            self._practice_sent = now
            return 0
        if now - self._practice_sent > MAX_PRACTICE_CATCH_UP_S:  # a paused process resumes
            self._practice_sent = now - PRACTICE_BLOCK_S
        heard = self.health.near_speaking and not self._practice_muted
        while now - self._practice_sent >= PRACTICE_BLOCK_S - 1e-9:
            self._practice_sent += PRACTICE_BLOCK_S
            block = practice.block(self._practice_sent, PRACTICE_BLOCK, heard)
            if block is None:
                break
            self.feed_far(block, MEDIA_RATE)
            pb = self._playback  # one read: the device thread may replace it
            if pb is not None:
                pb.write(block)
            fed += 1
        return fed

    def _practice_loop(self) -> None:
        while not self._stop.wait(PRACTICE_BLOCK_S):
            try:
                self.pump_practice()
            except Exception:
                log.exception("the practice caller failed on a block; it goes on")

    def _playback_counts(self) -> tuple[int, int]:
        pb = self._playback
        u, o = self._pb_retired
        return (u + pb.underruns, o + pb.overflows) if pb is not None else (u, o)

    # -- reading ----------------------------------------------------------------------------
    def snapshot(self) -> AudioSnapshot:
        """Latest values for the UI's meter timer (thread-safe, cheap)."""
        with self._lock:
            status = self._status
            near = self._caps.get(ev.NEAR)
            far = self._caps.get(ev.FAR)
            pb = self._playback
            out_lost = self._lost.get(OUT)
        near_name = (
            near.device.name
            if near
            else (self._lost.get(ev.NEAR) if status == DEVICE_LOST else None)
        )
        dropped = (
            self._dropped_fed
            + sum(c.dropped for c in (near, far) if c)
            + (self.sim.dropped if self.sim else 0)
            + (near.tap_dropped if near else 0)
        )
        underruns, overflows = self._playback_counts()
        return AudioSnapshot(
            status,
            _status_text(status, near_name),
            near_name,
            far.device.name if far else None,
            dropped,
            self.health.snapshot(),
            pb.device.name if pb else (out_lost if status == DEVICE_LOST else None),
            underruns,
            overflows,
        )

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    # -- call events (publisher's thread) -----------------------------------------------------
    def _script_audio(self) -> str | None:
        script = getattr(self.backend, "current_script", None)
        s = script() if callable(script) else None
        return getattr(s, "audio", None) if s is not None else None

    def _on_answered(self, event: Any) -> None:
        self._device_losses = 0
        self._out_losses = 0
        self._pb_at_answer = self._playback_counts()
        self.health.start_call(event.call.id)
        if self.sim is not None:
            self.sim.start_call()
        if self.practice is not None:
            self._practice_call = event.call.id
            self._practice_sent = self.clock.monotonic()
            self.practice.start_call(self._practice_sent)

    def _on_ended(self, event: Any) -> None:
        if self.sim is not None:
            self.sim.end_call()
        if self.practice is not None:
            self.practice.end_call()
        result = self.health.end_call()
        if result is None:
            return
        call_id, figures = result
        figures["device_losses"] = self._device_losses
        if self._own_far:
            underruns, overflows = self._playback_counts()
            figures["playback_underruns"] = underruns - self._pb_at_answer[0]
            figures["playback_overflows"] = overflows - self._pb_at_answer[1]
            figures["out_device_losses"] = self._out_losses
        figures["engine"] = self.engine_name
        self._publish(ev.CallHealthSummary(call_id, figures))

    def _on_mute(self, event: Any) -> None:
        self.health.set_muted(bool(event.muted))
        self._practice_muted = bool(event.muted)  # the caller no longer hears the trainee

    def _on_state(self, event: Any) -> None:
        from calls.model import CallState

        self.health.set_on_hold(event.state is CallState.ON_HOLD)
        self._practice_hold = event.state is CallState.ON_HOLD  # the caller waits

    def _publish(self, event: Event) -> None:
        try:
            self.bus.publish(event)
        except Exception:
            log.exception("publishing %s failed", type(event).__name__)

    # -- the worker thread -------------------------------------------------------------------
    def _worker(self) -> None:
        channels = {
            side: _Channel(make_engine(self.engine_name, side)) for side in (ev.NEAR, ev.FAR)
        }
        while not self._stop.is_set():
            try:
                side, rate, block = self.queue.get(timeout=0.1)
            except queue.Empty:
                self._drain(channels)
                continue
            try:
                ch = channels[side]
                if rate != ch.rate or ch.resampler is None:
                    ch.rate, ch.resampler = rate, StreamResampler(rate)
                    ch.framer.reset()
                frames = ch.framer.push(ch.resampler.process(block))
                if frames.shape[0]:
                    ch.push(block_results(ch.engine, frames))
                self._drain(channels)
            except Exception:
                log.exception("audio worker failed on a block; it goes on")
            finally:
                self.queue.task_done()  # queue.unfinished_tasks: blocks not yet through the metrics

    def _present(self, side: str) -> bool:
        if self.sim is not None:
            return side == ev.NEAR or self.sim.in_call
        with self._lock:
            if side in self._caps:
                return True
        if side == ev.FAR and self._far_fed_at is not None:
            return self.clock.monotonic() - self._far_fed_at < FAR_FEED_TIMEOUT_S
        return False

    def _drain(self, channels: dict[str, _Channel]) -> None:
        near, far = channels[ev.NEAR], channels[ev.FAR]
        while True:
            a, b = near.count, far.count
            if a and b:
                k = min(a, b)
                self.health.on_frames(near.pop(k), far.pop(k))
            elif a and (a > MAX_LAG_FRAMES or not self._present(ev.FAR)):
                self.health.on_frames(near.pop(a), None)
            elif b and (b > MAX_LAG_FRAMES or not self._present(ev.NEAR)):
                self.health.on_frames(None, far.pop(b))
            else:
                return

    # -- the device thread -------------------------------------------------------------------
    def _set_status(self, status: str) -> None:
        with self._lock:
            if self._status == status or self._stopped:
                return
            self._status = status
            near = self._caps.get(ev.NEAR)
        name = near.device.name if near else self._lost.get(ev.NEAR)
        level = {
            LISTENING: "OK",
            NO_DEVICE: "WARNING",
            DEVICE_LOST: "ERROR",
            SIMULATED: "INFO",
        }.get(status)
        if level is None:
            return
        try:
            from core.status import Level, StatusReport
        except ImportError:
            return
        self._publish(StatusReport("audio", Level[level], _status_text(status, name)))

    def _devices_loop(self) -> None:
        try:
            import sounddevice  # noqa: F401  (PortAudio may be missing altogether)
        except (ImportError, OSError):
            log.warning("PortAudio is not available; no audio capture")
            self._set_status(NO_DEVICE)
            return
        next_try = 0.0
        while not self._stop.is_set():
            now = self.clock.monotonic()
            for side, cap in list(self._caps.items()):
                if not cap.healthy():
                    self._lose(side, cap)
            pb = self._playback
            if pb is not None and not pb.healthy():
                self._lose_out(pb)
            # with the call's own media the caller comes from the engine, not a monitor input
            # (and the practice caller from Faro itself)
            want_far = self.far_spec.strip().lower() != "none" and not self._own_far
            missing = (
                ev.NEAR not in self._caps
                or (want_far and ev.FAR not in self._caps)
                or (self._own_far and self._playback is None)
            )
            if missing and now >= next_try:
                next_try = now + self.retry_s
                self._open_missing(want_far)
            self._stop.wait(0.1)

    def _lose(self, side: str, cap: DeviceCapture) -> None:
        cap.close()
        with self._lock:
            self._caps.pop(side, None)
            self._lost[side] = cap.device.name
        self._device_losses += 1
        log.warning("the %s audio device stopped", side)
        self._publish(ev.AudioDeviceLost(side, cap.device.name))
        if side == ev.NEAR:
            self._set_status(DEVICE_LOST)

    def _lose_out(self, pb: DevicePlayback) -> None:
        pb.close()
        with self._lock:
            self._playback = None
            self._lost[OUT] = pb.device.name
            self._pb_retired[0] += pb.underruns
            self._pb_retired[1] += pb.overflows
        if self._out_lost_dev is None:
            self._out_lost_dev = pb.device
        self._out_losses += 1
        log.warning("the headset's playback device stopped")
        self._publish(ev.AudioDeviceLost(OUT, pb.device.name))
        self._set_status(DEVICE_LOST)

    def _open_missing(self, want_far: bool) -> None:
        import sounddevice as sd

        try:
            # PortAudio lists devices once; ask again while nothing is open
            with PORTAUDIO_LOCK:
                if not self._caps and self._playback is None and not other_streams_open():
                    sd._terminate()
                    sd._initialize()
            devices = list_inputs()
            outputs = list_outputs() if self._own_far else []
        except Exception:
            log.debug("listing audio devices failed", exc_info=True)
            devices, outputs = [], []
        taken = {c.device.index for c in self._caps.values()}
        if ev.NEAR not in self._caps:
            self._open(
                ev.NEAR, choose_near(self.near_spec, [d for d in devices if d.index not in taken])
            )
            taken = {c.device.index for c in self._caps.values()}
        if want_far and ev.FAR not in self._caps:
            self._open(
                ev.FAR, choose_far(self.far_spec, [d for d in devices if d.index not in taken])
            )
        if self._own_far and self._playback is None:
            near = self._caps.get(ev.NEAR)
            spec = self.out_spec
            if not spec.strip() and self._out_lost_dev is not None:
                spec = self._out_lost_dev.spec  # automatic, once lost: wait for that one
            self._open_out(
                choose_out(
                    spec,
                    outputs,
                    near.device if near else None,
                    fallback_to_laptop=self.fallback_to_laptop,
                )
            )
        self._set_status(self._current_status())

    def _current_status(self) -> str:
        with self._lock:
            have_near = ev.NEAR in self._caps
            lost = ev.NEAR in self._lost
            out_missing = self._own_far and self._playback is None
            out_lost = OUT in self._lost
        if not have_near:
            return DEVICE_LOST if lost else NO_DEVICE
        if out_missing:
            return DEVICE_LOST if out_lost else NO_DEVICE
        return LISTENING

    def _open_out(self, device: OutputDevice | None) -> None:
        if device is None:
            return
        pb = DevicePlayback(device, self.clock.monotonic, MEDIA_RATE)
        try:
            pb.open()
        except Exception as exc:
            log.info("cannot open the headset's playback yet: %s", exc)
            pb.close()
            return
        if self._stop.is_set():  # stopped while it opened: nobody would close it
            pb.close()
            return
        with self._lock:
            self._playback = pb
            was_lost = self._lost.pop(OUT, None)
        self._out_lost_dev = None
        log.info("playing the caller at %d Hz, %d channel(s)", pb.rate, pb.channels)
        if was_lost is not None:
            self._publish(ev.AudioDeviceRestored(OUT, device.name))

    def _open(self, side: str, device: InputDevice | None) -> None:
        if device is None:
            return
        media = self.media is not None and side == ev.NEAR
        cap = DeviceCapture(
            side,
            device,
            self.queue,
            self.clock.monotonic,
            block_s=NEAR_BLOCK_S if media else 0.05,
            tap=self._send_q if media else None,
        )
        try:
            cap.open()
        except Exception as exc:
            log.info("cannot open the %s audio device yet: %s", side, exc)
            cap.close()
            return
        if self._stop.is_set():  # stopped while it opened: nobody would close it
            cap.close()
            return
        with self._lock:
            self._caps[side] = cap
            was_lost = self._lost.pop(side, None)
        log.info("capturing the %s side at %d Hz", side, cap.rate)
        if was_lost is not None:
            self._publish(ev.AudioDeviceRestored(side, device.name))


def attach(session: Host) -> None:
    """Add the "audio" service and the "ringer". Cheap: no device is touched until start()."""
    svc = AudioService(session.config, session.clock, session.bus, backend=session.calls.backend)
    session.add_service("audio", svc)
    from audio.ringer import Ringer

    cfg = session.config
    session.add_service(
        "ringer",
        Ringer(cfg.get(opt.RING_SOUND), cfg.get(opt.RING_VOLUME), cfg.get(opt.RING_DEVICE)),
    )
