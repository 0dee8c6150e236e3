"""Rescue steps travel to the supervisors of the call's escalation as codes and times, through
the outbox, on a real broker; no location or number ever reaches MQTT; older consoles that do
not know the message type ignore it and keep working."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from calls.model import Action, Command, Source
from core.config import Config
from escalation import events as ev
from escalation import messages as m
from escalation.board import RescueStepShown
from tests.escalation.conftest import fields
from tests.escalation.test_consoles import _session
from tests.support.escalation_apps import start_connected
from tests.support.toolkit import Recorder, wait_until

pytestmark = pytest.mark.timeout(120)

LOCATION = "Calle Lerma 112, depto 4, frente a la farmacia"
NUMBER = "5512345678"
T = dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)


# -- the message --------------------------------------------------------------------------
def test_a_rescue_step_round_trips_as_codes_and_a_time():
    msg = m.RescueStep("r1", "e1", "c-alba", "dispatched", T)
    data = m.encode(msg)
    assert set(json.loads(data)) == {"v", "type", "id", "escalation", "counselor", "step", "at"}
    assert m.decode(data) == msg


def test_a_newer_peer_s_extra_fields_are_ignored():
    d = json.loads(m.encode(m.RescueStep("r1", "e1", "c-alba", "dispatched", T)))
    d["eta_s"] = 600  # what a later version might add
    assert m.decode(json.dumps(d).encode()).step == "dispatched"
    # a step code this Faro has no words for still decodes (shown as a code)
    d["step"] = "helicopter_sent"
    assert m.decode(json.dumps(d).encode()).step == "helicopter_sent"


@pytest.mark.parametrize("step", ["", "Dispatched", "calle lerma 112", "x" * 33, 5])
def test_malformed_step_codes_are_refused(step):
    d = json.loads(m.encode(m.RescueStep("r1", "e1", "c-alba", "dispatched", T)))
    d["step"] = step
    with pytest.raises(m.MessageError) as exc:
        m.decode(json.dumps(d).encode())
    assert "lerma" not in str(exc.value).lower()


def _old_decoder(monkeypatch):
    """The decoder of a console older than rescue steps: it knows no such type."""
    monkeypatch.setattr(m, "_TYPES", {k: v for k, v in m._TYPES.items() if k != "rescue_step"})


def test_an_older_decoder_refuses_the_type_as_a_message_error(monkeypatch):
    data = m.encode(m.RescueStep("r1", "e1", "c-alba", "dispatched", T))
    _old_decoder(monkeypatch)
    with pytest.raises(m.MessageError):
        m.decode(data)  # every receiver logs a MessageError and drops the message


# -- on a real broker -----------------------------------------------------------------------
def _counselor(tmp_path, broker, cn="c-alba"):
    from app.session import Session
    from core.paths import Paths

    cfg = Config.defaults().with_overrides(
        {**broker.overrides(cn, "counselor"), "storage.unlock_target_ms": 1}
    )
    s = Session(
        cfg, paths=Paths.under(tmp_path / cn), services=("storage.service", "escalation.service")
    )
    s.service("store").init("una frase larga de prueba")
    return s


def _spy(session) -> list[tuple[str, bytes]]:
    """Every payload the counselor's console publishes, as the broker gets it."""
    link = session.service("escalation").counselor.link
    published: list[tuple[str, bytes]] = []
    real = link.publish

    def publish(topic, payload, *a, **kw):
        published.append((topic, bytes(payload)))
        return real(topic, payload, *a, **kw)

    link.publish = publish
    return published


def test_steps_reach_the_supervisor_live_with_nothing_personal(tmp_path, tls_broker, caplog):
    caplog.set_level(logging.DEBUG)
    sup = _session(tmp_path, tls_broker, "sup-ana", "supervisor")
    sev = Recorder(sup.bus)
    cou = _counselor(tmp_path, tls_broker)
    published = _spy(cou)
    try:
        start_connected(sup, cou)  # stopped by the finally, connected or not
        cou.calls.handle(Command(Action.ANSWER, Source.UI))
        call_id = cou.calls.call.id
        store = cou.service("store")
        # a step before any escalation: nothing to send yet, but it is not forgotten
        store.add_rescue_step(call_id, "engaged")
        eid = cou.service("escalation").raise_escalation("urgent")
        sev.wait_event(ev.AlertShown, fields(escalation_id=eid), 15)
        sev.wait_event(RescueStepShown, fields(escalation_id=eid, step="engaged"), 15)
        store.add_rescue_step(call_id, "location", detail=LOCATION + " tel " + NUMBER)
        store.add_rescue_step(call_id, "services_called")
        store.add_rescue_step(call_id, "dispatched")
        store.add_rescue_step(call_id, "arrival_overdue")
        sev.wait_event(RescueStepShown, fields(escalation_id=eid, step="arrival_overdue"), 15)
        agent = sup.service("escalation").supervisor
        item = agent.alert(eid)
        assert [code for code, _at in item.rescue] == [
            "engaged",
            "location",
            "services_called",
            "dispatched",
            "arrival_overdue",
        ]
        stored = store.rescue_steps(call_id)
        assert [at for _c, at in item.rescue] == [s.time for s in stored]  # the times taken
        assert item.rescue_overdue
        # the supervisor who acknowledged sees the counselor act on it
        agent.acknowledge(eid)
        store.add_rescue_step(call_id, "services_recalled")
        sev.wait_event(RescueStepShown, fields(escalation_id=eid, by="sup-ana"), 15)
        assert not agent.alert(eid).rescue_overdue
        # each step once, however often it was published
        assert len(sev.of(RescueStepShown)) == 6
    finally:
        cou.stop()
        sup.stop()
    steps = [json.loads(p) for _t, p in published if p and b'"rescue_step"' in p]
    assert len(steps) >= 6
    assert all(
        set(d) == {"v", "type", "id", "escalation", "counselor", "step", "at"} for d in steps
    )
    for _topic, payload in published:
        assert b"Lerma" not in payload and NUMBER.encode() not in payload
    assert "Lerma" not in caplog.text and NUMBER not in caplog.text


