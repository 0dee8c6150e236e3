"""Messages, lifecycle, ladder, board, outbox (real SQLCipher store), service and certs."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest

from app.session import Session
from calls.model import Action, Command, Source
from core.config import Config
from core.status import Level, StatusReport
from escalation import events as ev
from escalation import messages as m
from escalation.board import Board
from escalation.counselor import CounselorAgent
from escalation.outbox import ALERT, MemoryOutbox
from tests.escalation.conftest import fields
from tests.support.toolkit import Recorder

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


# -- messages ---------------------------------------------------------------------------------
def _alert(**kw):
    base = dict(
        id="e1",
        escalation="e1",
        counselor="c-alba",
        contact="call1",
        level="urgent",
        reason="imminent_risk",
        call_s=61.5,
        risk="high",
        raised_at=NOW,
    )
    base.update(kw)
    return m.Alert(**base)


def test_messages_round_trip_and_carry_a_version():
    for msg in (
        _alert(),
        m.Receipt("r1", "e1", "sup-ana", NOW),
        m.Ack("a1", "e1", "sup-ana", NOW),
        m.Resolve("x1", "e1", "sup-ana", "advised", NOW),
        m.Whisper("w1", "e1", "sup-ana", "ask about means", NOW),
        m.Presence("c-alba", "on_call", NOW, 12.0, "sent", False, "p1"),
        m.Presence(
            "c-alba", "on_call", NOW, 12.0, None, False, "p2", ("caller_silent", "one_way_audio")
        ),
        m.Ring("g1", "c-alba", "abandoned", 4.0, NOW),
    ):
        data = m.encode(msg)
        assert json.loads(data)["v"] == 1
        assert m.decode(data) == msg


@pytest.mark.parametrize(
    "change,why",
    [
        ({"v": 2}, "newer"),
        ({"type": "bogus"}, "unknown message type"),
        ({"reason": "Caller Jane at 555-0100"}, "reason"),
        ({"level": "panic"}, "level"),
        ({"counselor": "a/b"}, "counselor"),
        ({"call_s": -1}, "call_s"),
        ({"id": ""}, "id"),
    ],
)
def test_decode_rejects_bad_or_free_text_payloads_without_echoing_them(change, why):
    d = json.loads(m.encode(_alert()))
    d.update(change)
    with pytest.raises(m.MessageError) as exc:
        m.decode(json.dumps(d).encode())
    assert why in str(exc.value)
    assert "555" not in str(exc.value) and "Jane" not in str(exc.value)


@pytest.mark.parametrize("health", [["Caller Jane is crying"], "caller_silent", [1]])
def test_presence_health_carries_only_known_codes(health):
    d = json.loads(m.encode(m.Presence("c-alba", "on_call", NOW, 1.0, id="p1")))
    d["health"] = health
    with pytest.raises(m.MessageError) as exc:
        m.decode(json.dumps(d).encode())
    assert "health" in str(exc.value) and "Jane" not in str(exc.value)


def test_decode_rejects_garbage():
    for raw in (b"", b"\xff", b"[]", b"{}", b"x" * 9000):
        with pytest.raises(m.MessageError):
            m.decode(raw)


# -- lifecycle and ladder (no broker: FakeClock only) --------------------------------------------
def _agent(fake_clock, bus, **opts):
    return CounselorAgent(
        Config.defaults().with_overrides(opts), fake_clock, bus, MemoryOutbox(), None
    )


def test_ladder_realerts_at_t1_and_shows_the_fallback_once_at_t2(fake_clock, bus, recorder):
    events = recorder
    agent = _agent(
        fake_clock,
        bus,
        **{
            "escalation.t1_s": {"consult": 60.0},
            "escalation.t2_s": {"consult": 120.0},
            "escalation.fallback_phone": "+1 555 0100",
        },
    )
    agent.start()
    eid = agent.raise_escalation("consult", "call1")
    assert [e.state for e in events.of(ev.EscalationStateChanged)] == ["raised"]
    assert agent.outbox.pending(ALERT)[0].message_id == eid  # persisted before publishing
    fake_clock.advance(59.9)
    assert not events.of(ev.EscalationRealerted)
    fake_clock.advance(0.2)
    assert len(events.of(ev.EscalationRealerted)) == 1
    fake_clock.advance(60.0)
    assert [f.number for f in events.of(ev.FallbackNumberDue)] == ["+1 555 0100"]
    fake_clock.advance(3600.0)
    assert len(events.of(ev.FallbackNumberDue)) == 1
    assert ("escalation.fallback", eid, {"level": "consult"}) in agent.outbox.audits


def test_acknowledgement_stops_the_ladder_and_fills_skipped_steps(fake_clock, bus, recorder):
    events = recorder
    agent = _agent(fake_clock, bus)
    agent.start()
    eid = agent.raise_escalation("urgent", "call1")
    agent._advance(eid, ev.ACKNOWLEDGED, "sup-ana")
    steps = [(e.state, e.by) for e in events.of(ev.EscalationStateChanged)]
    assert steps == [
        ("raised", None),
        ("sent", None),
        ("delivered", None),
        ("acknowledged", "sup-ana"),
    ]
    agent._advance(eid, ev.DELIVERED, "sup-ben")  # late receipt: no step back
    fake_clock.advance(10_000)
    assert not events.of(ev.EscalationRealerted) and not events.of(ev.FallbackNumberDue)
    history = agent.outbox.escalation(eid)["history"]
    assert history[0] == "raised" and history[-1] == "acknowledged"


# -- the supervisor's board ---------------------------------------------------------------------
def test_board_shows_an_alert_once_and_tracks_coverage(fake_clock):
    board = Board(fake_clock, coverage_minimum=2)
    shown, events = board.alert(_alert())
    assert shown and isinstance(events[0], ev.AlertShown)
    assert board.alert(_alert()) == (False, [])
    shown, events = board.alert(_alert(id="e1:r1", realert=True))
    assert not shown and events[0].realerted
    evs = board.presence(m.Presence("c-alba", "available", NOW, id="p1"))
    assert ev.CoverageAlarm(1, 2, True) in evs
    evs = board.presence(m.Presence("c-bea", "available", NOW, id="p2"))
    assert ev.CoverageAlarm(2, 2, False) in evs


def test_board_alarms_on_a_live_will_during_a_call_only_after_grace(fake_clock):
    board = Board(fake_clock, 0)
    board.presence(m.Presence("c-alba", "on_call", NOW, 5.0, id="p1"))
    will = m.Presence("c-alba", "offline", NOW, unexpected=True, id="w1")
    assert board.presence(will, live=False) == [ev.BoardChanged("c-alba", "offline")]  # replayed
    board.presence(m.Presence("c-alba", "on_call", NOW, 5.0, id="p2"))
    board.presence(will)
    board.presence(m.Presence("c-alba", "on_call", NOW, 6.0, id="p3"))  # came back in time
    assert board.confirm_lost("c-alba", "w1") == []
    will2 = m.Presence("c-alba", "offline", NOW, unexpected=True, id="w2")
    board.presence(will2)
    [shown] = board.confirm_lost("c-alba", "w2")
    assert shown.kind == "disconnect"
    assert board.confirm_lost("c-alba", "w2") == []


# -- the service in a session ----------------------------------------------------------------------
def test_session_starts_without_a_broker_and_says_so(paths, fake_clock):
    s = Session(Config.defaults(), paths=paths, clock=fake_clock)
    events = Recorder(s.bus)
    s.start()
    [report] = [e for e in events.of(StatusReport) if e.component == "broker"]
    assert report.level is Level.OFF
    s.stop()


def test_unreachable_broker_keeps_trying_and_escalations_are_raised(paths, fake_clock, tmp_path):
    from tests.support.escalation_broker import TlsBroker
    from tests.support.ports import free_port

    broker = TlsBroker(tmp_path / "b", port=free_port())  # never started
    cfg = Config.defaults().with_overrides(broker.overrides("c-alba", "counselor"))
    s = Session(cfg, paths=paths, clock=fake_clock)
    events = Recorder(s.bus)
    s.start()
    s.calls.handle(Command(Action.ANSWER, Source.BUTTON_BOX))
    s.calls.handle(Command(Action.ESCALATE, Source.BUTTON_BOX))
    [state] = events.of(ev.EscalationStateChanged)
    assert state.state == "raised" and state.level == "consult"
    assert state.call_id == s.calls.call.id
    reports = [e for e in events.of(StatusReport) if e.component == "broker"]
    assert reports[-1].level is Level.WARNING
    s.stop()


def test_bad_tls_configuration_is_an_error_status_not_a_crash(paths, fake_clock):
    cfg = Config.defaults().with_overrides({"escalation.broker_host": "broker.example.org"})
    s = Session(cfg, paths=paths, clock=fake_clock)
    events = Recorder(s.bus)
    s.start()
    reports = [e for e in events.of(StatusReport) if e.component == "broker"]
    assert reports[-1].level is Level.ERROR and "faro certs" in reports[-1].text
    s.stop()


# -- faro certs -------------------------------------------------------------------------------------
def test_certs_command_writes_private_files_and_refuses_to_replace_the_ca(tmp_path, capsys):
    import grp
    import os

    from console.cli import main
    from escalation.pki import common_name

    pki = tmp_path / "pki"
    group = grp.getgrgid(os.getegid()).gr_name  # one this process may give files to
    assert main(["certs", "ca", "--org", "City Helpline", "--dir", str(pki)]) == 0
    assert main(["certs", "issue", "c-alba", "--dir", str(pki)]) == 0
    assert (
        main(
            [
                "certs",
                "broker",
                "127.0.0.1",
                "broker.example.org",
                "--dir",
                str(pki),
                "--out",
                str(tmp_path / "etc" / "faro"),
                "--group",
                group,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "certs",
                "acl",
                "--supervisor",
                "sup-ana",
                "--it",
                "it-desk",
                "--out",
                str(tmp_path / "etc" / "faro" / "acl"),
                "--group",
                group,
            ]
        )
        == 0
    )
    # the organisation's and the laptops' keys: 0600, whatever --group says
    for f in (
        "ca.key",
        "ca.crt",
        "c-alba.crt",
        "c-alba.key",
        "c-alba.cli.crt",
        "c-alba.cli.key",
        "broker.key",
    ):
        assert stat.S_IMODE((pki / f).stat().st_mode) == 0o600
    # what the broker reads after dropping to its own user: 0640 root:GROUP in a 0750 folder
    out = tmp_path / "etc" / "faro"
    assert stat.S_IMODE(out.stat().st_mode) == 0o750 and out.stat().st_gid == os.getegid()
    for f in ("broker.crt", "broker.key", "ca.crt", "acl"):
        st = (out / f).stat()
        assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o640, os.getegid()), f
    assert not (out / "ca.key").exists()
    assert common_name(pki / "c-alba.crt") == "c-alba"
    assert common_name(pki / "c-alba.cli.crt") == "c-alba.cli"
    acl = (out / "acl").read_text()
    assert "user sup-ana\n" in acl and "user sup-ana.cli\n" in acl and "user it-desk.cli\n" in acl
    assert main(["certs", "ca", "--org", "Other", "--dir", str(pki)]) == 65
    assert main(["certs", "issue", "bad/name", "--dir", str(pki)]) == 65
    assert main(["certs", "issue", "c-bea.cli", "--dir", str(pki)]) == 65  # reserved suffix
    assert "There is already a CA" in capsys.readouterr().err


def test_packaged_broker_files_match_the_renderer():
    from pathlib import Path

    from escalation.broker import acl_text

    root = Path(__file__).resolve().parents[2] / "packaging" / "broker"
    conf = (root / "mosquitto.conf").read_text()
    lines = [x.strip() for x in conf.splitlines() if x.strip() and not x.startswith("#")]
    for line in (
        "require_certificate true",
        "use_identity_as_username true",
        "use_username_as_clientid true",
        "allow_anonymous false",
    ):
        assert line in lines
    # Debian's stock mosquitto.conf sets these; repeating them in conf.d is fatal or doubles
    assert not [
        x for x in lines if x.split()[0] in ("persistence_location", "log_dest", "pid_file", "user")
    ]
    assert acl_text(["sup-ana"], it=["it-desk"]) in (root / "acl.example").read_text()


def test_embedded_broker_runs_an_escalation_with_mosquitto_and_with_amqtt(tmp_path):
    import time

    from core.clock import SystemClock
    from core.events import EventBus
    from escalation.broker import start_embedded_broker
    from escalation.supervisor import SupervisorAgent
    from escalation.transport import LinkSettings

    for kind in ("mosquitto", "amqtt"):
        broker = start_embedded_broker(tmp_path / kind, prefer=(kind,))
        assert broker.kind == kind and broker.host == "127.0.0.1"
        made = []
        try:
            for cls, cn, role in (
                (SupervisorAgent, "demo-supervisor", "supervisor"),
                (CounselorAgent, "demo-counselor", "counselor"),
            ):
                cfg = Config.defaults().with_overrides(broker.client_overrides(cn, role))
                bus = EventBus()
                a = cls(cfg, SystemClock(), bus, MemoryOutbox(), LinkSettings.from_config(cfg))
                made.append((a, Recorder(bus)))
                a.start()
            (sup, sev), (cou, cev) = made
            end = time.monotonic() + 10
            while not (sup.connected and cou.connected) and time.monotonic() < end:
                time.sleep(0.02)
            eid = cou.raise_escalation("urgent", "call1")
            sev.wait_event(ev.AlertShown, fields(escalation_id=eid), 10)
            sup.acknowledge(eid)
            cev.wait_event(
                ev.EscalationStateChanged, fields(escalation_id=eid, state=ev.ACKNOWLEDGED), 10
            )
        finally:
            for a, _ in made:
                a.stop()
                a.clock.stop()
            broker.stop()
