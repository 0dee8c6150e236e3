"""The per-signal detectors :class:`audio.metrics.CallHealth` is made of.

Each one watches one thing a supervisor would notice, frame by frame (10 ms), and appends
its events to the block's list only when its state changes. Times are the frames' stamps
(seconds, :func:`time.monotonic` style); ``cid`` is the call the events belong to. They hold
no lock and know nothing of the bus: the state machine drives them in a fixed order.
"""

from __future__ import annotations

from collections.abc import Callable

from audio import events as ev
from audio.frames import FRAME_S
from core.events import Event

_EPS = 1e-9  # frame stamps are sums of 10 ms steps: compare durations with this slack


class Prompt:
    """A prompt that is on while its condition holds: an event on each change, and a count
    of how often it came on during the call."""

    def __init__(self) -> None:
        self.active = False
        self.count = 0

    def new_call(self) -> None:
        self.active = False
        self.count = 0

    def _change(self, active: bool) -> bool:
        if self.active == active:
            return False
        self.active = active
        if active:
            self.count += 1
        return True


class TalkTime:
    """Talk time of each side and the mutual silences (neither side speaking)."""

    def __init__(self) -> None:
        self.new_call(0.0)

    def new_call(self, now: float) -> None:
        self.near_frames = 0
        self.far_frames = 0
        self.silence_since: float | None = now
        self.longest_silence = 0.0
        self.total_silence = 0.0

    def resume(self, now: float, anyone_speaking: bool) -> None:
        """Off hold: a silence starts again now (unless someone is speaking)."""
        self.silence_since = None if anyone_speaking else now

    def frame(self, t: float, near_sp: bool, far_sp: bool) -> None:
        if near_sp:
            self.near_frames += 1
        if far_sp:
            self.far_frames += 1
        if near_sp or far_sp:
            if self.silence_since is not None:
                length = t - self.silence_since
                self.total_silence += length
                self.longest_silence = max(self.longest_silence, length)
                self.silence_since = None
        elif self.silence_since is None:
            self.silence_since = t

    def mutual_silence(self, now: float) -> tuple[float, float]:
        """(total, longest) mutual silence, the current one included."""
        total, longest = self.total_silence, self.longest_silence
        if self.silence_since is not None:
            current = now - self.silence_since
            total += current
            longest = max(longest, current)
        return total, longest


class CallerSilence(Prompt):
    """The caller silent for ``limit_s`` (time to check in); judged only while the caller's
    side is heard at all."""

    def __init__(self, limit_s: float) -> None:
        super().__init__()
        self.limit_s = limit_s
        self.last_speech = 0.0

    def new_call(self, now: float = 0.0) -> None:
        super().new_call()
        self.last_speech = now

    def resume(self, now: float) -> None:
        self.last_speech = now

    def frame(self, t: float, far_sp: bool, heard: bool, cid: str, out: list[Event]) -> None:
        if far_sp:
            self.last_speech = t
        if heard and (t - self.last_speech >= self.limit_s) != self.active:
            self.set(not self.active, t, cid, out)

    def set(self, active: bool, t: float, cid: str, out: list[Event]) -> None:
        if self._change(active):
            out.append(ev.CallerSilenceLong(cid, active, round(t - self.last_speech, 1)))


class Interruptions:
    """One side starts over the other, they overlap for ``overlap_s`` and the newcomer keeps
    going for ``holds_s``: an interruption by the newcomer (a back-channel is not one).

    "Keeps going" is judged on the newcomer's *evidence* frames (the frames that carry
    speech themselves, before the VAD's hang-over), when the engine gives them: a short
    "mm" whose hang-over happens to reach ``holds_s`` is still a back-channel, however long
    the engine's hang-over is."""

    def __init__(self, overlap_s: float, holds_s: float) -> None:
        self.overlap_s = overlap_s
        self.holds_s = holds_s
        self.new_call()

    def new_call(self) -> None:
        self.counts = {ev.COUNSELOR: 0, ev.CALLER: 0}
        self.resume()

    def resume(self) -> None:
        self._who: str | None = None  # the candidate interrupter...
        self._start = 0.0  # ...since when...
        self._overlap = 0.0  # ...and for how long both have spoken
        self._heard = 0.0  # ...and the candidate's last frame of speech evidence

    def frame(
        self,
        t: float,
        near_sp: bool,
        far_sp: bool,
        near_on: bool,
        far_on: bool,
        cid: str,
        out: list[Event],
        near_ev: bool | None = None,
        far_ev: bool | None = None,
    ) -> None:
        """One frame: each side's decision (``*_sp``), whether it just began (``*_on``) and,
        when the engine tells them apart, its evidence (``*_ev``; None: the decision)."""
        if near_on and far_sp and not far_on:
            self._who, self._start, self._overlap = ev.COUNSELOR, t, 0.0
        elif far_on and near_sp and not near_on:
            self._who, self._start, self._overlap = ev.CALLER, t, 0.0
        who = self._who
        if who is None:
            return
        mine, heard = (near_sp, near_ev) if who == ev.COUNSELOR else (far_sp, far_ev)
        if not mine:
            self._who = None
            return
        if mine if heard is None else heard:
            self._heard = t
        if near_sp and far_sp:
            self._overlap += FRAME_S
        if (
            self._overlap >= self.overlap_s - _EPS
            and self._heard - self._start + FRAME_S >= self.holds_s - _EPS
        ):
            self.counts[who] += 1
            out.append(ev.Interruption(cid, who, round(self._overlap, 2)))
            self._who = None


