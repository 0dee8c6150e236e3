"""Issue 9, escalation faults 1-3: a resolution is as durable as its alert, the command line
says only what is true and keeps its outbox on disk, and a console whose store is locked
loses nothing in a crash. Every test runs against a real Mosquitto (TLS, certificates, ACL);
"stale" is checked the way a supervisor console starting later would see it: the retained
messages on the broker (tests/support/escalation_probe.py)."""

from __future__ import annotations

import datetime as dt
import json
import signal

import pytest

from core.status import Level, StatusReport
from escalation import events as ev
from escalation import messages as m
from escalation import topics
from tests.escalation.conftest import (
    cli_home,
    counselor_app,
    counselor_home,
    faro_cli,
    fields,
    matching,
)
from tests.support.escalation_probe import mentioning, raw_client, retained, stale_free
from tests.support.toolkit import wait_until

pytestmark = pytest.mark.timeout(180)


def _connections(events) -> int:
    return len(
        [e for e in events.of(StatusReport) if e.component == "broker" and e.level is Level.OK]
    )


# -- 1. resolutions -------------------------------------------------------------------------------
def test_a_resolution_survives_a_broker_sigkill_right_after_it(lazy_broker, lazy_agents):
    """Production Mosquitto saves every second (autosave_interval 1): a SIGKILL within that
    second loses a clear the broker had already acknowledged. This broker saves only on a
    clean stop, so the lost second is the whole test: the alert and the acknowledgement are
    saved, their clearing is not — and comes back after the restart unless the consoles
    reconcile what the broker holds with what they know."""
    sup, sev = lazy_agents("supervisor", "sup-ana")
    cou, cev = lazy_agents("counselor", "c-alba")
    wait_until(lambda: sup.connected and cou.connected, timeout=15, what="both connected")
    eid = cou.raise_escalation("urgent", "call-1", call_s=30.0)
    sev.wait_event(ev.AlertShown, fields(escalation_id=eid), 10)
    sup.acknowledge(eid)
    cev.wait_event(ev.EscalationStateChanged, fields(escalation_id=eid, state=ev.ACKNOWLEDGED), 10)
    lazy_broker.mosquitto.restart()  # a clean stop saves the alert and the acknowledgement
    assert mentioning(lazy_broker, eid) == [topics.alert("c-alba", eid), topics.ack("c-alba", eid)]
    wait_until(lambda: _connections(sev) >= 2 and _connections(cev) >= 2, 20, "reconnected")
    cou.resolve(eid)
    sev.wait_event(ev.AlertUpdated, fields(escalation_id=eid, state=ev.RESOLVED), 10)
    stale_free(lazy_broker, eid)  # the broker took the clears...
    lazy_broker.kill()  # ...and loses them
    lazy_broker.start()
    wait_until(lambda: _connections(sev) >= 3 and _connections(cev) >= 3, 20, "reconnected")
    stale_free(lazy_broker, eid, timeout=15)
    assert not cou.outbox.pending("esc.clear") and not sup.outbox.pending("esc.clear")


def test_cli_resolution_cut_off_by_a_disconnect_is_not_reported_done_and_is_sent_later(
    tmp_path, tls_broker, agents, apps
):
    from tests.support.escalation_proxy import Relay

    sup, sev = agents("supervisor", "sup-ana")
    relay = Relay(tls_broker.port)
    try:
        home = cli_home(
            tmp_path, tls_broker, "c-alba", "counselor", **{"escalation.broker_port": relay.port}
        )
        cli = faro_cli(apps, home, "escalate", "--level", "urgent", "--timeout", "30", "--json")
        eid = json.loads(cli.wait_line(lambda x: '"delivered"' in x))["escalation"]
        relay.cut_after_next_message()  # the acknowledgement gets through, then the network goes
        sup.acknowledge(eid)
        code = cli.proc.wait(60)
        assert relay.cut and any('"acknowledged"' in x for x in cli.lines)
        assert code == 5, cli.proc.stderr.read()  # not 0: its resolution is not on the broker
        assert sup.alert(eid).state == ev.ACKNOWLEDGED
        assert mentioning(tls_broker, eid)  # still retained, for now
        relay.restore()
        flush = faro_cli(apps, home, "escalate", "--flush")
        assert flush.proc.wait(30) == 0, flush.proc.stderr.read()
        sev.wait_event(ev.AlertUpdated, fields(escalation_id=eid, state=ev.RESOLVED), 10)
        assert sup.alert(eid).outcome == "test_done"
        stale_free(tls_broker, eid, timeout=10)
    finally:
        relay.close()


