"""The roster on the escalation link, on a real broker: published, held retained, kept in
the supervisor's encrypted store, never overwritten unseen; the coverage of the hour; the
on-call ladder that moves on when its supervisor goes offline."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from core.clock import FakeClock
from escalation import events as ev
from escalation import messages as m
from escalation import roster_link as rl
from escalation.roster import COUNSELOR, SUPERVISOR, Shift
from tests.escalation.conftest import fields
from tests.support.toolkit import wait_until

pytestmark = pytest.mark.timeout(90)

NOW = dt.datetime(2026, 12, 4, 3, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def _shifts(*, on_call=("sup-ana", "sup-ben"), counselors=("c-alba",)) -> list[Shift]:
    out = [Shift(p, SUPERVISOR, NOW - 2 * H, NOW + 6 * H, on_call=True) for p in on_call]
    out += [Shift(c, COUNSELOR, NOW - 2 * H, NOW + 6 * H) for c in counselors]
    return out


def _wait_version(agent, version: int) -> None:
    wait_until(
        lambda: agent.roster.current is not None and agent.roster.current.roster.version == version,
        timeout=15,
        what=f"roster version {version} at {agent.identity}",
    )


# -- the message ---------------------------------------------------------------------------
def test_roster_messages_round_trip_and_ignore_what_a_newer_console_adds():
    p = rl.Published("r1", rl.Roster(3, tuple(_shifts())), "sup-ana", NOW, 2)
    back = rl.decode(rl.encode(p))
    assert back == p
    # a newer console's roster: an unknown field and longer shift rows still read here
    d = json.loads(rl.encode(p))
    d["tz"] = "America/Mexico_City"
    d["shifts"] = [row + ["team-norte", {"skills": ["es"]}] for row in d["shifts"]]
    newer = rl.decode(json.dumps(d).encode())
    assert newer.roster == p.roster


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\x00garbage",
        b"[]",
        b'{"type": "roster", "v": 99}',
        b'{"type": "alert", "v": 1}',
        json.dumps(
            {"v": 1, "type": "roster", "id": "x", "version": 1, "by": "s/#", "at": NOW.isoformat()}
        ).encode(),
        json.dumps(
            {
                "v": 1,
                "type": "roster",
                "id": "x",
                "version": 1,
                "by": "sup-ana",
                "at": NOW.isoformat(),
                "shifts": [["c-alba", "janitor", NOW.isoformat(), NOW.isoformat(), False]],
            }
        ).encode(),
        b"{" + b" " * (rl.MAX_BYTES + 1) + b"}",
    ],
)
def test_a_malformed_roster_is_refused_without_echoing_it(payload):
    with pytest.raises(m.MessageError) as err:
        rl.decode(payload)
    assert "c-alba" not in str(err.value) and "garbage" not in str(err.value)


# -- on the broker ---------------------------------------------------------------------------
def test_a_published_roster_reaches_every_supervisor_and_a_stale_edit_is_refused(agents):
    ana, ana_ev = agents("supervisor", "sup-ana")
    ben, ben_ev = agents("supervisor", "sup-ben")
    wait_until(lambda: ana.connected and ben.connected, timeout=15, what="connected")
    p = ana.roster.publish(_shifts(), base=0)
    assert p.roster.version == 1
    _wait_version(ben, 1)
    ben_ev.wait_event(ev.RosterChanged, fields(version=1, by="sup-ana"))
    # Ben started editing at version 0 too: his publish is refused, nothing is sent
    with pytest.raises(rl.RosterConflict) as err:
        ben.roster.publish(_shifts(counselors=("c-alba", "c-beto")), base=0)
    assert err.value.current == 1
    assert ana.roster.current.id == p.id
    # knowingly over version 1: version 2 everywhere
    ben.roster.publish(_shifts(counselors=("c-alba", "c-beto")), base=1)
    _wait_version(ana, 2)
    # a console that connects later gets the retained roster
    late, _late_ev = agents("supervisor", "sup-probe")
    _wait_version(late, 2)
    assert {s.person for s in late.roster.roster().shifts} >= {"c-alba", "c-beto"}


def test_an_older_roster_on_the_broker_is_replaced_by_the_newer_one_a_console_holds(agents):
    ana, _ = agents("supervisor", "sup-ana")
    wait_until(lambda: ana.connected, timeout=15, what="connected")
    v1 = ana.roster.publish(_shifts(), base=0)
    ben, _ = agents("supervisor", "sup-ben", start=False)
    # Ben's store had version 5 (published when this broker was not reachable)
    newer = rl.Published("zz-newer", rl.Roster(5, tuple(_shifts())), "sup-ben", NOW, 4)
    ben.roster.load(rl.encode(newer))
    ben.start()
    _wait_version(ana, 5)  # Ben saw version 1 retained, older than his: he put his back
    assert ben.roster.current.id == "zz-newer" and v1.id != "zz-newer"


def test_the_roster_is_kept_in_the_supervisors_encrypted_store_and_read_back_at_unlock(
    tmp_path, tls_broker
):
    from app.session import SUPERVISOR_SERVICES, Session
    from core.config import Config
    from core.paths import Paths

    cfg = Config.defaults().with_overrides(
        {**tls_broker.overrides("sup-ana", "supervisor"), "storage.unlock_target_ms": 1}
    )
    paths = Paths.under(tmp_path / "sup-ana")
    s = Session(cfg, paths=paths, services=SUPERVISOR_SERVICES)
    store = s.service("store")
    store.init("frase del supervisor larga")
    s.start()
    try:
        agent = s.service("escalation").supervisor
        wait_until(lambda: agent.connected, timeout=15, what="connected")
        agent.roster.publish(_shifts(), base=0)
        wait_until(lambda: store.secret(rl.STORE_SECRET) is not None, timeout=10, what="stored")
        assert rl.decode(store.secret(rl.STORE_SECRET).encode()).roster.version == 1
    finally:
        s.stop()
    # the next start, with the broker gone: the roster comes from the store at unlock
    tls_broker.stop()
    s2 = Session(cfg, paths=paths, services=SUPERVISOR_SERVICES)
    s2.start()
    try:
        agent = s2.service("escalation").supervisor
        assert agent.roster.current is None
        s2.service("store").unlock("frase del supervisor larga")
        wait_until(lambda: agent.roster.current is not None, timeout=10, what="loaded")
        assert agent.roster.current.roster.version == 1
    finally:
        s2.stop()


def test_the_first_alert_sounds_at_the_on_call_supervisor_and_moves_on_when_they_go(agents):
    ana, ana_ev = agents("supervisor", "sup-ana")
    ben, ben_ev = agents("supervisor", "sup-ben")
    cou, _ = agents("counselor", "c-alba")
    wait_until(
        lambda: ana.connected and ben.connected and cou.connected, timeout=15, what="connected"
    )
    now = ana.clock.now()
    shifts = [
        Shift("sup-ana", SUPERVISOR, now - H, now + H, on_call=True),
        Shift("sup-ben", SUPERVISOR, now - H, now + H, on_call=True),
        Shift("c-alba", COUNSELOR, now - H, now + H),
    ]
    ana.roster.publish(shifts, base=0)
    _wait_version(ben, 1)
    wait_until(
        lambda: (
            ben.roster.supervisors.get("sup-ana") == "available"
            and ana.roster.supervisors.get("sup-ben") == "available"
        ),
        timeout=15,
        what="each sees the other connected",
    )
    assert ana.roster.turn() == ("sup-ana",) == ben.roster.turn()
    esc = cou.raise_escalation("consult", "second_opinion")
    for e in (ana_ev, ben_ev):
        e.wait_event(ev.AlertShown, fields(escalation_id=esc))
    assert ana.roster.sounds_here(esc) and not ben.roster.sounds_here(esc)
    # Ana's laptop drops off before she acknowledges: the turn is Ben's, he is alerted once
    ana.stop()
    ben_ev.wait_event(ev.LadderMoved, fields(escalation_id=esc), timeout=20)
    assert ben.roster.turn() == ("sup-ben",)
    assert len([e for e in ben_ev.events if isinstance(e, ev.LadderMoved)]) == 1


def test_coverage_of_the_hour_from_the_roster_is_a_state_raised_once():
    """One busy counselor is short, not "0 available"; a counselor past the grace period is
    late; nobody left is uncovered; each level is raised once, however often it is read."""
    from core.config import Config
    from core.events import EventBus
    from escalation.outbox import MemoryOutbox
    from escalation.supervisor import SupervisorAgent
    from tests.support.toolkit import Recorder

    clock = FakeClock(wall=NOW)
    bus = EventBus()
    rec = Recorder(bus)
    agent = SupervisorAgent(Config.defaults(), clock, bus, MemoryOutbox(), None)
    assert agent.coverage() is None  # no roster: the board counts against the fixed minimum
    shifts = [
        Shift("sup-ana", SUPERVISOR, NOW - H, NOW + 8 * H, on_call=True),
        Shift("c-alba", COUNSELOR, NOW - H, NOW + 8 * H),
        Shift("c-beto", COUNSELOR, NOW + dt.timedelta(minutes=10), NOW + 8 * H),
    ]
    agent.roster.load(rl.encode(rl.Published("r1", rl.Roster(1, tuple(shifts)), "sup-ana", NOW, 0)))
    agent.roster.supervisor_presence("sup-ana", m.Presence("sup-ana", "available", NOW))

    def levels() -> list[str]:
        return [e.level for e in rec.events if isinstance(e, ev.CoverageLevel)]

    agent.board.presence(m.Presence("c-alba", "on_call", NOW))
    for _ in range(3):
        cov = agent.coverage()
    assert cov is not None and cov.coverage.level == "short" and cov.coverage.busy == ("c-alba",)
    clock.advance(12 * 60)  # Beto's shift started 2 min ago: waiting, not late yet
    assert agent.coverage().coverage.waiting == ("c-beto",)
    clock.advance(5 * 60)
    assert agent.coverage().coverage.late == ("c-beto",)
    agent.board.presence(m.Presence("c-alba", "offline", clock.now()))
    assert agent.coverage().coverage.level == "uncovered"
    agent.board.presence(m.Presence("c-beto", "available", clock.now()))
    assert agent.coverage().coverage.level == "short"  # Alba is late now
    agent.board.presence(m.Presence("c-alba", "available", clock.now()))
    assert agent.coverage().coverage.level == "ok"
    # the on-call supervisor goes offline: nobody to escalate to
    agent.roster.supervisor_presence("sup-ana", m.Presence("sup-ana", "offline", clock.now()))
    assert agent.coverage().coverage.level == "uncovered"
    assert levels() == ["short", "uncovered", "short", "ok", "uncovered"]
