"""Babble mode: background talkers close in level, which every engine calls speech.

*Detected* after a block when three conditions hold together: the decision has called almost
every frame speech for many seconds (share >= ``busy`` averaged over ~``busy_frames``; a
person's turn has pauses, a room of talkers does not), the frames taken for noise score like
speech (their mean region score >= ``on_db``), and the noise floor is within ``near_db`` of
the speaker. The background level then restarts from the floor and is relearnt from the
frames the gate rejects. *Ends* when the background falls more than ``near_db`` below the
speaker (the room went quiet) or on a new source. While it is on, :meth:`BabbleMode.limits`
gives the decision its stricter level limits and longer hang-over.
"""

from __future__ import annotations

import numpy as np

from audio.vad.noise import NoiseTracker

NO_LIMIT_DB = -99.0


class BabbleMode:
    def __init__(
        self,
        busy: float,
        busy_frames: int,
        on_db: float,
        near_db: float,
        gate_db: float,
        confident_db: float,
        hang_frames: int,
        smoothing: float,
    ) -> None:
        self.busy = busy
        self.busy_frames = busy_frames
        self.on_db = on_db
        self.near_db = near_db
        self.gate_db = gate_db
        self.confident_db = confident_db
        self.hang_frames = hang_frames
        self.smoothing = smoothing  # the background level's average while on
        self.reset()

    def reset(self) -> None:
        self.new_source()
        self.noise_score = 4.5  # mean region score of the frames taken for noise

    def new_source(self) -> None:
        self.active = False
        self._busy = 0.5  # smoothed share of frames called speech

    def limits(
        self, min_level_db: float, noise_level_db: float | None, hang_frames: int
    ) -> tuple[float, float, int]:
        """(lowest level that can be speech, lowest level the speaker level learns from,
        hang-over frames) for the next block."""
        if not self.active or noise_level_db is None:
            return min_level_db, NO_LIMIT_DB, hang_frames
        # talkers around: only level tells the wearer from them
        return (
            max(min_level_db, noise_level_db + self.gate_db),
            noise_level_db + self.confident_db,
            self.hang_frames,
        )

    def noise_smoothing(self) -> float | None:
        return self.smoothing if self.active else None

    def learn_noise_score(self, region: np.ndarray, noise_frames: np.ndarray) -> None:
        k = int(np.count_nonzero(noise_frames))
        if k:
            a = 0.99**k
            self.noise_score = a * self.noise_score + (1.0 - a) * float(region[noise_frames].mean())

    def track(
        self, speech: np.ndarray, floor_db: float, speaker_db: float | None, noise: NoiseTracker
    ) -> None:
        """Switch the mode on or off after a block."""
        if self.active:
            level = noise.level_db
            if speaker_db is not None and level is not None and speaker_db - level > self.near_db:
                self.active = False  # the room went quiet
                self._busy = 0.5
            return
        n = speech.shape[0]
        a = (1.0 - 1.0 / self.busy_frames) ** n
        self._busy = a * self._busy + (1.0 - a) * (np.count_nonzero(speech) / n)
        if (
            self._busy >= self.busy
            and self.noise_score >= self.on_db
            and speaker_db is not None
            and speaker_db - floor_db < self.near_db
        ):
            self.active = True
            noise.restart_level(floor_db)