def test_cli_interrupted_with_ctrl_c_resolves_its_escalation(tmp_path, tls_broker, agents, apps):
    sup, sev = agents("supervisor", "sup-ana")  # sees it, never acknowledges
    home = cli_home(tmp_path, tls_broker, "c-alba", "counselor")
    cli = faro_cli(apps, home, "escalate", "--timeout", "60", "--json")
    eid = json.loads(cli.wait_line(lambda x: '"delivered"' in x))["escalation"]
    cli.proc.send_signal(signal.SIGINT)
    assert cli.proc.wait(30) == 130
    sev.wait_event(ev.AlertUpdated, fields(escalation_id=eid, state=ev.RESOLVED), 10)
    assert sup.alert(eid).outcome == "test_cancelled"
    stale_free(tls_broker, eid, timeout=5)


def test_cli_killed_leaves_nothing_stale_once_the_next_run_flushes(
    tmp_path, tls_broker, agents, apps
):
    sup, sev = agents("supervisor", "sup-ana")
    home = cli_home(tmp_path, tls_broker, "c-alba", "counselor")
    cli = faro_cli(apps, home, "escalate", "--timeout", "60", "--json")
    eid = json.loads(cli.wait_line(lambda x: '"delivered"' in x))["escalation"]
    cli.kill()
    assert mentioning(tls_broker, eid)  # what every supervisor console would show from now on
    flush = faro_cli(apps, home, "escalate", "--flush")
    assert flush.proc.wait(30) == 0, flush.proc.stderr.read()
    sev.wait_event(ev.AlertUpdated, fields(escalation_id=eid, state=ev.RESOLVED), 10)
    stale_free(tls_broker, eid, timeout=5)


def test_it_lists_and_clears_stale_escalations_but_not_a_live_counselors(
    tmp_path, tls_broker, agents, apps
):
    sup, sev = agents("supervisor", "sup-ana")
    live, _lev = agents("counselor", "c-alba")
    wait_until(lambda: sup.connected and live.connected, timeout=15, what="connected")
    open_id = live.raise_escalation("urgent", "call-1")
    sev.wait_event(ev.AlertShown, fields(escalation_id=open_id), 10)
    # a laptop that died an hour ago with an escalation open, and an acknowledgement left behind
    hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    cert, key = tls_broker.issue("c-bea")
    dead, _got, _st = raw_client(tls_broker, cert, key, client_id="c-bea")
    dead.publish(
        topics.alert("c-bea", "dead1"),
        m.encode(
            m.Alert("dead1", "dead1", "c-bea", None, "consult", "test", 0.0, "unknown", hour_ago)
        ),
        qos=1,
        retain=True,
    ).wait_for_publish(5)
    dead.publish(
        topics.presence("c-bea"),
        m.encode(m.Presence("c-bea", "offline", hour_ago, unexpected=True, id="w1")),
        qos=1,
        retain=True,
    ).wait_for_publish(5)
    dead.disconnect()
    dead.loop_stop()
    cert, key = tls_broker.issue("sup-ben")
    old, _got, _st = raw_client(tls_broker, cert, key, client_id="sup-ben")
    old.publish(
        topics.ack("c-cid", "gone1"),
        m.encode(m.Ack("a1", "gone1", "sup-ben", hour_ago)),
        qos=1,
        retain=True,
    ).wait_for_publish(5)
    old.disconnect()
    old.loop_stop()
    sev.wait_event(ev.AlertShown, fields(escalation_id="dead1"), 10)[
        1
    ]  # what a later console would show

    it_home = cli_home(tmp_path, tls_broker, "it-desk", "supervisor")
    listing = faro_cli(apps, it_home, "supervisor", "stale", "--json")
    assert listing.proc.wait(30) == 3, listing.proc.stderr.read()
    rows = {r["escalation"]: r for r in map(json.loads, listing.lines)}
    assert {e for e, r in rows.items() if r["stale"]} == {"dead1", "gone1"}
    assert rows[open_id]["stale"] is False and rows[open_id]["why"] == "counselor online"

    # a supervisor's certificate may not clear another's alert: the broker refuses, it says so
    sup_home = cli_home(tmp_path, tls_broker, "sup-ana", "supervisor")
    denied = faro_cli(apps, sup_home, "supervisor", "stale", "--clear")
    assert denied.proc.wait(30) == 77
    assert topics.alert("c-bea", "dead1") in retained(tls_broker)

    clear = faro_cli(apps, it_home, "supervisor", "stale", "--clear")
    assert clear.proc.wait(30) == 0, clear.proc.stderr.read()
    left = retained(tls_broker)
    assert not [t for t in left if "/dead1/" in t or "/gone1/" in t]
    assert topics.alert("c-alba", open_id) in left  # the live one is untouched
    sev.wait_event(ev.AlertUpdated, fields(escalation_id="dead1", state=ev.RESOLVED), 10)[
        1
    ]  # closed live too
    assert sup.alert(open_id).open
    again = faro_cli(apps, it_home, "supervisor", "stale")
    assert again.proc.wait(30) == 0


