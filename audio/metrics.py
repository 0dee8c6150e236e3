"""Call-health metrics: a frame-driven state machine with an injected clock.

:class:`CallHealth` receives blocks of per-frame VAD results for the two sides (``near`` =
counselor, ``far`` = caller; a side may be absent) and keeps the figures a supervisor would
watch: talk time per side and the talk/listen ratio, the current mutual silence, how long
the caller has been silent, interruptions (who interrupted whom), speaking while muted, a
dead mic, one-way audio and clipping. Each signal is a small detector of
:mod:`audio.detectors`, tested alone; this class composes them in a fixed order. Prompts are published only on transitions
(``active=True`` then ``active=False``); meters are latest values read with
:meth:`CallHealth.snapshot` by a UI timer.

Time: a block's last frame is stamped ``clock.monotonic()`` and earlier frames 10 ms apart
before it, so bursts of frames keep their spacing and tests drive everything with a
:class:`core.clock.FakeClock`. It is used from the audio worker (frames) and from the bus
(call start/end, mute, hold); one lock keeps the two apart.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from audio import events as ev
from audio.detectors import (
    CallerSilence,
    Clipping,
    Interruptions,
    MutedSpeech,
    NoSignal,
    TalkBalance,
    TalkTime,
    Timeline,
)
from audio.frames import FLOOR_DB, FRAME_S
from core.clock import Clock
from core.events import Event


def _evidence(side: Any) -> list[bool] | None:
    """A side's evidence frames (speech before the hang-over), when its engine gives them."""
    evidence = getattr(side, "evidence", None) if side is not None else None
    return None if evidence is None else [bool(e) for e in evidence]


@dataclasses.dataclass(frozen=True)
class HealthSettings:
    caller_silence_s: float = 20.0
    muted_speech_s: float = 0.5  # speech this long while muted raises the warning
    muted_clear_s: float = 2.0  # silence this long clears it
    #: ...speech within this of the counselor's own talking level (unmuted, this call)
    muted_level_db: float = 8.0
    overlap_s: float = 0.3  # interruption: overlap at least this long...
    interrupter_holds_s: float = 0.5  # ...and the newcomer keeps talking at least this long
    dead_level_db: float = -85.0  # below this a channel carries no signal at all
    dead_mic_s: float = 8.0
    one_way_s: float = 10.0
    clip_share: float = 0.01  # a frame is clipped when this share of samples is at full scale
    clip_on: float = 0.05  # clipped-frame rate (smoothed over ~1 s) that raises Clipping
    clip_off: float = 0.02
    talk_ratio_limit: float = 0.7
    talk_ratio_after_s: float = 60.0  # judge the ratio only after this much talk in total
    timeline_bucket_s: float = 10.0  # the talk/listen timeline's bucket...
    timeline_max_buckets: int = 180  # ...doubled (buckets merged) past this many


@dataclasses.dataclass(frozen=True)
class HealthSnapshot:
    in_call: bool = False
    call_id: str | None = None
    muted: bool = False
    on_hold: bool = False
    near_present: bool = False
    far_present: bool = False
    near_speaking: bool = False
    far_speaking: bool = False
    near_level_db: float = FLOOR_DB
    far_level_db: float = FLOOR_DB
    near_talk_s: float = 0.0
    far_talk_s: float = 0.0
    talk_ratio: float | None = None  # counselor share of all talk time
    mutual_silence_s: float = 0.0
    caller_silence_s: float = 0.0
    interruptions_by_counselor: int = 0
    interruptions_by_caller: int = 0
    caller_silence_prompt: bool = False
    muted_while_speaking: bool = False
    dead_mic: bool = False
    one_way_audio: bool = False
    clipping_near: bool = False
    clipping_far: bool = False
    talking_more_than_listening: bool = False


