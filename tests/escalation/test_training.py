"""Training mode on a real broker: practice escalations go to the watching supervisor only,
never to the real alert queue or the ladder; feedback reaches the trainee; the trainee's
presence marks practice and is left out of coverage (escalation/training.py)."""

from __future__ import annotations

import json

import pytest

from core.clock import FakeClock
from escalation import events as ev
from escalation import messages as m
from escalation import training as tr
from tests.escalation.conftest import fields
from tests.support.toolkit import wait_until

pytestmark = pytest.mark.timeout(90)

TRAINING = {"calls.training": True}


def _pair(agents):
    sup, sup_ev = agents("supervisor", "sup-ana")
    clock = FakeClock()  # the trainee's ladder would run on this clock: it is advanced past T2
    trainee, trainee_ev = agents("counselor", "c-trainee", clock=clock, **TRAINING)
    wait_until(lambda: sup.connected and trainee.connected, 15, "connected")
    return sup, sup_ev, trainee, trainee_ev, clock


def test_practice_escalations_never_reach_the_real_ladder(agents):
    sup, sup_ev, trainee, trainee_ev, clock = _pair(agents)
    # a real counselor beside, so the supervisor's real queue is known to work meanwhile
    real, _real_ev = agents("counselor", "c-real")
    wait_until(lambda: real.connected, 15, "real counselor connected")

    trainee.training.set_scenario("attempt-in-progress-en", "attempt_in_progress", 3, "call1")
    practice_id = trainee.raise_escalation("urgent", "call1", risk="imminent", call_s=42.0)
    assert trainee.training.owns(practice_id)
    assert practice_id not in trainee.escalations  # no real lifecycle for it
    wait_until(
        lambda: any(a.escalation == practice_id for t in sup.training.snapshot() for a in t.alerts),
        10,
        "the practice alert on the watch",
    )
    # the watch has it, marked practice, with the trainee's codes
    t = sup.training.trainee("c-trainee")
    assert t is not None and t.status is not None
    assert (t.status.scenario, t.status.kind, t.status.difficulty) == (
        "attempt-in-progress-en",
        "attempt_in_progress",
        3,
    )
    alert = t.alerts[0]
    assert (alert.level, alert.risk, alert.call_s) == ("urgent", "imminent", 42.0)

    # a real escalation raised after it arrives in the queue; the practice one never did
    real_id = real.raise_escalation("consult", "realcall")
    sup_ev.wait_event(ev.AlertShown, fields(escalation_id=real_id), timeout=10)
    assert practice_id not in sup.board.alerts
    assert [a.escalation_id for a in sup.board.open_alerts()] == [real_id]
    assert not sup_ev.of(ev.AlertShown) or all(
        e.escalation_id != practice_id for e in sup_ev.of(ev.AlertShown)
    )

    # past T1 and T2 of the urgent level: no re-alert, no fallback number, ever
    clock.advance(600)
    assert not trainee_ev.of(ev.EscalationRealerted)
    assert not trainee_ev.of(ev.FallbackNumberDue)
    assert trainee.current() is None  # the LED and the real panel have nothing open

    # the trainee's own console follows it: raised, sent; acknowledged from the watch
    trainee_ev.wait_event(
        ev.EscalationStateChanged, fields(escalation_id=practice_id, state=ev.SENT)
    )
    sup.training.acknowledge("c-trainee", practice_id)
    _t, acked = trainee_ev.wait_event(
        ev.EscalationStateChanged,
        fields(escalation_id=practice_id, state=ev.ACKNOWLEDGED),
        timeout=10,
    )
    assert acked.by == "sup-ana"
    # a debrief request and a missed ring from the practice session stay off the board too
    debrief_id = trainee.raise_escalation("debrief", "call1")
    assert trainee.training.owns(debrief_id)
    trainee.ring("abandoned", 4.0)
    real.ring("unanswered", 30.0)
    wait_until(lambda: any(r[1] == "c-real" for r in sup.board.rings), 10, "the real ring")
    assert all(r[1] != "c-trainee" for r in sup.board.rings)
    assert debrief_id not in sup.board.alerts
    # the end of the practice call resolves what is still open, locally
    trainee.training.call_over()
    trainee_ev.wait_event(
        ev.EscalationStateChanged, fields(escalation_id=debrief_id, state=ev.RESOLVED)
    )
    assert trainee.training.open_escalations() == []


def test_feedback_arrives_and_presence_marks_practice(agents):
    sup, sup_ev, trainee, trainee_ev, _clock = _pair(agents)
    trainee.set_presence("available")
    wait_until(lambda: "c-trainee" in sup.board.counselors, 10, "the trainee on the board")
    row = sup.board.counselors["c-trainee"]
    assert row.practice
    assert sup.board.available() == 0  # a trainee covers no real calls
    trainee.set_health(("caller_silent",))
    wait_until(lambda: sup.board.counselors["c-trainee"].health == ("caller_silent",), 10, "health")

    trainee.training.set_scenario("silent-caller-en", "silent_caller", 1, "call2")
    trainee.training.set_risk("moderate")
    trainee.training.add_step("engaged")
    wait_until(
        lambda: (
            (s := sup.training.trainee("c-trainee")) is not None
            and s.status is not None
            and s.status.risk == "moderate"
            and s.status.steps == ("engaged",)
        ),
        10,
        "the trainee's risk level and steps on the watch",
    )
    sup.training.feedback("c-trainee", "Good: you stayed with the silence. Now ask about safety.")
    _t, note = trainee_ev.wait_event(tr.PracticeNoteReceived, fields(direction="in"), timeout=10)
    assert (note.by, note.counselor) == ("sup-ana", "c-trainee")
    assert note.text.startswith("Good: you stayed")
    # the trainee answers through the escalation panel's whisper of a practice escalation
    pid = trainee.raise_escalation("consult", "call2")
    trainee.whisper(pid, "Thanks, asking now.")
    wait_until(
        lambda: any(
            n[0] == "in" and n[2] == "Thanks, asking now."
            for n in sup.training.trainee("c-trainee").notes
        ),
        10,
        "the trainee's note on the watch",
    )
    # no whisper, alert or record of it in the real board
    assert pid not in sup.board.alerts
    # a clean stop takes the trainee off the watch (its retained status is cleared)
    trainee.stop()
    wait_until(lambda: sup.training.trainee("c-trainee") is None, 10, "off the watch")


