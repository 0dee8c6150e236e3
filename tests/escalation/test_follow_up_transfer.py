"""A follow-up handed from counselor A to counselor B through a supervisor, sealed so that only
B and the organisation can read it — on a real broker, with real encrypted stores: the whole
walk, a declined request, B offline (and locked) at the time, a broker restart mid-way; no
number or note in any MQTT payload; the package unreadable to the supervisor and to a third
counselor, readable with the organisation's recovery key."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from app.follow_up_transfer import TRANSFER_INFO
from calls.model import Call
from core.config import Config
from core.privacy import Personal
from core.sealing import SealError, private_from_b64, unseal
from escalation import messages as m
from escalation import topics
from storage.recovery import generate_pem_pair, load_private_key
from tests.escalation.test_consoles import _session
from tests.support.escalation_apps import start_connected
from tests.support.toolkit import wait_until

pytestmark = pytest.mark.timeout(180)

PASS = "una frase larga de prueba"
NUMBER = "5512345678"
NOTE = "Prefiere que le llamen por la tarde, habla de su hermana Lucía"
T = dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC)


# -- the messages ---------------------------------------------------------------------------
def test_transfer_messages_round_trip_and_carry_codes_only():
    req = m.TransferRequest("t1:req", "t1", "c-alba", "7", T, 3, "high", "end_of_shift", T)
    assert set(json.loads(m.encode(req))) == {
        "v", "type", "id", "transfer", "counselor", "follow_up", "due_at", "attempts_left",
        "risk", "reason", "at",
    }  # fmt: skip
    assert m.decode(m.encode(req)) == req
    key = base64.b64encode(b"k" * 32).decode()
    dec = m.TransferDecision("t1:dec", "t1", "c-alba", "sup-ana", True, "c-beto", key, None, T)
    assert m.decode(m.encode(dec)) == dec
    no = m.TransferDecision("t1:dec", "t1", "c-alba", "sup-ana", False, None, None, "keep_it", T)
    assert m.decode(m.encode(no)) == no
    d = json.loads(m.encode(req))
    d["follow_up"] = "Lucía 55 1234"  # no free text fits the id field
    with pytest.raises(m.MessageError):
        m.decode(json.dumps(d).encode())


def test_presence_key_is_a_trailing_field_old_peers_ignore():
    key = base64.b64encode(b"k" * 32).decode()
    p = m.Presence("c-alba", "available", T, id="p1", key=key)
    d = json.loads(m.encode(p))
    assert d["key"] == key and m.decode(m.encode(p)).key == key
    # an older console builds its Presence from the fields it knows: "key" is just ignored
    old = {k: v for k, v in d.items() if k != "key"}
    assert m.decode(json.dumps(old).encode()).key == ""
    d["later_field"] = [1, 2]  # and so do we with what a newer console adds
    assert m.decode(json.dumps(d).encode()).counselor == "c-alba"
    d["key"] = "not a key"
    with pytest.raises(m.MessageError):
        m.decode(json.dumps(d).encode())


def test_an_older_decoder_drops_transfer_types_as_message_errors(monkeypatch):
    data = m.encode(m.TransferRequest("t1:req", "t1", "c-alba", "7", T, 3, "low", "other", T))
    monkeypatch.setattr(m, "_TYPES", {k: v for k, v in m._TYPES.items() if "transfer" not in k})
    with pytest.raises(m.MessageError):
        m.decode(data)
    # and the topic is not one an older console parses (it logs and drops it)
    with pytest.raises(ValueError):
        topics.parse(topics.counselor_transfer("c-alba", "t1", "request"))


# -- on a real broker -------------------------------------------------------------------------
@pytest.fixture
def org_key(tmp_path):
    private, public = generate_pem_pair()
    (tmp_path / "org.pub").write_bytes(public)
    (tmp_path / "org.key").write_bytes(private)
    return tmp_path / "org.pub", load_private_key(tmp_path / "org.key")


def _counselor(tmp_path, broker, cn, org_pub, init=True):
    from app.session import Session
    from core.paths import Paths

    cfg = Config.defaults().with_overrides(
        {
            **broker.overrides(cn, "counselor"),
            "storage.unlock_target_ms": 1,
            "storage.recovery_public_key": str(org_pub),
            "escalation.resend_s": 1.0,
        }
    )
    s = Session(
        cfg, paths=Paths.under(tmp_path / cn), services=("storage.service", "escalation.service")
    )
    if init:
        s.service("store").init(PASS)
    return s


def _supervisor(tmp_path, broker, cn="sup-ana"):
    sup = _session(tmp_path, broker, cn, "supervisor", **{"escalation.resend_s": 1.0})
    heard: list[tuple[str, bytes]] = []
    agent = sup.service("escalation").supervisor
    real = agent._on_message

    def on_message(topic, payload, retained):  # everything under faro/v1/c/# and s/#
        heard.append((topic, bytes(payload)))
        real(topic, payload, retained)

    agent.link._on_message = on_message
    return sup, heard


def _follow_up(session, attempts=1):
    store = session.service("store")
    clock = session.clock
    call = Call("call-1", "phone", Personal(NUMBER), clock.now(), clock.monotonic())
    cs = store.vault.store
    cs.writer.call(lambda db: cs.record_call_in(db, call, {}))
    fid = store.add_follow_up("call-1", clock.now() + dt.timedelta(hours=24), max_attempts=4)
    for _ in range(attempts):
        store.record_follow_up_attempt(fid, "no_answer", False)
    return fid


def _transfers(sup):
    return sup.service("escalation").supervisor.transfers


def _item(sup, transfer):
    items, _keys = _transfers(sup).snapshot()
    return next((i for i in items if i.transfer == transfer), None)


def _state(sup, transfer):
    item = _item(sup, transfer)
    return item.state if item else None


def _received(session):
    store = session.service("store")
    return [f for f in store.follow_ups(open_only=True) if f.contact_id.startswith("xfer-")]


def _closed_as_transferred(session, fid):
    f = session.service("store").follow_ups(follow_up_id=fid)[0]
    return f.done and f.outcome == "transferred"


def _keys_known(sup, *cns):
    wait_until(lambda: all(c in _transfers(sup).keys for c in cns), 20, what="sealing keys")


def _stop(*sessions):
    for s in sessions:
        s.stop()


def test_a_follow_up_goes_from_a_to_b_sealed_and_closes_once(tmp_path, tls_broker, org_key):
    org_pub, org_private = org_key
    sup, heard = _supervisor(tmp_path, tls_broker)
    a = _counselor(tmp_path, tls_broker, "c-alba", org_pub)
    b = _counselor(tmp_path, tls_broker, "c-beto", org_pub)
    c = _counselor(tmp_path, tls_broker, "c-caro", org_pub)
    try:
        start_connected(sup, a, b, c)
        _keys_known(sup, "c-alba", "c-beto", "c-caro")
        fid = _follow_up(a)
        transfer = a.wiring.transfers.request(fid, "end_of_shift", NOTE)
        wait_until(lambda: _state(sup, transfer) == "pending", 15, what="request shown")
        item = _item(sup, transfer)
        assert (item.counselor, item.follow_up, item.attempts_left, item.reason) == (
            "c-alba",
            str(fid),
            3,
            "end_of_shift",
        )
        assert _transfers(sup).recipients(transfer) == ["c-beto", "c-caro"]
        _transfers(sup).approve(transfer, "c-beto")
        wait_until(lambda: _closed_as_transferred(a, fid), 20, what="original closed")
        wait_until(lambda: _state(sup, transfer) == "done", 15, what="supervisor sees done")
        got = _received(b)
        assert len(got) == 1 and got[0].max_attempts == 3
        bstore = b.service("store")
        assert bstore.follow_up_caller(got[0].id).reveal() == NUMBER
        assert bstore.contact(got[0].contact_id)["channel"] == "transfer:c-alba"
        note = bstore.notes(got[0].contact_id).text
        assert NOTE in note and "c-alba" in note and "no_answer" in note
        assert not _received(c)
        assert a.service("escalation").counselor.transfers.pending() == {}
        # nothing personal ever crossed the broker in clear
        assert heard
        for _topic, payload in heard:
            assert NUMBER.encode() not in payload and "Lucía".encode() not in payload
        # the package: not for the supervisor, nor for C; for B and for the organisation
        package = next(
            m.decode(p) for t, p in heard if t.endswith("/package") and t.startswith("faro/v1/c/")
        )
        c_key = private_from_b64(c.service("store").secret("transfer.sealing_key"))
        with pytest.raises(SealError):
            unseal(c_key, base64.b64decode(package.sealed), TRANSFER_INFO)
        with pytest.raises(SealError):
            unseal(c_key, base64.b64decode(package.org_sealed), TRANSFER_INFO)
        opened = json.loads(
            bytes(unseal(org_private, base64.b64decode(package.org_sealed), TRANSFER_INFO))
        )
        assert opened["caller"] == NUMBER and opened["note"] == NOTE
        assert [x["outcome"] for x in opened["attempts"]] == ["no_answer"]
        # the audit rows say what happened, never the number or the note
        rows = a.service("store").vault.store._read("SELECT action, detail FROM audit")
        assert ("follow_up.transferred" in [r[0] for r in rows]) and not any(
            NUMBER in r[1] or "Lucía" in r[1] for r in rows
        )
        # a package delivered again (a lost acceptance) adds nothing twice
        b.service("escalation").counselor.transfers._package(package, m.encode(package))
        b.wiring.transfers.work()
        assert len(_received(b)) == 1
    finally:
        _stop(a, b, c, sup)


def test_a_declined_request_leaves_the_follow_up_where_it_was(tmp_path, tls_broker, org_key):
    sup, _heard = _supervisor(tmp_path, tls_broker)
    a = _counselor(tmp_path, tls_broker, "c-alba", org_key[0])
    try:
        start_connected(sup, a)
        fid = _follow_up(a, attempts=0)
        seen = []
        from escalation.events import TransferChanged

        a.bus.subscribe(TransferChanged, seen.append)
        transfer = a.wiring.transfers.request(fid, "language")
        wait_until(lambda: _state(sup, transfer) == "pending", 15, what="request shown")
        _transfers(sup).decline(transfer, "keep_it")
        wait_until(
            lambda: any(e.state == "declined" and e.reason == "keep_it" for e in seen),
            15,
            what="declined",
        )
        f = a.service("store").follow_ups(follow_up_id=fid)[0]
        assert not f.done and f.outcome is None
        assert a.service("escalation").counselor.transfers.pending() == {}
        # it can be asked again
        again = a.wiring.transfers.request(fid, "other")
        wait_until(lambda: _state(sup, again) == "pending", 15, what="asked again")
    finally:
        _stop(a, sup)


def test_b_offline_and_locked_gets_it_when_back_and_unlocked(tmp_path, tls_broker, org_key):
    org_pub = org_key[0]
    sup, _heard = _supervisor(tmp_path, tls_broker)
    a = _counselor(tmp_path, tls_broker, "c-alba", org_pub)
    b = _counselor(tmp_path, tls_broker, "c-beto", org_pub)
    b2 = None
    try:
        start_connected(sup, a, b)
        _keys_known(sup, "c-beto")
        b.stop()  # B leaves: its key stays known to the board, its session on the broker
        fid = _follow_up(a)
        transfer = a.wiring.transfers.request(fid, "continuity")
        wait_until(lambda: _state(sup, transfer) == "pending", 15, what="request shown")
        _transfers(sup).approve(transfer, "c-beto")
        wait_until(lambda: _state(sup, transfer) == "sent", 15, what="package relayed")
        assert not _closed_as_transferred(a, fid)
        # B comes back with its store locked: the package waits (outbox, spool), unread
        b2 = _counselor(tmp_path, tls_broker, "c-beto", org_pub, init=False)
        start_connected(b2)
        agent = b2.service("escalation").counselor
        wait_until(lambda: agent.transfers.work(), 15, what="package held while locked")
        assert not _closed_as_transferred(a, fid)
        b2.service("store").unlock(PASS)
        wait_until(lambda: _closed_as_transferred(a, fid), 20, what="original closed")
        assert len(_received(b2)) == 1
        wait_until(lambda: _state(sup, transfer) == "done", 15, what="done")
    finally:
        _stop(*(s for s in (a, b2, sup) if s is not None))


def test_a_broker_restart_mid_transfer_loses_nothing(tmp_path, tls_broker, org_key):
    org_pub = org_key[0]
    sup, _heard = _supervisor(tmp_path, tls_broker)
    a = _counselor(tmp_path, tls_broker, "c-alba", org_pub)
    b = _counselor(tmp_path, tls_broker, "c-beto", org_pub)
    try:
        start_connected(sup, a, b)
        _keys_known(sup, "c-beto")
        fid = _follow_up(a)
        tls_broker.stop()  # the request can only wait in A's outbox
        wait_until(lambda: not a.service("escalation").connected, 15, what="down")
        transfer = a.wiring.transfers.request(fid, "end_of_shift", NOTE)
        tls_broker.start()
        wait_until(lambda: _state(sup, transfer) == "pending", 30, what="request after restart")
        _transfers(sup).approve(transfer, "c-beto")
        tls_broker.mosquitto.restart()  # again, while the package is on its way
        wait_until(lambda: _closed_as_transferred(a, fid), 40, what="original closed")
        wait_until(lambda: len(_received(b)) == 1, 10, what="one copy at B")
        agent = a.service("escalation").counselor
        wait_until(lambda: agent.transfers.work() == [], 10, what="no work left")
        assert agent.transfers.pending() == {}
    finally:
        _stop(a, b, sup)


def test_a_killed_sender_finishes_after_restart(tmp_path, tls_broker, org_key):
    """A stops with the package unsent (broker down); a new A process finishes the job."""
    org_pub = org_key[0]
    sup, _heard = _supervisor(tmp_path, tls_broker)
    a = _counselor(tmp_path, tls_broker, "c-alba", org_pub)
    b = _counselor(tmp_path, tls_broker, "c-beto", org_pub)
    a2 = None
    try:
        start_connected(sup, a, b)
        _keys_known(sup, "c-beto")
        fid = _follow_up(a)
        transfer = a.wiring.transfers.request(fid, "end_of_shift")
        wait_until(lambda: _state(sup, transfer) == "pending", 15, what="request shown")
        a.stop()
        _transfers(sup).approve(transfer, "c-beto")  # the decision waits in A's session
        a2 = _counselor(tmp_path, tls_broker, "c-alba", org_pub, init=False)
        a2.service("store").unlock(PASS)
        start_connected(a2)
        wait_until(lambda: _closed_as_transferred(a2, fid), 30, what="original closed")
        assert len(_received(b)) == 1
    finally:
        _stop(*(s for s in (a2, b, sup) if s is not None))