class _Side:
    """What the state machine knows of one side's signal, in a call or not."""

    __slots__ = ("present", "speaking", "level", "since")

    def __init__(self) -> None:
        self.present = False
        self.speaking = False
        self.level = FLOOR_DB
        self.since = 0.0  # time the current speech run started


class CallHealth:
    """Composes the per-signal detectors of :mod:`audio.detectors`; owns the lock, the call,
    mute and hold, and turns their state into figures and snapshots."""

    def __init__(
        self, clock: Clock, publish: Callable[[Event], None], settings: HealthSettings | None = None
    ) -> None:
        self.clock = clock
        self.settings = s = settings or HealthSettings()
        self._publish = publish
        self._lock = threading.Lock()
        self._muted = False
        self._on_hold = False
        self._call_id: str | None = None
        self._near = _Side()
        self._far = _Side()
        self._talk = TalkTime()
        self._silence = CallerSilence(s.caller_silence_s)
        self._interruptions = Interruptions(s.overlap_s, s.interrupter_holds_s)
        self._muted_speech = MutedSpeech(s.muted_speech_s, s.muted_clear_s)
        self._dead_mic = NoSignal(ev.DeadMic, s.dead_level_db, s.dead_mic_s)
        self._one_way = NoSignal(ev.OneWayAudio, s.dead_level_db, s.one_way_s)
        self._clip_near = Clipping(ev.NEAR, s.clip_on, s.clip_off)
        self._clip_far = Clipping(ev.FAR, s.clip_on, s.clip_off)
        self._balance = TalkBalance(s.talk_ratio_limit, s.talk_ratio_after_s)
        self._timeline = Timeline(s.timeline_bucket_s, s.timeline_max_buckets)
        self._reset_call(0.0)

    # -- call lifecycle (bus threads) ----------------------------------------------------
    def _reset_call(self, now: float) -> None:
        self._start = now
        self._frames = 0
        self._talk_level: float | None = None  # the counselor's talking level in this call
        self._talk.new_call(now)
        self._silence.new_call(now)
        self._interruptions.new_call()
        self._muted_speech.new_call()
        self._dead_mic.new_call()
        self._one_way.new_call()
        self._clip_near.new_call()
        self._clip_far.new_call()
        self._balance.new_call()
        self._timeline.new_call(now)
        if self._muted:
            self._timeline.set_muted(True, now)

    def start_call(self, call_id: str) -> None:
        with self._lock:
            self._call_id = call_id
            self._on_hold = False
            self._reset_call(self.clock.monotonic())

    def end_call(self) -> tuple[str, dict[str, Any]] | None:
        """Stop the call's metrics; return (call id, figures) or None when no call ran."""
        out: list[Event] = []
        with self._lock:
            call_id = self._call_id
            if call_id is None:
                return None
            figures = self._figures(self.clock.monotonic())
            self._silence.set(False, self.clock.monotonic(), call_id, out)
            self._muted_speech.set(False, call_id, out)
            self._dead_mic.set(False, call_id, out)
            self._one_way.set(False, call_id, out)
            self._balance.set(False, call_id, out)
            self._clip_near.end(call_id, out)
            self._clip_far.end(call_id, out)
            self._call_id = None
            self._muted = False
        self._emit(out)
        return call_id, figures

    def set_muted(self, muted: bool) -> None:
        out: list[Event] = []
        with self._lock:
            self._muted = muted
            if self._call_id is not None:
                self._timeline.set_muted(muted, self.clock.monotonic())
            if not muted:
                self._muted_speech.set(False, self._call_id or "", out)
        self._emit(out)

    def set_on_hold(self, on_hold: bool) -> None:
        with self._lock:
            if on_hold == self._on_hold:
                return
            self._on_hold = on_hold
            if self._call_id is not None:
                self._timeline.set_on_hold(on_hold, self.clock.monotonic())
            if not on_hold:
                now = self.clock.monotonic()
                self._silence.resume(now)
                self._talk.resume(now, self._near.speaking or self._far.speaking)
                self._dead_mic.resume()
                self._one_way.resume()
                self._interruptions.resume()

    # -- frames (audio worker) -----------------------------------------------------------
    def on_frames(self, near: Any | None, far: Any | None) -> None:
        """One block of paired frames. ``near``/``far`` have ``speech``, ``level_db`` and
        ``clip`` arrays of equal length (:class:`audio.vad.FrameResults`), or are None when
        that side has no source."""
        n = len(near.speech) if near is not None else len(far.speech) if far is not None else 0
        if n == 0:
            return
        out: list[Event] = []
        with self._lock:
            end = self.clock.monotonic()
            self._near.present = near is not None
            self._far.present = far is not None
            ns = near.speech.tolist() if near is not None else [False] * n
            fs = far.speech.tolist() if far is not None else [False] * n
            nl = near.level_db.tolist() if near is not None else None
            fl = far.level_db.tolist() if far is not None else None
            nc = (near.clip >= self.settings.clip_share).tolist() if near is not None else None
            fc = (far.clip >= self.settings.clip_share).tolist() if far is not None else None
            ne = _evidence(near)
            fe = _evidence(far)
            in_call = self._call_id is not None and not self._on_hold
            for i in range(n):
                t = end - (n - 1 - i) * FRAME_S
                self._frame(
                    t,
                    ns[i],
                    fs[i],
                    nl[i] if nl else None,
                    fl[i] if fl else None,
                    nc[i] if nc else False,
                    fc[i] if fc else False,
                    in_call,
                    out,
                    ne[i] if ne else None,
                    fe[i] if fe else None,
                )
        self._emit(out)

    def _frame(
        self,
        t: float,
        near_sp: bool,
        far_sp: bool,
        near_lv: float | None,
        far_lv: float | None,
        near_clip: bool,
        far_clip: bool,
        in_call: bool,
        out: list[Event],
        near_ev: bool | None = None,
        far_ev: bool | None = None,
    ) -> None:
        near, far = self._near, self._far
        near_on = near_sp and not near.speaking
        far_on = far_sp and not far.speaking
        if near_on:
            near.since = t
        if far_on:
            far.since = t
        near.speaking, far.speaking = near_sp, far_sp
        if near_lv is not None:
            near.level = near_lv
        if far_lv is not None:
            far.level = far_lv
        if not in_call:
            return
        self._frames += 1
        cid = self._call_id or ""
        self._talk.frame(t, near_sp, far_sp)
        self._timeline.frame(t, near_sp, far_sp, far_lv is not None)
        self._silence.frame(t, far_sp, far_lv is not None, cid, out)
        self._interruptions.frame(t, near_sp, far_sp, near_on, far_on, cid, out, near_ev, far_ev)
        talk = self._talk_level
        if self._muted:
            at_level = (
                talk is None or near_lv is None or near_lv >= talk - self.settings.muted_level_db
            )
            self._muted_speech.frame(t, near_sp, near.since, cid, out, at_level)
        elif near_lv is not None and (near_ev if near_ev is not None else near_sp) and not far_sp:
            # the counselor's talking level: their own speech, unmuted, not over the caller
            self._talk_level = near_lv if talk is None else talk + 0.02 * (near_lv - talk)
        if near_lv is not None:
            self._dead_mic.frame(t, near_lv, self._muted, cid, out)
        if far_lv is not None:
            self._one_way.frame(t, far_lv, False, cid, out)
        if near_lv is not None:
            self._clip_near.frame(near_clip, cid, out)
        if far_lv is not None:
            self._clip_far.frame(far_clip, cid, out)
        self._balance.frame(self._talk, cid, out)

    def _emit(self, out: list[Event]) -> None:
        for event in out:
            self._publish(event)

    # -- reading -------------------------------------------------------------------------
    def _figures(self, now: float) -> dict[str, Any]:
        near_s = self._talk.near_frames * FRAME_S
        far_s = self._talk.far_frames * FRAME_S
        mutual_total, longest = self._talk.mutual_silence(now)
        return {
            "duration_s": round(now - self._start, 2),
            "audio_s": round(self._frames * FRAME_S, 2),
            "counselor_talk_s": round(near_s, 2),
            "caller_talk_s": round(far_s, 2),
            "talk_ratio": round(near_s / (near_s + far_s), 3) if near_s + far_s > 0 else None,
            "mutual_silence_s": round(mutual_total, 2),
            "longest_mutual_silence_s": round(longest, 2),
            "interruptions_by_counselor": self._interruptions.counts[ev.COUNSELOR],
            "interruptions_by_caller": self._interruptions.counts[ev.CALLER],
            "caller_silence_prompts": self._silence.count,
            "muted_speech_warnings": self._muted_speech.count,
            "dead_mic_prompts": self._dead_mic.count,
            "one_way_audio_prompts": self._one_way.count,
            "talk_balance_prompts": self._balance.count,
            "clipped_s_counselor": round(self._clip_near.frames * FRAME_S, 2),
            "clipped_s_caller": round(self._clip_far.frames * FRAME_S, 2),
            # added with the post-call summary (older records lack them; older consoles
            # ignore them): docs/audio.md, "The talk/listen timeline"
            "longest_caller_silence_s": self._timeline.caller_silence(now, self._on_hold),
            "timeline": self._timeline.figure(now),
        }

    def figures(self) -> dict[str, Any]:
        with self._lock:
            return self._figures(self.clock.monotonic())

    @property
    def near_speaking(self) -> bool:
        """The counselor's VAD decision now (with its hang-over): the practice caller's
        turn-taking reads it every 20 ms, cheaper than a whole snapshot."""
        with self._lock:
            return self._near.speaking

    def snapshot(self) -> HealthSnapshot:
        with self._lock:
            now = self.clock.monotonic()
            near, far, talk = self._near, self._far, self._talk
            in_call = self._call_id is not None
            total = talk.near_frames + talk.far_frames
            silence_since = talk.silence_since
            return HealthSnapshot(
                in_call=in_call,
                call_id=self._call_id,
                muted=self._muted,
                on_hold=self._on_hold,
                near_present=near.present,
                far_present=far.present,
                near_speaking=near.speaking,
                far_speaking=far.speaking,
                near_level_db=near.level,
                far_level_db=far.level,
                near_talk_s=talk.near_frames * FRAME_S,
                far_talk_s=talk.far_frames * FRAME_S,
                talk_ratio=(talk.near_frames / total) if total else None,
                mutual_silence_s=(now - silence_since)
                if in_call and silence_since is not None
                else 0.0,
                caller_silence_s=max(0.0, now - self._silence.last_speech)
                if in_call and far.present
                else 0.0,
                interruptions_by_counselor=self._interruptions.counts[ev.COUNSELOR],
                interruptions_by_caller=self._interruptions.counts[ev.CALLER],
                caller_silence_prompt=self._silence.active,
                muted_while_speaking=self._muted_speech.active,
                dead_mic=self._dead_mic.active,
                one_way_audio=self._one_way.active,
                clipping_near=self._clip_near.clipping,
                clipping_far=self._clip_far.clipping,
                talking_more_than_listening=self._balance.active,
            )


def results_stub(
    speech: np.ndarray, level_db: np.ndarray | float = -30.0, clip: np.ndarray | float = 0.0
) -> Any:
    """Frame results without a VAD, for synthetic sequences (tests, tools)."""
    from audio.vad.pipeline import FrameResults

    speech = np.asarray(speech, dtype=bool)
    n = speech.size
    lv = np.broadcast_to(np.asarray(level_db, dtype=np.float32), (n,)).copy()
    cl = np.broadcast_to(np.asarray(clip, dtype=np.float32), (n,)).copy()
    return FrameResults(speech, speech.copy(), lv, cl, speech.astype(np.float32), speech.copy())