def test_a_step_taken_while_the_broker_is_down_arrives_after_it_is_back(tmp_path, tls_broker):
    sup = _session(tmp_path, tls_broker, "sup-ana", "supervisor")
    sev = Recorder(sup.bus)
    cou = _counselor(tmp_path, tls_broker)
    try:
        start_connected(sup, cou)  # stopped by the finally, connected or not
        cou.calls.handle(Command(Action.ANSWER, Source.UI))
        call_id = cou.calls.call.id
        eid = cou.service("escalation").raise_escalation("urgent")
        sev.wait_event(ev.AlertShown, fields(escalation_id=eid), 15)
        tls_broker.stop()
        wait_until(lambda: not cou.service("escalation").connected, timeout=10, what="down")
        cou.service("store").add_rescue_step(call_id, "dispatched")
        pending = cou.service("escalation").outbox.pending()
        assert any(b'"rescue_step"' in p.payload for p in pending)  # outboxed, durable
        tls_broker.start()
        sev.wait_event(RescueStepShown, fields(escalation_id=eid, step="dispatched"), 30)
        wait_until(
            lambda: (
                not any(
                    b'"rescue_step"' in p.payload
                    for p in cou.service("escalation").outbox.pending()
                )
            ),
            timeout=10,
            what="the step marked sent",
        )
    finally:
        cou.stop()
        sup.stop()


def test_an_older_supervisor_ignores_rescue_steps_and_keeps_working(agents, monkeypatch, caplog):
    cou, _cev = agents("counselor", "c-alba")
    sup, sev = agents("supervisor", "sup-ana")
    wait_until(lambda: cou.connected and sup.connected, timeout=15, what="connected")
    eid = cou.raise_escalation("urgent", "call-1")
    sev.wait_event(ev.AlertShown, fields(escalation_id=eid), 15)
    _old_decoder(monkeypatch)  # from now on this process decodes like an older Faro
    esc = cou.escalations[eid]
    cou._send_event(esc, m.RescueStep(m.new_id(), eid, "c-alba", "dispatched", T))
    cou.whisper(eid, "Sigo en la línea")
    sev.wait_event(ev.WhisperReceived, fields(escalation_id=eid), 15)
    assert sup.alert(eid).rescue == []  # ignored, and the link goes on
    assert sup.alert(eid).whispers[0][2] == "Sigo en la línea"
    assert "unknown message type" in caplog.text


def test_a_step_that_overtakes_its_alert_waits_for_it():
    """Events and alerts travel on different topics: a step first is held, not lost."""
    from core.clock import FakeClock
    from escalation.board import Board

    board = Board(FakeClock(), 0)
    step = m.RescueStep("r1", "e1", "c-alba", "dispatched", T)
    assert board.rescue_step(step) == []
    alert = m.Alert("e1", "e1", "c-alba", "call-1", "urgent", "imminent_risk", 30.0, "imminent", T)
    shown, events = board.alert(alert)
    assert shown and [type(e).__name__ for e in events] == ["AlertShown", "RescueStepShown"]
    assert board.alerts["e1"].rescue == [("dispatched", T)]
    assert board.rescue_step(step) == []  # once


def test_the_supervisor_s_detail_pane_lists_the_steps_and_prompts_when_overdue(
    qtbot, tmp_path, tls_broker, artifacts_dir
):
    from console.supervisor_window import SupervisorWindow

    sup = _session(tmp_path, tls_broker, "sup-ana", "supervisor")
    cou = _counselor(tmp_path, tls_broker)
    window = SupervisorWindow(sup)
    qtbot.addWidget(window)
    window.resize(1024, 600)
    window.show()
    try:
        start_connected(sup, cou)  # stopped by the finally, connected or not
        cou.calls.handle(Command(Action.ANSWER, Source.UI))
        call_id = cou.calls.call.id
        store = cou.service("store")
        eid = cou.service("escalation").raise_escalation("urgent")
        qtbot.waitUntil(lambda: window.queue.rowCount() == 1, timeout=10000)
        window.select(eid)
        window.ack_button.click()
        assert "None recorded" in window.detail_text()
        store.add_rescue_step(call_id, "location", detail=LOCATION)
        store.add_rescue_step(call_id, "dispatched")
        qtbot.waitUntil(
            lambda: "Emergency services dispatched" in window.detail_text(), timeout=10000
        )
        assert "Caller location recorded" in window.detail_text()
        assert "Lerma" not in window.detail_text()
        store.add_rescue_step(call_id, "arrival_overdue")
        qtbot.waitUntil(lambda: "not confirmed in time" in window.detail_text(), timeout=10000)
        assert window.detail["rescue"].property("role") == "danger"
        assert window.notifications[-1] == (
            "Rescue: emergency services' arrival not confirmed in time"
        )
        window.grab().save(str(artifacts_dir / "supervisor-rescue.png"))
        store.add_rescue_step(call_id, "arrival_confirmed")
        qtbot.waitUntil(lambda: window.detail["rescue"].property("role") is None, timeout=10000)
        assert all("Lerma" not in n for n in window.notifications)
    finally:
        window.close()
        cou.stop()
        sup.stop()