# -- 2. faro escalate: an outbox on disk, and only true words ------------------------------------
def test_cli_killed_just_after_its_first_line_still_delivers_the_alert(
    tmp_path, tls_broker, agents, apps
):
    home = cli_home(tmp_path, tls_broker, "c-alba", "counselor")
    tls_broker.stop()
    cli = faro_cli(apps, home, "escalate", "--level", "urgent", "--timeout", "60")
    first = cli.wait_line(lambda x: x.strip() != "")
    assert "queued on this laptop" in first and "sent" not in first.split("(")[0]
    cli.kill()  # a few milliseconds after it said so
    on_disk = b"".join(f.read_bytes() for f in (home / "data").rglob("*.spool"))
    assert on_disk  # it is there...
    assert b"urgent" not in on_disk and b"c-alba" not in on_disk  # ...sealed
    tls_broker.start()
    sup, sev = agents("supervisor", "sup-ana")
    wait_until(lambda: sup.connected, timeout=15, what="supervisor connected")
    flush = faro_cli(apps, home, "escalate", "--flush")
    assert flush.proc.wait(30) == 0, flush.proc.stderr.read()
    shown = sev.wait_event(ev.AlertShown, fields(counselor="c-alba.cli"), 10)[1]
    assert shown.level == "urgent" and shown.escalation_id in first
    sev.wait_event(
        ev.AlertUpdated, fields(escalation_id=shown.escalation_id, state=ev.RESOLVED), 10
    )
    assert len(sev.of(ev.AlertShown)) == 1
    stale_free(tls_broker, shown.escalation_id, timeout=5)


# -- 3. a console whose store is locked -----------------------------------------------------------
def test_locked_console_killed_after_a_long_press_delivers_after_restart(
    tmp_path, tls_broker, agents, apps
):
    """Broker down, store locked (nobody unlocked it), long press on Help, console killed:
    the alert is sealed in the spool, arrives once the broker and the console are back — the
    store still locked — and is written to the store when it is finally unlocked."""
    from core.clock import FakeClock
    from core.config import Config
    from core.events import EventBus
    from storage.service import StoreService
    from tests.support.escalation_apps import PASS

    home = counselor_home(tmp_path, tls_broker, "c-alba")
    tls_broker.stop()
    app = counselor_app(
        apps, home, "--locked", "--answer", "--raise", "urgent", "--source", "button_box"
    )
    eid = app.wait_line(lambda x: x.startswith("STATE ") and x.endswith(" raised -")).split()[1]
    app.kill()
    on_disk = b"".join(f.read_bytes() for f in (home / "data").rglob("*") if f.is_file())
    assert eid.encode() not in on_disk and b"urgent" not in on_disk  # encrypted at rest
    tls_broker.start()
    sup, sev = agents("supervisor", "sup-ana")
    again = counselor_app(apps, home, "--locked")  # nobody unlocks it this time either
    again.wait_line(lambda x: x == f"STATE {eid} delivered sup-ana", timeout=30)
    sev.wait_event(ev.AlertShown, fields(escalation_id=eid), 10)
    assert sup.alert(eid).level == "urgent"
    assert list((home / "data").glob("escalation-*.spool"))  # where it waited
    again.close()
    unlocked = counselor_app(apps, home)  # the passphrase, at last
    unlocked.wait_line(lambda x: x == "READY")
    unlocked.close()
    assert len(matching(sev.of(ev.AlertShown), escalation_id=eid)) == 1
    store = StoreService(Config.defaults(), FakeClock(), EventBus(), home / "data")
    store.unlock(PASS)
    try:
        assert (store.escalation(eid) or {}).get("level") == "urgent"
    finally:
        store.stop()
    assert not list((home / "data").glob("escalation-*.spool"))  # all of it is in the store
