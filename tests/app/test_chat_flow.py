"""The chat line's flow on a real Session with a real encrypted store (app/chat_flow.py): one
place decides capacity from the call machine, a break and the lock; a chat becomes a contact
with its transcript, kept in memory while the store is locked and written at unlock; its
wrap-up ends in the quality flow; the ring follows the offers.

The chat service here is a recorder standing in for chat/service.py: it takes the commands
and the test publishes the events the real service publishes (the end-to-end test with the
real service, router and Prosody is tests/console/test_chat_end_to_end.py)."""

from __future__ import annotations

import pytest

from app.chat_flow import ACTIVE, DONE, PENDING_CHAT, WRAP_UP, ChatCapacity, ChatContactChanged
from app.session import Session
from calls.model import Action, CallState, Source
from chat import events as cev
from chat import options as _chat_options  # noqa: F401 (declares chat.*)
from core.config import Config
from core.privacy import Personal
from storage.transcripts import contact_id

PASSPHRASE = "una frase larga de prueba"
SECRET = "no quiero seguir, <script>alert(1)</script>"


class FakeChatService:
    """Records what the flow tells the chat service."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.capacity: tuple[int, bool] | None = None

    enabled = True  # as chat.service.ChatService with chat.enabled

    def set_password(self, password: str) -> None: ...

    def start(self) -> None: ...
    def stop(self) -> None: ...

    def set_capacity(self, n: int, busy: bool) -> None:
        self.capacity = (n, busy)
        self.calls.append(("capacity", n, busy))

    def accept(self, chat: str) -> None:
        self.calls.append(("accept", chat))

    def decline(self, chat: str) -> None:
        self.calls.append(("decline", chat))

    def send(self, chat: str, text: str) -> str:
        self.calls.append(("send", chat))
        return f"m{len(self.calls)}"


class FakeRinger:
    def __init__(self) -> None:
        self.ringing = False

    def start(self) -> None: ...
    def stop(self) -> None: ...

    def ring(self) -> None:
        self.ringing = True

    def silence(self) -> None:
        self.ringing = False


@pytest.fixture
def session(paths, fake_clock, bus):
    config = Config(
        {
            "calls.backend": "companion",
            "storage.unlock_target_ms": 1,
            "security.lock_idle_minutes": 0,
            "chat.enabled": True,
        }
    )
    s = Session(config, paths=paths, clock=fake_clock, bus=bus, services=("storage.service",))
    s.add_service("chat", FakeChatService())
    if s.service("ringer") is None:
        s.add_service("ringer", FakeRinger())
    s.service("store").init(PASSPHRASE)
    s.start()
    yield s
    s.stop()


def _msg(chat, mid, direction, text, seq, fake_clock):
    return cev.ChatMessage(chat, mid, direction, Personal(text), fake_clock.now(), seq)


def test_capacity_follows_calls_breaks_and_the_lock(session, recorder):
    flow, svc, calls = session.wiring.chat, session.service("chat"), session.calls
    session.bus.publish(cev.ChatLine("connected", ""))
    assert svc.capacity == (2, False)
    calls.on_incoming("+5215550001111")
    assert svc.capacity == (2, True)  # a call rings: no chat is offered
    assert flow.refusal() == "Finish the call first: a chat cannot be taken during a call."
    calls.do(Action.ANSWER, Source.UI)
    calls.do(Action.HANG_UP, Source.UI)
    assert svc.capacity == (2, True)  # its wrap-up too
    calls.do(Action.FINISH_WRAP_UP, Source.UI, disposition="support")
    assert svc.capacity == (2, False)
    calls.do(Action.START_BREAK, Source.UI)
    assert svc.capacity == (2, True) and flow.refusal().startswith("You are on a break")
    calls.do(Action.END_BREAK, Source.UI)
    session.service("store").lock("user")
    assert svc.capacity == (2, True) and flow.refusal() == "Unlock the case notes to take a chat."
    session.service("store").unlock(PASSPHRASE)
    assert svc.capacity == (2, False)
    reasons = [e.reason for e in recorder.of(ChatCapacity)]
    assert {"call", "break", "locked", ""} <= set(reasons)


def test_chats_occupy_the_call_machine_and_fill_up(session, fake_clock):
    flow, svc, calls = session.wiring.chat, session.service("chat"), session.calls
    bus = session.bus
    bus.publish(cev.ChatLine("connected", ""))
    for chat in ("chatAAAA0001", "chatBBBB0002"):
        bus.publish(cev.ChatOffered(chat, 30.0, "es", 30.0))
        assert flow.accept(chat) is None
        bus.publish(cev.ChatAssigned(chat, "es"))
    assert ("accept", "chatAAAA0001") in svc.calls
    assert svc.capacity == (2, True)  # full
    assert calls.occupied
    calls.on_incoming("+5215550002222")  # a call while chats are held: missed as busy
    assert calls.state is CallState.AVAILABLE
    # a chat ends: its wrap-up still holds its place; finished, the place is free again
    bus.publish(cev.ChatEnded("chatAAAA0001", "by_person"))
    assert svc.capacity == (1, True)
    assert flow.finish_wrap_up("chatAAAA0001", None) == (
        "Choose how the chat ended to finish its wrap-up."
    )
    assert flow.finish_wrap_up("chatAAAA0001", "support") is None
    assert svc.capacity == (2, False)
    bus.publish(cev.ChatEnded("chatBBBB0002", "by_counselor"))
    flow.finish_wrap_up("chatBBBB0002", "information")
    assert not calls.occupied


def test_chats_with_a_call_when_the_organisation_allows_it(paths, fake_clock):
    config = Config(
        {
            "calls.backend": "companion",
            "storage.unlock_target_ms": 1,
            "chat.enabled": True,
            "chat.chats_with_call": True,
        }
    )
    s = Session(config, paths=paths, clock=fake_clock, services=("storage.service",))
    s.add_service("chat", FakeChatService())
    s.service("store").init(PASSPHRASE)
    s.start()
    try:
        s.bus.publish(cev.ChatLine("connected", ""))
        s.calls.do(Action.ANSWER, Source.UI)  # the companion starts a call
        assert s.service("chat").capacity == (2, False)
        s.bus.publish(cev.ChatOffered("chatCCCC0003", 1.0, "en", 30.0))
        assert s.wiring.chat.accept("chatCCCC0003") is None
        s.bus.publish(cev.ChatAssigned("chatCCCC0003", "en"))
        assert not s.calls.occupied
    finally:
        s.stop()


def test_a_chat_is_a_contact_with_its_transcript_kept_while_locked(session, fake_clock, recorder):
    bus, store, flow = session.bus, session.service("store"), session.wiring.chat
    chat = "chatDDDD0004"
    bus.publish(cev.ChatOffered(chat, 45.0, "es", 30.0))
    fake_clock.advance(5)
    flow.accept(chat)
    bus.publish(cev.ChatAssigned(chat, "es"))
    cid = contact_id(chat)
    row = store.contact(cid)
    assert row["channel"] == "chat" and row["answered_at"]
    fake_clock.advance(3)
    bus.publish(_msg(chat, "g1", "in", SECRET, 1, fake_clock))
    bus.publish(_msg(chat, "c1", "out", "Aquí estoy.", 2, fake_clock))
    bus.publish(cev.ChatDelivery(chat, "c1", "read"))
    store.lock("user")
    for i in range(3, 8):  # the conversation goes on while the notes are locked
        bus.publish(_msg(chat, f"g{i}", "in", f"mensaje {i}", i, fake_clock))
    assert flow.pending() == 5
    store.unlock(PASSPHRASE)
    assert flow.pending() == 0
    lines = store.chat_transcript(cid)
    assert [x.mid for x in lines] == ["g1", "c1", "g3", "g4", "g5", "g6", "g7"]
    assert lines[0].text == SECRET and lines[1].delivery == "read"
    # the end and the wrap-up: the contact's row, its note as a version
    store.draft(cid, "Escribe desde casa; se siente en riesgo.")
    fake_clock.advance(60)
    bus.publish(cev.ChatEnded(chat, "by_person"))
    assert store.contact(cid)["ended_by"] == "caller"
    assert flow.finish_wrap_up(chat, "support") is None
    assert store.contact(cid)["disposition"] == "support"
    assert store.note_history(cid)[-1].text.startswith("Escribe desde casa")
    phases = [e.phase for e in recorder.of(ChatContactChanged)]
    assert phases == ["offered", ACTIVE, WRAP_UP, DONE]


def test_the_pending_transcript_is_bounded(session, fake_clock, caplog):
    store, flow, bus = session.service("store"), session.wiring.chat, session.bus
    store.lock("user")
    for i in range(PENDING_CHAT + 3):
        bus.publish(_msg("chatEEEE0005", f"g{i}", "in", SECRET, i, fake_clock))
    assert flow.pending() == PENDING_CHAT and flow.dropped == 3
    assert SECRET not in caplog.text and "no quiero" not in caplog.text


def test_the_ring_follows_the_offers_and_leaves_a_ringing_call_alone(session):
    bus, ringer, flow = session.bus, session.service("ringer"), session.wiring.chat
    bus.publish(cev.ChatLine("connected", ""))
    bus.publish(cev.ChatOffered("chatFFFF0006", 2.0, "es", 30.0))
    assert ringer.ringing
    bus.publish(cev.ChatWithdrawn("chatFFFF0006", "expired"))
    assert not ringer.ringing
    bus.publish(cev.ChatOffered("chatFFFF0007", 2.0, "es", 30.0))
    flow.decline("chatFFFF0007")
    assert not ringer.ringing and ("decline", "chatFFFF0007") in session.service("chat").calls


def test_escalating_a_chat_names_its_contact(session, recorder):
    from calls.events import EscalationRequested

    bus, flow = session.bus, session.wiring.chat
    bus.publish(cev.ChatOffered("chatGGGG0008", 2.0, "es", 30.0))
    assert not flow.escalate("chatGGGG0008")  # not accepted yet
    flow.accept("chatGGGG0008")
    bus.publish(cev.ChatAssigned("chatGGGG0008", "es"))
    assert flow.escalate("chatGGGG0008", "urgent")
    (req,) = recorder.of(EscalationRequested)
    assert req.call_id == "chat:chatGGGG0008" and req.level == "urgent"


def test_the_quality_record_of_a_chat_carries_its_figures(session, fake_clock):
    bus, flow, store = session.bus, session.wiring.chat, session.service("store")
    chat = "chatHHHH0009"
    bus.publish(cev.ChatOffered(chat, 20.0, "es", 30.0))
    flow.accept(chat)
    bus.publish(cev.ChatAssigned(chat, "es"))
    fake_clock.advance(4)
    bus.publish(_msg(chat, "c1", "out", "Hola, aquí estoy.", 1, fake_clock))
    fake_clock.advance(6)
    bus.publish(_msg(chat, "g1", "in", SECRET, 2, fake_clock))
    fake_clock.advance(15)
    bus.publish(_msg(chat, "c2", "out", "Te leo.", 3, fake_clock))
    bus.publish(cev.ChatEnded(chat, "by_counselor"))
    call = flow.contact(chat)
    record = session.wiring.quality.record(store, call, "support", "c-alba")
    assert record.channel == "chat" and record.messages_in == 1 and record.messages_out == 2
    assert record.response_median_s == 9.5 and record.longest_wait_s == 20.0
    assert record.audio is False and record.talk_share is None


def test_an_imminent_risk_assessment_of_a_chat_proposes_an_urgent_escalation(
    session, recorder, paths, fake_clock
):
    from escalation.events import EscalationProposed
    from storage.records import RiskAssessment

    bus, flow, store = session.bus, session.wiring.chat, session.service("store")

    class Escalation:  # present: proposals are shown (the real one: tests/escalation)
        def start(self) -> None: ...
        def stop(self) -> None: ...
        def risk_assessed(self, contact_id: str, imminent: bool) -> None: ...

    session.add_service("escalation", Escalation())
    bus.publish(cev.ChatOffered("chatIIII0010", 2.0, "es", 30.0))
    flow.accept("chatIIII0010")
    bus.publish(cev.ChatAssigned("chatIIII0010", "es"))
    cid = contact_id("chatIIII0010")
    store.add_risk_assessment(cid, RiskAssessment(desire=frozenset({"hopelessness"})))
    assert not recorder.of(EscalationProposed)
    store.add_risk_assessment(
        cid,
        RiskAssessment(
            desire=frozenset({"hopelessness"}),
            capability=frozenset({"lethal_means"}),
            intent=frozenset({"plan_with_known_method"}),
        ),
    )
    (proposal,) = recorder.of(EscalationProposed)
    assert (proposal.call_id, proposal.level) == (cid, "urgent")
