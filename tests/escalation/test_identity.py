"""Issue 9, escalation fault 4: client ids are bound to the certificate (the broker sets the
client id to the certificate's name), and each Faro process of a laptop has its own."""

from __future__ import annotations

import pytest

from core.status import Level, StatusReport
from escalation import events as ev
from escalation.outbox import REPLY, MemoryOutbox
from tests.escalation.conftest import cli_home, faro_cli, fields, matching
from tests.support.escalation_probe import raw_client
from tests.support.toolkit import wait_until

pytestmark = pytest.mark.timeout(120)


def _downs(events) -> int:
    return len(
        [e for e in events.of(StatusReport) if e.component == "broker" and e.level is not Level.OK]
    )


def test_another_certificate_holder_cannot_take_over_a_counselors_session(tls_broker, agents):
    box = MemoryOutbox()
    sup, sev = agents("supervisor", "sup-ana")
    cou, cev = agents("counselor", "c-alba", outbox=box)
    wait_until(lambda: sup.connected and cou.connected, timeout=15, what="connected")
    eid = cou.raise_escalation("urgent", "call-1")
    sev.wait_event(ev.AlertShown, fields(escalation_id=eid), 10)
    sup.acknowledge(eid)
    cev.wait_event(ev.EscalationStateChanged, fields(escalation_id=eid, state=ev.ACKNOWLEDGED), 10)
    downs = _downs(cev)
    cert, key = tls_broker.issue("c-bea")
    # while the victim is connected: its client id, old and new form, clean start
    for cid in ("c-alba", "faro-c-c-alba"):
        thief, _got, state = raw_client(tls_broker, cert, key, client_id=cid)
        assert state["rc"] is not None and not state["rc"].is_failure  # c-bea may connect...
        thief.disconnect()
        thief.loop_stop()
    assert cou.connected and _downs(cev) == downs  # ...but the victim was never kicked
    # while the victim is away: its session on the broker keeps a whisper for it
    cou.stop()
    sup.whisper(eid, "stay with them")
    wait_until(lambda: not sup.outbox.pending(REPLY), 10, "the whisper on the broker")
    for cid in ("c-alba", "faro-c-c-alba"):
        thief, got, state = raw_client(tls_broker, cert, key, client_id=cid)
        thief.disconnect()
        thief.loop_stop()
        assert not [t for t, _ in got if "c-alba" in t]
    back, bev = agents("counselor", "c-alba", outbox=box)
    whisper = bev.wait_event(ev.WhisperReceived, fields(escalation_id=eid, direction="in"), 15)[1]
    assert whisper.text == "stay with them"


def test_console_and_faro_escalate_on_one_laptop_do_not_kick_each_other(
    tmp_path, tls_broker, agents, apps
):
    sup, sev = agents("supervisor", "sup-ana")
    home = cli_home(tmp_path, tls_broker, "c-alba", "counselor")  # same certificate files
    console, cev = agents("counselor", "c-alba")
    wait_until(lambda: sup.connected and console.connected, timeout=15, what="connected")
    console.set_presence("on_call", console.clock.monotonic())
    sev.wait_event(ev.BoardChanged, fields(counselor="c-alba", status="on_call"), 10)
    downs = _downs(cev)
    cli = faro_cli(apps, home, "escalate", "--timeout", "3")
    assert cli.proc.wait(60) == 3, cli.proc.stderr.read()  # delivered, nobody acknowledged
    assert _downs(cev) == downs and console.connected  # not one takeover
    assert not matching(sev.of(ev.BoardChanged), counselor="c-alba", status="offline")
    rows = {r.counselor: r.status for r in sup.snapshot()[0]}
    assert rows == {"c-alba": "on_call"}  # and the drill is not a counselor on the board
    assert [s.counselor for s in sev.of(ev.AlertShown)] == ["c-alba.cli"]
