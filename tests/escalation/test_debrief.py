"""The ``debrief`` level: a counselor asks for a debrief after a hard call (console/
wrap_up_care.py). Not urgent, so it never climbs the T1/T2 ladder; never a gesture level;
a console that does not know the level drops the alert and goes on."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from calls.options import DEFAULT_ESCALATION_LEVEL
from core.config import Config
from escalation import events as ev
from escalation import messages as m
from escalation.counselor import CounselorAgent
from escalation.levels import (
    DEBRIEF,
    DEFAULT_REASON,
    GESTURE_LEVELS,
    LEVELS,
    NO_LADDER,
    level_label,
)
from escalation.outbox import MemoryOutbox
from tests.support.escalation_apps import start_connected

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


def _alert(level: str) -> m.Alert:
    return m.Alert("e1", "e1", "c-alba", "call1", level, DEFAULT_REASON[level], 0.0, "high", NOW)


def test_debrief_is_a_level_but_never_a_gesture():
    assert DEBRIEF in LEVELS and DEBRIEF in NO_LADDER
    assert DEBRIEF not in GESTURE_LEVELS
    assert DEBRIEF not in (DEFAULT_ESCALATION_LEVEL.choices or ())
    assert level_label(DEBRIEF) == "Debrief requested"
    assert DEFAULT_REASON[DEBRIEF] == "counselor_wellbeing"


def test_a_debrief_is_never_realerted_even_with_a_short_t1(fake_clock, bus, recorder):
    opts = {"escalation.t1_s": {"debrief": 1.0}, "escalation.t2_s": {"debrief": 2.0}}
    agent = CounselorAgent(
        Config.defaults().with_overrides(opts), fake_clock, bus, MemoryOutbox(), None
    )
    agent.start()
    try:
        eid = agent.raise_escalation(DEBRIEF, "call1", risk="high")
        fake_clock.advance(24 * 3600)
        assert not recorder.of(ev.EscalationRealerted) and not recorder.of(ev.FallbackNumberDue)
        esc = agent.escalations[eid]
        assert esc.open and not esc.realerted and not esc.fallback_due
        # an urgent one beside it still climbs
        agent.raise_escalation("urgent", "call2")
        fake_clock.advance(3600)
        assert len(recorder.of(ev.EscalationRealerted)) == 1
    finally:
        agent.stop()


def test_an_older_console_drops_a_debrief_as_an_unknown_level(monkeypatch):
    data = m.encode(_alert(DEBRIEF))
    assert m.decode(data) == _alert(DEBRIEF)  # this version reads it
    # a console from before the level: its level list is the gesture levels
    monkeypatch.setattr(m, "LEVELS", GESTURE_LEVELS)
    with pytest.raises(m.MessageError) as exc:
        m.decode(data)
    assert "level" in str(exc.value)
    assert m.decode(m.encode(_alert("consult"))).level == "consult"  # the rest still reads
    assert json.loads(data)["level"] == "debrief"


def _session(tmp_path, broker, cn, role, **more):
    from app.session import Session
    from core.paths import Paths
    from escalation.service import attach

    cfg = Config.defaults().with_overrides(broker.overrides(cn, role, **more))
    s = Session(cfg, paths=Paths.under(tmp_path / cn), attach=False)
    attach(s)
    return s


@pytest.mark.timeout(120)
@pytest.mark.parametrize("old_supervisor", [False, True], ids=["new", "old"])
def test_supervisors_see_debrief_requested_and_an_old_one_ignores_it(
    qtbot, tmp_path, tls_broker, monkeypatch, old_supervisor
):
    from console.supervisor_window import SupervisorWindow

    sup = _session(tmp_path, tls_broker, "sup-ana", "supervisor")
    cou = _session(
        tmp_path, tls_broker, "c-alba", "counselor", **{"escalation.t1_s": {"debrief": 0.5}}
    )
    window = SupervisorWindow(sup)
    qtbot.addWidget(window)
    try:
        start_connected(sup, cou)  # stopped by the finally, connected or not
        if old_supervisor:  # (both ends share the module: the counselor only encodes)
            monkeypatch.setattr(m, "LEVELS", GESTURE_LEVELS)
        svc = cou.service("escalation")
        eid = svc.request_debrief("call1", risk="imminent")
        if old_supervisor:
            # it drops the alert and goes on: the next escalation is shown as ever
            svc.counselor.raise_escalation("consult", "call2")
            qtbot.waitUntil(lambda: window.queue.rowCount() == 1, timeout=10000)
            assert window.queue.item(0, 0).text() == "Consultation"
            # the row comes from the model on the window's timer, the notification from the
            # event through the bridge: either may be first
            qtbot.waitUntil(lambda: window.notifications == ["New escalation: Consultation"])
            return
        qtbot.waitUntil(lambda: window.queue.rowCount() == 1, timeout=10000)
        assert window.queue.item(0, 0).text() == "Debrief requested"
        assert not window.queue.item(0, 0).font().bold()  # not urgent, and not shown so
        qtbot.waitUntil(lambda: window.notifications == ["New escalation: Debrief requested"])
        assert window.beeps == 1
        qtbot.wait(1500)  # past its (configured) T1: no re-alert
        esc = svc.counselor.escalations[eid]
        assert not esc.realerted and esc.state == ev.DELIVERED
    finally:
        window.close()
        cou.stop()
        sup.stop()
