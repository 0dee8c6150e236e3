"""The counselor's chat service (chat/service.py) in a real Session, against a real Prosody and
the real router, with the person as a real slixmpp peer (tests/support/chat_peers.py)."""

from __future__ import annotations

import threading
import time

import pytest

from app.session import Session
from app.wiring import CHAT_PASSWORD
from chat import events as ev
from chat import protocol as p
from chat.service import ChatRefused
from core.config import Config
from core.privacy import Personal
from core.status import StatusReport
from tests.support.chat_peers import GuestPeer
from tests.support.toolkit import Recorder

pytestmark = pytest.mark.timeout(90)
PASS = "correct horse battery staple 9"


def test_the_service_is_inert_when_the_chat_line_is_off(paths):
    session = Session(Config.defaults(), paths=paths, services=("chat.service",))
    rec = Recorder(session.bus, ev.ChatLine, StatusReport)
    with session:
        chat = session.service("chat")
        assert chat is not None and not chat.enabled
        assert rec.of(ev.ChatLine)[-1].state == "off"
        assert not [r for r in rec.of(StatusReport) if r.component == "chat"]  # no chip
        assert not any(t.name == "faro-chat" for t in threading.enumerate())
        with pytest.raises(ChatRefused):
            chat.send("x" * 10, "hola")
        chat.accept("whatever")  # nothing happens, nothing raises


def _session(server, paths, counselor="c-alba", **extra):
    config = Config.defaults().with_overrides(
        {
            "chat.enabled": True,
            "chat.domain": server.domain,
            "chat.host": "127.0.0.1",
            "chat.port": server.c2s_port,
            "chat.ca_file": str(server.ca),
            "identity.counselor_id": counselor,
            "storage.unlock_target_ms": 1,
            **extra,
        }
    )
    session = Session(config, paths=paths, services=("storage.service", "chat.service"))
    store = session.service("store")
    store.init(PASS)
    store.set_secret(CHAT_PASSWORD, f"pw-{counselor[2:]}")
    store.lock("user")
    return session, store


def test_a_whole_chat_through_the_service_signed_in_at_unlock(server, router, peers, paths):
    session, store = _session(server, paths)
    rec = Recorder(session.bus)
    session.start()
    chat_svc = session.service("chat")
    try:
        assert rec.wait_for(lambda: any(e.state == "connecting" for e in rec.of(ev.ChatLine)))
        time.sleep(0.5)
        assert not any(e.state == "connected" for e in rec.of(ev.ChatLine))  # locked: no sign-in
        store.unlock(PASS)
        rec.wait_event(ev.ChatLine, lambda e: e.state == "connected", 15)
        guest = GuestPeer(peers, server, lang="es").connect().hello()
        _, offer = rec.wait_event(ev.ChatOffered, timeout=15)
        assert offer.lang == "es" and offer.expires_s > 0
        assert offer.chat in chat_svc.offers
        chat_svc.accept(offer.chat)
        rec.wait_event(ev.ChatAssigned, lambda e: e.chat == offer.chat, 10)
        assert chat_svc.chats == (offer.chat,) and not chat_svc.offers
        guest.expect("state", state="connected")
        mid = guest.say("necesito hablar <a href='x'>aquí</a>")
        _, got = rec.wait_event(ev.ChatMessage, lambda e: e.mid == mid, 10)
        assert got.direction == "in" and isinstance(got.text, Personal)
        assert got.text.reveal() == "necesito hablar <a href='x'>aquí</a>"
        assert got.seq == 1 and got.at.tzinfo is not None
        guest.expect("receipt", mid=mid)  # the console has it
        chat_svc.read(offer.chat, mid)
        guest.expect("displayed", mid=mid)
        guest.typing(True)
        rec.wait_event(ev.ChatTyping, lambda e: e.chat == offer.chat and e.typing, 10)
        chat_svc.typing(offer.chat, True)
        guest.expect("typing", state="composing")
        with pytest.raises(ChatRefused) as too_long:
            chat_svc.send(offer.chat, "x" * (p.MAX_BODY + 1))
        assert too_long.value.reason == "too_long" and "2000" in too_long.value.message
        with pytest.raises(ChatRefused):
            chat_svc.send(offer.chat, "bin\x00ary")
        out = chat_svc.send(offer.chat, "Te leo. ¿Estás a salvo para seguir escribiendo?")
        _, mine = rec.wait_event(ev.ChatMessage, lambda e: e.mid == out, 10)
        assert mine.direction == "out"
        rec.wait_event(ev.ChatDelivery, lambda e: e.mid == out and e.state == "sent", 10)
        assert guest.expect("msg", mid=out).body.startswith("Te leo.")
        rec.wait_event(ev.ChatDelivery, lambda e: e.mid == out and e.state == "received", 10)
        guest.read(out)
        rec.wait_event(ev.ChatDelivery, lambda e: e.mid == out and e.state == "read", 10)
        assert guest.none("msg", wait=0.2)  # refused ones never left
        chat_svc.end(offer.chat)
        rec.wait_event(ev.ChatEnded, lambda e: e.reason == "by_counselor", 10)
        guest.expect("state", state="closed", reason="by_counselor")
        assert chat_svc.chats == ()
        # no text in any event's printed form
        assert "necesito" not in " ".join(repr(e) for e in rec.events)
    finally:
        session.stop()


