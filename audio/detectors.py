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
    going for ``holds_s``: an interruption by the newcomer (a back-channel is not one)."""

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

    def frame(
        self,
        t: float,
        near_sp: bool,
        far_sp: bool,
        near_on: bool,
        far_on: bool,
        cid: str,
        out: list[Event],
    ) -> None:
        if near_on and far_sp and not far_on:
            self._who, self._start, self._overlap = ev.COUNSELOR, t, 0.0
        elif far_on and near_sp and not near_on:
            self._who, self._start, self._overlap = ev.CALLER, t, 0.0
        who = self._who
        if who is None:
            return
        if not (near_sp if who == ev.COUNSELOR else far_sp):
            self._who = None
            return
        if near_sp and far_sp:
            self._overlap += FRAME_S
        if (
            self._overlap >= self.overlap_s - _EPS
            and t - self._start + FRAME_S >= self.holds_s - _EPS
        ):
            self.counts[who] += 1
            out.append(ev.Interruption(cid, who, round(self._overlap, 2)))
            self._who = None


class MutedSpeech(Prompt):
    """Speaking while muted for ``limit_s``; cleared by ``clear_s`` of silence (or unmute).
    Fed only while muted."""

    def __init__(self, limit_s: float, clear_s: float) -> None:
        super().__init__()
        self.limit_s = limit_s
        self.clear_s = clear_s
        self._quiet_since: float | None = None

    def new_call(self) -> None:
        super().new_call()
        self._quiet_since = None

    def frame(
        self, t: float, near_sp: bool, speaking_since: float, cid: str, out: list[Event]
    ) -> None:
        if near_sp:
            self._quiet_since = None
            if t - speaking_since + FRAME_S >= self.limit_s - _EPS:
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
