"""The faults of issue 6, each against a real Mosquitto with TLS, client certificates and ACL."""

from __future__ import annotations

import collections
import json
import random
import time

import pytest

from core.clock import FakeClock
from escalation import events as ev
from escalation import topics
from tests.escalation.conftest import (
    cli_home,
    counselor_app,
    counselor_home,
    faro_cli,
    fields,
    matching,
)
from tests.support.escalation_probe import raw_client, refused
from tests.support.toolkit import wait_until

pytestmark = pytest.mark.timeout(180)


# -- raise → acknowledge, counselor and supervisor as separate processes ----------------------
def test_escalate_cli_is_acknowledged_by_a_supervisor_watch_process(tmp_path, tls_broker, apps):
    sup = faro_cli(
        apps,
        cli_home(tmp_path, tls_broker, "sup-ana", "supervisor"),
        "supervisor",
        "watch",
        "--json",
        "--ack",
        "--count",
        "1",
        "--quit-after",
        "60",
    )
    sup.wait_line(lambda line: '"event": "link"' in line and '"ok"' in line)
    cou = faro_cli(
        apps,
        cli_home(tmp_path, tls_broker, "c-alba", "counselor"),
        "escalate",
        "--level",
        "urgent",
        "--reason",
        "test",
        "--timeout",
        "30",
        "--json",
    )
    assert cou.proc.wait(60) == 0, cou.proc.stderr.read()
    states = [json.loads(x)["state"] for x in cou.lines]
    assert states[:4] == ["raised", "sent", "delivered", "acknowledged"]
    # both command-line tools run as their laptop's command-line identity (NAME.cli)
    assert json.loads(cou.lines[3])["by"] == "sup-ana.cli"
    assert sup.proc.wait(30) == 0
    alerts = [json.loads(x) for x in sup.lines if '"event": "alert"' in x]
    assert len(alerts) == 1
    a = alerts[0]
    assert a["counselor"] == "c-alba.cli" and a["level"] == "urgent" and a["reason"] == "test"
    # minimal payload: codes and figures only
    assert set(a) <= {
        "event",
        "escalation",
        "counselor",
        "level",
        "kind",
        "contact",
        "reason",
        "risk",
        "call_s",
        "raised_at",
        "realert",
    }


def test_escalate_cli_exit_codes_not_acknowledged_and_undeliverable(tmp_path, tls_broker, apps):
    home = cli_home(tmp_path, tls_broker, "c-alba", "counselor")
    nobody = faro_cli(apps, home, "escalate", "--timeout", "2")
    assert nobody.proc.wait(30) == 3
    tls_broker.stop()
    down = faro_cli(apps, home, "escalate", "--timeout", "2")
    assert down.proc.wait(30) == 4
    assert "Undeliverable" in down.proc.stderr.read()


# -- broker restarted / SIGKILLed during escalations, 20 times -------------------------------
def test_broker_restarts_and_sigkills_lose_nothing_and_show_nothing_twice(tls_broker, agents):
    sup, sev = agents("supervisor", "sup-ana", **{"escalation.resend_s": 1.0})
    cou, cev = agents("counselor", "c-alba", **{"escalation.resend_s": 1.0})
    wait_until(lambda: sup.connected and cou.connected, timeout=15, what="both connected")
    rnd = random.Random(6)
    raised = []
    for i in range(20):
        eid = cou.raise_escalation("urgent", f"call-{i}", call_s=30.0)
        raised.append(eid)
        time.sleep(rnd.uniform(0.0, 0.03))  # before or after the broker's PUBACK
        if i % 2:
            tls_broker.kill()
            tls_broker.start()
        else:
            tls_broker.mosquitto.restart()
    for eid in raised:
        cev.wait_event(ev.EscalationStateChanged, fields(escalation_id=eid, state=ev.DELIVERED), 60)
    wait_until(
        lambda: all(matching(sev.of(ev.AlertShown), escalation_id=e) for e in raised),
        30,
        "every alert on the supervisor console",
    )
    time.sleep(2.5)  # more resends and reconnects have had their chance to duplicate
    shown = collections.Counter(e.escalation_id for e in sev.of(ev.AlertShown))
    assert set(shown) == set(raised)  # zero lost
    assert max(shown.values()) == 1  # zero shown twice
    assert not cou.outbox.pending("esc.alert")