class MutedSpeech(Prompt):
    """Speaking while muted for ``limit_s``; cleared by ``clear_s`` of silence (or unmute).
    Fed only while muted.

    Only speech at the counselor's own talking level counts (``at_level``: within the
    margin of the level the counselor spoke at, unmuted, in this call; every frame counts
    until that is known): a counselor who speaks believing the caller hears talks at that
    level, while a TV or family further below, which the voice activity may take for a
    moment, does not. The warning comes once ``limit_s`` of such frames fall in one run of
    speech."""

    def __init__(self, limit_s: float, clear_s: float) -> None:
        super().__init__()
        self.limit_s = limit_s
        self.clear_s = clear_s
        self._quiet_since: float | None = None
        self._run_since: float | None = None
        self._at_level = 0  # frames at the counselor's level in the current run

    def new_call(self) -> None:
        super().new_call()
        self._quiet_since = None
        self._run_since = None
        self._at_level = 0

    def frame(
        self,
        t: float,
        near_sp: bool,
        speaking_since: float,
        cid: str,
        out: list[Event],
        at_level: bool = True,
    ) -> None:
        if near_sp:
            self._quiet_since = None
            if self._run_since != speaking_since:  # a new run of speech
                self._run_since, self._at_level = speaking_since, 0
            self._at_level += at_level
            if self._at_level * FRAME_S >= self.limit_s - _EPS:
                self.set(True, cid, out)
        elif self._quiet_since is None:
            self._quiet_since = t
        elif t - self._quiet_since >= self.clear_s:
            self.set(False, cid, out)

    def set(self, active: bool, cid: str, out: list[Event]) -> None:
        if self._change(active):
            self._quiet_since = None
            out.append(ev.MutedWhileSpeaking(cid, active))


class NoSignal(Prompt):
    """A channel without any signal (below ``level_db``) for ``limit_s``: a dead mic, or
    one-way audio on the caller's side. ``event(call_id, active)`` makes the prompt."""

    def __init__(
        self, event: Callable[[str, bool], Event], level_db: float, limit_s: float
    ) -> None:
        super().__init__()
        self._event = event
        self.level_db = level_db
        self.limit_s = limit_s
        self._since: float | None = None

    def new_call(self) -> None:
        super().new_call()
        self._since = None

    def resume(self) -> None:
        self._since = None

    def frame(self, t: float, level_db: float, excused: bool, cid: str, out: list[Event]) -> None:
        """``excused``: no signal is expected (the counselor's mic while muted)."""
        if level_db < self.level_db and not excused:
            if self._since is None:
                self._since = t
            if (t - self._since >= self.limit_s) != self.active:
                self.set(not self.active, cid, out)
        else:
            self._since = None
            if self.active:
                self.set(False, cid, out)

    def set(self, active: bool, cid: str, out: list[Event]) -> None:
        if self._change(active):
            out.append(self._event(cid, active))


class Clipping:
    """Clipped frames on one side, their rate smoothed over about a second, with hysteresis
    (on at ``on``, off at ``off``). The rate carries across calls; the count does not."""

    def __init__(self, side: str, on: float, off: float) -> None:
        self.side = side
        self.on = on
        self.off = off
        self.rate = 0.0
        self.clipping = False
        self.frames = 0

    def new_call(self) -> None:
        self.frames = 0

    def frame(self, clipped: bool, cid: str, out: list[Event]) -> None:
        self.rate += 0.01 * ((1.0 if clipped else 0.0) - self.rate)
        if clipped:
            self.frames += 1
        if not self.clipping and self.rate >= self.on:
            self.clipping = True
            out.append(ev.Clipping(cid, self.side, True))
        elif self.clipping and self.rate <= self.off:
            self.clipping = False
            out.append(ev.Clipping(cid, self.side, False))

    def end(self, cid: str, out: list[Event]) -> None:
        if self.clipping:
            self.clipping = False
            out.append(ev.Clipping(cid, self.side, False))


class TalkBalance(Prompt):
    """The counselor's share of all talk above ``limit`` once ``after_s`` of talk have been
    heard; cleared below ``limit`` - 0.1."""

    def __init__(self, limit: float, after_s: float) -> None:
        super().__init__()
        self.limit = limit
        self.after_s = after_s

    def frame(self, talk: TalkTime, cid: str, out: list[Event]) -> None:
        total = talk.near_frames + talk.far_frames
        if total * FRAME_S >= self.after_s:
            ratio = talk.near_frames / total
            if ratio > self.limit:
                self.set(True, cid, out, ratio)
            elif ratio < self.limit - 0.1:
                self.set(False, cid, out, ratio)

    def set(self, active: bool, cid: str, out: list[Event], ratio: float = 0.0) -> None:
        if self._change(active):
            out.append(ev.TalkingMoreThanListening(cid, active, round(ratio, 3)))


