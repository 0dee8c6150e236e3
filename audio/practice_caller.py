"""Training mode's spoken practice caller, for a trainee on a real microphone.

With ``audio.source = "device"`` the near side of a practice call is the trainee's own
microphone, so the scenario's fixed ``at_s`` times cannot hold: the trainee speaks when
they speak. :class:`TurnTaking` makes the scripted caller take turns instead, and
:class:`PracticeCaller` speaks the lines (docs/training.md, "The caller's voice").

**Turn-taking** (a pure state machine on the injected clock). Each caller entry — an
utterance or a meant silence — starts only after the previous one ended, and then:

- if the trainee said something since (or was still talking when it ended): once their voice
  activity has been quiet for ``pause_s`` (:data:`REPLY_PAUSE_S`, 0.5 s; the VAD's own
  300 ms hang-over comes first, so the caller answers 0.8 s after the trainee's last voiced
  frame). People on the phone take the floor about 0.2 s after the other stops (Stivers et
  al., PNAS 2009; Heldner & Edlund, J. Phonetics 2010), but they foresee the end of a turn
  from its words, which a script cannot; pauses inside one speaker's turn are mostly under
  half a second to a second (Heldner & Edlund), so 0.8 s lets a trainee breathe mid-sentence
  without being talked over and still answers within a second;
- if the trainee said nothing: after the script's own gap (``at_s`` minus the previous
  entry's end), so a silent caller's silences stay silences and a caller who waits for an
  answer that does not come goes on as the script says;
- never while the trainee is talking, unless the entry ``interrupts`` (then at its gap, over
  the trainee: a caller who talks over the counselor), or the trainee has held the floor
  :data:`OUTWAIT_S` (20 s) past the entry's gap: a person would break in by then, and a
  voice activity held open by a television in the room must not freeze the practice call.

A meant silence lasts its ``silence_s`` whatever the trainee says. A trainee who talks over
the caller is not stopped: the call-health metrics count the interruption, as on a real
call. Muted, the trainee is not heard by the caller (their VAD still runs, for the
muted-while-speaking warning); on hold the caller is neither sent nor heard, and resumes
where it was when the call is taken back.

**The voice.** Each utterance is spoken by espeak-ng (:mod:`audio.speech`) in the
scenario's language, in memory, ahead of time on the thread ``faro-audio-voice``; without
espeak-ng (or a voice for the language) it is the synthetic speech-like signal of
:mod:`audio.synth` for the line's ``dur_s``, and :attr:`PracticeCaller.voice` says so. The
audio service paces the caller in 20 ms blocks (:meth:`PracticeCaller.block`): line noise
between the lines, as a phone line has, so the caller's side is never digital silence.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable

import numpy as np

from audio import synth

log = logging.getLogger(__name__)

#: the trainee's quiet, after the VAD's hang-over, before the caller answers (see above)
REPLY_PAUSE_S = 0.5
#: past its gap, the caller waits this long at most for a trainee who keeps talking
OUTWAIT_S = 20.0
#: the phone line's hiss between the caller's words (dBFS), as the synthetic caller's
LINE_NOISE_DB = -56.0
SYNTHETIC_F0 = 200.0
ESPEAK, SYNTHETIC = "espeak-ng", "synthetic"


@dataclasses.dataclass(frozen=True, slots=True)
class CallerLine:
    """One entry of the caller's script, in order."""

    gap_s: float  # the script's gap before it: from the previous entry's end (or the answer)
    dur_s: float  # the scripted length (a silence lasts this; speech lasts its audio)
    text: str = ""
    silence: bool = False
    interrupts: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class CallerScript:
    """What the practice caller says: made by app/training.py from a training scenario."""

    lines: tuple[CallerLine, ...]
    language: str  # es_MX or en
    pause_s: float = REPLY_PAUSE_S


class TurnTaking:
    """When each caller entry starts, from the trainee's voice activity (see the module doc).

    Call :meth:`begin` at the answer, then :meth:`step` often (every 20 ms block) with the
    trainee's VAD state; a returned index is the entry that may start now: call
    :meth:`started` with its real length (or leave it, and the same index comes back)."""

    def __init__(self, lines: tuple[CallerLine, ...], pause_s: float = REPLY_PAUSE_S) -> None:
        self.lines = lines
        self.pause_s = pause_s
        self.begin(0.0)

    def begin(self, now: float) -> None:
        self.index = 0  # the next entry to start
        self._end: float | None = now  # when the previous entry ended (None: one is running)
        self._running_until = now
        self._replied = False
        self._last_voice: float | None = None

    @property
    def done(self) -> bool:
        return self.index >= len(self.lines) and self._end is not None

    def step(self, now: float, trainee_speaking: bool) -> int | None:
        if trainee_speaking:
            self._last_voice = now
        if self._end is None:  # an entry is running
            if now < self._running_until:
                return None
            self._end = self._running_until
            self._replied = trainee_speaking  # still talking as the caller stops: a reply
        elif trainee_speaking:
            self._replied = True
        if self.index >= len(self.lines):
            return None
        line = self.lines[self.index]
        if line.interrupts:
            ready = now >= self._end + line.gap_s
        elif trainee_speaking:
            ready = now >= self._end + line.gap_s + OUTWAIT_S
        elif self._replied:
            ready = self._last_voice is None or now - self._last_voice >= self.pause_s
        else:
            ready = now >= self._end + line.gap_s
        return self.index if ready else None

    def shift(self, seconds: float) -> None:
        """Time stood still for ``seconds`` (the call on hold): every time kept moves on."""
        if self._end is not None:
            self._end += seconds
        self._running_until += seconds
        if self._last_voice is not None:
            self._last_voice += seconds

    def started(self, index: int, now: float, length_s: float) -> None:
        """Entry ``index`` starts at ``now`` and lasts ``length_s``."""
        assert index == self.index
        self.index += 1
        self._end = None
        self._running_until = now + max(0.0, length_s)
        self._replied = False


