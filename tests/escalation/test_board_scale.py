"""The board's count of available counselors is kept at each presence instead of counted
over every row (issue 17, scale: O(rows) per message made taking in 5,000 retained presences
quadratic); it equals the plain count through every kind of change."""

from __future__ import annotations

import random

from escalation import messages as m
from escalation import statuses
from escalation.board import Board

STATUSES = (
    statuses.AVAILABLE,
    statuses.RINGING,
    statuses.ON_CALL,
    statuses.WRAP_UP,
    statuses.BREAK,
    statuses.OFFLINE,
)


def test_the_kept_available_count_equals_counting_the_rows(fake_clock):
    board = Board(fake_clock, coverage_minimum=3)
    rnd = random.Random(5)
    names = [f"c-{i}" for i in range(40)]
    for _ in range(2000):
        cn = rnd.choice(names)
        status = rnd.choice(STATUSES)
        board.presence(
            m.Presence(cn, status, fake_clock.now(), id=m.new_id(), health=()),
            live=rnd.random() < 0.5,
        )
        plain = sum(1 for r in board.counselors.values() if r.status == statuses.AVAILABLE)
        assert board.available() == plain
