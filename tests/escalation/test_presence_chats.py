"""A counselor holding chats that keep calls from ringing is busy on the supervisors' board,
in the coverage, and in words; an older console's presence (no ``chats``) and an older
supervisor's reading of a newer one (the field ignored) still work."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from core.clock import FakeClock
from escalation import messages as m
from escalation import statuses
from escalation.board import Board

AT = dt.datetime(2026, 12, 4, 22, 0, tzinfo=dt.UTC)


def _presence(status: str, chats: int = 0) -> m.Presence:
    return m.Presence("c-alba", status, AT, id=m.new_id(), chats=chats)


def test_chats_travel_with_the_presence_and_old_messages_read_as_none():
    back = m.decode(m.encode(_presence(statuses.AVAILABLE, 2)))
    assert isinstance(back, m.Presence) and back.chats == 2
    old = json.loads(m.encode(_presence(statuses.AVAILABLE)))
    del old["chats"]  # what a console from before the chat line sends
    assert m.decode(json.dumps(old).encode()).chats == 0
    for bad in (-1, 101, "2", True, 1.5):
        d = dict(old, chats=bad)
        with pytest.raises(m.MessageError):
            m.decode(json.dumps(d).encode())


def test_the_board_says_in_a_chat_and_does_not_count_it_available():
    board = Board(FakeClock(wall=AT), 0)
    board.presence(_presence(statuses.AVAILABLE, 1))
    row = board.counselors["c-alba"]
    assert row.status == statuses.IN_CHAT
    assert statuses.status_label(row.status) == "In a chat"
    board.presence(_presence(statuses.AVAILABLE, 0))
    assert board.counselors["c-alba"].status == statuses.AVAILABLE
    board.presence(_presence(statuses.ON_CALL, 1))  # a call with chats allowed: on a call
    assert board.counselors["c-alba"].status == statuses.ON_CALL


def test_the_coverage_counts_a_counselor_in_a_chat_as_busy():
    from escalation.roster import BUSY

    assert statuses.IN_CHAT in BUSY
