"""Call-health metrics: a frame-driven state machine with an injected clock.

:class:`CallHealth` receives blocks of per-frame VAD results for the two sides (``near`` =
counselor, ``far`` = caller; a side may be absent) and keeps the figures a supervisor would
watch: talk time per side and the talk/listen ratio, the current mutual silence, how long
the caller has been silent, interruptions (who interrupted whom), speaking while muted, a
dead mic, one-way audio and clipping. Prompts are published only on transitions
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
from typing import Any, Callable

import numpy as np

from audio import events as ev
from audio.frames import FLOOR_DB, FRAME_S
from core.clock import Clock
from core.events import Event


@dataclasses.dataclass(frozen=True)
class HealthSettings:
    caller_silence_s: float = 20.0
    muted_speech_s: float = 0.5      # speech this long while muted raises the warning
    muted_clear_s: float = 2.0       # silence this long clears it
    overlap_s: float = 0.3           # interruption: overlap at least this long...
    interrupter_holds_s: float = 0.5  # ...and the newcomer keeps talking at least this long
    dead_level_db: float = -85.0     # below this a channel carries no signal at all
    dead_mic_s: float = 8.0
    one_way_s: float = 10.0
    clip_share: float = 0.01         # a frame is clipped when this share of samples is at full scale
    clip_on: float = 0.05            # clipped-frame rate (smoothed over ~1 s) that raises Clipping
    clip_off: float = 0.02
    talk_ratio_limit: float = 0.7
    talk_ratio_after_s: float = 60.0  # judge the ratio only after this much talk in total


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
    talk_ratio: float | None = None   # counselor share of all talk time
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
    __slots__ = ("present", "speaking", "level", "since", "last_speech", "talk_frames",
                 "dead_since", "clip_rate", "clipping", "clip_frames")

    def __init__(self) -> None:
        self.present = False
        self.speaking = False
        self.level = FLOOR_DB
        self.since = 0.0          # time the current speech run started
        self.last_speech = 0.0    # time of the last speech frame
        self.talk_frames = 0
        self.dead_since: float | None = None
        self.clip_rate = 0.0
        self.clipping = False
        self.clip_frames = 0


class CallHealth:
    def __init__(self, clock: Clock, publish: Callable[[Event], None],
                 settings: HealthSettings | None = None) -> None:
        self.clock = clock
        self.settings = settings or HealthSettings()
        self._publish = publish
        self._lock = threading.Lock()
        self._muted = False
        self._on_hold = False
        self._call_id: str | None = None
        self._near = _Side()
        self._far = _Side()
        self._reset_call(0.0)

    # -- call lifecycle (bus threads) ----------------------------------------------------
    def _reset_call(self, now: float) -> None:
        for side in (self._near, self._far):
            side.talk_frames = 0
            side.last_speech = now
            side.dead_since = None
            side.clip_frames = 0
        self._start = now
        self._frames = 0
        self._mutual_since: float | None = now
        self._longest_mutual = 0.0
        self._mutual_total = 0.0
        self._cand: list[Any] | None = None  # [who, start, overlap_s]
        self._interruptions = {ev.COUNSELOR: 0, ev.CALLER: 0}
        self._active: dict[str, bool] = {"silence": False, "muted": False, "dead": False,
                                         "oneway": False, "talk": False}
        self._counts = {"silence": 0, "muted": 0, "dead": 0, "oneway": 0, "talk": 0}
        self._muted_quiet_since: float | None = None

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
            for key in list(self._active):
                self._set(key, False, out, self.clock.monotonic())
            for side, name in ((self._near, ev.NEAR), (self._far, ev.FAR)):
                if side.clipping:
                    side.clipping = False
                    out.append(ev.Clipping(call_id, name, False))
            self._call_id = None
            self._muted = False
        self._emit(out)
        return call_id, figures

    def set_muted(self, muted: bool) -> None:
        out: list[Event] = []
        with self._lock:
            self._muted = muted
            if not muted:
                self._set("muted", False, out, self.clock.monotonic())
        self._emit(out)

    def set_on_hold(self, on_hold: bool) -> None:
        with self._lock:
            if on_hold == self._on_hold:
                return
            self._on_hold = on_hold
            if not on_hold:
                now = self.clock.monotonic()
                self._far.last_speech = self._near.last_speech = now
                self._mutual_since = now if not (self._near.speaking or self._far.speaking) else None
                self._near.dead_since = self._far.dead_since = None
                self._cand = None

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
            in_call = self._call_id is not None and not self._on_hold
            for i in range(n):
                t = end - (n - 1 - i) * FRAME_S
                self._frame(t, ns[i], fs[i], nl[i] if nl else None, fl[i] if fl else None,
                            nc[i] if nc else False, fc[i] if fc else False, in_call, out)
        self._emit(out)

    def _frame(self, t: float, near_sp: bool, far_sp: bool, near_lv: float | None,
               far_lv: float | None, near_clip: bool, far_clip: bool, in_call: bool,
               out: list[Event]) -> None:
        s = self.settings
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
        cid = self._call_id
        # talk time and silences
        if near_sp:
            near.talk_frames += 1
            near.last_speech = t
        if far_sp:
            far.talk_frames += 1
            far.last_speech = t
        if near_sp or far_sp:
            if self._mutual_since is not None:
                self._close_mutual(t)
        elif self._mutual_since is None:
            self._mutual_since = t
        # caller silence (only when the caller's side is heard at all)
        if far_lv is not None:
            self._set("silence", t - far.last_speech >= s.caller_silence_s, out, t)
        # interruptions: a newcomer starts over the other and keeps going
        if near_on and far_sp and not far_on:
            self._cand = [ev.COUNSELOR, t, 0.0]
        elif far_on and near_sp and not near_on:
            self._cand = [ev.CALLER, t, 0.0]
        cand = self._cand
        if cand is not None:
            newcomer_speaking = near_sp if cand[0] == ev.COUNSELOR else far_sp
            if not newcomer_speaking:
                self._cand = None
            else:
                if near_sp and far_sp:
                    cand[2] += FRAME_S
                if cand[2] >= s.overlap_s - 1e-9 and t - cand[1] + FRAME_S >= s.interrupter_holds_s - 1e-9:
                    self._interruptions[cand[0]] += 1
                    out.append(ev.Interruption(cid, cand[0], round(cand[2], 2)))
                    self._cand = None
        # speaking while muted
        if self._muted:
            if near_sp:
                self._muted_quiet_since = None
                if t - near.since + FRAME_S >= s.muted_speech_s - 1e-9:
                    self._set("muted", True, out, t)
            else:
                if self._muted_quiet_since is None:
                    self._muted_quiet_since = t
                elif t - self._muted_quiet_since >= s.muted_clear_s:
                    self._set("muted", False, out, t)
        # dead mic / one-way audio: no signal at all for a while
        if near_lv is not None:
            if near_lv < s.dead_level_db and not self._muted:
                if near.dead_since is None:
                    near.dead_since = t
                self._set("dead", t - near.dead_since >= s.dead_mic_s, out, t)
            else:
                near.dead_since = None
                self._set("dead", False, out, t)
        if far_lv is not None:
            if far_lv < s.dead_level_db:
                if far.dead_since is None:
                    far.dead_since = t
                self._set("oneway", t - far.dead_since >= s.one_way_s, out, t)
            else:
                far.dead_since = None
                self._set("oneway", False, out, t)
        # clipping, smoothed over about a second
        for side, clipped, lv, name in ((near, near_clip, near_lv, ev.NEAR), (far, far_clip, far_lv, ev.FAR)):
            if lv is None:
                continue
            side.clip_rate += 0.01 * ((1.0 if clipped else 0.0) - side.clip_rate)
            if clipped:
                side.clip_frames += 1
            if not side.clipping and side.clip_rate >= s.clip_on:
                side.clipping = True
                out.append(ev.Clipping(cid, name, True))
            elif side.clipping and side.clip_rate <= s.clip_off:
                side.clipping = False
                out.append(ev.Clipping(cid, name, False))
        # talk/listen balance
        total = near.talk_frames + far.talk_frames
        if total * FRAME_S >= s.talk_ratio_after_s:
            ratio = near.talk_frames / total
            if ratio > s.talk_ratio_limit:
                self._set("talk", True, out, t, ratio)
            elif ratio < s.talk_ratio_limit - 0.1:
                self._set("talk", False, out, t, ratio)

    def _close_mutual(self, t: float) -> None:
        length = t - self._mutual_since  # type: ignore[operator]
        self._mutual_total += length
        self._longest_mutual = max(self._longest_mutual, length)
        self._mutual_since = None

    def _set(self, key: str, active: bool, out: list[Event], t: float, ratio: float = 0.0) -> None:
        if self._active[key] == active:
            return
        self._active[key] = active
        cid = self._call_id or ""
        if active:
            self._counts[key] += 1
        if key == "silence":
            out.append(ev.CallerSilenceLong(cid, active, round(t - self._far.last_speech, 1)))
        elif key == "muted":
            self._muted_quiet_since = None
            out.append(ev.MutedWhileSpeaking(cid, active))
        elif key == "dead":
            out.append(ev.DeadMic(cid, active))
        elif key == "oneway":
            out.append(ev.OneWayAudio(cid, active))
        elif key == "talk":
            out.append(ev.TalkingMoreThanListening(cid, active, round(ratio, 3)))

    def _emit(self, out: list[Event]) -> None:
        for event in out:
            self._publish(event)

    # -- reading -------------------------------------------------------------------------
    def _figures(self, now: float) -> dict[str, Any]:
        near_s = self._near.talk_frames * FRAME_S
        far_s = self._far.talk_frames * FRAME_S
        mutual_total, longest = self._mutual_total, self._longest_mutual
        if self._mutual_since is not None:
            current = now - self._mutual_since
            mutual_total += current
            longest = max(longest, current)
        return {
            "duration_s": round(now - self._start, 2),
            "audio_s": round(self._frames * FRAME_S, 2),
            "counselor_talk_s": round(near_s, 2),
            "caller_talk_s": round(far_s, 2),
            "talk_ratio": round(near_s / (near_s + far_s), 3) if near_s + far_s > 0 else None,
            "mutual_silence_s": round(mutual_total, 2),
            "longest_mutual_silence_s": round(longest, 2),
            "interruptions_by_counselor": self._interruptions[ev.COUNSELOR],
            "interruptions_by_caller": self._interruptions[ev.CALLER],
            "caller_silence_prompts": self._counts["silence"],
            "muted_speech_warnings": self._counts["muted"],
            "dead_mic_prompts": self._counts["dead"],
            "one_way_audio_prompts": self._counts["oneway"],
            "talk_balance_prompts": self._counts["talk"],
            "clipped_s_counselor": round(self._near.clip_frames * FRAME_S, 2),
            "clipped_s_caller": round(self._far.clip_frames * FRAME_S, 2),
        }

    def figures(self) -> dict[str, Any]:
        with self._lock:
            return self._figures(self.clock.monotonic())

    def snapshot(self) -> HealthSnapshot:
        with self._lock:
            now = self.clock.monotonic()
            near, far = self._near, self._far
            in_call = self._call_id is not None
            total = near.talk_frames + far.talk_frames
            return HealthSnapshot(
                in_call=in_call, call_id=self._call_id, muted=self._muted, on_hold=self._on_hold,
                near_present=near.present, far_present=far.present,
                near_speaking=near.speaking, far_speaking=far.speaking,
                near_level_db=near.level, far_level_db=far.level,
                near_talk_s=near.talk_frames * FRAME_S, far_talk_s=far.talk_frames * FRAME_S,
                talk_ratio=(near.talk_frames / total) if total else None,
                mutual_silence_s=(now - self._mutual_since) if in_call and self._mutual_since is not None else 0.0,
                caller_silence_s=max(0.0, now - far.last_speech) if in_call and far.present else 0.0,
                interruptions_by_counselor=self._interruptions[ev.COUNSELOR],
                interruptions_by_caller=self._interruptions[ev.CALLER],
                caller_silence_prompt=self._active["silence"],
                muted_while_speaking=self._active["muted"],
                dead_mic=self._active["dead"], one_way_audio=self._active["oneway"],
                clipping_near=near.clipping, clipping_far=far.clipping,
                talking_more_than_listening=self._active["talk"])


def results_stub(speech: np.ndarray, level_db: np.ndarray | float = -30.0,
                 clip: np.ndarray | float = 0.0) -> Any:
    """Frame results without a VAD, for synthetic sequences (tests, tools)."""
    from audio.vad.faro import FrameResults
    speech = np.asarray(speech, dtype=bool)
    n = speech.size
    lv = np.broadcast_to(np.asarray(level_db, dtype=np.float32), (n,)).copy()
    cl = np.broadcast_to(np.asarray(clip, dtype=np.float32), (n,)).copy()
    return FrameResults(speech, speech.copy(), lv, cl, speech.astype(np.float32))
