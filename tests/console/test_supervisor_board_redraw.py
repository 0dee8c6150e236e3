"""The board redraws only the cells that changed (issue 17, scale): the table it leaves is the
one a full redraw makes, cell for cell (text, tooltip, the status's colour), through
counselors arriving in the middle of the order, status and health changes, lost links,
escalation states and calls that tick on."""

from __future__ import annotations

import random

from PySide6.QtWidgets import QTableWidget

from app.session import Session
from console.supervisor_window import SupervisorWindow
from core.clock import FakeClock
from core.config import Config
from core.paths import Paths
from escalation import events as ev
from escalation import messages as m
from escalation import statuses

STATUSES = (
    statuses.AVAILABLE,
    statuses.RINGING,
    statuses.ON_CALL,
    statuses.WRAP_UP,
    statuses.BREAK,
    statuses.OFFLINE,
)


def _window(qtbot, home, clock) -> SupervisorWindow:
    cfg = Config.defaults().with_overrides(
        {
            "escalation.role": "supervisor",
            "escalation.alert_sound": False,
            "calls.backend": "companion",
        }
    )
    session = Session(cfg, paths=Paths.under(home), clock=clock, attach=False)
    from escalation.service import attach

    attach(session)
    window = SupervisorWindow(session)
    qtbot.addWidget(window)
    return window


def _cells(table: QTableWidget) -> list[tuple]:
    out = []
    for i in range(table.rowCount()):
        for j in range(table.columnCount()):
            item = table.item(i, j)
            assert item is not None, (i, j)
            colour = item.foreground().color().name() if j == 1 else None
            out.append((i, j, item.text(), item.toolTip(), colour))
    return out


def test_the_incremental_board_equals_a_full_redraw(qtbot, tmp_path):
    clock = FakeClock()
    tuned = _window(qtbot, tmp_path / "tuned", clock)
    plain = _window(qtbot, tmp_path / "plain", clock)  # drawn once, at the end: all new items
    assert tuned.agent is not None and plain.agent is not None
    rnd = random.Random(17)
    names = [f"c-{i:03d}" for i in range(0, 120, 2)]  # odd names arrive later, in between

    def feed(p: m.Presence, live: bool) -> None:  # both boards at the same moment
        for window in (tuned, plain):
            assert window.agent is not None
            window.agent.board.presence(p, live)

    for step in range(40):
        if step == 10:
            names += [f"c-{i:03d}" for i in range(1, 120, 2)]
        for cn in rnd.sample(names, 15):
            status = rnd.choice(STATUSES)
            feed(
                m.Presence(
                    cn,
                    status,
                    clock.now(),
                    rnd.uniform(0, 900) if status == statuses.ON_CALL else None,
                    rnd.choice((None, ev.SENT, ev.DELIVERED, ev.ACKNOWLEDGED)),
                    unexpected=status == statuses.OFFLINE and rnd.random() < 0.5,
                    id=m.new_id(),
                    health=rnd.choice(((), ("caller_silent",), ("dead_mic", "clipping"))),
                ),
                live=rnd.random() < 0.5,
            )
        clock.advance(rnd.choice((0.2, 0.5, 1.0, 7.0)))
        tuned.refresh()

    assert plain.board.rowCount() == 0
    plain.refresh()
    assert tuned.board.rowCount() == len(names)
    assert _cells(tuned.board) == _cells(plain.board)
    on_call = [c for c in _cells(tuned.board) if c[1] == 2 and c[2]]
    assert on_call, "some calls tick on the board"