# -- the counselor app killed right after raising ------------------------------------------------
def test_counselor_sigkilled_after_raising_delivers_after_restart(
    tmp_path, tls_broker, agents, apps
):
    from storage.service import StoreService  # noqa: F401  (the real encrypted store is used)

    home = counselor_home(tmp_path, tls_broker, "c-alba")
    tls_broker.stop()  # the alert can only be in the encrypted outbox when the app dies
    app = counselor_app(apps, home, "--answer", "--raise", "urgent")
    app.wait_line(lambda x: x == "RAISED")
    raised = app.wait_line(lambda x: x.startswith("STATE ") and x.endswith(" raised -"))
    eid = raised.split()[1]
    app.kill()
    assert (home / "data" / "cases.db").exists()
    tls_broker.start()
    sup, sev = agents("supervisor", "sup-ana")
    again = counselor_app(apps, home)
    again.wait_line(lambda x: x == f"STATE {eid} delivered sup-ana", timeout=30)
    sev.wait_event(ev.AlertShown, fields(escalation_id=eid), 10)
    assert sup.alert(eid).level == "urgent"
    assert len(sev.of(ev.AlertShown)) == 1


def test_counselor_sigkilled_with_the_broker_up_is_also_delivered(
    tmp_path, tls_broker, agents, apps
):
    sup, sev = agents("supervisor", "sup-ana")
    home = counselor_home(tmp_path, tls_broker, "c-alba")
    app = counselor_app(apps, home, "--answer", "--raise", "consult")
    eid = app.wait_line(lambda x: x.startswith("STATE ") and " raised" in x).split()[1]
    app.kill()  # it may or may not have reached the broker, or even been confirmed: once
    delivered = f"STATE {eid} delivered sup-ana"
    time.sleep(0.3)  # the killed app's last lines reach its reader
    again = counselor_app(apps, home)
    if delivered not in app.lines:  # confirmed before the kill: nothing changes after restart
        again.wait_line(lambda x: x == delivered, timeout=30)
    sev.wait_event(ev.AlertShown, fields(escalation_id=eid), 20)
    time.sleep(1.0)  # a window for a duplicate that must NOT arrive
    assert len(matching(sev.of(ev.AlertShown), escalation_id=eid)) == 1


# -- broker unreachable, then back --------------------------------------------------------------
def _outage(tls_broker, agents, seconds=None, attempts=None):
    clock = FakeClock()
    cou, cev = agents(
        "counselor",
        "c-alba",
        clock=clock,
        **{
            "escalation.t1_s": {"urgent": 10.0},
            "escalation.t2_s": {"urgent": 20.0},
            "escalation.fallback_phone": "+1 555 0100",
        },
    )
    wait_until(lambda: cou.connected, timeout=15, what="connected")
    tls_broker.stop()
    wait_until(lambda: not cou.connected, timeout=15, what="link down")
    fails = []
    cou.link.client.on_connect_fail = lambda *a: (fails.append(1), cou.link._connect_failed(*a))
    eid = cou.raise_escalation("urgent", "call-1", call_s=61.0)
    start = time.monotonic()
    if seconds:
        time.sleep(seconds)
    if attempts:
        wait_until(lambda: len(fails) >= attempts, 60, f"{attempts} failed reconnections")
    outage = time.monotonic() - start
    clock.advance(9.0)
    assert not cev.of(ev.EscalationRealerted) and not cev.of(ev.FallbackNumberDue)
    clock.advance(2.0)
    assert matching(cev.of(ev.EscalationRealerted), escalation_id=eid)
    clock.advance(10.0)
    due = cev.of(ev.FallbackNumberDue)
    assert [(d.escalation_id, d.number) for d in due] == [(eid, "+1 555 0100")]
    clock.advance(600.0)
    assert len(cev.of(ev.FallbackNumberDue)) == 1  # shown once
    tls_broker.start()
    sup, sev = agents("supervisor", "sup-ana")
    cev.wait_event(ev.EscalationStateChanged, fields(escalation_id=eid, state=ev.DELIVERED), 30)
    shown = sev.wait_event(ev.AlertShown, fields(escalation_id=eid), 10)[1]
    assert shown.level == "urgent"
    wait_until(lambda: sup.alert(eid).realerted, 10, "the T1 re-alert on the console")
    return outage, fails


def test_broker_unreachable_5s_delivered_after_reconnect_and_fallback_after_t2(tls_broker, agents):
    outage, _ = _outage(tls_broker, agents, seconds=5.0)
    assert outage >= 5.0


def test_broker_unreachable_for_a_60s_equivalent_outage(tls_broker, agents):
    """60 s of absence at the production back-off cap (escalation.reconnect_max_s = 5 s) is
    12 failed reconnections; with the cap at 0.5 s the same 12 failures take ~6 s. Ladder
    time (T1/T2, resend) is FakeClock time, so it is the same at any speed. See
    docs/escalation.md, "Proving the 60 s outage"."""
    outage, fails = _outage(tls_broker, agents, attempts=12)
    assert len(fails) >= 12


