"""Flows between services: call-health figures end up with the contact, even after a lock."""
from __future__ import annotations

from audio.events import CallHealthSummary
from calls.model import Action, Source
from core.config import Config
from core.session import Session


def test_call_health_figures_are_stored_with_the_contact_even_if_locked_meanwhile(paths, fake_clock):
    session = Session(Config({"calls.backend": "companion", "storage.unlock_target_ms": 1}),
                      paths=paths, clock=fake_clock)
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