class Timeline:
    """The talk/listen timeline of a call: per fixed bucket of ``bucket_s`` seconds, the
    seconds the counselor spoke, the caller spoke and both at once, and whether the call was
    muted or on hold in it; plus the caller's longest silence. Only numbers, never audio.

    A bucket is ``bucket_s`` (10 s) wide until the call would need more than ``max_buckets``
    (180, half an hour): then the width doubles and neighbouring buckets merge, as often as
    needed, so a figure stays small however long the call. Mute and hold are intervals of
    the clock (not of frames: no frame counts while on hold)."""

    def __init__(self, bucket_s: float = 10.0, max_buckets: int = 180) -> None:
        self.base_s = bucket_s
        self.max_buckets = max_buckets
        self.new_call(0.0)

    def new_call(self, now: float) -> None:
        self.start = now
        self.bucket_s = self.base_s
        self._near: list[int] = []  # frames per bucket
        self._far: list[int] = []
        self._both: list[int] = []
        self._muted: list[tuple[float, float | None]] = []  # (from, to) since the start
        self._hold: list[tuple[float, float | None]] = []
        self._far_heard = False
        self._far_last = now  # last caller speech (or the call's start, or off hold)
        self.longest_caller_silence = 0.0

    # -- intervals (bus threads, under CallHealth's lock) -----------------------------------
    @staticmethod
    def _toggle(spans: list[tuple[float, float | None]], on: bool, at: float) -> None:
        open_ = bool(spans) and spans[-1][1] is None
        if on and not open_:
            spans.append((at, None))
        elif not on and open_:
            spans[-1] = (spans[-1][0], at)

    def set_muted(self, muted: bool, now: float) -> None:
        self._toggle(self._muted, muted, now - self.start)

    def set_on_hold(self, on_hold: bool, now: float) -> None:
        self._toggle(self._hold, on_hold, now - self.start)
        if on_hold and self._far_heard:  # the silence up to the hold counts...
            gap = now - self._far_last
            self.longest_caller_silence = max(self.longest_caller_silence, gap)
        if not on_hold:
            self._far_last = now  # ...the hold itself is not the caller's silence

    # -- frames ------------------------------------------------------------------------------
    def _index(self, t: float) -> int:
        i = max(0, int((t - self.start + _EPS) // self.bucket_s))
        while i >= self.max_buckets:
            self._merge()
            i = max(0, int((t - self.start + _EPS) // self.bucket_s))
        while len(self._near) <= i:
            self._near.append(0)
            self._far.append(0)
            self._both.append(0)
        return i

    def _merge(self) -> None:
        self.bucket_s *= 2
        for counts in (self._near, self._far, self._both):
            counts[:] = [sum(counts[k : k + 2]) for k in range(0, len(counts), 2)]

    def frame(self, t: float, near_sp: bool, far_sp: bool, far_heard: bool) -> None:
        i = self._index(t - FRAME_S / 2)  # the frame stamped t is the 10 ms before t
        if near_sp:
            self._near[i] += 1
        if far_sp:
            self._far[i] += 1
            if near_sp:
                self._both[i] += 1
        if far_heard:
            self._far_heard = True
            if far_sp:
                gap = t - self._far_last - FRAME_S
                self.longest_caller_silence = max(self.longest_caller_silence, gap)
                self._far_last = t

    # -- the figure --------------------------------------------------------------------------
    def figure(self, now: float) -> dict[str, object]:
        """The ``timeline`` entry of the call-health figures (JSON-ready)."""
        duration = max(0.0, now - self.start)
        if duration > 0:
            self._index(self.start + duration - FRAME_S / 2)  # cover the whole call
        n = len(self._near)
        width = self.bucket_s

        def flags(spans: list[tuple[float, float | None]]) -> list[bool]:
            out = [False] * n
            for a, b in spans:
                end = duration if b is None else b
                first = int(a // width)
                last = int(max(a, end - _EPS) // width)
                for k in range(max(0, first), min(n - 1, last) + 1):
                    out[k] = True
            return out

        def secs(counts: list[int]) -> list[float]:
            return [round(c * FRAME_S, 2) for c in counts]

        return {
            "bucket_s": width,
            "counselor_s": secs(self._near),
            "caller_s": secs(self._far),
            "both_s": secs(self._both),
            "muted": flags(self._muted),
            "on_hold": flags(self._hold),
        }

    def caller_silence(self, now: float, on_hold: bool) -> float | None:
        """The caller's longest silence in the call so far (the current one included; time
        on hold left out), or None when the caller's side was never heard."""
        if not self._far_heard:
            return None
        current = 0.0 if on_hold else max(0.0, now - self._far_last)
        return round(max(self.longest_caller_silence, current), 2)
