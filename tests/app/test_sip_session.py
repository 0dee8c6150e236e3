"""The phone line of a whole Session: the SIP password waits in the encrypted store, the line
registers only once the counselor unlocks it, and a call rings in the call machine."""

from __future__ import annotations

import pytest

from app.session import Session
from app.wiring import SIP_PASSWORD
from calls import events as ev
from calls.model import Action, CallState
from core.config import Config
from tests.calls.sip_rig import USERS, rig
from tests.support.toolkit import Recorder, wait_until

pytestmark = pytest.mark.timeout(90)
PASS = "correct horse battery staple 9"


def test_the_line_registers_at_unlock_and_takes_a_call(tmp_path, paths):
    with rig(tmp_path) as r:
        s = r.settings()
        config = Config.defaults().with_overrides(
            {
                "calls.backend": "sip",
                "sip.user": s.user,
                "sip.domain": s.domain,
                "sip.ca_file": s.ca_file,
                "sip.listen": "127.0.0.1",
                "sip.system_resolver": True,
                "storage.unlock_target_ms": 1,
            }
        )
        session = Session(config, paths=paths, services=("storage.service",))
        store = session.service("store")
        store.init(PASS)
        store.set_secret(SIP_PASSWORD, USERS["counselor"])
        store.lock("user")
        rec = Recorder(session.bus, ev.LineStatus)
        session.start()
        try:
            rec.wait_event(ev.LineStatus, lambda e: e.state == "waiting_credentials", 10)
            assert session.calls.backend.line_state == "waiting_credentials"
            store.unlock(PASS)
            rec.wait_event(ev.LineStatus, lambda e: e.state == "registered", 15)
            with r.peer() as caller:
                caller.wait("registered")
                caller.send(op="dial", uri=r.counselor_uri())
                wait_until(lambda: session.calls.state is CallState.RINGING, 15, "ringing")
                session.calls.do(Action.ANSWER)
                caller.wait("established")
                caller.send(op="hangup")
                wait_until(lambda: session.calls.state is CallState.WRAP_UP, 15, "wrap-up")
        finally:
            session.stop()
