"""Flows between services: call-health figures end up with the contact, even after a lock;
the escalation outbox keeps its records in the store."""

from __future__ import annotations

import pytest

from app.session import Session
from app.wiring import store_outbox
from audio.events import CallHealthSummary
from calls.model import Action, Source
from core.config import Config
from core.events import EventBus
from escalation.outbox import ALERT
from storage.service import StoreService
from tests.support.storage_helpers import FAST, PASS


def test_call_health_figures_are_stored_with_the_contact_even_if_locked_meanwhile(
    paths, fake_clock
):
    session = Session(
        Config({"calls.backend": "companion", "storage.unlock_target_ms": 1}),
        paths=paths,
        clock=fake_clock,
    )
    store = session.service("store")
    store.init("una frase larga de prueba")
    session.start()
    try:
        session.calls.do(Action.ANSWER, Source.BUTTON_BOX)
        call_id = session.calls.call.id
        session.bus.publish(CallHealthSummary(call_id, {"talk_ratio": 0.4, "interruptions": 2}))
        store.flush()
        assert store.contact(call_id)["health"] == {"talk_ratio": 0.4, "interruptions": 2}

        store.lock()
        session.bus.publish(CallHealthSummary(call_id, {"talk_ratio": 0.5}))
        store.unlock("una frase larga de prueba")
        store.flush()
        assert store.contact(call_id)["health"] == {"talk_ratio": 0.5}
    finally:
        session.stop()


# -- outbox on the real encrypted store -----------------------------------------------------------
def test_store_outbox_keeps_items_while_locked_and_writes_them_at_unlock(paths, fake_clock):
    bus = EventBus()
    store = StoreService(Config(dict(FAST)), fake_clock, bus, paths.data_dir)
    store.init(PASS)
    store.lock()
    ready = []
    box = store_outbox(store, bus)
    box.on_ready(lambda: ready.append(1))
    assert box.add(ALERT, "e1", b"payload")
    assert not box.add(ALERT, "e1", b"payload")  # idempotent
    box.record("e1", "call1", "urgent", "raised", {"reason": "imminent_risk"})
    box.whisper("e1", "in", "stay with them")
    assert [p.message_id for p in box.pending()] == ["e1"]
    store.unlock(PASS)
    assert ready == [1]
    assert [p.message_id for p in store.outbox_pending()] == ["e1"]
    assert store.escalation("e1")["state"] == "raised"
    assert store.whispers("e1")[0][:2] == ("in", "stay with them")
    box.mark_sent("e1")
    assert box.pending() == [] and store.outbox_pending() == []
    store.stop()
    # the file on disk is encrypted: the payload is not in it
    assert b"stay with them" not in (paths.data_dir / "cases.db").read_bytes()


def test_the_session_keeps_escalations_in_the_store_through_the_durable_box(paths, fake_clock):
    from app.wiring import StoreBox
    from escalation.outbox import BoxLocked, StoreOutbox

    session = Session(
        Config({"calls.backend": "companion", "storage.unlock_target_ms": 1}),
        paths=paths,
        clock=fake_clock,
    )
    try:
        assert isinstance(session.service("escalation").outbox, StoreOutbox)
        store = session.service("store")
        store.init(PASS)
        store.lock()
        box = StoreBox(store)
        assert box.is_locked
        with pytest.raises(BoxLocked):  # the store's own error, told in escalation's words
            box.escalation("e1")
    finally:
        session.stop()


def test_audio_prompts_and_risk_assessments_reach_the_escalation_service(paths, fake_clock):
    from audio import events as aev
    from escalation import events as ev
    from storage.events import RiskAssessmentSaved
    from tests.support.toolkit import Recorder

    session = Session(Config({"calls.backend": "companion"}), paths=paths, clock=fake_clock)
    proposals = Recorder(session.bus, ev.EscalationProposed)
    escalation = session.service("escalation")
    session.start()
    try:
        session.calls.do(Action.ANSWER, Source.BUTTON_BOX)
        call_id = session.calls.call.id
        session.bus.publish(aev.DeadMic(call_id, True))
        session.bus.publish(aev.AudioDeviceLost("mic", "headset"))
        assert escalation.counselor.presence.health == ("dead_mic", "audio_device_lost")
        session.bus.publish(aev.DeadMic(call_id, False))
        assert escalation.counselor.presence.health == ("audio_device_lost",)
        session.bus.publish(RiskAssessmentSaved(call_id, 1, True))
        [proposed] = proposals.of(ev.EscalationProposed)
        assert (proposed.level, proposed.reason) == ("urgent", "imminent_risk")
    finally:
        session.stop()
