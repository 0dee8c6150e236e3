"""What went wrong on the link, counted for the life of the driver, and published as
``BadFrames`` (running counts, at most every ``bad_frames_every_s``, only when they changed).

The decoder counts what never made a frame (bad CRC, broken COBS, overlong, too short);
:class:`LinkCounters` counts frames that were not a valid message (``malformed``), events the
box numbered past or reported lost (``lost_events``), bad frames the box itself received
(``box_reported``) and reliable frames older than the last one accepted (``replayed``).
Written by the owner thread only; any thread may read a snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from core.clock import Clock
from core.events import Event
from devices import events as ev
from devices.buttonbox.codec import DecodeStats
from devices.buttonbox.protocol import Error, ErrorCode

log = logging.getLogger(__name__)


@dataclass
class LinkCounters:
    malformed: int = 0
    lost_events: int = 0
    box_reported: int = 0
    replayed: int = 0
    max_buffered: int = 0  # the most bytes the decoder held for an unfinished frame

    def bad_frames(self, decoded: DecodeStats) -> ev.BadFrames:
        return ev.BadFrames(
            decoded.bad_crc,
            decoded.bad_cobs,
            decoded.overlong,
            decoded.too_short,
            self.malformed,
            self.lost_events,
            self.box_reported,
            self.replayed,
        )

    def box_error(self, msg: Error) -> None:
        """An ERROR the box reported (acknowledged by the session)."""
        if msg.code == ErrorCode.BAD_FRAME:
            self.box_reported += msg.info
        elif msg.code == ErrorCode.EVENT_LOST:
            self.lost_events += msg.info
            log.warning("the button box dropped %d event(s) it could not deliver", msg.info)
        else:
            log.warning("the button box reported error %d (%d)", msg.code, msg.info)


class BadFramesReport:
    """Publishes the running counts when they changed, at most every ``every_s``."""

    def __init__(
        self,
        counts: Callable[[], ev.BadFrames],
        emit: Callable[[Event], None],
        clock: Clock,
        every_s: float,
    ) -> None:
        self._counts, self._emit, self._clock, self._every_s = counts, emit, clock, every_s
        self._published: ev.BadFrames | None = None
        self._at = 0.0

    def publish(self, force: bool = False) -> None:
        now = self._clock.monotonic()
        if not force and now - self._at < self._every_s:
            return
        counts = self._counts()
        if counts != self._published:
            self._published = counts
            self._at = now
            self._emit(counts)
