"""The decision, frame by frame: the relative level gate, hysteresis (two thresholds and an
onset), hang-over (never longer than the evidence it follows), and the speaker's own level
that the gate follows.

This is the only part of the pipeline that walks the frames one at a time: the gate moves
with the speaker level inside a block, and the state carries from frame to frame.
"""

from __future__ import annotations

import math

from audio.vad.score import NOT_SPEECH

CONFIDENT_RATIO_DB = 6.0  # a frame's own band power over the noise for the speaker level to learn


class HangOver:
    """Keeps a region open for a number of frames after the last one that continued it."""

    __slots__ = ("quiet",)

    def __init__(self) -> None:
        self.quiet = 0

    def reset(self) -> None:
        self.quiet = 0

    def expired(self, hang_frames: int) -> bool:
        """One more frame below the continue threshold; True when the region ends."""
        self.quiet += 1
        return self.quiet > hang_frames


class Hysteresis:
    """A region starts after ``onset`` frames at or above ``on_db`` and continues while the
    score stays at or above ``off_db``, then for the hang-over.

    ``speaking`` is the region (what the evidence is judged in, and what offline segments are
    cut from); ``live`` is the decision reported as it happens: the region, except that its
    hang-over holds at most ``hold`` frames per near evidence frame the region has had. The
    hang-over bridges the pauses inside an utterance, so it needs an utterance first: a blip
    of two frames (a background talker's loud syllable) is held four frames, not 300 ms,
    while a word of 15 frames or more gets the whole hang-over."""

    __slots__ = (
        "on_db",
        "off_db",
        "onset",
        "tail",
        "hold",
        "hang",
        "speaking",
        "run",
        "gathered",
        "live",
    )

    def __init__(
        self,
        on_db: float,
        off_db: float,
        onset: int,
        tail: int | None = None,
        hold: float = math.inf,
    ) -> None:
        self.on_db = on_db
        self.off_db = off_db
        self.onset = onset
        self.tail = tail  # frames after the last near one that may still be evidence
        self.hold = hold  # live hang-over frames per near evidence frame (inf: all of it)
        self.hang = HangOver()
        self.reset()

    def reset(self) -> None:
        self.speaking = False
        self.live = False
        self.run = 0  # consecutive frames above on_db before a region starts
        self.gathered = 0  # near evidence frames of the open region
        self.hang.reset()

    def step(self, score: float, hang_frames: int, near: bool = True) -> bool:
        """Advance one frame; return whether it is an *evidence* frame (one that starts or
        continues a region, before the hang-over). ``speaking`` is the
        decision after it. A frame that is not ``near`` (not close to the speaker's own level)
        cannot start a region, and inside one it does not restart the hang-over: a region
        ends ``hang_frames`` after its last *near* frame, so softer frames (another talker)
        cannot hold it open; and it is evidence only within ``tail`` frames of the last near
        one (None: always), so the offline segment ends with the word's tail, not with
        another talker's speech during the hang-over. ``live`` follows (see the class)."""
        evidence = self._step(score, hang_frames, near)
        self.live = self.speaking and self.hang.quiet <= self.hold * self.gathered
        return evidence

    def _step(self, score: float, hang_frames: int, near: bool) -> bool:
        if self.speaking:
            if score >= self.off_db:
                if near:
                    self.hang.quiet = 0
                    self.gathered += 1
                    return True
                if self.hang.expired(hang_frames):
                    self.speaking = False
                    self.run = 0
                    return False
                # a softer frame is evidence only for the tail of the last near one
                return self.tail is None or self.hang.quiet <= self.tail
            if self.hang.expired(hang_frames):
                self.speaking = False
                self.run = 0
            return False
        if near and score >= self.on_db:
            self.run += 1
            if self.run >= self.onset:
                self.speaking = True
                self.gathered = self.run
                self.hang.quiet = 0
            return True
        self.run = 0
        return False


class SpeakerLevel:
    """An upper-envelope tracker of this speaker's confident frames: rises fast to their loud
    frames, falls slowly, so quieter talkers cannot drag it down."""

    __slots__ = ("level_db",)

    def __init__(self) -> None:
        self.level_db: float | None = None

    def reset(self) -> None:
        self.level_db = None

    def learn(self, level_db: float) -> float:
        speaker = self.level_db
        if speaker is None:
            speaker = level_db
        else:
            speaker += (0.05 if level_db > speaker else 0.004) * (level_db - speaker)
        self.level_db = speaker
        return speaker


def decide(
    hysteresis: Hysteresis,
    speaker: SpeakerLevel,
    scores: list[float],
    ratios: list[float],
    levels: list[float],
    start_db: float,
    gate_db: float,
    hang_frames: int,
) -> tuple[list[bool], list[bool], list[bool]]:
    """(live decision, evidence, region) of each frame of a block (see :class:`Hysteresis`).

    Level counts only relative to this speaker's own level, never absolutely: a region can
    only *start* on frames within ``start_db`` of it (a talker further below is someone else:
    a TV, the family in the next room), and it *continues* only on frames within ``gate_db``
    of it (soft syllables and tails of the speaker's own words), but only a frame near the speaker's
    level restarts the hang-over. Until the speaker's level is
    known every frame may start a region. The speaker level learns from evidence frames that
    are near and confident (own band power >= 6 dB over the noise, score at the start
    threshold), and
    the gates follow it at once."""
    n = len(scores)
    speech = [False] * n
    evidence = [False] * n
    region = [False] * n
    on_db = hysteresis.on_db
    step = hysteresis.step
    level_db = speaker.level_db
    low_start = NOT_SPEECH if level_db is None else level_db - start_db
    low = NOT_SPEECH if level_db is None else level_db - gate_db
    for i in range(n):
        level = levels[i]
        score = scores[i]
        if level < low:
            score = NOT_SPEECH
        near = level >= low_start
        ratio = ratios[i]
        ev = evidence[i] = step(score, hang_frames, near)
        speech[i] = hysteresis.live
        region[i] = hysteresis.speaking
        if ev and near and ratio >= CONFIDENT_RATIO_DB and score >= on_db:
            level_db = speaker.learn(level)
            low_start = level_db - start_db
            low = level_db - gate_db
    return speech, evidence, region