def test_busy_means_no_offers_and_the_person_leaving_ends_the_chat(server, router, peers, paths):
    session, store = _session(server, paths)
    rec = Recorder(session.bus)
    session.start()
    chat_svc = session.service("chat")
    try:
        store.unlock(PASS)
        rec.wait_event(ev.ChatLine, lambda e: e.state == "connected", 15)
        chat_svc.set_capacity(2, busy=True)  # on a phone call
        guest = GuestPeer(peers, server).connect().hello()
        guest.expect("state", state="waiting")
        time.sleep(1.0)
        assert not rec.of(ev.ChatOffered)
        chat_svc.set_capacity(2, busy=False)
        _, offer = rec.wait_event(ev.ChatOffered, timeout=10)
        chat_svc.accept(offer.chat)
        rec.wait_event(ev.ChatAssigned, timeout=10)
        guest.bye()
        rec.wait_event(ev.ChatEnded, lambda e: e.reason == "by_person", 10)
    finally:
        session.stop()


def _accepted_chat(server, peers, paths):
    """A console signed in at unlock with one chat accepted: (session, rec, service, guest,
    chat); the caller stops the session."""
    session, store = _session(server, paths)
    rec = Recorder(session.bus)
    session.start()
    try:
        chat_svc = session.service("chat")
        store.unlock(PASS)
        rec.wait_event(ev.ChatLine, lambda e: e.state == "connected", 15)
        guest = GuestPeer(peers, server).connect().hello()
        _, offer = rec.wait_event(ev.ChatOffered, timeout=10)
        chat_svc.accept(offer.chat)
        rec.wait_event(ev.ChatAssigned, timeout=10)
        guest.expect("state", state="connected")
    except BaseException:
        session.stop()
        raise
    return session, rec, chat_svc, guest, offer.chat


def _each_arrives_once(rec, chat_svc, guest, chat, outs, ins) -> None:
    """What both sides wrote while a part was down arrives, once each and in order."""
    for mid in outs:
        guest.expect("msg", mid=mid, timeout=25)
    for mid in ins:
        rec.wait_event(ev.ChatMessage, lambda e, m=mid: e.mid == m, 25)
    for mid in outs:
        rec.wait_event(ev.ChatDelivery, lambda e, m=mid: e.mid == m and e.state == "received", 25)
    time.sleep(0.5)
    incoming = [e.mid for e in rec.of(ev.ChatMessage) if e.direction == "in"]
    assert incoming == ins  # each once, in order
    assert not guest.taken("msg")
    assert chat_svc.chats == (chat,)


def test_server_restart_mid_chat_through_the_service(server, router, peers, paths):
    session, rec, chat_svc, guest, chat = _accepted_chat(server, peers, paths)
    try:
        server.stop()
        rec.wait_event(ev.ChatLine, lambda e: e.state == "connecting", 15)
        outs = [chat_svc.send(chat, f"mientras {i}") for i in range(3)]
        ins = [guest.say(f"durante {i}") for i in range(3)]
        server.start()
        router.wait_online()
        _each_arrives_once(rec, chat_svc, guest, chat, outs, ins)
        assert router.snapshot()["held"] == 0
    finally:
        session.stop()


def test_the_router_dying_mid_chat_through_the_service(server, peers, paths, tmp_path):
    """The router's process is killed and started again on its state file: the console's
    chat goes on, the same chat, with what both wrote meanwhile arriving once."""
    from tests.support.chat_peers import RouterThread

    state = str(tmp_path / "router-state.json")
    router = RouterThread(server, state_file=state).start()
    session, rec, chat_svc, guest, chat = _accepted_chat(server, peers, paths)
    try:
        time.sleep(0.5)  # the router's state is written
        router.kill()
        outs = [chat_svc.send(chat, f"mientras {i}") for i in range(2)]
        ins = [guest.say(f"durante {i}") for i in range(2)]
        router = RouterThread(server, state_file=state).start()
        _each_arrives_once(rec, chat_svc, guest, chat, outs, ins)
        assert not rec.of(ev.ChatEnded)
        assert router.snapshot()["connected"] == 1
    finally:
        session.stop()
        router.stop()


def test_a_refused_password_is_a_failed_line(server, router, paths):
    session, store = _session(server, paths)
    store.unlock(PASS)
    store.set_secret(CHAT_PASSWORD, "not-the-password")
    rec = Recorder(session.bus, ev.ChatLine)
    with session:
        _, failed = rec.wait_event(ev.ChatLine, lambda e: e.state == "failed", 20)
        assert "refused" in failed.text