class PracticeCaller:
    """The caller's audio and turn-taking during one practice call at a time.

    Owned by the audio service: :meth:`prepare` (start) synthesises the lines on its own
    thread; :meth:`start_call` / :meth:`end_call` follow the call; :meth:`block` is called by
    the service's pacing thread for each 20 ms block and returns the caller's samples."""

    def __init__(
        self,
        script: CallerScript,
        rate: int,
        on_line: Callable[[int, float, float, str], None] = lambda i, at, dur, voice: None,
    ) -> None:
        self.script = script
        self.rate = rate
        self._on_line = on_line  # (index, seconds since the answer, length, voice) at a start
        self.turns = TurnTaking(script.lines, script.pause_s)
        self._lock = threading.Lock()
        self._audio: dict[int, np.ndarray] = {}
        self._ready = threading.Event()
        self.voice = ""  # ESPEAK + ":" + its voice, or SYNTHETIC (known once prepared)
        self.problem = ""  # why espeak-ng is not speaking (English, for the log)
        self._answered: float | None = None
        self._playing: np.ndarray | None = None
        self._pos = 0
        self._noise = np.random.default_rng(7)
        self._thread: threading.Thread | None = None

    # -- the voice ---------------------------------------------------------------------------
    def prepare(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Synthesise every line ahead, on the thread faro-audio-voice (espeak-ng runs as
        its child, which the kernel kills if the thread's process dies)."""

        def run() -> None:
            try:
                self.synthesise_all()
            except Exception:
                log.exception("the practice caller's voice failed; it stays synthetic")
            finally:
                self._ready.set()
                on_ready()

        self._thread = threading.Thread(target=run, name="faro-audio-voice", daemon=True)
        self._thread.start()

    def synthesise_all(self) -> None:
        from audio import speech

        voice = ""
        try:
            voice = speech.voice_for(self.script.language)
        except speech.SpeechUnavailable as exc:
            self.problem = str(exc)
        for i, line in enumerate(self.script.lines):
            if line.silence:
                continue
            audio = None
            if voice:
                try:
                    audio = speech.synthesise(line.text, voice, self.rate)
                except speech.SpeechUnavailable as exc:
                    self.problem, voice = str(exc), ""
            if audio is None:
                audio = synth.utterance(line.dur_s, seed=3000 + i, f0=SYNTHETIC_F0, level_db=-24.0)
                if self.rate != synth.RATE:
                    from audio.resample import resample

                    audio = resample(audio, synth.RATE, self.rate)
            with self._lock:
                self._audio[i] = audio
        self.voice = f"{ESPEAK}:{voice}" if voice else SYNTHETIC
        if self.problem:
            log.warning("practice caller: %s; using the synthetic voice", self.problem)
        self._ready.set()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    # -- the call (bus threads) ---------------------------------------------------------------
    def start_call(self, now: float) -> None:
        with self._lock:
            self._answered = now
            self.turns.begin(now)
            self._playing, self._pos = None, 0

    def end_call(self) -> None:
        with self._lock:
            self._answered = None
            self._playing = None

    def hold(self, seconds: float) -> None:
        """The call was on hold for ``seconds``: the caller resumes where it was."""
        with self._lock:
            if self._answered is not None and seconds > 0:
                self.turns.shift(seconds)

    @property
    def in_call(self) -> bool:
        with self._lock:
            return self._answered is not None

    # -- the pacing thread -------------------------------------------------------------------
    def block(self, now: float, n: int, trainee_speaking: bool) -> np.ndarray | None:
        """The caller's next ``n`` samples at ``now`` (None outside a call)."""
        started: tuple[int, float, float] | None = None
        with self._lock:
            if self._answered is None:
                return None
            index = self.turns.step(now, trainee_speaking)
            if index is not None and self._playing is None:
                line = self.script.lines[index]
                audio = None if line.silence else self._audio.get(index)
                if line.silence or audio is not None:  # speech not synthesised yet: wait
                    length = line.dur_s if audio is None else audio.size / self.rate
                    self.turns.started(index, now, length)
                    self._playing, self._pos = audio, 0
                    started = (index, now - self._answered, length)
            out = (self._noise.standard_normal(n) * 10 ** (LINE_NOISE_DB / 20)).astype(np.float32)
            playing = self._playing
            if playing is not None:
                part = playing[self._pos : self._pos + n]
                out[: part.size] += part
                self._pos += n
                if self._pos >= playing.size:
                    self._playing = None
        if started is not None:
            self._on_line(*started, self.voice)
        return out
