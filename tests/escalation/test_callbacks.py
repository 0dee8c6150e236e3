"""Nothing left unanswered (issue 17): speed to answer and the service level per hour, and the
callback queue on a real broker — a missed ring becomes a callback on every supervisor,
assigned, called back, closed; an assignee who logs off gives it back; two supervisors
assigning at once end with one winner on both screens (and on the broker); a supervisor
console that restarts gets the queue back; a broker restart mid-way loses nothing; the number
goes sealed from the laptop that took the ring to the assignee's, and nowhere else; older
consoles drop what they do not know."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from calls.model import Call
from core.clock import FakeClock
from core.privacy import Personal
from core.sealing import SealError, new_private, private_from_b64, public_b64, unseal
from escalation import callbacks as cb
from escalation import messages as m
from escalation import topics
from escalation.outbox import MemoryOutbox
from tests.escalation.test_follow_up_transfer import _counselor, _supervisor
from tests.support.escalation_apps import start_connected
from tests.support.toolkit import wait_until

pytestmark = pytest.mark.timeout(180)

T = dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)
NUMBER = "5598765432"
FAST = {"escalation.resend_s": 1.0, "escalation.reconnect_max_s": 0.5}


# -- the messages ---------------------------------------------------------------------------
def test_callback_messages_round_trip_and_carry_codes_only():
    key = base64.b64encode(b"k" * 32).decode()
    s = m.CallbackState(
        "s1", "call1", "c-alba", "abandoned", 12.0, T, True, True, "assigned", 2, "sup-ana", T,
        "c-beto", key, None, None, 1,
    )  # fmt: skip
    assert m.decode(m.encode(s)) == s
    assert set(json.loads(m.encode(s))) == {
        "v", "type", "id", "callback", "counselor", "reason", "rang_s", "rung_at", "shown",
        "allowed", "state", "version", "by", "at", "assignee", "key", "why", "outcome", "attempts",
    }  # fmt: skip
    out = m.CallbackOutcome("o1", "call1", "c-beto", "c-alba", 2, "reached", T)
    assert m.decode(m.encode(out)) == out
    a = m.Answered("a1", "c-alba", 4.5, T)
    assert m.decode(m.encode(a)) == a
    d = json.loads(m.encode(out))
    d["outcome"] = "Lucía no contestó"  # no free text fits a code
    with pytest.raises(m.MessageError):
        m.decode(json.dumps(d).encode())
    d = json.loads(m.encode(s))
    d["version"] = 0
    with pytest.raises(m.MessageError):
        m.decode(json.dumps(d).encode())


def test_older_consoles_ignore_the_new_ring_fields_and_drop_the_new_types(monkeypatch):
    ring = m.Ring("r1", "c-alba", "abandoned", 3.0, T, "call1", True)
    d = json.loads(m.encode(ring))
    assert d["contact"] == "call1" and d["shown"] is True
    old = {k: v for k, v in d.items() if k not in ("contact", "shown")}  # an older counselor
    assert m.decode(json.dumps(old).encode()) == m.Ring("r1", "c-alba", "abandoned", 3.0, T)
    d["later_field"] = {"x": 1}  # and a newer one's extras are ignored
    assert m.decode(json.dumps(d).encode()) == ring
    new = [
        m.encode(m.Answered("a1", "c-alba", 4.5, T)),
        m.encode(m.CallbackOutcome("o1", "call1", "c-beto", "c-alba", 2, "reached", T)),
    ]
    monkeypatch.setattr(
        m, "_TYPES", {k: v for k, v in m._TYPES.items() if k != "answered" and "callback" not in k}
    )
    for data in new:  # an older console's decoder: an unknown type, logged and dropped
        with pytest.raises(m.MessageError):
            m.decode(data)
    # and the callback topics are not ones an older console parses
    for topic in (
        topics.supervisor_callback("c-alba", "call1", "state"),
        topics.counselor_callback("c-beto", "call1", "outcome"),
    ):
        with pytest.raises(ValueError):
            topics.parse(topic)
        assert topics.parse_transfer(topic) is None


# -- the service level ------------------------------------------------------------------------
def test_service_level_per_hour_counts_missed_against_it_and_may_leave_short_abandons_out():
    now = dt.datetime.now(dt.UTC).replace(minute=30)
    sl = cb.ServiceLevel(threshold_s=20.0, short_abandon_s=5.0)
    for i, rang in enumerate((3.0, 12.0, 19.9, 25.0)):
        sl.add(f"a{i}", now, True, rang, "answered")
    sl.add("m1", now, False, 30.0, "unanswered")
    sl.add("m2", now, False, 2.0, "abandoned")  # short: left out
    sl.add("m3", now, False, 8.0, "abandoned")
    assert not sl.add("m3", now, False, 8.0, "abandoned")  # each message once
    h = sl.hour(now)
    assert (h.contacts, h.within, h.answered, h.short) == (6, 3, 4, 1)
    assert h.level == pytest.approx(0.5) and h.asa_s == pytest.approx(14.975)
    sl.add("b1", now - dt.timedelta(hours=1), True, 2.0, "answered")
    assert sl.hour(now - dt.timedelta(hours=1)).level == 1.0
    assert sl.hour(now + dt.timedelta(hours=1)).level is None  # nothing yet: no figure
    all_count = cb.ServiceLevel(20.0, 0.0)  # the default: every abandon counts
    all_count.add("m2", now, False, 2.0, "abandoned")
    assert all_count.hour(now).contacts == 1 and all_count.hour(now).level == 0.0


def test_consent_rule():
    assert cb.allowed("if_number_shown", True)
    assert not cb.allowed("if_number_shown", False)  # a withheld number: never
    assert not cb.allowed("never", True)


# -- on a real broker -------------------------------------------------------------------------
def _item(sup, callback):
    return next((i for i in sup.callbacks.snapshot() if i.state.callback == callback), None)


def _state(sup, callback):
    """Where the callback stands for ``sup``, as heard back from the broker."""
    i = sup.callbacks.items.get(callback)
    return None if i is None else (i.state.state, i.state.assignee, i.state.why)


def _hour(sup):
    return sup.callbacks.service_level.hour(dt.datetime.now(dt.UTC))


def _connected_counselors(sup, *cns):
    wait_until(
        lambda: all(sup.callbacks.status.get(c) == "available" for c in cns),
        15,
        what="counselors' presence",
    )


def test_missed_ring_assigned_called_back_closed_on_every_supervisor(agents):
    ana, _ = agents("supervisor", "sup-ana", **FAST)
    ben, _ = agents("supervisor", "sup-ben", **FAST)
    alba, _ = agents("counselor", "c-alba", **FAST)
    beto, _ = agents("counselor", "c-beto", **FAST)
    beto.set_sealing_key(public_b64(new_private().public_key()))
    wait_until(lambda: all(a.connected for a in (ana, ben, alba, beto)), 15, what="connected")
    _connected_counselors(ana, "c-alba", "c-beto")
    wait_until(lambda: "c-beto" in ana.transfers.keys, 10, what="sealing key")
    alba.answered(6.0)
    alba.ring("abandoned", 14.0, "call-1", True)
    alba.ring("unanswered", 30.0, "call-2", False)  # a withheld number
    for sup in (ana, ben):
        wait_until(lambda s=sup: _state(s, "call-1") == ("open", None, None), 10, what="queued")
        wait_until(lambda s=sup: _state(s, "call-2") == ("open", None, None), 10, what="queued")
        wait_until(lambda s=sup: _hour(s).contacts == 3, 5, what="service level")
    h = _hour(ana)
    assert (h.contacts, h.within, h.answered) == (3, 1, 1)
    assert not _item(ana, "call-2").state.allowed
    with pytest.raises(ValueError):
        ana.callbacks.assign("call-2", "c-alba")  # withheld: cannot be called back
    assert ana.callbacks.assignees("call-1") == ["c-alba", "c-beto"]
    ana.callbacks.assign("call-1", "c-beto")
    for sup in (ana, ben):
        wait_until(lambda s=sup: _state(s, "call-1") == ("assigned", "c-beto", None), 10)
    wait_until(lambda: [s.callback for s in beto.callbacks.mine()] == ["call-1"], 10, what="on B")
    assert alba.callbacks.work()[0].assignee == "c-beto"  # A is asked to seal the number
    beto.callbacks.record("call-1", "reached")
    for sup in (ana, ben):
        wait_until(lambda s=sup: _state(s, "call-1")[0] == "closed", 10, what="closed")
    assert _item(ben, "call-1").state.outcome == "reached"
    wait_until(lambda: not beto.outbox.pending(cb.OUTCOME), 10, what="outcome taken")
    assert beto.callbacks.mine() == []
    ben.callbacks.close("call-2", "not_allowed")
    wait_until(lambda: _state(ana, "call-2")[0] == "closed", 10)


def test_a_callback_assigned_to_a_counselor_who_logs_off_comes_back_to_the_queue(agents):
    ana, ev = agents("supervisor", "sup-ana", **FAST)
    alba, _ = agents("counselor", "c-alba", **FAST)
    beto, _ = agents("counselor", "c-beto", **FAST)
    beto.set_sealing_key(public_b64(new_private().public_key()))
    wait_until(lambda: all(a.connected for a in (ana, alba, beto)), 15, what="connected")
    _connected_counselors(ana, "c-alba", "c-beto")
    wait_until(lambda: "c-beto" in ana.transfers.keys, 10, what="sealing key")
    alba.ring("abandoned", 9.0, "call-9", True)
    wait_until(lambda: _state(ana, "call-9") == ("open", None, None), 10)
    ana.callbacks.assign("call-9", "c-beto")
    wait_until(lambda: _state(ana, "call-9") == ("assigned", "c-beto", None), 10)
    wait_until(lambda: beto.callbacks.mine(), 10)
    beto.stop()  # logs off
    wait_until(
        lambda: _state(ana, "call-9") == ("open", None, cb.ASSIGNEE_OFFLINE), 10, what="given back"
    )
    assert "c-beto" not in ana.callbacks.assignees("call-9")
    with pytest.raises(ValueError):
        ana.callbacks.assign("call-9", "c-beto")
    ana.callbacks.assign("call-9", "c-alba")  # the counselor who missed it calls back
    wait_until(lambda: [s.callback for s in alba.callbacks.mine()] == ["call-9"], 10)
    assert alba.callbacks.work() == []  # its own: nothing to seal


def test_two_supervisors_assigning_at_once_end_with_one_winner_everywhere(agents):
    ana, _ = agents("supervisor", "sup-ana", **FAST)
    ben, _ = agents("supervisor", "sup-ben", **FAST)
    alba, _ = agents("counselor", "c-alba", **FAST)
    beto, _ = agents("counselor", "c-beto", **FAST)
    beto.set_sealing_key(public_b64(new_private().public_key()))
    wait_until(lambda: all(a.connected for a in (ana, ben, alba, beto)), 15, what="connected")
    for sup in (ana, ben):
        _connected_counselors(sup, "c-alba", "c-beto")
        wait_until(lambda s=sup: "c-beto" in s.transfers.keys, 10)
    alba.ring("unanswered", 30.0, "call-5", True)
    for sup in (ana, ben):
        wait_until(lambda s=sup: _state(s, "call-5") == ("open", None, None), 10)
    ana.callbacks.assign("call-5", "c-alba")
    ben.callbacks.assign("call-5", "c-beto")
    for sup in (ana, ben):
        wait_until(lambda s=sup: _item(s, "call-5").writing is None, 10, what="settled")
    won = _state(ana, "call-5")
    assert won == _state(ben, "call-5") and won[0] == "assigned"
    loser = ben if won[1] == "c-alba" else ana
    assert _item(loser, "call-5").lost_to == ("sup-ana" if loser is ben else "sup-ben")
    # the broker's retained copy is the winner too: a console starting now sees it
    late, _ = agents("supervisor", "sup-probe", **FAST)
    wait_until(lambda: _state(late, "call-5") is not None, 10, what="retained queue")
    wait_until(lambda: _state(late, "call-5") == won, 5, what="the winner retained")
    # and only the winner's assignee holds it
    wait_until(lambda: bool((alba if won[1] == "c-alba" else beto).callbacks.mine()), 10)
    other = beto if won[1] == "c-alba" else alba
    assert other.callbacks.mine() == []


def test_a_restarted_supervisor_console_gets_the_queue_back(agents):
    ana, _ = agents("supervisor", "sup-ana", **FAST)
    alba, _ = agents("counselor", "c-alba", **FAST)
    wait_until(lambda: ana.connected and alba.connected, 15, what="connected")
    _connected_counselors(ana, "c-alba")
    alba.ring("abandoned", 7.0, "call-a", True)
    alba.ring("busy", 0.0, "call-b", True)
    wait_until(lambda: _state(ana, "call-b") is not None, 10)
    ana.callbacks.assign("call-a", "c-alba")
    wait_until(lambda: _state(ana, "call-a") == ("assigned", "c-alba", None), 10)
    ana.stop()
    again, _ = agents("supervisor", "sup-ana", outbox=MemoryOutbox(), **FAST)  # nothing kept
    wait_until(lambda: _state(again, "call-a") == ("assigned", "c-alba", None), 10, what="back")
    assert _state(again, "call-b") == ("open", None, None)
    assert len(again.callbacks.snapshot()) == 2


def test_a_broker_restart_mid_way_loses_nothing(tls_broker, agents):
    ana, _ = agents("supervisor", "sup-ana", **FAST)
    alba, _ = agents("counselor", "c-alba", **FAST)
    wait_until(lambda: ana.connected and alba.connected, 15, what="connected")
    _connected_counselors(ana, "c-alba")
    tls_broker.stop()
    wait_until(lambda: not alba.connected, 10)
    alba.ring("abandoned", 21.0, "call-r", True)  # while the broker is away: in the outbox
    tls_broker.start()
    wait_until(lambda: _state(ana, "call-r") == ("open", None, None), 20, what="queued after")
    ana.callbacks.assign("call-r", "c-alba")
    wait_until(lambda: alba.callbacks.mine(), 10)
    tls_broker.stop()
    wait_until(lambda: not alba.connected, 10)
    alba.callbacks.record("call-r", "no_answer")  # recorded while the broker is away
    tls_broker.start()
    wait_until(lambda: _state(ana, "call-r") == ("open", None, "no_answer"), 20, what="back")
    assert _item(ana, "call-r").state.attempts == 1
    wait_until(lambda: not alba.outbox.pending(cb.OUTCOME), 10, what="outcome taken")
    # the Last Wills the broker's restart published took nothing away meanwhile
    ana.callbacks.assign("call-r", "c-alba")
    wait_until(lambda: _state(ana, "call-r") == ("assigned", "c-alba", None), 10)


def test_the_number_goes_sealed_to_the_assignee_and_nowhere_else(tmp_path, tls_broker, org_key):
    org_pub, _org_private = org_key
    sup, heard = _supervisor(tmp_path, tls_broker)
    a = _counselor(tmp_path, tls_broker, "c-alba", org_pub)
    b = _counselor(tmp_path, tls_broker, "c-beto", org_pub)
    c = _counselor(tmp_path, tls_broker, "c-caro", org_pub)
    try:
        start_connected(sup, a, b, c)
        agent = sup.service("escalation").supervisor
        wait_until(lambda: {"c-beto", "c-caro"} <= set(agent.transfers.keys), 20, what="keys")
        _connected_counselors(agent, "c-alba", "c-beto")
        # the ring that rang out on A: recorded in A's store, then missed, as the machine does
        clock = a.clock
        call = Call("call-x", "phone", Personal(NUMBER), clock.now(), clock.monotonic())
        cs = a.service("store").vault.store
        cs.writer.call(lambda db: cs.record_call_in(db, call, {"missed_reason": "abandoned"}))
        a.service("escalation").counselor.ring("abandoned", 11.0, call.id, bool(call.caller_id))
        wait_until(lambda: _state(agent, "call-x") == ("open", None, None), 10)
        agent.callbacks.assign("call-x", "c-beto")
        bwire = b.wiring.callbacks
        wait_until(lambda: bwire.number("call-x") is not None, 20, what="the number on B")
        assert bwire.number("call-x").reveal() == NUMBER
        assert c.wiring.callbacks.number("call-x") is None
        for _topic, payload in heard:  # nothing personal crossed the broker in clear
            assert NUMBER.encode() not in payload
        package = next(m.decode(p) for t, p in heard if t.endswith("/cb/call-x/package"))
        c_key = private_from_b64(c.service("store").secret("transfer.sealing_key"))
        with pytest.raises(SealError):
            unseal(c_key, base64.b64decode(package.sealed), b"faro callback number v1")
        b.service("escalation").counselor.callbacks.record("call-x", "reached")
        wait_until(lambda: _state(agent, "call-x")[0] == "closed", 10)
        assert bwire.number("call-x") is None  # done: no longer shown
        rows = b.service("store").vault.store._read("SELECT action, detail FROM audit")
        assert "callback.view" in [r[0] for r in rows]
        assert not any(NUMBER in (r[1] or "") for r in rows)
    finally:
        for s in (a, b, c, sup):
            s.stop()


@pytest.fixture
def org_key(tmp_path):
    from storage.recovery import generate_pem_pair, load_private_key

    private, public = generate_pem_pair()
    (tmp_path / "org.pub").write_bytes(public)
    (tmp_path / "org.key").write_bytes(private)
    return tmp_path / "org.pub", load_private_key(tmp_path / "org.key")


def test_supervisor_model_without_a_broker_waits_for_its_own_change_to_come_back():
    from core.config import Config
    from core.events import EventBus
    from escalation.supervisor import SupervisorAgent

    clock = FakeClock()
    sup = SupervisorAgent(Config.defaults(), clock, EventBus(), MemoryOutbox(), None)
    sup.callbacks.ring(m.Ring("r1", "c-alba", "abandoned", 5.0, clock.now(), "k1", True))
    item = _item(sup, "k1")
    assert item.writing is not None and item.state.version == 1  # on its way, not counted
    assert sup.outbox.pending(cb.STATE)  # outboxed before anything is published


def test_the_hours_service_level_survives_a_restart_of_the_supervisors_console(agents):
    from escalation.outbox import MemoryOutbox

    box = MemoryOutbox()  # what the supervisor's encrypted store keeps between runs
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=cb.ServiceLevel.HOURS_KEPT + 1)
    box.add(
        cb.SERVED,
        "ancient:served",
        json.dumps(
            {"at": old.isoformat(), "answered": True, "rang_s": 3.0, "reason": "answered"}
        ).encode(),
    )
    box.add(cb.SERVED, "broken:served", b"\xff not json")
    ana, _ = agents("supervisor", "sup-ana", outbox=box, **FAST)
    alba, _ = agents("counselor", "c-alba", **FAST)
    wait_until(lambda: ana.connected and alba.connected, 15, what="connected")
    _connected_counselors(ana, "c-alba")
    alba.answered(6.0)
    alba.ring("unanswered", 30.0, "call-5", True)
    wait_until(lambda: _hour(ana).contacts == 2, 10, what="service level")
    ana.stop()
    again, _ = agents("supervisor", "sup-ana", outbox=box, **FAST)
    wait_until(lambda: again.connected, 15, what="connected again")
    h = _hour(again)
    assert (h.contacts, h.answered, h.within) == (2, 1, 1)
    kept = {p.message_id for p in box.pending(cb.SERVED)}
    assert "ancient:served" not in kept and "broken:served" not in kept  # dropped, not counted
    assert again.callbacks.restore_service_level() == 0  # each contact once