# -- ACL and certificate probes -----------------------------------------------------------------
def test_acl_counselor_cannot_read_anothers_escalations_or_acknowledge(tls_broker, agents):
    sup, sev = agents("supervisor", "sup-ana")
    b, bev = agents("counselor", "c-bea")
    cert, key = tls_broker.issue("c-alba")
    spy, spied, state = raw_client(tls_broker, cert, key, client_id="faro-c-c-alba")
    assert state["rc"] is not None and not state["rc"].is_failure
    spy.subscribe([("faro/v1/#", 1), ("faro/v1/c/c-bea/#", 1), ("faro/v1/s/c-bea/#", 1)])
    wait_until(lambda: sup.connected and b.connected, timeout=15, what="connected")
    wait_until(lambda: state["subacks"] >= 1, timeout=5, what="the spy's subscriptions")
    eid = b.raise_escalation("urgent", "call-b")
    sev.wait_event(ev.AlertShown, fields(escalation_id=eid), 10)
    bev.wait_event(ev.EscalationStateChanged, fields(escalation_id=eid, state=ev.DELIVERED), 10)
    # A forges an acknowledgement, and an alert in B's name
    from escalation import messages as m

    forged = m.encode(m.Ack(m.new_id(), eid, "sup-ana", FakeClock().now()))
    info = spy.publish(topics.ack("c-bea", eid), forged, qos=1)
    info.wait_for_publish(5)
    fake = m.encode(
        m.Alert("x1", "x1", "c-bea", None, "consult", "test", 0.0, "unknown", FakeClock().now())
    )
    spy.publish(topics.alert("c-bea", "x1"), fake, qos=1).wait_for_publish(5)
    time.sleep(1.0)  # a window for what must NOT arrive (no event says "nothing came")
    spy.loop_stop()
    spy.disconnect()
    assert not matching(bev.of(ev.EscalationStateChanged), escalation_id=eid, state=ev.ACKNOWLEDGED)
    assert not matching(sev.of(ev.AlertShown), escalation_id="x1")
    assert [t for t, _ in spied if "c-bea" in t] == []
    # a supervisor's acknowledgement does go through
    sup.acknowledge(eid)
    bev.wait_event(ev.EscalationStateChanged, fields(escalation_id=eid, state=ev.ACKNOWLEDGED), 10)


def test_certificates_from_another_ca_expired_or_missing_are_refused(tmp_path, tls_broker):
    from escalation.pki import Authority, write_private

    good_cert, good_key = tls_broker.issue("c-alba")
    assert not refused(tls_broker, cert=good_cert, key=good_key)  # the probe can succeed
    rogue = Authority.create("Rogue")
    cert_pem, key_pem = rogue.issue("c-alba")
    write_private(tmp_path / "rogue.crt", cert_pem)
    write_private(tmp_path / "rogue.key", key_pem)
    assert refused(tls_broker, cert=tmp_path / "rogue.crt", key=tmp_path / "rogue.key")
    old_cert, old_key = tls_broker.expired("c-alba")
    assert refused(tls_broker, cert=old_cert, key=old_key)
    assert refused(tls_broker)  # no client certificate at all


# -- unexpected disconnect during a call ----------------------------------------------------------
def test_counselor_lost_during_a_call_alerts_supervisors(tmp_path, tls_broker, agents, apps):
    sup, sev = agents("supervisor", "sup-ana")
    home = counselor_home(tmp_path, tls_broker, "c-alba")
    app = counselor_app(apps, home, "--answer")
    app.wait_line(lambda x: x == "READY")
    sev.wait_event(ev.BoardChanged, fields(counselor="c-alba", status="on_call"), 20)
    app.kill()
    lost = sev.wait_event(ev.AlertShown, fields(counselor="c-alba", kind="disconnect"), 30)[1]
    assert sup.alert(lost.escalation_id).kind == "disconnect"
    assert len(matching(sev.of(ev.AlertShown), kind="disconnect")) == 1


def test_clean_shutdown_is_not_an_alarm(tmp_path, tls_broker, agents, apps):
    sup, sev = agents("supervisor", "sup-ana")
    home = counselor_home(tmp_path, tls_broker, "c-alba")
    app = counselor_app(apps, home, "--answer")
    app.wait_line(lambda x: x == "READY")
    sev.wait_event(ev.BoardChanged, fields(counselor="c-alba", status="on_call"), 20)
    app.close()
    sev.wait_event(ev.BoardChanged, fields(counselor="c-alba", status="offline"), 20)
    assert sup.board.suspected("c-alba") is None  # no Will: nothing to confirm lost later
    assert not matching(sev.of(ev.AlertShown), kind="disconnect")