def test_practice_and_real_messages_never_decode_as_each_other():
    at = m.parse_time("2025-01-01T10:00:00Z")
    practice = tr.encode(
        tr.PracticeAlert("p1:x", "p1", "c-t", "urgent", "imminent_risk", "imminent", 3.0, at)
    )
    with pytest.raises(m.MessageError):
        m.decode(practice)  # an older console, or any real path, drops it
    real = m.encode(
        m.Alert("e1", "e1", "c-t", None, "urgent", "imminent_risk", 3.0, "imminent", at)
    )
    with pytest.raises(m.MessageError):
        tr.decode(real)
    # forward compatibility: unknown fields ignored, a newer version refused
    d = json.loads(practice)
    d["new_field"] = 1
    assert isinstance(tr.decode(json.dumps(d).encode()), tr.PracticeAlert)
    d["v"] = 2
    with pytest.raises(m.MessageError):
        tr.decode(json.dumps(d).encode())
    # the presence's practice mark: absent means a real counselor; older readers ignore it
    p = m.decode(m.encode(m.Presence("c-t", "available", at, practice=True)))
    assert isinstance(p, m.Presence) and p.practice
    d = json.loads(m.encode(m.Presence("c-t", "available", at)))
    d.pop("practice")
    old = m.decode(json.dumps(d).encode())
    assert isinstance(old, m.Presence) and not old.practice
    assert tr.parse_topic("faro/v1/c/c-t/practice/alert") == ("c", "c-t", "alert")
    assert tr.parse_topic("faro/v1/c/c-t/esc/e1/alert") is None


def test_the_watch_window_shows_and_answers_a_trainee(qtbot, tmp_path, tls_broker, artifacts_dir):
    """The supervisor console's watch, offscreen, on the real broker: the trainee's row
    (marked practice on the board too), the practice escalation acknowledged from it, and
    feedback sent to the trainee; it fits 1024x600."""
    from app.session import Session
    from console.supervisor_window import SupervisorWindow
    from core.config import Config
    from core.paths import Paths
    from escalation.service import attach
    from tests.support.escalation_apps import start_connected
    from tests.support.toolkit import Recorder

    def session(cn: str, role: str, **more):
        cfg = Config.defaults().with_overrides(tls_broker.overrides(cn, role, **more))
        s = Session(cfg, paths=Paths.under(tmp_path / cn), attach=False)
        attach(s)
        return s

    sup = session("sup-ana", "supervisor", **{"escalation.coverage_minimum": 1})
    trainee = session("c-trainee", "counselor", **TRAINING)
    notes = Recorder(trainee.bus, tr.PracticeNoteReceived)
    window = SupervisorWindow(sup)
    qtbot.addWidget(window)
    window.show()
    try:
        start_connected(sup, trainee)
        agent = trainee.service("escalation").counselor
        agent.training.set_scenario("third-party-en", "third_party", 2, "call9")
        pid = trainee.service("escalation").raise_escalation("consult")
        assert window.trainees_button is not None
        qtbot.waitUntil(lambda: window.trainees_button.text() != "Trainees", timeout=10000)
        watch = window.trainees_button.open_watch()
        qtbot.addWidget(watch)
        watch.resize(1024, 600)
        qtbot.waitUntil(
            lambda: watch.table.rowCount() == 1 and "PRACTICE" in watch.table.item(0, 5).text(),
            timeout=10000,
        )
        assert watch.table.item(0, 2).text() == "Calling about a friend"
        qtbot.waitUntil(lambda: window.board.rowCount() == 1, timeout=10000)
        assert "(practice)" in window.board.item(0, 1).text()
        assert window.queue.rowCount() == 0  # never in the real alert queue
        watch.table.selectRow(0)
        qtbot.waitUntil(watch.ack_button.isEnabled)
        watch.ack_button.click()
        qtbot.waitUntil(lambda: "sup-ana" in watch.table.item(0, 5).text(), timeout=5000)
        watch.feedback.setText("Ask him whether she has means at hand.")
        watch.send_button.click()
        notes.wait_event(tr.PracticeNoteReceived, fields(direction="in"), timeout=10)
        assert watch.notes.count() == 1
        assert watch.minimumSizeHint().width() <= 1024 and watch.minimumSizeHint().height() <= 600
        assert watch.grab().save(str(artifacts_dir / "training-watch.png"))
        assert pid not in sup.service("escalation").supervisor.board.alerts
    finally:
        window.close()
        trainee.stop()
        sup.stop()
